"""Omnichannel operations: presence, conversations, routing decisions, transfers.

Each operation validates, checks the actor's permission, writes in one
transaction, records ticket events through ``tickets.events.record`` and
publishes after commit. Bad input raises ``ValidationError`` (pt-BR), a
missing permission ``PermissionDenied``; either way nothing changes.

Customer-side operations (``conversation_start``, ``conversation_customer_message``,
``conversation_abandon``) take no user: the channel adapter that calls them
(widget, webhook) has already authenticated the contact for that conversation.
"""

import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from omnichannel import routing
from omnichannel.models import (
    CHANNEL_ORIGIN,
    OPEN_STATUSES,
    AgentPresence,
    AgentQueue,
    AgentState,
    BotMenu,
    Channel,
    ContactReason,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Message,
    MessageAttachment,
    MessageKind,
    MessageState,
    PauseReason,
    PresenceInterval,
    Queue,
    channel_weight,
)
from omnichannel.publish import agent_group, publish_conversation, publish_message, publish_presence
from omnichannel.tasks_evaluations import on_conversation_closed
from tickets.documents import normalize_document, validate_document
from tickets.events import record
from tickets.models import Customer, EventKind, Team, Ticket
from tickets.publish import publish_on_commit
from tickets.roles import is_admin, is_supervisor
from tickets.selectors import supervised_team_ids
from tickets.services import format_protocol, next_counter, supervises, ticket_open

User = get_user_model()

MAX_MESSAGE_LENGTH = 4000


# --- helpers ----------------------------------------------------------------------------------


def conversation_protocol(year: int, number: int) -> str:
    """The contact's protocol, e.g. ``C2026.000123``: its own yearly sequence, so the tickets'
    gap-free protocols stay untouched, and a letter so it is never mistaken for a ticket's."""
    return f"C{format_protocol(year, number)}"


def system_user() -> AbstractBaseUser:
    """The account that opens tickets and registers customers for conversations.

    Customers act without a user; ``tickets.services`` needs one that may open
    tickets for any team. It cannot log in (unusable password) and is not staff.
    """
    username = settings.OMNICHANNEL_SYSTEM_USERNAME
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, first_name="Omnichannel", is_active=True, is_superuser=True)
        user.set_unusable_password()
        user.save()
    return user


def supervises_agent(actor: AbstractBaseUser, agent: AbstractBaseUser) -> bool:
    if is_admin(actor):
        return True
    if not is_supervisor(actor):
        return False
    return Team.objects.filter(pk__in=supervised_team_ids(actor), members=agent).exists()


def _require_agent_or_supervisor(actor: AbstractBaseUser, agent: AbstractBaseUser) -> bool:
    """True when the actor acts on someone else's state (forced, and recorded as such)."""
    if actor.pk == agent.pk:
        return False
    if supervises_agent(actor, agent):
        return True
    raise PermissionDenied(_("Só o próprio agente ou um supervisor da equipe dele pode alterar o status."))


def _clean_text(value: str, field: str, *, required: bool = True, limit: int = MAX_MESSAGE_LENGTH) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: _("Escreva a mensagem.")})
    if len(text) > limit:
        raise ValidationError({field: _("A mensagem pode ter no máximo %(n)s caracteres.") % {"n": limit}})
    return text


def _lock_conversation(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update(of=("self",)).select_related("queue").get(pk=conversation.pk)


def _require_open(conversation: Conversation) -> None:
    if conversation.status not in OPEN_STATUSES:
        raise ValidationError(
            _("A conversa %(protocol)s já foi encerrada (%(status)s).")
            % {"protocol": conversation.protocol, "status": conversation.get_status_display()}
        )


def _require_handler(actor: AbstractBaseUser, conversation: Conversation) -> None:
    """The agent holding the conversation, or a supervisor of its queue's team."""
    if conversation.agent_id == actor.pk:
        return
    if conversation.queue_id is not None and supervises(actor, conversation.queue.team_id):
        return
    raise PermissionDenied(_("Esta conversa está com outro agente."))


def _require_queue_supervisor(actor: AbstractBaseUser, queue: Queue | None) -> None:
    if queue is None or not supervises(actor, queue.team_id):
        raise PermissionDenied(_("Só um supervisor da equipe da fila pode fazer isto."))


def _event(
    conversation: Conversation,
    kind: str,
    at: datetime,
    *,
    actor: AbstractBaseUser | None = None,
    data: dict | None = None,
) -> None:
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        created_at=at,
        data=data or {},
    )


def _source_text(label) -> str:
    """A choice's label as its pt-BR source text: the ticket's log stores that and
    ``tickets.events.event_text`` shows it in the reader's language."""
    with translation.override(None):
        return str(label)


def _ticket_event_data(conversation: Conversation) -> dict:
    """What the ticket's log keeps of a conversation: its id (for the link) and the names the sentence shows."""
    return {
        "protocol": conversation.protocol,
        "conversation_id": conversation.pk,
        "channel": conversation.channel,
        "channel_name": _source_text(Channel(conversation.channel).label),
    }


def record_conversation_closed(
    conversation: Conversation, at: datetime, *, actor: AbstractBaseUser | None, summary: str = ""
) -> None:
    """"Conversa … encerrada como …" on the conversation's ticket: final status, agent,
    contact reason ("qualificação") and notes ("notas do atendimento"); ``summary`` for a call."""
    if conversation.ticket_id is None:
        return
    agent = conversation.agent if conversation.agent_id is not None else None
    reason = conversation.contact_reason if conversation.contact_reason_id is not None else None
    data = {
        **_ticket_event_data(conversation),
        "status": conversation.status,
        "status_name": _source_text(ConversationStatus(conversation.status).label),
        "agent_id": conversation.agent_id,
        "agent": (agent.get_full_name() or agent.get_username()) if agent is not None else "",
        "contact_reason_id": conversation.contact_reason_id,
        "contact_reason": reason.name if reason is not None else "",
        "notes": conversation.notes,
    }
    if summary:
        data["summary"] = summary
    record(ticket=conversation.ticket, kind=EventKind.CONVERSATION_CLOSED, actor=actor, data=data, at=at)


def _message(
    conversation: Conversation,
    kind: str,
    body: str,
    at: datetime,
    *,
    author: AbstractBaseUser | None = None,
    external_id: str = "",
    data: dict | None = None,
) -> Message:
    """Store a message and keep the conversation's message timestamps (saved by the caller).

    On a provider channel (the conversation has an ``account``), what goes to the customer
    (agent replies, automatic messages) is stored ``pending`` and handed to the channel's
    sender after commit (``omnichannel.outbound``); what the customer sent carries the
    provider's message id, unique per account.
    """
    outbound = conversation.account_id is not None and kind in (MessageKind.AGENT, MessageKind.SYSTEM)
    message = Message.objects.create(
        conversation=conversation,
        kind=kind,
        author=author,
        body=body,
        created_at=at,
        account_id=conversation.account_id if kind != MessageKind.NOTE else None,
        external_id=external_id,
        data=data or {},
        state=MessageState.PENDING if outbound else MessageState.SENT,
    )
    if outbound:
        from omnichannel.outbound import send_after_commit

        send_after_commit(message.pk)
    if kind != MessageKind.NOTE:
        conversation.last_message_at = at
    if kind == MessageKind.CUSTOMER:
        conversation.last_customer_message_at = at
        conversation.inactivity_warned_at = None
    elif kind == MessageKind.AGENT:
        conversation.last_agent_message_at = at
        conversation.assignment_answered_at = conversation.assignment_answered_at or at
        conversation.first_response_at = conversation.first_response_at or at
    publish_message(message)
    return message


MESSAGE_FIELDS = [
    "last_message_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "assignment_answered_at",
    "first_response_at",
    "inactivity_warned_at",
]


def _close(
    conversation: Conversation,
    status: str,
    at: datetime,
    *,
    actor: AbstractBaseUser | None,
    notes: str = "",
    contact_reason: ContactReason | None = None,
) -> None:
    """End a locked open conversation: free the agent's slot, start wrap-up, pull the next one."""
    previous_agent = conversation.agent_id
    was_bot = conversation.status == ConversationStatus.BOT
    routing.release_slot(conversation, at)
    conversation.status = status
    conversation.ended_at = at
    conversation.ended_by = actor if actor is not None and actor.is_authenticated else None
    conversation.reserved_for_id = None
    if was_bot and conversation.bot_ended_at is None:
        conversation.bot_ended_at = at
    if conversation.human_started_at is not None:
        conversation.human_ended_at = at
    if notes:
        conversation.notes = notes
    if contact_reason is not None:
        conversation.contact_reason = contact_reason
    conversation.save(
        update_fields=[
            "status", "ended_at", "ended_by", "reserved_for", "bot_ended_at", "human_ended_at", "notes",
            "contact_reason",
        ]
    )
    _event(conversation, ConversationEventKind.CLOSED, at, actor=actor, data={"status": status})
    on_conversation_closed(conversation=conversation, status=status)  # SAC Plus evaluation, after commit
    record_conversation_closed(conversation, at, actor=actor)
    publish_conversation(conversation, "closed", agents=(previous_agent,))
    if previous_agent is not None:
        presence = routing.lock_presence(previous_agent)
        wrap_up = conversation.queue.wrap_up_seconds if conversation.queue_id else 0
        if status == ConversationStatus.CONCLUDED and wrap_up:
            presence.wrap_up_until = at + timedelta(seconds=wrap_up)
            presence.save(update_fields=["wrap_up_until"])
            publish_presence(previous_agent, "wrap_up", state=presence.state)
            from omnichannel.tasks import end_wrap_up_on_commit  # tasks import this module

            end_wrap_up_on_commit(agent_id=previous_agent, until=presence.wrap_up_until)
        else:
            routing.pull(presence, at)


# --- presence ---------------------------------------------------------------------------------


def _assigned_queue_ids(agent_id: int) -> list[int]:
    return list(AgentQueue.objects.filter(agent_id=agent_id, queue__active=True).values_list("queue_id", flat=True))


def _change_state(
    presence: AgentPresence,
    state: str,
    at: datetime,
    *,
    pause_reason: PauseReason | None,
    forced_by: AbstractBaseUser | None,
    note: str = "",
) -> None:
    """Close the open timeline interval, open the new one and update the locked presence."""
    PresenceInterval.objects.filter(agent_id=presence.pk, ended_at__isnull=True).update(ended_at=at)
    PresenceInterval.objects.create(
        agent_id=presence.pk,
        state=state,
        pause_reason=pause_reason,
        started_at=at,
        forced_by=forced_by,
        note=note[:200],
    )
    previous = presence.state
    presence.state = state
    presence.pause_reason = pause_reason
    presence.since = at
    fields = ["state", "pause_reason", "since"]
    if state == AgentState.ONLINE and previous != AgentState.ONLINE:
        presence.idle_since = at
        fields.append("idle_since")
    if state == AgentState.OFFLINE:
        presence.wrap_up_until = None
        presence.last_seen = None
        fields += ["wrap_up_until", "last_seen"]
    presence.save(update_fields=fields)
    publish_presence(presence.pk, "state", state=state, queue_ids=_assigned_queue_ids(presence.pk))


def _waiting_for_agent(agent_id: int):
    """Conversations in progress that owe the agent's reply: unanswered, or the customer spoke last."""
    return Conversation.objects.filter(status=ConversationStatus.IN_PROGRESS, agent_id=agent_id).filter(
        Q(assignment_answered_at__isnull=True)
        | Q(last_agent_message_at__isnull=True, last_customer_message_at__isnull=False)
        | Q(last_customer_message_at__gt=F("last_agent_message_at"))
    )


def _return_waiting_conversations(agent_id: int, at: datetime, *, actor: AbstractBaseUser | None, reason: str) -> list[int]:
    """Send the agent's waiting-for-agent conversations back to their queues and route them elsewhere.

    The caller holds the agent's presence: conversations are skip-locked (lock order, see routing).
    """
    returned = []
    for conversation in (
        _waiting_for_agent(agent_id).select_for_update(skip_locked=True, of=("self",)).select_related("queue")
    ):
        routing.requeue(conversation, at)
        _event(conversation, ConversationEventKind.RETURNED, at, actor=actor, data={"agent_id": agent_id, "reason": reason})
        publish_conversation(conversation, "returned", agents=(agent_id,))
        routing.route(conversation, at, exclude_agent_ids=(agent_id,))
        returned.append(conversation.pk)
    return returned


def agent_set_state(
    *,
    actor: AbstractBaseUser,
    agent: AbstractBaseUser,
    state: str,
    pause_reason: PauseReason | None = None,
    note: str = "",
) -> AgentPresence:
    """Alterar/Encerrar Omnichannel: Online (Aguardando), Ausente (Pausado, with a reason), Offline.

    A supervisor may force another agent's state; the timeline records who did.
    Going Online from Offline logs the agent in to every assigned queue when none
    is logged in; going Offline logs out of all and returns the conversations
    that wait for the agent's reply to their queues.
    """
    forced = _require_agent_or_supervisor(actor, agent)
    if state not in AgentState.values:
        raise ValidationError({"state": _("Status inválido.")})
    if state == AgentState.AWAY:
        if pause_reason is None or not pause_reason.active:
            raise ValidationError({"pause_reason": _("Escolha um motivo de pausa ativo.")})
    elif pause_reason is not None:
        raise ValidationError({"pause_reason": _("Motivo de pausa só se aplica ao status Ausente.")})
    if not agent.is_active:
        raise ValidationError(_("Usuário inativo."))
    assigned = _assigned_queue_ids(agent.pk)
    if state != AgentState.OFFLINE and not assigned:
        raise ValidationError(_("O agente não está atribuído a nenhuma fila."))
    now = timezone.now()
    with transaction.atomic():
        presence = routing.lock_presence(agent.pk)
        if presence.state == state and presence.pause_reason_id == (pause_reason.pk if pause_reason else None):
            raise ValidationError(
                _("O agente já está %(state)s.") % {"state": AgentState(state).label}
            )
        previous = presence.state
        _change_state(presence, state, now, pause_reason=pause_reason, forced_by=actor if forced else None, note=note)
        if state == AgentState.OFFLINE:
            AgentQueue.objects.filter(agent_id=agent.pk, logged_in=True).update(logged_in=False, changed_at=now)
            _return_waiting_conversations(agent.pk, now, actor=actor, reason="offline")
        elif state == AgentState.ONLINE:
            if previous == AgentState.OFFLINE and not AgentQueue.objects.filter(agent_id=agent.pk, logged_in=True).exists():
                AgentQueue.objects.filter(agent_id=agent.pk, queue_id__in=assigned).update(logged_in=True, changed_at=now)
            routing.pull(presence, now)
    return presence


def _queue_rows(agent: AbstractBaseUser, queues: Iterable[Queue] | None):
    rows = AgentQueue.objects.filter(agent_id=agent.pk, queue__active=True)
    if queues is None:
        return rows
    ids = {q.pk for q in queues}
    if not ids:
        raise ValidationError({"queues": _("Escolha ao menos uma fila.")})
    found = set(rows.filter(queue_id__in=ids).values_list("queue_id", flat=True))
    if found != ids:
        raise ValidationError({"queues": _("O agente não está atribuído a todas as filas escolhidas.")})
    return rows.filter(queue_id__in=ids)


def agent_queue_login(
    *, actor: AbstractBaseUser, agent: AbstractBaseUser, queues: Iterable[Queue] | None = None
) -> AgentPresence:
    """Efetuar login em filas: all assigned queues (``None``) or the ones given; Offline becomes Online."""
    forced = _require_agent_or_supervisor(actor, agent)
    queues = list(queues) if queues is not None else None
    if not agent.is_active:
        raise ValidationError(_("Usuário inativo."))
    now = timezone.now()
    with transaction.atomic():
        presence = routing.lock_presence(agent.pk)
        rows = _queue_rows(agent, queues)
        if not rows.exists():
            raise ValidationError(_("O agente não está atribuído a nenhuma fila."))
        rows.filter(logged_in=False).update(logged_in=True, changed_at=now)
        if presence.state == AgentState.OFFLINE:
            _change_state(presence, AgentState.ONLINE, now, pause_reason=None, forced_by=actor if forced else None)
        else:
            publish_presence(agent.pk, "queues", state=presence.state, queue_ids=_assigned_queue_ids(agent.pk))
        routing.pull(presence, now)
    return presence


def agent_queue_logout(
    *, actor: AbstractBaseUser, agent: AbstractBaseUser, queues: Iterable[Queue] | None = None
) -> AgentPresence:
    """Logout of the queues given (``None``: all). Logged out of every queue, the agent is Offline."""
    forced = _require_agent_or_supervisor(actor, agent)
    queues = list(queues) if queues is not None else None
    now = timezone.now()
    with transaction.atomic():
        presence = routing.lock_presence(agent.pk)
        rows = _queue_rows(agent, queues)
        rows.filter(logged_in=True).update(logged_in=False, changed_at=now)
        if not AgentQueue.objects.filter(agent_id=agent.pk, logged_in=True).exists():
            if presence.state != AgentState.OFFLINE:
                _change_state(presence, AgentState.OFFLINE, now, pause_reason=None, forced_by=actor if forced else None)
            _return_waiting_conversations(agent.pk, now, actor=actor, reason="logout")
        else:
            publish_presence(agent.pk, "queues", state=presence.state, queue_ids=_assigned_queue_ids(agent.pk))
    return presence


def agent_heartbeat(*, agent: AbstractBaseUser) -> None:
    """The agent's browser is still there (called by the presence socket)."""
    AgentPresence.objects.filter(pk=agent.pk).exclude(state=AgentState.OFFLINE).update(last_seen=timezone.now())


def agent_connection_lost(*, agent_id: int, at: datetime | None = None, seen_before: datetime | None = None) -> bool:
    """No browser tab for longer than the grace time: out of routing, recorded. True if it changed.

    With ``seen_before`` (the sweep), a heartbeat that arrived meanwhile keeps the agent in.
    """
    now = at or timezone.now()
    with transaction.atomic():
        presence = routing.lock_presence(agent_id)
        if presence.state == AgentState.OFFLINE:
            return False
        if seen_before is not None and (presence.last_seen is None or presence.last_seen >= seen_before):
            return False
        _change_state(presence, AgentState.OFFLINE, now, pause_reason=None, forced_by=None, note=_("Perda de conexão"))
        AgentQueue.objects.filter(agent_id=agent_id, logged_in=True).update(logged_in=False, changed_at=now)
        _return_waiting_conversations(agent_id, now, actor=None, reason="connection_lost")
    return True


def agent_wrap_up_finish(*, actor: AbstractBaseUser, agent: AbstractBaseUser) -> AgentPresence:
    """Concluir pós-atendimento (the agent, or a supervisor on their behalf)."""
    _require_agent_or_supervisor(actor, agent)
    now = timezone.now()
    with transaction.atomic():
        presence = routing.lock_presence(agent.pk)
        if presence.wrap_up_until is None or presence.wrap_up_until <= now:
            raise ValidationError(_("O agente não está em pós-atendimento."))
        presence.wrap_up_until = None
        presence.save(update_fields=["wrap_up_until"])
        publish_presence(agent.pk, "wrap_up_finished", state=presence.state)
        routing.pull(presence, now)
    return presence


def agent_wrap_up_expire(*, agent_id: int, until: datetime, at: datetime | None = None) -> list[int] | None:
    """The wrap-up that was to last until ``until`` ran out: end it and give the agent the oldest
    waiting conversations (the ids taken).

    ``None``, nothing changed, unless that very wrap-up is still running and over: one ended by
    hand, restarted by another resolution (a later ``until``) or cleared by going Offline is left
    alone, so a late, repeated or early timer is harmless. Decided under the presence row lock.
    """
    now = at or timezone.now()
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().filter(pk=agent_id).first()
        if presence is None or presence.wrap_up_until != until or until > now:
            return None
        presence.wrap_up_until = None
        presence.save(update_fields=["wrap_up_until"])
        publish_presence(agent_id, "wrap_up_finished", state=presence.state)
        return routing.pull(presence, now)


def agent_pull(*, agent_id: int, at: datetime | None = None) -> list[int]:
    """Give a free agent the oldest waiting conversations (periodic safety net, end of wrap-up)."""
    now = at or timezone.now()
    with transaction.atomic():
        presence = routing.lock_presence(agent_id)
        return routing.pull(presence, now)


# --- tickets of conversations -----------------------------------------------------------------


def _link_ticket(conversation: Conversation, at: datetime, *, actor: AbstractBaseUser | None) -> None:
    """Open a ticket for the conversation's customer, or join their open ticket of the same queue."""
    if conversation.ticket_id is not None or conversation.customer_id is None or conversation.queue_id is None:
        return
    queue = conversation.queue
    joined = (
        Ticket.objects.filter(
            closed_at__isnull=True,
            customer_id=conversation.customer_id,
            conversations__queue_id=queue.pk,
        )
        .order_by("-opened_at")
        .first()
    )
    ticket = joined or ticket_open(
        actor=system_user(),
        customer=conversation.customer,
        company=queue.company,
        team=queue.team,
        process=queue.process,
        origin=CHANNEL_ORIGIN[Channel(conversation.channel)],
        customer_report=_("Contato pelo canal %(channel)s, fila %(queue)s.")
        % {"channel": conversation.get_channel_display(), "queue": queue.name},
    )
    conversation.ticket = ticket
    conversation.save(update_fields=["ticket"])
    # The contact's own protocol and channel on the ticket's log: it opened the ticket, or joined it.
    record(
        ticket=ticket,
        kind=EventKind.CONVERSATION_JOINED if joined is not None else EventKind.CONVERSATION_STARTED,
        actor=actor,
        data={**_ticket_event_data(conversation), "joined": joined is not None},
        at=max(at, ticket.opened_at),  # after "Solicitação criada" of the ticket it opened
    )
    _event(conversation, ConversationEventKind.TICKET_LINKED, at, actor=actor, data={"ticket_id": ticket.pk, "joined": joined is not None})


def _resolve_customer(name: str, email: str, phone: str, document: str) -> Customer | None:
    if document:
        customer = Customer.objects.filter(document=document).first()
        if customer is None:
            customer = Customer(name=name, document=document, email=email, mobile=phone)
            customer.full_clean()
            customer.save()
        return customer
    # Without a document, only an unambiguous e-mail or phone identifies a registered customer.
    for lookup in ({"email__iexact": email} if email else None, {"mobile": phone} if phone else None):
        if lookup:
            found = list(Customer.objects.filter(**lookup)[:2])
            if len(found) == 1:
                return found[0]
    return None


# --- conversations: the customer's side ----------------------------------------------------------


def _enqueue(conversation: Conversation, queue: Queue, at: datetime, *, actor: AbstractBaseUser | None = None) -> None:
    """Put a locked conversation in ``queue`` (a new queue: new place in line) and try to route it."""
    if not queue.active:
        raise ValidationError({"queue": _("Fila inativa.")})
    conversation.queue = queue
    conversation.status = ConversationStatus.QUEUED
    conversation.agent_id = None
    conversation.queued_at = conversation.queued_at or at
    conversation.waiting_since = at
    conversation.weight = channel_weight(conversation.channel)
    conversation.save(update_fields=["queue", "status", "agent", "queued_at", "waiting_since", "weight"])
    _event(conversation, ConversationEventKind.QUEUED, at, actor=actor, data={"queue_id": queue.pk})
    _link_ticket(conversation, at, actor=actor)
    if queue.calendar_id is not None:
        from sla.businesstime import is_open
        from sla.calendars import calendar_info

        if not is_open(calendar_info(queue.calendar).spec, at):
            _message(conversation, MessageKind.SYSTEM, queue.out_of_hours_message, at)
            conversation.save(update_fields=MESSAGE_FIELDS)
            _event(conversation, ConversationEventKind.OUT_OF_HOURS, at)
    publish_conversation(conversation, "queued")
    routing.route(conversation, at, actor=actor)


def conversation_start(
    *,
    channel: str,
    contact_name: str,
    contact_email: str = "",
    contact_phone: str = "",
    contact_document: str = "",
    entry_point: str | None = None,
    queue: Queue | None = None,
    first_message: str = "",
    access_token_hash: str = "",
    menu: BotMenu | None = None,
    account=None,
    contact=None,
    first_external_id: str = "",
    first_data: dict | None = None,
    first_files: Sequence = (),
    hold_in_filter: bool = False,
) -> Conversation:
    """A contact arrives: protocol, first automatic message, then the bot menu or the queue.

    ``access_token_hash``: the hash of the secret the contact's channel (the widget) will
    authenticate with later; the secret itself is never stored.
    """
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = _("Canal inválido.")
    name = (contact_name or "").strip()
    if not name:
        errors["contact_name"] = _("Informe o nome.")
    elif len(name) > 200:
        errors["contact_name"] = _("O nome pode ter no máximo 200 caracteres.")
    email = (contact_email or "").strip()
    phone = (contact_phone or "").strip()
    if channel == Channel.LIVE_CHAT and not (email or phone):
        errors["contact_email"] = _("Informe o e-mail ou o telefone.")
    if email:
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError:
            errors["contact_email"] = _("E-mail inválido.")
    if len(phone) > 20:
        errors["contact_phone"] = _("Telefone inválido.")
    document = normalize_document(contact_document or "")
    if document:
        try:
            validate_document(document)
        except ValidationError as exc:
            errors["contact_document"] = exc.messages[0]
    # A provider account's own menu (it has no entry-point address); inactive: its queue.
    if menu is not None and menu.active:
        queue = None
    elif (entry_point is None) == (queue is None):
        menu = None
        errors["entry_point"] = _("Informe o ponto de entrada ou a fila.")
    elif entry_point is not None:
        menu = BotMenu.objects.filter(entry_point=entry_point, active=True).first()
        if menu is None:
            errors["entry_point"] = _("Ponto de entrada desconhecido.")
    else:
        menu = None
        if not queue.active:
            errors["queue"] = _("Fila inativa.")
        elif queue.channel != channel:
            errors["queue"] = _("A fila não atende este canal.")
    body = (first_message or "").strip()
    if len(body) > MAX_MESSAGE_LENGTH:
        errors["first_message"] = _("A mensagem pode ter no máximo %(n)s caracteres.") % {"n": MAX_MESSAGE_LENGTH}
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    with transaction.atomic():
        customer = _resolve_customer(name, email, phone, document)
        year = timezone.localtime(now, timezone.get_default_timezone()).year
        conversation = Conversation.objects.create(
            protocol=conversation_protocol(year, next_counter(f"conversation:{year}")),
            channel=channel,
            status=(
                ConversationStatus.IN_FILTER
                if hold_in_filter and menu is None
                else ConversationStatus.BOT if menu else ConversationStatus.QUEUED
            ),
            customer=customer,
            contact_name=name,
            contact_email=email,
            contact_phone=phone,
            contact_document=document,
            entry_menu=menu,
            bot_menu=menu,
            weight=channel_weight(channel),
            created_at=now,
            bot_started_at=now if menu else None,
            queue=queue,
            access_token_hash=access_token_hash,
            account=account,
            contact=contact,
        )
        _event(conversation, ConversationEventKind.STARTED, now, data={"entry_point": entry_point or ""})
        if body or first_files or first_data:
            first = _message(conversation, MessageKind.CUSTOMER, body, now, external_id=first_external_id, data=first_data)
            _store_inbound_files(first, first_files)
        if conversation.status == ConversationStatus.IN_FILTER:
            # E-mail filter: nothing is said to the sender until a supervisor accepts it.
            conversation.save(update_fields=MESSAGE_FIELDS)
            publish_conversation(conversation, "in_filter")
            return conversation
        send_protocol_message(conversation, now)
        if menu is not None:
            _message(conversation, MessageKind.SYSTEM, menu.prompt(), now)
            conversation.save(update_fields=MESSAGE_FIELDS)
            publish_conversation(conversation, "started")
        else:
            conversation.save(update_fields=MESSAGE_FIELDS)
            _enqueue(conversation, queue, now)
    return conversation


def send_protocol_message(conversation: Conversation, at: datetime) -> Message:
    """The first automatic message: the contact is told their protocol number."""
    return _message(
        conversation,
        MessageKind.SYSTEM,
        _("Olá, %(name)s! O protocolo deste atendimento é %(protocol)s.")
        % {"name": conversation.contact_name, "protocol": conversation.protocol},
        at,
    )


def _bot_step(conversation: Conversation, text: str, at: datetime) -> None:
    """The customer answered the current menu: a sub-menu, a queue, or the fallback."""
    menu = conversation.bot_menu
    option = None
    if text.isdigit():
        option = menu.options.select_related("queue", "submenu").filter(number=int(text)).first()
    if option is None or (option.submenu is not None and not option.submenu.active):
        _message(conversation, MessageKind.SYSTEM, menu.fallback_message, at)
        _message(conversation, MessageKind.SYSTEM, menu.prompt(), at)
        conversation.save(update_fields=MESSAGE_FIELDS)
        _event(conversation, ConversationEventKind.BOT_STEP, at, data={"menu_id": menu.pk, "answer": text[:20], "valid": False})
        publish_conversation(conversation, "bot")
        return
    _event(conversation, ConversationEventKind.BOT_STEP, at, data={"menu_id": menu.pk, "option": option.number, "valid": True})
    if option.submenu is not None:
        conversation.bot_menu = option.submenu
        _message(conversation, MessageKind.SYSTEM, option.submenu.prompt(), at)
        conversation.save(update_fields=["bot_menu", *MESSAGE_FIELDS])
        publish_conversation(conversation, "bot")
        return
    conversation.bot_menu = None
    conversation.bot_ended_at = at
    conversation.save(update_fields=["bot_menu", "bot_ended_at", *MESSAGE_FIELDS])
    _enqueue(conversation, option.queue, at)


def _store_inbound_files(message: Message, files: Sequence) -> None:
    """Files a provider delivered with a customer's message: ``(name, content, content_type)``."""
    from django.core.files.base import ContentFile

    for name, content, content_type in files:
        name = os.path.basename(name or "arquivo")[:200] or "arquivo"
        attachment = MessageAttachment(message=message, name=name, size=len(content), content_type=(content_type or "")[:100])
        attachment.file.save(name, ContentFile(content), save=True)


def conversation_customer_message(
    *,
    conversation: Conversation,
    body: str,
    external_id: str = "",
    data: dict | None = None,
    files: Sequence = (),
) -> Message:
    """A message from the customer: answers the bot, or reaches the agent (or the queue).

    Provider channels pass the provider's message id, non-text parts (``data``: location,
    e-mail headers, refused files) and files already fetched and size-checked.
    """
    text = _clean_text(body, "body", required=not (files or data))
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        message = _message(locked, MessageKind.CUSTOMER, text, now, external_id=external_id, data=data)
        _store_inbound_files(message, files)
        locked.save(update_fields=MESSAGE_FIELDS)
        if locked.status == ConversationStatus.BOT:
            _bot_step(locked, text, now)
        elif locked.status == ConversationStatus.IN_PROGRESS:
            _requeue_if_agent_offline(locked, now)
    return message


def _requeue_if_agent_offline(locked: Conversation, at: datetime) -> None:
    """The customer wrote to an agent who went Offline: nobody will read it, so back to the
    queue, keeping its place in line."""
    # The state alone (no row yet: never Online, so Offline).
    state = AgentPresence.objects.filter(pk=locked.agent_id).values_list("state", flat=True).first()
    if state in (None, AgentState.OFFLINE):
        previous = routing.requeue(locked, at)
        _event(locked, ConversationEventKind.RETURNED, at, data={"agent_id": previous, "reason": "offline"})
        publish_conversation(locked, "returned", agents=(previous,))
        routing.route(locked, at, exclude_agent_ids=(previous,))


def conversation_customer_upload(
    *, conversation: Conversation, files: Sequence[UploadedFile], body: str = ""
) -> Message:
    """The widget customer sends files (and optionally a text) with the agent's limits
    (``validate_message_files``); not while in the bot menu, which only understands answers."""
    files = list(files)
    if not files:
        raise ValidationError({"files": _("Escolha um arquivo para enviar.")})
    text = _clean_text(body, "body", required=False)
    validate_message_files(files)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        if locked.status == ConversationStatus.BOT:
            raise ValidationError({"files": _("Escolha uma opção do menu antes de enviar arquivos.")})
        message = _message(locked, MessageKind.CUSTOMER, text, now)
        _store_uploads(message, files)
        locked.save(update_fields=MESSAGE_FIELDS)
        if locked.status == ConversationStatus.IN_PROGRESS:
            _requeue_if_agent_offline(locked, now)
    return message


# The customer still waits for a human: leaving now is Abandono.
_WAITING_STATUSES = (ConversationStatus.BOT, ConversationStatus.QUEUED)


def conversation_abandon(*, conversation: Conversation, only_waiting: bool = False) -> Conversation | None:
    """The customer left the widget: Abandono while in the bot or the queue, otherwise the
    conversation's connection was lost.

    ``only_waiting`` (the widget's "leave" and its socket's grace timer): the decision is taken
    on the row under its lock, so a conversation an agent took, or that ended, since the caller
    looked is left alone and ``None`` returned instead of being closed on a stale status.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        if only_waiting and locked.status not in _WAITING_STATUSES:
            return None
        _require_open(locked)
        status = (
            ConversationStatus.ABANDONED if locked.status in _WAITING_STATUSES else ConversationStatus.CONNECTION_LOST
        )
        _close(locked, status, now, actor=None)
    return locked


# --- conversations: the agent's and supervisor's side -----------------------------------------


MAX_FILES_PER_MESSAGE = 5
MAX_FILE_BYTES = 2 * 1024 * 1024


def validate_message_files(files: Sequence[UploadedFile]) -> None:
    """At most 5 files of at most 2 MB each, of the allowed types (``ATTACHMENT_ALLOWED_EXTENSIONS``)."""
    if len(files) > MAX_FILES_PER_MESSAGE:
        raise ValidationError({"files": _("Envie no máximo %(n)s arquivos por mensagem.") % {"n": MAX_FILES_PER_MESSAGE}})
    allowed = {extension.lower().lstrip(".") for extension in settings.ATTACHMENT_ALLOWED_EXTENSIONS}
    for upload in files:
        name = os.path.basename(upload.name or "")
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension not in allowed:
            raise ValidationError({"files": _("Tipo de arquivo não permitido: %(name)s.") % {"name": name}})
        if not upload.size:
            raise ValidationError({"files": _("O arquivo %(name)s está vazio.") % {"name": name}})
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError({"files": _("O arquivo %(name)s passa de 2 MB.") % {"name": name}})


def conversation_reply(
    *, actor: AbstractBaseUser, conversation: Conversation, body: str, files: Sequence[UploadedFile] = ()
) -> Message:
    """The agent answers the customer: text, files (``validate_message_files``) or both."""
    files = list(files)
    text = _clean_text(body, "body", required=not files)
    validate_message_files(files)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        if locked.status != ConversationStatus.IN_PROGRESS or locked.agent_id != actor.pk:
            raise PermissionDenied(_("Só o agente responsável pela conversa pode respondê-la."))
        if not within_service_window(locked, now):
            raise ValidationError({"body": window_closed_message()})
        message = _message(locked, MessageKind.AGENT, text, now, author=actor)
        _store_uploads(message, files)
        # Whoever answers has read what came before: no separate "read" write and publication
        # (the message's own publication redraws the line, badge cleared).
        locked.agent_read_at = now
        locked.save(update_fields=[*MESSAGE_FIELDS, "agent_read_at"])
    conversation.agent_read_at = now
    return message


def _store_uploads(message: Message, files: Sequence[UploadedFile]) -> None:
    """Files checked by ``validate_message_files``, attached to ``message``."""
    for upload in files:
        name = os.path.basename(upload.name)[:200]
        attachment = MessageAttachment(
            message=message, name=name, size=upload.size, content_type=(upload.content_type or "")[:100]
        )
        attachment.file.save(name, upload, save=True)


# WhatsApp's customer-service window: free-form messages only within 24 h of the customer's last one.
SERVICE_WINDOW = timedelta(hours=24)


def window_closed_message() -> str:
    """Translated when shown (the active language of the request that is refused)."""
    return _(
        "Fora da janela de 24 horas do WhatsApp: o cliente não escreve há mais de 24 horas. "
        "Só um modelo de mensagem aprovado pode ser enviado."
    )


def within_service_window(conversation: Conversation, at: datetime | None = None) -> bool:
    """False only for a WhatsApp conversation whose customer last wrote more than 24 h ago."""
    if conversation.channel != Channel.WHATSAPP or conversation.contact_id is None:
        return True
    last = conversation.contact.last_inbound_at
    return last is not None and (at or timezone.now()) - last <= SERVICE_WINDOW


def conversation_send_template(
    *, actor: AbstractBaseUser, conversation: Conversation, template: str, language: str = "pt_BR"
) -> Message:
    """An approved WhatsApp template ("modelo"), the only thing allowed outside the 24-hour window."""
    import re

    name = (template or "").strip()
    if not re.fullmatch(r"[a-z0-9_]{1,512}", name):
        raise ValidationError({"template": _("Informe o nome do modelo aprovado (letras minúsculas, números e _).")})
    language = (language or "pt_BR").strip()
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", language):
        raise ValidationError({"language": _("Idioma do modelo inválido.")})
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        if locked.channel != Channel.WHATSAPP:
            raise ValidationError({"template": _("Modelos de mensagem só existem no WhatsApp.")})
        if locked.status != ConversationStatus.IN_PROGRESS or locked.agent_id != actor.pk:
            raise PermissionDenied(_("Só o agente responsável pela conversa pode respondê-la."))
        body = _("[Modelo %(name)s]") % {"name": name}
        message = _message(
            locked, MessageKind.AGENT, body, now, author=actor, data={"template": {"name": name, "language": language}}
        )
        locked.save(update_fields=MESSAGE_FIELDS)
    return message


def conversation_system_message(*, conversation: Conversation, body: str, data: dict | None = None) -> Message:
    """An automatic message to the customer (evaluation request, notice), even on an ended
    conversation, delivered through the conversation's channel."""
    text = _clean_text(body, "body")
    now = timezone.now()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        message = _message(locked, MessageKind.SYSTEM, text, now, data=data)
        locked.save(update_fields=["last_message_at"])
    return message


def conversation_note(*, actor: AbstractBaseUser, conversation: Conversation, body: str) -> Message:
    """An internal note: staff only, never sent to the customer. Like a reply, writing it means
    the holder has read what came before (``conversation_mark_read``: only the holder's counts)."""
    text = _clean_text(body, "body")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        _require_handler(actor, locked)
        message = _message(locked, MessageKind.NOTE, text, now, author=actor)
    conversation_mark_read(actor=actor, conversation=conversation)
    return message


def conversation_mark_read(*, actor: AbstractBaseUser, conversation: Conversation) -> bool:
    """The agent holding the conversation has seen its messages up to now; True if it changed.

    Only the holder's reading counts (a supervisor looking in does not clear the agent's badge).
    Conditional and unlocked: it races with nothing that matters, at worst a badge lags.
    """
    if conversation.agent_id != actor.pk:
        return False
    now = timezone.now()
    # Only when something is unread (the rule of ``views_live._unread_q``): an agent replying or
    # watching the open pane does not write (and wake their sockets) on every message.
    changed = (
        Conversation.objects.filter(pk=conversation.pk, agent_id=actor.pk)
        .filter(
            Q(agent_read_at__isnull=True)
            | Q(agent_read_at__lt=F("assigned_at"))
            | Q(agent_read_at__lt=F("last_customer_message_at"))
        )
        .filter(Q(agent_read_at__isnull=True) | Q(agent_read_at__lt=now))
        .update(agent_read_at=now)
    )
    if changed:
        conversation.agent_read_at = now
        publish_on_commit([agent_group(actor.pk)], {"model": "conversation", "change": "read", "conversation_id": conversation.pk})
    return bool(changed)


def conversation_finish(
    *, actor: AbstractBaseUser, conversation: Conversation, contact_reason: ContactReason | None, notes: str = ""
) -> Conversation:
    """Resolver: concluded with a contact reason ("qualificação") and notes; the agent enters wrap-up."""
    notes = (notes or "").strip()
    if contact_reason is None:
        raise ValidationError({"contact_reason": _("Escolha o motivo de contato.")})
    if not contact_reason.active:
        raise ValidationError({"contact_reason": _("Motivo de contato inativo.")})
    if len(notes) > MAX_MESSAGE_LENGTH:
        raise ValidationError({"notes": _("As notas podem ter no máximo %(n)s caracteres.") % {"n": MAX_MESSAGE_LENGTH}})
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        _require_handler(actor, locked)
        if locked.status != ConversationStatus.IN_PROGRESS:
            raise ValidationError(_("Só uma conversa em andamento pode ser concluída."))
        offered = locked.queue.contact_reasons.all()
        if offered.exists() and not offered.filter(pk=contact_reason.pk).exists():
            raise ValidationError({"contact_reason": _("Este motivo de contato não é oferecido nesta fila.")})
        _close(locked, ConversationStatus.CONCLUDED, now, actor=actor, notes=notes, contact_reason=contact_reason)
    return locked


def conversation_cancel(*, actor: AbstractBaseUser, conversation: Conversation, notes: str = "") -> Conversation:
    notes = (notes or "").strip()[:MAX_MESSAGE_LENGTH]
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        if locked.agent_id != actor.pk:
            _require_queue_supervisor(actor, locked.queue)
        _close(locked, ConversationStatus.CANCELLED, now, actor=actor, notes=notes)
    return locked


def _assignable_agent(agent: AbstractBaseUser, queue: Queue) -> None:
    if not agent.is_active or not AgentQueue.objects.filter(agent_id=agent.pk, queue_id=queue.pk).exists():
        raise ValidationError({"agent": _("O agente precisa estar ativo e atribuído à fila %(queue)s.") % {"queue": queue.name}})


def conversation_allocate(*, actor: AbstractBaseUser, conversation: Conversation, agent: AbstractBaseUser) -> Conversation:
    """Alocar responsável: a queued conversation kept for ``agent``, ahead of the rest of the queue."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        _require_queue_supervisor(actor, locked.queue)
        if locked.status != ConversationStatus.QUEUED:
            raise ValidationError(_("Só uma conversa aguardando em fila pode ser alocada."))
        _assignable_agent(agent, locked.queue)
        if locked.reserved_for_id == agent.pk:
            raise ValidationError({"agent": _("A conversa já está alocada para este agente.")})
        locked.reserved_for = agent
        locked.save(update_fields=["reserved_for"])
        _event(locked, ConversationEventKind.ALLOCATED, now, actor=actor, data={"agent_id": agent.pk})
        publish_conversation(locked, "allocated", agents=(agent.pk,))
        routing.route(locked, now, actor=actor)
    return locked


def conversation_return_to_queue(*, actor: AbstractBaseUser, conversation: Conversation) -> Conversation:
    """Retornar para grupo do serviço (supervisor) / cancelar a atribuição (the agent): back to waiting."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        _require_handler(actor, locked)
        if locked.status == ConversationStatus.QUEUED and locked.reserved_for_id is not None:
            previous = locked.reserved_for_id
            locked.reserved_for = None
            locked.save(update_fields=["reserved_for"])
        elif locked.status == ConversationStatus.IN_PROGRESS:
            locked.reserved_for = None
            locked.save(update_fields=["reserved_for"])
            previous = routing.requeue(locked, now)
        else:
            raise ValidationError(_("A conversa não está com nenhum agente."))
        _event(locked, ConversationEventKind.RETURNED, now, actor=actor, data={"agent_id": previous})
        publish_conversation(locked, "returned", agents=(previous,))
        routing.route(locked, now, actor=actor, exclude_agent_ids=(previous,))
    return locked


def conversation_transfer(
    *,
    actor: AbstractBaseUser,
    conversation: Conversation,
    to_agent: AbstractBaseUser | None = None,
    to_queue: Queue | None = None,
    note: str = "",
) -> Conversation:
    """Transfer to a queue (new place in line) and/or to an agent (kept for them, first in line)."""
    if to_agent is None and to_queue is None:
        raise ValidationError(_("Escolha o agente ou a fila de destino."))
    note = _clean_text(note, "note", required=False)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        _require_handler(actor, locked)
        if locked.status not in (ConversationStatus.IN_PROGRESS, ConversationStatus.QUEUED):
            raise ValidationError(_("Só conversas em fila ou em andamento podem ser transferidas."))
        queue = to_queue or locked.queue
        if to_queue is not None:
            if not to_queue.active:
                raise ValidationError({"to_queue": _("Fila inativa.")})
            if to_queue.channel != locked.channel:
                raise ValidationError({"to_queue": _("A fila de destino não atende o canal desta conversa.")})
            if to_agent is None and to_queue.pk == locked.queue_id:
                raise ValidationError({"to_queue": _("A conversa já está nesta fila.")})
        if to_agent is not None:
            _assignable_agent(to_agent, queue)
            if to_agent.pk == locked.agent_id:
                raise ValidationError({"to_agent": _("A conversa já está com este agente.")})
        previous_queue = locked.queue_id
        previous = routing.requeue(locked, now) if locked.status == ConversationStatus.IN_PROGRESS else None
        if note:
            _message(locked, MessageKind.NOTE, note, now, author=actor)
        _event(
            locked,
            ConversationEventKind.TRANSFERRED,
            now,
            actor=actor,
            data={"from_agent_id": previous, "to_agent_id": to_agent.pk if to_agent else None, "from_queue_id": previous_queue, "to_queue_id": queue.pk},
        )
        locked.reserved_for = to_agent
        locked.save(update_fields=["reserved_for"])
        if to_queue is not None and to_queue.pk != previous_queue:
            _enqueue(locked, to_queue, now, actor=actor)
        else:
            publish_conversation(locked, "transferred", agents=(previous,))
            routing.route(locked, now, actor=actor, exclude_agent_ids=(previous,) if previous else ())
        if previous is not None:
            publish_conversation(locked, "transferred", agents=(previous,), queues=(previous_queue,))
    return locked


def conversation_link_customer(*, actor: AbstractBaseUser, conversation: Conversation, customer: Customer) -> Conversation:
    """The agent identifies the contact as a registered customer; the ticket is opened or joined then."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_conversation(conversation)
        _require_open(locked)
        _require_handler(actor, locked)
        if locked.customer_id is not None:
            raise ValidationError({"customer": _("A conversa já tem um cliente vinculado.")})
        locked.customer = customer
        locked.save(update_fields=["customer"])
        _event(locked, ConversationEventKind.CUSTOMER_LINKED, now, actor=actor, data={"customer_id": customer.pk})
        _link_ticket(locked, now, actor=actor)
        publish_conversation(locked, "customer")
    return locked


# --- timers (called by omnichannel.tasks) --------------------------------------------------------


def conversation_reroute_unanswered(*, conversation_id: int, at: datetime | None = None) -> int | None:
    """Answer timeout: assigned, not answered in time → to another agent, recorded. Idempotent.

    Returns the new agent's id (``None`` when it stayed queued or nothing was due).
    """
    now = at or timezone.now()
    with transaction.atomic():
        locked = (
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("queue")
            .filter(pk=conversation_id, status=ConversationStatus.IN_PROGRESS, assignment_answered_at__isnull=True)
            .first()
        )
        if locked is None or not locked.queue.answer_timeout:
            return None
        if locked.assigned_at > now - timedelta(seconds=locked.queue.answer_timeout):
            return None
        previous = routing.requeue(locked, now)
        _event(locked, ConversationEventKind.REROUTED, now, data={"agent_id": previous, "timeout": locked.queue.answer_timeout})
        publish_conversation(locked, "rerouted", agents=(previous,))
        return routing.route(locked, now, exclude_agent_ids=(previous,))


def first_unanswered_customer_message(conversation_id: OuterRef | int, after: OuterRef | datetime):
    """The time of the customer's first message after ``after`` (the agent's last reply): a query
    to read with ``.first()``, or a subquery with ``OuterRef``s."""
    return (
        Message.objects.filter(conversation_id=conversation_id, kind=MessageKind.CUSTOMER, created_at__gt=after)
        .order_by("created_at", "id")
        .values_list("created_at", flat=True)
    )


def conversation_close_agent_inactive(*, conversation_id: int, at: datetime | None = None) -> bool:
    """Inativa PA: the agent answered, then the customer wrote and the agent has not replied for
    longer than the queue's inactivity timeout (counted from the customer's first unanswered
    message). Closed as ``agent_inactive``, the customer told so, the agent's slot freed.

    An assignment never answered is not this: it is re-routed (``conversation_reroute_unanswered``);
    an agent gone Offline has these conversations returned to the queue already. True if it
    closed; re-checked under a skip-locked row lock, so a repeated or concurrent run does nothing.
    """
    now = at or timezone.now()
    with transaction.atomic():
        locked = (
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("queue")
            .filter(
                pk=conversation_id,
                status=ConversationStatus.IN_PROGRESS,
                assignment_answered_at__isnull=False,
                last_customer_message_at__gt=F("last_agent_message_at"),
            )
            .first()
        )
        if locked is None or not locked.queue.inactivity_timeout:
            return False
        owed_since = first_unanswered_customer_message(locked.pk, locked.last_agent_message_at).first()
        if owed_since is None or now - owed_since < timedelta(seconds=locked.queue.inactivity_timeout):
            return False
        _message(
            locked,
            MessageKind.SYSTEM,
            _(
                "Pedimos desculpas: o atendente não respondeu a tempo e esta conversa foi encerrada. "
                "Seu protocolo é %(protocol)s; se precisar, fale conosco novamente."
            )
            % {"protocol": locked.protocol},
            now,
        )
        locked.save(update_fields=MESSAGE_FIELDS)
        _close(locked, ConversationStatus.AGENT_INACTIVE, now, actor=None)
        return True


def conversation_check_inactivity(*, conversation_id: int, at: datetime | None = None) -> str | None:
    """Customer inactivity: warn once past the queue's timeout, close as ``inactivity`` after the grace time.

    Returns ``"warned"``, ``"closed"`` or ``None``. Idempotent.
    """
    now = at or timezone.now()
    grace = timedelta(seconds=settings.OMNICHANNEL_INACTIVITY_GRACE_SECONDS)
    with transaction.atomic():
        locked = (
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("queue")
            .filter(pk=conversation_id, status__in=(ConversationStatus.IN_PROGRESS, ConversationStatus.BOT))
            .first()
        )
        if locked is None:
            return None
        if locked.status == ConversationStatus.BOT:
            timeout = settings.OMNICHANNEL_BOT_INACTIVITY_SECONDS
            warning = ""
        else:
            timeout = locked.queue.inactivity_timeout
            warning = locked.queue.inactivity_warning
            # Only when the customer owes the answer: the agent spoke last.
            if locked.last_agent_message_at is None or (
                locked.last_customer_message_at and locked.last_customer_message_at > locked.last_agent_message_at
            ):
                return None
        if not timeout:
            return None
        idle_from = locked.last_message_at or locked.created_at
        if locked.inactivity_warned_at is None:
            if now - idle_from < timedelta(seconds=timeout):
                return None
            if warning:
                _message(locked, MessageKind.SYSTEM, warning, now)
                locked.inactivity_warned_at = now
                locked.save(update_fields=MESSAGE_FIELDS)
                _event(locked, ConversationEventKind.INACTIVITY_WARNING, now)
                return "warned"
        elif now - locked.inactivity_warned_at < grace:
            return None
        _close(locked, ConversationStatus.INACTIVITY, now, actor=None)
        return "closed"


def conversation_route(*, conversation_id: int, at: datetime | None = None) -> int | None:
    """Try once more to give one waiting conversation to an agent; the agent's id or ``None``."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = (
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("queue")
            .filter(pk=conversation_id, status=ConversationStatus.QUEUED)
            .first()
        )
        if locked is None:
            return None
        return routing.route(locked, now)


def dispatch_waiting(*, at: datetime | None = None, batch: int = 200) -> int:
    """Route every waiting conversation that can be routed now (the periodic safety net)."""
    now = at or timezone.now()
    waiting = list(
        Conversation.objects.filter(status=ConversationStatus.QUEUED)
        .order_by("waiting_since", "id")
        .values_list("pk", "queue_id", "weight", "reserved_for_id")[:batch]
    )
    routed = 0
    full: set[tuple[int, int]] = set()  # (queue, weight) with no free agent: skip the rest of that line
    for pk, queue_id, weight, reserved in waiting:
        if reserved is None and (queue_id, weight) in full:
            continue
        if conversation_route(conversation_id=pk, at=now) is not None:
            routed += 1
        elif reserved is None:
            full.add((queue_id, weight))
    return routed
