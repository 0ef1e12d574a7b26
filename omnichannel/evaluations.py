"""Avaliação SAC Plus: ask the customer for a 1–5 rating after a conversation or ticket ends.

The customer answers on a public page (``omnichannel.evaluation_views``) reached
through a link whose token is the evaluation's random ``nonce`` signed with a
``TimestampSigner`` (salt ``sacplus``): a tampered link fails the signature, an
old one its age (``SACPLUS_TOKEN_DAYS``) or the row's ``expires_at``, a reused
one the row's ``answered_at``, read under a row lock so two answers never both
count. The token itself is never stored.

One evaluation per conversation (the OneToOne), or per ticket when the ticket
had no conversation. It goes to the customer through the conversation's channel
(an automatic message) or, for a ticket without conversation, by e-mail.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from omnichannel.models import (
    OPEN_STATUSES,
    Channel,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Evaluation,
)
from tickets.events import record
from tickets.models import EventKind, Ticket
from tickets.selectors import visible_tickets

SALT = "sacplus"
RESEND_PERMISSION = "tickets.tool_resend_evaluation"
MAX_COMMENT_LENGTH = 2000

# ValidationError codes of a link that cannot be answered (the page shows one message each).
EXPIRED = "expired"
USED = "used"
TAMPERED = "tampered"
UNKNOWN = "unknown"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def _max_age() -> timedelta:
    return timedelta(days=settings.SACPLUS_TOKEN_DAYS)


def evaluation_token(evaluation: Evaluation) -> str:
    return _signer().sign(evaluation.nonce)


def evaluation_url(evaluation: Evaluation) -> str:
    """The absolute link sent to the customer (``SITE_URL`` + the public page)."""
    path = reverse("evaluation:answer", args=[evaluation_token(evaluation)])
    return f"{settings.SITE_URL}{path}"


# --- token rules ------------------------------------------------------------------------------


def _token_error(code: str) -> ValidationError:
    messages = {
        EXPIRED: _("Este link de avaliação expirou."),
        USED: _("Esta avaliação já foi respondida. Obrigado!"),
        TAMPERED: _("Este link de avaliação é inválido."),
        UNKNOWN: _("Este link de avaliação não existe."),
    }
    return ValidationError(messages[code], code=code)


def _nonce_of(token: str) -> tuple[str, bool]:
    """``(nonce, signature_expired)``; a bad signature raises ``tampered``."""
    try:
        return _signer().unsign(token or "", max_age=_max_age()), False
    except signing.SignatureExpired:
        # The signature was checked before the age: the nonce can be trusted.
        return token.rsplit(signing.Signer().sep, 2)[0], True
    except signing.BadSignature:
        raise _token_error(TAMPERED) from None


def _check(evaluation: Evaluation | None, signature_expired: bool, now: datetime) -> Evaluation:
    if evaluation is None:
        raise _token_error(UNKNOWN)
    if evaluation.answered_at is not None:
        raise _token_error(USED)
    if signature_expired or evaluation.expires_at <= now:
        raise _token_error(EXPIRED)
    return evaluation


def evaluation_for_token(token: str) -> Evaluation:
    """The evaluation a link may still answer, or ``ValidationError`` with code
    ``expired`` / ``used`` / ``tampered`` / ``unknown``. Reads only."""
    nonce, signature_expired = _nonce_of(token)
    found = Evaluation.objects.filter(nonce=nonce).first()
    return _check(found, signature_expired, timezone.now())


def _clean_score(score: object) -> int:
    try:
        value = int(str(score).strip())
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise ValidationError({"score": _("Escolha uma nota de 1 a 5.")}, code="score")
    return value


def _clean_comment(comment: str | None) -> str:
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT_LENGTH:
        raise ValidationError(
            {"comment": _("O comentário pode ter no máximo %(n)s caracteres.") % {"n": MAX_COMMENT_LENGTH}},
            code="comment",
        )
    return text


def evaluation_answer(token: str, score: object, comment: str | None) -> Evaluation:
    """The customer's answer: once per link, under a row lock; records the ticket event
    "Comentário da avaliação via SAC PLUS" and the conversation's "Avaliação respondida"."""
    evaluation_for_token(token)  # the link's error comes before the form's
    value = _clean_score(score)
    text = _clean_comment(comment)
    nonce, signature_expired = _nonce_of(token)
    now = timezone.now()
    with transaction.atomic():
        locked = _check(Evaluation.objects.select_for_update().filter(nonce=nonce).first(), signature_expired, now)
        locked.score = value
        locked.comment = text
        locked.answered_at = now
        locked.save(update_fields=["score", "comment", "answered_at"])
        data = {"score": value, "comment": text, "evaluation_id": locked.pk}
        if locked.conversation_id is not None:
            ConversationEvent.objects.create(
                conversation_id=locked.conversation_id, kind=ConversationEventKind.EVALUATION_ANSWERED,
                created_at=now, data=data,
            )
        if locked.ticket_id is not None:
            ticket = Ticket.objects.get(pk=locked.ticket_id)
            record(ticket=ticket, kind=EventKind.EVALUATION_COMMENT, actor=None, data=data, at=now)
    return locked


# --- asking -----------------------------------------------------------------------------------


def _new(*, ticket_id: int | None, conversation: Conversation | None, agent_id: int | None, channel: str) -> Evaluation:
    now = timezone.now()
    return Evaluation.objects.create(
        ticket_id=ticket_id,
        conversation=conversation,
        agent_id=agent_id,
        channel=channel,
        nonce=secrets.token_urlsafe(24),
        requested_at=now,
        expires_at=now + _max_age(),
    )


def _for_conversation(conversation: Conversation) -> Evaluation | None:
    existing = Evaluation.objects.filter(conversation=conversation).first()
    if existing is not None:
        return existing
    if conversation.status != ConversationStatus.CONCLUDED:
        return None  # cancelled, abandoned, lost: nothing the customer could rate
    channel = Channel.EMAIL if conversation.channel == Channel.VOICE else conversation.channel
    try:
        with transaction.atomic():
            return _new(
                ticket_id=conversation.ticket_id, conversation=conversation, agent_id=conversation.agent_id, channel=channel
            )
    except IntegrityError:  # a concurrent request created it first
        return Evaluation.objects.get(conversation=conversation)


def _for_ticket(ticket: Ticket) -> Evaluation | None:
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        existing = Evaluation.objects.filter(ticket=locked).order_by("-requested_at", "-id").first()
        if existing is not None:
            return existing
        if locked.closed_at is None:
            return None
        conversations = Conversation.objects.filter(ticket=locked)
        if conversations.filter(status__in=OPEN_STATUSES).exists():
            return None  # the conversation's own conclusion will ask
        concluded = conversations.filter(status=ConversationStatus.CONCLUDED).order_by("-ended_at", "-id").first()
        if concluded is not None:
            return _for_conversation(concluded)
        return _new(ticket_id=locked.pk, conversation=None, agent_id=locked.closed_by_id, channel=Channel.EMAIL)


def evaluation_request(*, conversation: Conversation | None = None, ticket: Ticket | None = None) -> Evaluation | None:
    """The evaluation of a concluded conversation or a finalized ticket, created once.

    Idempotent: a second call returns the same row. ``None`` when there is nothing
    to rate yet (conversation not concluded, ticket open or with a conversation still open).
    A ticket that had a concluded conversation is rated through that conversation.
    """
    if (conversation is None) == (ticket is None):
        raise ValueError("evaluation_request needs a conversation or a ticket")
    if conversation is not None:
        return _for_conversation(conversation)
    return _for_ticket(ticket)


# --- sending ----------------------------------------------------------------------------------


def evaluation_message(evaluation: Evaluation) -> str:
    return _(
        "Olá! Seu atendimento foi finalizado. Conte-nos como foi: avalie de 1 a 5 em %(url)s "
        "(o link vale até %(until)s)."
    ) % {"url": evaluation_url(evaluation), "until": date_format(timezone.localtime(evaluation.expires_at), "d/m/Y")}


def _recipient(evaluation: Evaluation) -> str:
    conversation = evaluation.conversation
    if conversation is not None and conversation.contact_email:
        return conversation.contact_email
    ticket = evaluation.ticket
    customer = getattr(ticket, "customer", None) or getattr(conversation, "customer", None)
    return getattr(customer, "email", "") or ""


def _deliver(evaluation: Evaluation, text: str) -> bool:
    """Through the conversation's channel (an automatic message), else by e-mail.
    False when there is no way to reach the customer (no e-mail)."""
    conversation = evaluation.conversation
    from omnichannel import services

    # WhatsApp takes free text only within 24 h of the customer's last message: later
    # (a "Reenviar" the next day), the request goes by e-mail when there is one.
    if (
        conversation is not None
        and conversation.channel != Channel.VOICE
        and services.within_service_window(conversation)
    ):
        services.conversation_system_message(
            conversation=conversation, body=text, data={"evaluation_id": evaluation.pk}
        )
        return True
    email = _recipient(evaluation)
    if not email:
        return False
    send_mail(_("Avalie o seu atendimento"), text, None, [email])
    return True


def _unreachable(evaluation: Evaluation) -> str:
    conversation = evaluation.conversation
    if conversation is not None and conversation.channel == Channel.WHATSAPP:
        return _("fora da janela de 24 horas do WhatsApp e o cliente não tem e-mail cadastrado.")
    return _("o cliente não tem e-mail cadastrado.")


def _send_locked(evaluation: Evaluation, now: datetime, *, actor: AbstractBaseUser | None) -> bool:
    evaluation.expires_at = max(evaluation.expires_at, now + _max_age())
    sent = _deliver(evaluation, evaluation_message(evaluation))
    if not sent:
        if evaluation.ticket_id is not None:
            record(
                ticket=evaluation.ticket,
                kind=EventKind.EVALUATION_NOT_SENT,
                actor=None,
                data={"reason": _unreachable(evaluation), "evaluation_id": evaluation.pk},
                at=now,
            )
        return False
    evaluation.last_sent_at = now
    evaluation.send_count += 1
    evaluation.save(update_fields=["expires_at", "last_sent_at", "send_count"])
    if evaluation.conversation_id is not None:
        ConversationEvent.objects.create(
            conversation_id=evaluation.conversation_id, kind=ConversationEventKind.EVALUATION_REQUESTED,
            actor=actor if actor is not None and actor.is_authenticated else None,
            created_at=now, data={"evaluation_id": evaluation.pk, "send_count": evaluation.send_count},
        )
    return True


def _lock(evaluation_id: int) -> Evaluation:
    return (
        Evaluation.objects.select_for_update(of=("self",))
        .select_related("conversation", "ticket__customer")
        .get(pk=evaluation_id)
    )


def evaluation_send(evaluation_id: int) -> bool:
    """Send the first request; True when it went out now. A second call (a retried task)
    sends nothing; an answered evaluation is never asked again."""
    with transaction.atomic():
        evaluation = _lock(evaluation_id)
        if evaluation.answered_at is not None or evaluation.send_count:
            return False
        return _send_locked(evaluation, timezone.now(), actor=None)


def evaluation_resend(*, actor: AbstractBaseUser, ticket: Ticket) -> Evaluation:
    """"Reenviar avaliação para o SAC Plus" (painel Finalizados): ask the customer again,
    at most once every ``SACPLUS_RESEND_INTERVAL_MINUTES``."""
    if not actor.has_perm(RESEND_PERMISSION):
        raise PermissionDenied(_("Você não tem permissão para reenviar avaliações."))
    if not visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise PermissionDenied(_("Você não tem acesso a este atendimento."))
    ticket = Ticket.objects.get(pk=ticket.pk)
    if ticket.closed_at is None:
        raise ValidationError(_("Só é possível reenviar a avaliação de um atendimento finalizado."))
    evaluation = evaluation_request(ticket=ticket)
    if evaluation is None:
        raise ValidationError(_("Este atendimento ainda tem uma conversa em andamento."))
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(evaluation.pk)
        if locked.answered_at is not None:
            raise ValidationError(_("O cliente já respondeu a avaliação deste atendimento."))
        interval = timedelta(minutes=settings.SACPLUS_RESEND_INTERVAL_MINUTES)
        if locked.last_sent_at is not None and now < locked.last_sent_at + interval:
            raise ValidationError(
                _("A avaliação deste atendimento foi enviada às %(sent)s. Aguarde até %(next)s para reenviar.")
                % {
                    "sent": date_format(timezone.localtime(locked.last_sent_at), "H:i"),
                    "next": date_format(timezone.localtime(locked.last_sent_at + interval), "H:i"),
                }
            )
        if not _send_locked(locked, now, actor=actor):
            raise ValidationError(
                _("Não foi possível enviar a avaliação: %(why)s") % {"why": _unreachable(locked)}
            )
    return locked


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Average:
    value: float | None
    count: int


def omnichannel_average(user: AbstractBaseUser, start: datetime, end: datetime) -> Average:
    """Média de avaliação omnichannel: the mean score of the answered evaluations of the
    conversations ``user`` handled that ended in ``[start, end)``."""
    row = Evaluation.objects.filter(
        agent=user, score__isnull=False, conversation__ended_at__gte=start, conversation__ended_at__lt=end
    ).aggregate(avg=Avg("score"), n=Count("id"))
    return Average(value=float(row["avg"]) if row["avg"] is not None else None, count=row["n"])
