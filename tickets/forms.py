"""Forms of the ticket screens: they parse and check input, the operations decide.

Choices are limited to what can be chosen (active rows, the user's teams); the
operations in ``tickets.services`` still validate everything again.
"""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tickets.models import (
    UF,
    CategoryMatrix,
    Classification,
    Company,
    Customer,
    Origin,
    Process,
    ServiceOrder,
    Subprocess,
    Team,
    Ticket,
)
from tickets.roles import is_admin
from tickets.selectors import supervised_team_ids, user_team_ids

User = get_user_model()

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
EMPTY_LABEL = _("Selecione…")


def user_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AbstractBaseUser) -> str:
        return user_label(obj)


class StyledForm(forms.Form):
    """Adds Bootstrap classes to the widgets (and ``is-invalid`` after errors)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # Django 6.1's default empty label has no pt-BR translation yet.
            if isinstance(field, forms.ModelChoiceField) and field.empty_label is not None:
                field.empty_label = EMPTY_LABEL
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_invalid()

    def mark_invalid(self) -> None:
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def add_validation_error(self, error: ValidationError) -> None:
        """Put an operation's ``ValidationError`` on the fields it names, or on the form."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                field = name if name in self.fields else None
                for item in errors:
                    self.add_error(field, item)
        else:
            for message in error.messages:
                self.add_error(None, message)
        self.mark_invalid()


# --- home --------------------------------------------------------------------------------


class TicketSearchForm(StyledForm):
    STATUS_CHOICES = (("all", _("Todos")), ("open", _("Abertos")), ("closed", _("Finalizados")))

    q = forms.CharField(
        label=_("Pesquisar"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Código, protocolo ou cliente"), "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(label=_("Situação"), choices=STATUS_CHOICES, required=False)


# --- opening and editing ------------------------------------------------------------------


class TicketForm(StyledForm):
    """Novo atendimento / Editar atendimento. The edit form drops team, process and comment."""

    customer = forms.ModelChoiceField(
        label=_("Cliente"),
        queryset=Customer.objects.all(),
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Escolha o cliente (pesquise por nome ou CPF/CNPJ) ou cadastre um novo."),
            "invalid_choice": _("Cliente não encontrado; pesquise novamente."),
        },
    )
    company = forms.ModelChoiceField(label=_("Empresa"), queryset=Company.objects.filter(active=True))
    team = forms.ModelChoiceField(label=_("Equipe"), queryset=Team.objects.none())
    process = forms.ModelChoiceField(label=_("Processo"), queryset=Process.objects.filter(active=True))
    origin = forms.ChoiceField(label=_("Origem do contato"), choices=[("", EMPTY_LABEL), *Origin.choices])
    opening_classification = forms.ModelChoiceField(
        label=_("Classificação de abertura"),
        queryset=Classification.objects.filter(kind=Classification.Kind.OPENING, active=True),
        required=False,
    )
    category_matrix = forms.ModelChoiceField(
        label=_("Matriz de categorias"),
        queryset=CategoryMatrix.objects.filter(active=True).select_related("category", "request_type"),
        required=False,
        error_messages={"invalid_choice": _("Escolha uma matriz da categoria selecionada.")},
    )
    customer_report = forms.CharField(
        label=_("Relato do cliente"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    street = forms.CharField(label=_("Logradouro"), required=False, max_length=200)
    number = forms.CharField(label=_("Número"), required=False, max_length=20)
    complement = forms.CharField(label=_("Complemento"), required=False, max_length=100)
    neighbourhood = forms.CharField(label=_("Bairro"), required=False, max_length=100)
    city = forms.CharField(label=_("Cidade"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("UF"), required=False, choices=[("", "--"), *UF.choices])
    zip_code = forms.CharField(label=_("CEP"), required=False, max_length=9)
    condominium = forms.CharField(label=_("Condomínio"), required=False, max_length=120)
    opening_comment = forms.CharField(
        label=_("Comentário de abertura"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )

    ADDRESS_FIELDS = Ticket.ADDRESS_FIELDS

    def __init__(self, *args: Any, user: AbstractBaseUser, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            for name in ("team", "process", "opening_comment"):
                del self.fields[name]
        else:
            teams = Team.objects.filter(active=True)
            if not is_admin(user):
                teams = teams.filter(pk__in={*user_team_ids(user), *supervised_team_ids(user)})
            self.fields["team"].queryset = teams
            if teams.count() == 1:
                self.fields["team"].initial = teams.first()
        self.fields["customer_report"].widget.attrs["placeholder"] = _("O que o cliente relatou")

    def address(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in self.ADDRESS_FIELDS}

    def address_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ADDRESS_FIELDS]

    def selected_customer(self) -> Customer | None:
        """The customer to show as chosen (bound value, else initial)."""
        if self.is_bound:
            value = self.data.get(self.add_prefix("customer"))
        else:
            value = self.initial.get("customer")
            if isinstance(value, Customer):
                return value
        if not value:
            return None
        try:
            return Customer.objects.get(pk=int(value))
        except (Customer.DoesNotExist, ValueError, TypeError):
            return None

    def selected_matrix(self) -> CategoryMatrix | None:
        if self.is_bound:
            value = self.data.get(self.add_prefix("category_matrix"))
        else:
            value = self.initial.get("category_matrix")
            if isinstance(value, CategoryMatrix):
                return value
        if not value:
            return None
        try:
            return CategoryMatrix.objects.select_related("category").get(pk=int(value))
        except (CategoryMatrix.DoesNotExist, ValueError, TypeError):
            return None


def ticket_initial(ticket: Ticket) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "customer": ticket.customer,
        "company": ticket.company_id,
        "origin": ticket.origin,
        "opening_classification": ticket.opening_classification_id,
        "category_matrix": ticket.category_matrix,
        "customer_report": ticket.customer_report,
    }
    for name in Ticket.ADDRESS_FIELDS:
        initial[name] = getattr(ticket, name)
    return initial


class CustomerForm(StyledForm):
    """The inline "Cadastrar novo cliente" sub-form (prefix ``nc``)."""

    name = forms.CharField(label=_("Nome / Razão social"), max_length=200)
    document = forms.CharField(
        label=_("CPF/CNPJ"), max_length=18, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Telefone"), required=False, max_length=20)
    mobile = forms.CharField(label=_("Celular"), required=False, max_length=20)
    street = forms.CharField(label=_("Logradouro"), required=False, max_length=200)
    number = forms.CharField(label=_("Número"), required=False, max_length=20)
    complement = forms.CharField(label=_("Complemento"), required=False, max_length=100)
    neighbourhood = forms.CharField(label=_("Bairro"), required=False, max_length=100)
    city = forms.CharField(label=_("Cidade"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("UF"), required=False, choices=[("", "--"), *UF.choices])
    zip_code = forms.CharField(label=_("CEP"), required=False, max_length=9)
    condominium = forms.CharField(label=_("Condomínio"), required=False, max_length=120)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "nc")
        super().__init__(*args, **kwargs)


# --- tools of the detail page ----------------------------------------------------------------


class CommentForm(StyledForm):
    body = forms.CharField(
        label=_("Comentário"), max_length=10000, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Escreva o comentário.")},
    )


def _team_users() -> QuerySet:
    return (
        User.objects.filter(is_active=True, teams__active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class TransferForm(StyledForm):
    to_user = UserChoiceField(label=_("Operador de destino"), queryset=User.objects.none(), required=False)
    to_team = forms.ModelChoiceField(
        label=_("Equipe de destino"), queryset=Team.objects.filter(active=True), required=False
    )
    comment = forms.CharField(
        label=_("Comentário"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = _team_users()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("to_user") and not data.get("to_team"):
            raise ValidationError(_("Escolha o operador ou a equipe de destino."))
        return data


class WatcherForm(StyledForm):
    user = UserChoiceField(
        label=_("Operador visualizador"), queryset=User.objects.none(),
        error_messages={"required": _("Escolha o operador.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _team_users()


class UnwatchForm(StyledForm):
    user = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), widget=forms.HiddenInput)


class AttachmentForm(StyledForm):
    file = forms.FileField(label=_("Arquivo"), error_messages={"required": _("Escolha o arquivo.")})
    description = forms.CharField(label=_("Descrição"), required=False, max_length=255)


class SubprocessStartForm(StyledForm):
    subprocess = forms.ModelChoiceField(
        label=_("Subprocesso"), queryset=Subprocess.objects.none(),
        error_messages={"required": _("Escolha o subprocesso.")},
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subprocess"].queryset = Subprocess.objects.filter(process_id=ticket.process_id, active=True)


class ForwardForm(StyledForm):
    process = forms.ModelChoiceField(
        label=_("Novo processo"), queryset=Process.objects.none(),
        error_messages={"required": _("Escolha o processo.")},
    )
    comment = forms.CharField(
        label=_("Comentário ao encaminhar"), required=False, max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["process"].queryset = Process.objects.filter(active=True).exclude(pk=ticket.process_id)


class ServiceOrderForm(StyledForm):
    description = forms.CharField(
        label=_("Descrição do serviço"), max_length=10000, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Descreva o serviço da O.S.")},
    )
    scheduled_for = forms.DateTimeField(
        label=_("Agendada para"), required=False, input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    due_at = forms.DateTimeField(
        label=_("Prazo"), required=False, input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


class ServiceOrderEditForm(ServiceOrderForm):
    clear_schedule = forms.BooleanField(label=_("Remover agendamento"), required=False)

    @staticmethod
    def initial_for(order: ServiceOrder) -> dict[str, Any]:
        from django.utils import timezone

        return {
            "description": order.description,
            "scheduled_for": timezone.localtime(order.scheduled_for) if order.scheduled_for else None,
            "due_at": timezone.localtime(order.due_at) if order.due_at else None,
        }


class FinalizeForm(StyledForm):
    closing_classification = forms.ModelChoiceField(
        label=_("Classificação de encerramento"),
        queryset=Classification.objects.filter(kind=Classification.Kind.CLOSING, active=True),
        error_messages={"required": _("Escolha a classificação de encerramento.")},
    )
    comment = forms.CharField(
        label=_("Comentário de encerramento"), max_length=10000, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Escreva o comentário de encerramento.")},
    )


class ReopenForm(StyledForm):
    reason = forms.CharField(
        label=_("Motivo da reabertura"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Informe o motivo da reabertura.")},
    )


class EmptyForm(StyledForm):
    """Button-only tools (Resgatar, Liberar, Avançar subprocesso, Concluir O.S., excluir anexo)."""
