"""Channel-layer groups of the omnichannel audiences; every publish goes out after commit.

Agents get their own ``omni.agent.<id>`` group rather than the tickets'
``user.<id>``: the ticket screens' consumer re-renders its grid on every
message of ``user.<id>``, and conversation traffic must not wake it.
"""

from collections.abc import Iterable

from tickets.publish import publish_on_commit

PRESENCE_GROUP = "omni.presence"  # supervisors' monitors: agent states and loads


def queue_group(queue_id: int) -> str:
    return f"omni.queue.{queue_id}"


def agent_group(user_id: int) -> str:
    return f"omni.agent.{user_id}"


def conversation_group(conversation_id: int) -> str:
    """Staff watching one conversation (the agent's pane, a supervisor's live view)."""
    return f"omni.conversation.{conversation_id}"


def customer_group(conversation_id: int) -> str:
    """The customer's side (widget socket): never told about internal notes or staff ids."""
    return f"omni.customer.{conversation_id}"


def publish_conversation(conversation, change: str, *, agents: Iterable[int | None] = (), queues: Iterable[int | None] = ()) -> None:
    """Tell the conversation's pane, its queue(s) and the agents involved that it changed."""
    groups = [conversation_group(conversation.pk)]
    groups += [queue_group(q) for q in dict.fromkeys((conversation.queue_id, *queues)) if q]
    groups += [agent_group(a) for a in dict.fromkeys((conversation.agent_id, *agents)) if a]
    publish_on_commit(
        groups,
        {
            "model": "conversation",
            "change": change,
            "conversation_id": conversation.pk,
            "status": conversation.status,
            "queue_id": conversation.queue_id,
            "agent_id": conversation.agent_id,
        },
    )
    publish_on_commit(
        [customer_group(conversation.pk)],
        {"model": "conversation", "change": change, "conversation_id": conversation.pk, "status": conversation.status},
    )


def _staff_groups(conversation) -> list[str]:
    """Who sees a conversation's messages on the staff side: its pane and its agent."""
    groups = [conversation_group(conversation.pk)]
    if conversation.agent_id:
        groups.append(agent_group(conversation.agent_id))
    return groups


def publish_message_state(message) -> None:
    """A sent message's delivery state changed (receipt, failure) or its files arrived."""
    conversation = message.conversation
    publish_on_commit(
        _staff_groups(conversation),
        {
            "model": "message",
            "change": "state",
            "conversation_id": conversation.pk,
            "message_id": message.pk,
            "state": message.state,
        },
    )


def publish_message(message) -> None:
    conversation = message.conversation
    groups = _staff_groups(conversation)
    payload = {
        "model": "message",
        "change": "created",
        "conversation_id": conversation.pk,
        "message_id": message.pk,
        "kind": message.kind,
    }
    # The holder's id tells a staff socket whether the conversation is in its own list.
    publish_on_commit(groups, {**payload, "agent_id": conversation.agent_id})
    if message.kind != "note":
        publish_on_commit([customer_group(conversation.pk)], payload)


def publish_presence(agent_id: int, change: str, *, state: str, queue_ids: Iterable[int] = ()) -> None:
    groups = [agent_group(agent_id), PRESENCE_GROUP, *(queue_group(q) for q in queue_ids)]
    publish_on_commit(groups, {"model": "presence", "change": change, "agent_id": agent_id, "state": state})
