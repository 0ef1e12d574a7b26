"""The routing engine: who gets a waiting conversation, safe for many workers.

Called by ``omnichannel.services`` inside the operation's transaction; no
permission checks here. Two directions:

* conversation first (``route``): a conversation enters a queue; the caller
  holds its row lock. Candidates are Online agents logged in to the queue with
  spare capacity, least busy first, then longest idle. A slot is taken with a
  conditional ``UPDATE`` of the agent's presence row whose ``WHERE`` repeats
  the capacity rule: on PostgreSQL a concurrent writer of that row makes the
  statement wait and then re-evaluate the condition on the committed row, so
  two conversations can never both take an agent's last slot.
* agent first (``pull``): an agent frees a slot, logs in or comes back from a
  pause; the caller holds the agent's presence row lock. The oldest waiting
  conversation that fits is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and
  must still be queued once locked, so one conversation never goes to two agents.

Lock order, to stay free of deadlocks: a transaction holding a presence row
never *waits* for a conversation row (it skips locked ones); a transaction
holding a conversation row may wait for a presence row.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q
from django.db.models.functions import Greatest

from omnichannel.models import (
    FULL_CAPACITY,
    AgentPresence,
    AgentQueue,
    AgentState,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
)
from omnichannel.publish import publish_conversation

CANDIDATES = 20  # agents tried per routing attempt before the conversation stays queued


def presence_of(agent_id: int) -> AgentPresence:
    """The agent's presence row, created Offline on first use."""
    presence, _created = AgentPresence.objects.get_or_create(agent_id=agent_id)
    return presence


def lock_presence(agent_id: int) -> AgentPresence:
    presence_of(agent_id)
    return AgentPresence.objects.select_for_update().get(pk=agent_id)


def _free_q(at: datetime) -> Q:
    """Online and not in wrap-up (pós-atendimento)."""
    return Q(state=AgentState.ONLINE) & (Q(wrap_up_until__isnull=True) | Q(wrap_up_until__lte=at))


def _capacity_q(weight: int, max_conversations: int) -> Q:
    """Presence rows with room for a conversation of ``weight`` in a queue of ``max_conversations``."""
    if weight >= FULL_CAPACITY:
        return Q(load=0)
    return Q(load__lte=max_conversations - weight)


def fits(load: int, weight: int, max_conversations: int) -> bool:
    if weight >= FULL_CAPACITY:
        return load == 0
    return load + weight <= max_conversations


def is_logged_in(agent_id: int, queue_id: int) -> bool:
    return AgentQueue.objects.filter(agent_id=agent_id, queue_id=queue_id, logged_in=True).exists()


def _assign(
    conversation: Conversation,
    agent_id: int,
    at: datetime,
    *,
    actor: AbstractBaseUser | None,
    data: dict | None = None,
) -> None:
    """Write the assignment (the agent's slot is already taken)."""
    conversation.status = ConversationStatus.IN_PROGRESS
    conversation.agent_id = agent_id
    conversation.reserved_for_id = None
    conversation.assigned_at = at
    conversation.assignment_answered_at = None
    if conversation.human_started_at is None:
        conversation.human_started_at = at
    conversation.save(
        update_fields=[
            "status", "agent", "reserved_for", "assigned_at", "assignment_answered_at", "human_started_at",
        ]
    )
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEventKind.ASSIGNED,
        actor=actor,
        created_at=at,
        data={"agent_id": agent_id, **(data or {})},
    )
    publish_conversation(conversation, "assigned")


def route(
    conversation: Conversation,
    at: datetime,
    *,
    actor: AbstractBaseUser | None = None,
    exclude_agent_ids: tuple[int, ...] = (),
) -> int | None:
    """Give a queued conversation (row locked by the caller) to an agent; the agent's id or ``None``."""
    if conversation.status != ConversationStatus.QUEUED or conversation.agent_id is not None:
        return None
    queue = conversation.queue
    weight = conversation.weight
    candidates = AgentPresence.objects.filter(_free_q(at), _capacity_q(weight, queue.max_conversations))
    candidates = candidates.filter(agent__is_active=True).exclude(agent_id__in=exclude_agent_ids)
    if conversation.reserved_for_id is not None:
        # Alocar responsável: only the named agent takes it, logged in to the queue or not.
        candidates = candidates.filter(agent_id=conversation.reserved_for_id)
    else:
        logged = AgentQueue.objects.filter(queue_id=queue.pk, logged_in=True).values("agent_id")
        candidates = candidates.filter(agent_id__in=logged)
    ordered = list(candidates.order_by("load", "idle_since", "agent_id").values_list("agent_id", flat=True)[:CANDIDATES])
    for agent_id in ordered:
        taken = AgentPresence.objects.filter(
            _free_q(at), _capacity_q(weight, queue.max_conversations), pk=agent_id
        ).update(load=F("load") + weight, idle_since=at)
        if not taken:
            continue  # someone else took the slot, or the agent paused, meanwhile
        # We hold the row now; a queue logout commits under the same lock, so this read is current.
        if conversation.reserved_for_id is None and not is_logged_in(agent_id, queue.pk):
            AgentPresence.objects.filter(pk=agent_id).update(load=Greatest(F("load") - weight, 0))
            continue
        _assign(conversation, agent_id, at, actor=actor)
        return agent_id
    return None


def _waiting_for(presence: AgentPresence, at: datetime):
    """Queued conversations that fit ``presence``'s spare capacity (any queue; callers narrow)."""
    fit = Q(weight__lt=FULL_CAPACITY, queue__max_conversations__gte=F("weight") + presence.load)
    if presence.load == 0:
        fit |= Q(weight__gte=FULL_CAPACITY)
    return Conversation.objects.filter(fit, status=ConversationStatus.QUEUED, agent__isnull=True)


def pull(presence: AgentPresence, at: datetime, *, actor: AbstractBaseUser | None = None) -> list[int]:
    """Fill the agent's free slots with the oldest waiting conversations; the ids taken.

    The caller holds ``presence`` locked (``lock_presence``). Conversations
    reserved for this agent come first, then the oldest of their logged-in queues.
    """
    taken: list[int] = []
    while presence.state == AgentState.ONLINE and not (presence.wrap_up_until and presence.wrap_up_until > at):
        logged = AgentQueue.objects.filter(agent_id=presence.pk, logged_in=True).values("queue_id")
        waiting = _waiting_for(presence, at)
        conversation = None
        for qs in (
            waiting.filter(reserved_for_id=presence.pk),
            waiting.filter(reserved_for__isnull=True, queue_id__in=logged),
        ):
            conversation = (
                qs.select_for_update(skip_locked=True, of=("self",))
                .select_related("queue")
                .order_by("waiting_since", "id")
                .first()
            )
            if conversation is not None:
                break
        if conversation is None:
            break
        presence.load += conversation.weight
        presence.idle_since = at
        presence.save(update_fields=["load", "idle_since"])
        _assign(conversation, presence.pk, at, actor=actor, data={"pulled": True})
        taken.append(conversation.pk)
    return taken


def release_slot(conversation: Conversation, at: datetime) -> None:
    """Give back the capacity the conversation held on its agent (its row locked by the caller)."""
    if conversation.agent_id is None:
        return
    AgentPresence.objects.filter(pk=conversation.agent_id).update(
        load=Greatest(F("load") - conversation.weight, 0), idle_since=at
    )


def requeue(conversation: Conversation, at: datetime, *, keep_place: bool = True) -> int | None:
    """Take the conversation (locked) off its agent and back to waiting; the previous agent's id."""
    previous = conversation.agent_id
    release_slot(conversation, at)
    conversation.status = ConversationStatus.QUEUED
    conversation.agent_id = None
    conversation.assigned_at = None
    conversation.assignment_answered_at = None
    if not keep_place or conversation.waiting_since is None:
        conversation.waiting_since = at
    conversation.save(update_fields=["status", "agent", "assigned_at", "assignment_answered_at", "waiting_since"])
    return previous
