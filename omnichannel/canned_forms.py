"""Forms of the "Mensagens pré-salvas" screens: they parse input; ``omnichannel.canned`` decides."""

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from omnichannel.canned import SHORTCUT_MAX, TITLE_MAX, can_write_public
from omnichannel.models import CannedCategory
from omnichannel.services import MAX_MESSAGE_LENGTH


class CannedForm(forms.Form):
    """Nova / editar mensagem pré-salva; "Pública" only for supervisors (the operation enforces it too)."""

    category = forms.ModelChoiceField(
        label=_("Categoria"),
        queryset=CannedCategory.objects.all(),
        error_messages={"required": _("Escolha a categoria."), "invalid_choice": _("Categoria inválida.")},
    )
    shortcut = forms.CharField(
        label=_("Atalho"),
        max_length=SHORTCUT_MAX + 1,  # a leading "/" is accepted and dropped
        help_text=_('Digite "/" e o atalho na caixa de mensagem para usar. Letras sem acento, números, hífen ou sublinhado.'),
        error_messages={"required": _("Informe o atalho.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    title = forms.CharField(
        label=_("Título"), max_length=TITLE_MAX, error_messages={"required": _("Informe o título.")}
    )
    body = forms.CharField(
        label=_("Texto"),
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Escreva o texto da mensagem.")},
    )
    public = forms.BooleanField(
        label=_("Pública (visível para todos os agentes)"), required=False
    )

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_write_public(user):
            del self.fields["public"]


class CannedFilterForm(forms.Form):
    """The list's filters: category, scope, free search."""

    category = forms.ModelChoiceField(
        label=_("Categoria"), queryset=CannedCategory.objects.all(), required=False, empty_label=_("Todas")
    )
    scope = forms.ChoiceField(
        label=_("Tipo"),
        required=False,
        choices=[("", _("Todas")), ("personal", _("Pessoais")), ("public", _("Públicas"))],
    )
    q = forms.CharField(label=_("Buscar"), required=False, max_length=120)
