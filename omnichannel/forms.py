"""Forms of the agent's screens: they parse input; the services decide and refuse (pt-BR)."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from omnichannel.models import (
    AgentQueue,
    AgentState,
    ContactReason,
    Conversation,
    PauseReason,
    Queue,
)
from omnichannel.services import MAX_MESSAGE_LENGTH

User = get_user_model()


def apply_service_errors(form: forms.Form, exc: ValidationError | PermissionDenied) -> None:
    """Put a service's refusal on the form: on its field when the form has one, else on top."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or _("Você não tem permissão para esta ação."))
    elif hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class PresenceForm(forms.Form):
    """Alterar/Encerrar Omnichannel: Online, Ausente (with a pause reason) or Offline."""

    state = forms.ChoiceField(label=_("Status"), choices=AgentState.choices)
    pause_reason = forms.ModelChoiceField(
        label=_("Motivo de pausa"), queryset=PauseReason.objects.filter(active=True), required=False
    )

    def clean(self):
        data = super().clean()
        if data.get("state") == AgentState.AWAY and not data.get("pause_reason"):
            self.add_error("pause_reason", _("Escolha um motivo de pausa."))
        if data.get("state") != AgentState.AWAY:
            data["pause_reason"] = None
        return data


class QueueLoginForm(forms.Form):
    """Efetuar login / sair: of every assigned queue (no queue given) or of one."""

    action = forms.ChoiceField(choices=[("login", _("Efetuar login")), ("logout", _("Sair"))])
    queue = forms.ModelChoiceField(label=_("Fila"), queryset=Queue.objects.none(), required=False)

    def __init__(self, *args, agent, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.filter(
            active=True, pk__in=AgentQueue.objects.filter(agent_id=agent.pk).values("queue_id")
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the limits are ``services.validate_message_files``'s."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class MessageForm(forms.Form):
    """A reply (text, files or both) or an internal note (text only)."""

    body = forms.CharField(
        label=_("Mensagem"),
        max_length=MAX_MESSAGE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.BooleanField(label=_("Nota interna"), required=False)
    files = MultipleFileField(label=_("Anexos"), required=False)

    def clean(self):
        data = super().clean()
        files = data.get("files") or []
        if data.get("note") and files:
            self.add_error("files", _("Notas internas não aceitam arquivos: envie os anexos como mensagem ao cliente."))
        elif "body" in data and not (data.get("body") or "").strip() and not files and not self.has_error("files"):
            self.add_error("body", _("Escreva a mensagem."))
        return data


class FinishForm(forms.Form):
    """Resolver: the contact reason ("qualificação") and the notes of the attendance."""

    contact_reason = forms.ModelChoiceField(
        label=_("Qualificação (motivo de contato)"),
        queryset=ContactReason.objects.none(),
        error_messages={"required": _("Escolha o motivo de contato."), "invalid_choice": _("Motivo de contato inválido.")},
    )
    notes = forms.CharField(
        label=_("Notas do atendimento"), required=False, max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, conversation: Conversation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        reasons = ContactReason.objects.filter(active=True)
        if conversation.queue_id and conversation.queue.contact_reasons.exists():
            reasons = reasons.filter(queues=conversation.queue_id)
        self.fields["contact_reason"].queryset = reasons


class CancelForm(forms.Form):
    notes = forms.CharField(
        label=_("Motivo do cancelamento"), required=False, max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _queue_agents(queue_ids) -> QuerySet:
    return (
        User.objects.filter(is_active=True, agent_queues__queue_id__in=queue_ids)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class TransferForm(forms.Form):
    """Transferir: to an agent, to a queue, or to an agent of another queue; with a note."""

    to_queue = forms.ModelChoiceField(label=_("Fila de destino"), queryset=Queue.objects.none(), required=False)
    to_agent = AgentChoiceField(label=_("Agente de destino"), queryset=User.objects.none(), required=False)
    note = forms.CharField(
        label=_("Observação da transferência"), required=False, max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, conversation: Conversation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        queues = Queue.objects.filter(active=True, channel=conversation.channel)
        self.fields["to_queue"].queryset = queues
        agents = _queue_agents(queues.values("pk"))
        if conversation.agent_id:
            agents = agents.exclude(pk=conversation.agent_id)
        self.fields["to_agent"].queryset = agents

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("to_queue") and not data.get("to_agent"):
            raise ValidationError(_("Escolha o agente ou a fila de destino."))
        return data


class AllocateForm(forms.Form):
    """Alocar responsável: a queued conversation kept for a named agent of its queue."""

    agent = AgentChoiceField(
        label=_("Agente"), queryset=User.objects.none(),
        error_messages={"required": _("Escolha o agente."), "invalid_choice": _("Agente inválido para esta fila.")},
    )

    def __init__(self, *args, conversation: Conversation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = _queue_agents([conversation.queue_id])
