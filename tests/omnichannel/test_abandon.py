"""The customer leaving the widget: Abandono decided on the locked row, never on a stale read."""

import pytest
from django.core.exceptions import ValidationError

from omnichannel import services, widget_consumers
from omnichannel.models import AgentPresence, Conversation, ConversationEvent, ConversationStatus
from tickets.models import TicketEvent

from .conftest import go_online, start


def fresh(conversation):
    conversation.refresh_from_db()
    return conversation


def snapshot(conversation: Conversation) -> tuple:
    row = Conversation.objects.get(pk=conversation.pk)
    return (
        row.status,
        row.agent_id,
        row.ended_at,
        row.notes,
        ConversationEvent.objects.filter(conversation=row).count(),
        TicketEvent.objects.filter(ticket_id=row.ticket_id).count(),
        row.messages.count(),
    )


def test_leaving_while_queued_is_abandonment(queue, customer):
    conversation = start(queue, document=customer.document)

    assert widget_consumers._leave(conversation.pk) is True

    assert fresh(conversation).status == ConversationStatus.ABANDONED


def test_leaving_an_already_concluded_conversation_changes_nothing(agent, queue, customer, contact_reason):
    go_online(agent)
    conversation = fresh(start(queue, document=customer.document))
    services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason, notes="Ok.")
    before = snapshot(conversation)

    assert widget_consumers._leave(conversation.pk) is False
    assert services.conversation_abandon(conversation=conversation, only_waiting=True) is None

    assert snapshot(conversation) == before
    assert before[0] == ConversationStatus.CONCLUDED


def test_a_conversation_taken_by_an_agent_after_the_read_is_not_closed(agent, queue):
    stale = start(queue)  # read while queued (no agent Online yet)
    assert stale.status == ConversationStatus.QUEUED
    go_online(agent)  # the agent takes it before the leave is handled
    before = snapshot(stale)
    assert before[0] == ConversationStatus.IN_PROGRESS

    assert services.conversation_abandon(conversation=stale, only_waiting=True) is None

    assert snapshot(stale) == before
    assert AgentPresence.objects.get(pk=agent.pk).load == 1


def test_without_only_waiting_a_closed_conversation_is_refused(queue):
    conversation = start(queue)
    services.conversation_abandon(conversation=conversation)
    before = snapshot(conversation)

    with pytest.raises(ValidationError) as exc:
        services.conversation_abandon(conversation=conversation)

    assert exc.value.messages == [f"A conversa {conversation.protocol} já foi encerrada (Abandono)."]
    assert snapshot(conversation) == before
