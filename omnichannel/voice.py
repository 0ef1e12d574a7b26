"""Voz: the calls the PBX reports, their recordings, and the reads of the calls screens.

There is no telephony here. The PBX reports each call through an authenticated
API (``omnichannel.voice_views``): ``call_report`` upserts it by (account, PBX
id), so the PBX may report a call once when it ends or several times as it
progresses (ringing, answered, ended) and may repeat a report safely.

A call becomes a conversation of channel Voz when it ends (when the report
carries its outcome): the conversation is written already closed, with its
real times, and never goes through routing, so a call reported after the fact
never takes an agent's capacity nor disturbs the queues of the chat channels.
While the call is live it exists only as a ``CallRecord``.

Outcome → conversation status:

* ``answered`` → Concluído, with the agent, human start/end = answered/ended;
* ``abandoned`` → Abandono (the caller hung up while waiting);
* ``expired`` → Abandono as well: the PBX gave up on the call (maximum wait
  reached) before any agent answered, which is what Abandono counts (a contact
  that left the queue without service); the call keeps ``Expirada`` as its own
  outcome, so the distinction is not lost.
"""

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from omnichannel.models import (
    AgentQueue,
    CallDirection,
    CallOutcome,
    CallRecord,
    CallType,
    Channel,
    ChannelAccount,
    ContactReason,
    Conversation,
    ConversationEventKind,
    ConversationStatus,
    InboundEvent,
    Queue,
    channel_weight,
)
from omnichannel.publish import publish_conversation
from omnichannel.services import (
    _event,
    _link_ticket,
    conversation_protocol,
    record_conversation_closed,
)
from omnichannel.views_live import access_conversation
from tickets.models import Customer
from tickets.roles import is_admin, is_supervisor
from tickets.selectors import supervised_team_ids
from tickets.services import next_counter, supervises

User = get_user_model()

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
# PBX clocks drift: a time up to this far ahead of ours is accepted.
CLOCK_SKEW = timedelta(minutes=5)
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.:@+-]{1,120}$")

OUTCOME_STATUS = {
    CallOutcome.ANSWERED: ConversationStatus.CONCLUDED,
    CallOutcome.ABANDONED: ConversationStatus.ABANDONED,
    CallOutcome.EXPIRED: ConversationStatus.ABANDONED,
}

# After the call ended only its wrap-up (tabulação, etiquetas) may still change.
FROZEN_WHEN_ENDED = ("direction", "call_type", "campaign", "number", "queue", "agent", "ringing_at", "answered_at", "ended_at", "outcome")


class RecordingTooLarge(ValidationError):
    """The recording passes ``VOICE_RECORDING_MAX_BYTES`` (the API answers 413)."""


# --- parsing the report ------------------------------------------------------------------------


def _str(value: Any, field: str, errors: dict, *, limit: int) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = _("Deve ser um texto.")
        return None
    value = value.strip()
    if len(value) > limit:
        errors[field] = _("Pode ter no máximo %(n)s caracteres.") % {"n": limit}
        return None
    return value


def _choice(value: Any, field: str, errors: dict, choices: type) -> str | None:
    if not isinstance(value, str) or value not in choices.values:
        errors[field] = _("Valor inválido; use um destes: %(values)s.") % {"values": ", ".join(choices.values)}
        return None
    return value


def _time(value: Any, field: str, errors: dict) -> datetime | None:
    if value is None:
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        errors[field] = _("Data e hora inválidas; use ISO-8601, como 2026-05-04T14:30:00-03:00.")
        return None
    if parsed.tzinfo is None:
        errors[field] = _("Informe o fuso horário (por exemplo -03:00 ou Z).")
        return None
    return parsed


def normalize_number(value: str) -> str:
    """``+55 (11) 98765-4321`` → ``+5511987654321``; digits only without the plus sign."""
    digits = re.sub(r"\D", "", value)
    return f"+{digits}" if value.strip().startswith("+") else digits


def _number(value: Any, errors: dict) -> str | None:
    if not isinstance(value, str):
        errors["number"] = _("Informe o número de telefone como texto.")
        return None
    if not re.fullmatch(r"[\d\s()+.\-]{1,40}", value.strip()):
        errors["number"] = _("Número de telefone inválido.")
        return None
    number = normalize_number(value)
    digits = len(number.lstrip("+"))
    if not 3 <= digits <= 15:
        errors["number"] = _("Número de telefone inválido: deve ter de 3 a 15 dígitos.")
        return None
    return number


def _queue(value: Any, errors: dict) -> Queue | None:
    if value is None:
        return None
    queue = None
    if isinstance(value, int) and not isinstance(value, bool):
        queue = Queue.objects.filter(pk=value).select_related("team").first() if 0 < value < 2**31 else None
    elif isinstance(value, str) and value.strip() and len(value) <= 120:
        queue = Queue.objects.filter(name=value.strip()).select_related("team").first()
    else:
        errors["queue"] = _("Informe a fila pelo id (número) ou pelo nome.")
        return None
    if queue is None:
        errors["queue"] = _("Fila não encontrada.")
    elif queue.channel != Channel.VOICE:
        errors["queue"] = _("A fila %(queue)s não é do canal Voz.") % {"queue": queue.name}
        return None
    return queue


def _agent(value: Any, errors: dict) -> AbstractBaseUser | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 254:
        errors["agent"] = _("Informe o agente pelo usuário ou pelo e-mail.")
        return None
    value = value.strip()
    found = list(User.objects.filter(username=value)[:1]) or list(User.objects.filter(email__iexact=value)[:2])
    if not found:
        errors["agent"] = _("Agente não encontrado: %(agent)s.") % {"agent": value}
        return None
    if len(found) > 1:
        errors["agent"] = _("Mais de um usuário tem o e-mail %(agent)s; informe o usuário.") % {"agent": value}
        return None
    if not found[0].is_active:
        errors["agent"] = _("O agente %(agent)s está inativo.") % {"agent": value}
        return None
    return found[0]


def _tags(value: Any, errors: dict) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        errors["tags"] = _("As etiquetas devem ser uma lista de textos.")
        return None
    tags = list(dict.fromkeys(t.strip() for t in value if t.strip()))
    if len(tags) > MAX_TAGS:
        errors["tags"] = _("Informe no máximo %(n)s etiquetas.") % {"n": MAX_TAGS}
        return None
    if any(len(t) > MAX_TAG_LENGTH for t in tags):
        errors["tags"] = _("Cada etiqueta pode ter no máximo %(n)s caracteres.") % {"n": MAX_TAG_LENGTH}
        return None
    return tags


@dataclass
class _Report:
    direction: str
    call_type: str
    campaign: str
    number: str
    queue: Queue | None
    agent: Any
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str
    disposition: str
    tags: list[str]

    @classmethod
    def of(cls, call: CallRecord | None, account: ChannelAccount) -> "_Report":
        if call is None:
            return cls("", CallType.NORMAL, "", "", account.queue, None, None, None, None, "", "", [])
        return cls(
            call.direction, call.call_type, call.campaign, call.number, call.queue, call.agent, call.ringing_at,
            call.answered_at, call.ended_at, call.outcome, call.disposition, list(call.tags),
        )


def parse_external_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not EXTERNAL_ID.fullmatch(value.strip()):
        raise ValidationError(
            {"id": _("Informe o id da ligação no PABX: até 120 letras, números ou . _ - : @ +.")}
        )
    return value.strip()


def _apply(report: _Report, data: dict, errors: dict) -> None:
    """Overwrite ``report`` with the fields ``data`` carries (an absent field keeps its value)."""
    if "direction" in data:
        report.direction = _choice(data["direction"], "direction", errors, CallDirection) or report.direction
    if "type" in data:
        report.call_type = _choice(data["type"], "type", errors, CallType) or report.call_type
    if "campaign" in data:
        value = _str(data["campaign"], "campaign", errors, limit=120)
        report.campaign = report.campaign if value is None else value
    if "number" in data:
        report.number = _number(data["number"], errors) or report.number
    if "queue" in data:
        queue = _queue(data["queue"], errors)
        if "queue" not in errors:
            report.queue = queue
    if "agent" in data:
        agent = _agent(data["agent"], errors)
        if "agent" not in errors:
            report.agent = agent
    for field in ("ringing_at", "answered_at", "ended_at"):
        if field in data:
            value = _time(data[field], field, errors)
            if field not in errors:
                setattr(report, field, value)
    if "outcome" in data:
        if data["outcome"] in (None, ""):
            report.outcome = ""
        else:
            report.outcome = _choice(data["outcome"], "outcome", errors, CallOutcome) or report.outcome
    if "disposition" in data:
        value = _str(data["disposition"], "disposition", errors, limit=120)
        report.disposition = report.disposition if value is None else value
    if "tags" in data:
        tags = _tags(data["tags"], errors)
        report.tags = report.tags if tags is None else tags


def _check(report: _Report, errors: dict, now: datetime) -> None:
    """The rules between fields, on the merged report."""
    if not report.direction and "direction" not in errors:
        errors["direction"] = _("Informe o sentido da ligação (inbound ou outbound).")
    if not report.number and "number" not in errors:
        errors["number"] = _("Informe o número de telefone.")
    if report.queue is not None and report.queue.channel != Channel.VOICE and "queue" not in errors:
        errors["queue"] = _("A fila %(queue)s não é do canal Voz.") % {"queue": report.queue.name}
    if report.ringing_at is None and "ringing_at" not in errors:
        errors["ringing_at"] = _("Informe quando a ligação começou a tocar.")
    if "type" not in errors and "campaign" not in errors:
        if report.call_type == CallType.CAMPAIGN and not report.campaign:
            errors["campaign"] = _("Informe o nome da campanha.")
        elif report.call_type != CallType.CAMPAIGN and report.campaign:
            errors["campaign"] = _("Campanha só se aplica a ligações do tipo campaign.")
    times = [("ringing_at", report.ringing_at), ("answered_at", report.answered_at), ("ended_at", report.ended_at)]
    for field, value in times:
        if value is not None and value > now + CLOCK_SKEW and field not in errors:
            errors[field] = _("Data e hora no futuro.")
    if report.ringing_at and report.answered_at and report.answered_at < report.ringing_at:
        errors.setdefault("answered_at", _("O atendimento não pode ser anterior ao início do toque."))
    start = report.answered_at or report.ringing_at
    if start and report.ended_at and report.ended_at < start:
        errors.setdefault("ended_at", _("O encerramento não pode ser anterior ao início do toque nem ao atendimento."))
    if "outcome" in errors or "ended_at" in errors:
        return
    if report.ended_at and not report.outcome:
        errors["outcome"] = _("Informe o resultado da ligação encerrada (answered, abandoned ou expired).")
    elif report.outcome and not report.ended_at:
        errors["ended_at"] = _("Informe quando a ligação terminou.")
    elif report.outcome == CallOutcome.ANSWERED:
        if report.answered_at is None and "answered_at" not in errors:
            errors["answered_at"] = _("Ligação atendida: informe quando foi atendida.")
        if report.agent is None and "agent" not in errors:
            errors["agent"] = _("Ligação atendida: informe o agente que atendeu.")
    elif report.outcome and report.answered_at is not None:
        errors.setdefault("answered_at", _("Ligação não atendida não tem horário de atendimento."))
    if report.agent is not None and report.queue is not None and "agent" not in errors:
        queue = report.queue
        in_team = queue.team.members.filter(pk=report.agent.pk).exists()
        if not in_team and not AgentQueue.objects.filter(agent_id=report.agent.pk, queue_id=queue.pk).exists():
            errors["agent"] = _("O agente %(agent)s não é da equipe da fila %(queue)s.") % {
                "agent": report.agent.get_username(),
                "queue": queue.name,
            }


def _frozen_changes(call: CallRecord, report: _Report) -> list[str]:
    current = _Report.of(call, call.account)
    return [field for field in FROZEN_WHEN_ENDED if getattr(current, field) != getattr(report, field)]


# --- writing -------------------------------------------------------------------------------------


def _customer_for_number(number: str) -> Customer | None:
    """The registered customer whose phone or mobile is this number (only when unambiguous)."""
    digits = number.lstrip("+")
    forms = {number, digits, f"+{digits}"}
    if digits.startswith("55") and len(digits) in (12, 13):
        forms.add(digits[2:])
    elif len(digits) in (10, 11):
        forms |= {f"55{digits}", f"+55{digits}"}
    found = list(Customer.objects.filter(Q(mobile__in=forms) | Q(phone__in=forms)).distinct()[:2])
    return found[0] if len(found) == 1 else None


def _contact_reason(disposition: str) -> ContactReason | None:
    if not disposition:
        return None
    return ContactReason.objects.filter(name__iexact=disposition, active=True).first()


def _format_duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _summary(call: CallRecord) -> str:
    text = _("Ligação %(direction)s (%(type)s), número %(number)s: %(outcome)s.") % {
        "direction": call.get_direction_display().lower(),
        "type": call.campaign if call.call_type == CallType.CAMPAIGN else call.get_call_type_display(),
        "number": call.number,
        "outcome": call.get_outcome_display(),
    }
    if call.duration is not None:
        text += " " + _("Duração: %(duration)s.") % {"duration": _format_duration(call.duration)}
    if call.disposition:
        text += " " + _("Tabulação: %(disposition)s.") % {"disposition": call.disposition}
    return text


def _create_conversation(call: CallRecord, now: datetime) -> Conversation:
    """The finished call as a closed conversation of channel Voz (never routed)."""
    answered = call.outcome == CallOutcome.ANSWERED
    status = OUTCOME_STATUS[CallOutcome(call.outcome)]
    customer = _customer_for_number(call.number)
    year = timezone.localtime(now, timezone.get_default_timezone()).year
    conversation = Conversation.objects.create(
        protocol=conversation_protocol(year, next_counter(f"conversation:{year}")),
        channel=Channel.VOICE,
        status=status,
        customer=customer,
        contact_name=(customer.name if customer else call.number)[:200],
        contact_phone=call.number[:20],
        queue=call.queue,
        agent=call.agent if answered else None,
        account=call.account,
        weight=channel_weight(Channel.VOICE),
        contact_reason=_contact_reason(call.disposition),
        created_at=call.ringing_at,
        queued_at=call.ringing_at if call.queue_id else None,
        assigned_at=call.answered_at,
        assignment_answered_at=call.answered_at,
        first_response_at=call.answered_at,
        human_started_at=call.answered_at if answered else None,
        human_ended_at=call.ended_at if answered else None,
        ended_at=call.ended_at,
    )
    data = {"call_id": call.pk, "direction": call.direction, "call_type": call.call_type}
    _event(conversation, ConversationEventKind.STARTED, call.ringing_at, data=data)
    if call.queue_id:
        _event(conversation, ConversationEventKind.QUEUED, call.ringing_at, data={"queue_id": call.queue_id})
    if answered:
        _event(conversation, ConversationEventKind.ASSIGNED, call.answered_at, data={"agent_id": call.agent_id})
    _event(conversation, ConversationEventKind.CLOSED, call.ended_at, data={"status": status, "outcome": call.outcome})
    _link_ticket(conversation, now, actor=None)
    record_conversation_closed(conversation, now, actor=None, summary=_summary(call))
    publish_conversation(conversation, "closed")
    return conversation


def _lock_call(account: ChannelAccount, external_id: str) -> CallRecord | None:
    return (
        CallRecord.objects.select_for_update(of=("self",))
        .select_related("account", "queue__team", "agent", "conversation")
        .filter(account=account, external_id=external_id)
        .first()
    )


class _Retry(Exception):
    """A concurrent first report of the same call won the insert."""


def call_report(*, account: ChannelAccount, data: Any, raw: str = "") -> tuple[CallRecord, bool]:
    """Create or update the call ``data["id"]`` of the PBX ``account``; ``(call, created)``.

    A field absent from the report keeps its stored value, so a PBX may send only what
    changed; the same report sent twice changes nothing the second time. Bad input
    raises ``ValidationError`` per field and nothing is stored. ``raw``, the body as
    received, is kept as an ``InboundEvent`` for audit.
    """
    try:
        return _report(account=account, data=data, raw=raw)
    except _Retry:
        # Two first reports of one call at once: the other one inserted it; apply this one over it.
        return _report(account=account, data=data, raw=raw)


def _report(*, account: ChannelAccount, data: Any, raw: str) -> tuple[CallRecord, bool]:
    if account.channel != Channel.VOICE:
        raise ValidationError(_("Esta conta não é de um PABX."))
    if not isinstance(data, dict):
        raise ValidationError(_("O relatório da ligação deve ser um objeto JSON."))
    external_id = parse_external_id(data.get("id"))
    now = timezone.now()
    with transaction.atomic():
        call = _lock_call(account, external_id)
        report = _Report.of(call, account)
        errors: dict[str, str] = {}
        _apply(report, data, errors)
        _check(report, errors, now)
        if not errors and call is not None and call.outcome:
            changed = _frozen_changes(call, report)
            if changed:
                errors[changed[0]] = _("A ligação já foi encerrada: só a tabulação e as etiquetas podem mudar.")
        if errors:
            raise ValidationError(errors)
        created = call is None
        if created:
            call = CallRecord(account=account, external_id=external_id)
        ended_now = bool(report.outcome) and not call.outcome
        call.direction, call.call_type, call.campaign = report.direction, report.call_type, report.campaign
        call.number, call.queue, call.agent = report.number, report.queue, report.agent
        call.ringing_at, call.answered_at, call.ended_at = report.ringing_at, report.answered_at, report.ended_at
        call.outcome, call.disposition, call.tags = report.outcome, report.disposition, report.tags
        if created:
            try:
                with transaction.atomic():
                    call.save()
            except IntegrityError:
                raise _Retry from None
        else:
            call.save()
        if ended_now:
            call.conversation = _create_conversation(call, now)
            call.save(update_fields=["conversation"])
        elif call.conversation_id is not None:
            reason = _contact_reason(call.disposition)
            if reason is not None and call.conversation.contact_reason_id != reason.pk:
                Conversation.objects.filter(pk=call.conversation_id).update(contact_reason=reason)
        if raw:
            InboundEvent.objects.create(account=account, kind="call_report", body=raw[:100_000])
    return call, created


# --- recordings ----------------------------------------------------------------------------------

# Containers we accept, recognised by their first bytes (never by the uploader's word alone).
AUDIO_FORMATS = {
    "wav": ("audio/wav", {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}),
    "mp3": ("audio/mpeg", {"audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg"}),
    "ogg": ("audio/ogg", {"audio/ogg", "audio/opus", "application/ogg"}),
    "m4a": ("audio/mp4", {"audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac"}),
    "webm": ("audio/webm", {"audio/webm"}),
}
EXTENSIONS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "oga": "ogg", "opus": "ogg", "m4a": "m4a", "mp4": "m4a", "webm": "webm"}


def sniff_audio(head: bytes) -> str | None:
    """The container of an audio file from its first bytes: ``wav``, ``mp3``, ``ogg``, ``m4a``, ``webm``."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return None


def max_recording_bytes() -> int:
    return settings.VOICE_RECORDING_MAX_BYTES


def validate_recording(upload: UploadedFile) -> str:
    """The recording's container (see ``AUDIO_FORMATS``) or a pt-BR ``ValidationError``."""
    limit = max_recording_bytes()
    if not upload.size:
        raise ValidationError({"recording": _("A gravação está vazia.")})
    if upload.size > limit:
        raise RecordingTooLarge(
            {"recording": _("A gravação passa do limite de %(mb)s MB.") % {"mb": limit // (1024 * 1024)}}
        )
    claimed = (upload.content_type or "").split(";")[0].strip().lower()
    name = os.path.basename(upload.name or "")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension and extension not in EXTENSIONS:
        raise ValidationError({"recording": _("Tipo de arquivo não aceito para gravação: %(name)s.") % {"name": name}})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    container = sniff_audio(head)
    accepted = {t for _canonical, types in AUDIO_FORMATS.values() for t in types}
    if claimed not in accepted or container is None or claimed not in AUDIO_FORMATS[container][1]:
        raise ValidationError(
            {"recording": _("A gravação deve ser um áudio WAV, MP3, OGG/Opus, M4A ou WebM.")}
        )
    return container


def call_attach_recording(*, account: ChannelAccount, external_id: str, upload: UploadedFile) -> CallRecord:
    """Store (or replace) the recording of a reported call. Unknown call: ``CallRecord.DoesNotExist``."""
    container = validate_recording(upload)
    with transaction.atomic():
        call = _lock_call(account, external_id)
        if call is None:
            raise CallRecord.DoesNotExist
        old = call.recording.name if call.recording else ""
        call.recording_type = AUDIO_FORMATS[container][0]
        call.recording.save(f"{call.pk}.{container}", upload, save=False)
        call.save(update_fields=["recording", "recording_type"])
        if old and old != call.recording.name:
            storage = call.recording.storage
            transaction.on_commit(lambda: storage.delete(old))
        if call.conversation_id is not None:
            publish_conversation(call.conversation, "recording")
    return call


# --- reads ----------------------------------------------------------------------------------------


def visible_calls(user: AbstractBaseUser) -> QuerySet[CallRecord]:
    """Calls of the queues of the teams ``user`` supervises (an admin: every call)."""
    qs = CallRecord.objects.all()
    if is_admin(user):
        return qs
    if not is_supervisor(user):
        return qs.none()
    return qs.filter(queue__team_id__in=supervised_team_ids(user))


def access_call(user: AbstractBaseUser, call_id: int) -> CallRecord:
    """The call, or ``Http404`` unless the user may see its conversation (or supervises its queue)."""
    call = CallRecord.objects.select_related("queue").filter(pk=call_id).first()
    if call is None:
        raise Http404
    if call.conversation_id is not None:
        access_conversation(user, call.conversation_id)
        return call
    if is_admin(user) or (call.queue_id is not None and supervises(user, call.queue.team_id)):
        return call
    raise Http404


def call_list(queryset: QuerySet[CallRecord]) -> QuerySet[CallRecord]:
    return queryset.select_related("queue", "agent", "conversation").order_by("-ringing_at", "-id")


def received_calls(*, start: datetime, end: datetime, queryset: QuerySet[CallRecord] | None = None) -> QuerySet[CallRecord]:
    """Ligações recebidas: inbound calls answered by an agent in ``[start, end)`` (DOMAIN.md)."""
    qs = CallRecord.objects.all() if queryset is None else queryset
    return qs.filter(
        direction=CallDirection.INBOUND,
        outcome=CallOutcome.ANSWERED,
        agent__isnull=False,
        answered_at__gte=start,
        answered_at__lt=end,
    )


def received_calls_count(*, agent: AbstractBaseUser, start: datetime, end: datetime) -> int:
    """The agent's indicator "Ligações recebidas" for the period."""
    return received_calls(start=start, end=end).filter(agent_id=agent.pk).count()


def received_calls_by(
    *, start: datetime, end: datetime, queryset: QuerySet[CallRecord] | None = None, by: str = "agent"
) -> list[dict[str, Any]]:
    """Ligações recebidas per agent (``by="agent"``) or per queue (``by="queue"``), most first."""
    if by not in ("agent", "queue"):
        raise ValueError(by)
    fields = ("agent_id", "agent__username", "agent__first_name", "agent__last_name") if by == "agent" else ("queue_id", "queue__name")
    return list(
        received_calls(start=start, end=end, queryset=queryset)
        .values(*fields)
        .annotate(total=Count("id"))
        .order_by("-total", fields[1])
    )
