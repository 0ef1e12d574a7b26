"""Forms of the "Modificar SLA" wizard. The operations validate again and have the last word."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sla.models import SlaReason, TimeUnit
from tickets.forms import EMPTY_LABEL, StyledForm

INCREMENT = "increment"
PAUSE = "pause"


class ActionForm(StyledForm):
    action = forms.ChoiceField(
        label=_("O que deseja fazer?"),
        choices=[(INCREMENT, _("Incrementar SLA")), (PAUSE, _("Pausar SLA"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Escolha Incrementar SLA ou Pausar SLA.")},
    )


class _InterventionForm(StyledForm):
    kind: str = ""
    reason = forms.ModelChoiceField(
        label=_("Motivo"),
        queryset=SlaReason.objects.all(),
        error_messages={"required": _("Escolha o motivo."), "invalid_choice": _("Motivo inexistente.")},
    )
    notes = forms.CharField(label=_("Observações"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    confirm = forms.BooleanField(
        label=_("Tem certeza que deseja executar este processo agora?"),
        error_messages={"required": _("Marque “Tem certeza que deseja executar este processo agora?” para finalizar.")},
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        error_messages={"invalid": _("O assistente está desatualizado: feche-o e abra de novo.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer only active reasons of this kind; any other one is refused by the operation.
        offered = SlaReason.objects.filter(kind=self.kind, active=True).order_by("name")
        self.fields["reason"].widget.choices = [("", EMPTY_LABEL), *((r.pk, r.name) for r in offered)]


class IncrementForm(_InterventionForm):
    kind = SlaReason.Kind.INCREMENT
    field_order = ["reason", "notes", "unit", "quantity", "confirm"]

    unit = forms.ChoiceField(label=_("Tipo de incremento"), choices=TimeUnit.choices, initial=TimeUnit.HOURS)
    quantity = forms.CharField(
        label=_("Quantidade"),
        widget=forms.NumberInput(attrs={"min": "0.01", "step": "0.01", "inputmode": "decimal"}),
        error_messages={"required": _("Informe a quantidade.")},
    )

    def __init__(self, *args: Any, preview_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if preview_url:
            # "Novo prazo" is computed by the server as the user types (sla.views.preview).
            # hx-swap is explicit: the wizard's form swaps itself with outerHTML and
            # its children would inherit that, replacing the "Novo prazo" box itself.
            live = {
                "hx-get": preview_url,
                "hx-target": "#sla-new-due",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
            self.fields["quantity"].widget.attrs.update(
                {**live, "hx-trigger": "input changed delay:300ms", "hx-include": "#id_unit"}
            )
            self.fields["unit"].widget.attrs.update({**live, "hx-trigger": "change", "hx-include": "#id_quantity"})


class PauseForm(_InterventionForm):
    kind = SlaReason.Kind.PAUSE


class ResumeForm(StyledForm):
    notes = forms.CharField(label=_("Observações"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        error_messages={"invalid": _("A página está desatualizada: recarregue-a e tente de novo.")},
    )
