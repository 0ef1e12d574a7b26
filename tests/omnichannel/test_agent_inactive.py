"""Inativa PA: an answered conversation whose agent stopped answering the customer for longer
than the queue's inactivity timeout is closed as ``agent_inactive`` by the periodic task."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from omnichannel import services, tasks
from omnichannel.models import AgentPresence, ConversationStatus, Message, MessageKind
from tickets.models import EventKind, TicketEvent

from .conftest import go_online, start

NOTHING = {"checked": 0, "rerouted": 0, "agent_inactive": 0}


def fresh(conversation):
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def t0():
    return timezone.now()


@pytest.fixture
def answered(agent, queue, customer, t0):
    """``agent`` answered at t0 (queue inactivity timeout: 600 s); the customer wrote back at t0 + 100 s."""
    queue.inactivity_timeout = 600
    queue.save()
    go_online(agent)
    with time_machine.travel(t0, tick=False):
        conversation = fresh(start(queue, document=customer.document))
        services.conversation_reply(actor=agent, conversation=conversation, body="Reinicie o modem, por favor.")
    with time_machine.travel(t0 + timedelta(seconds=100), tick=False):
        services.conversation_customer_message(conversation=conversation, body="Reiniciei, e agora?")
    with time_machine.travel(t0 + timedelta(seconds=400), tick=False):
        services.conversation_customer_message(conversation=conversation, body="Alô?")
    return fresh(conversation)


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return tasks.reroute_unanswered()


def test_agent_silent_past_the_timeout_closes_as_agent_inactive(answered, agent, t0):
    # Measured from the first unanswered customer message (t0 + 100 s), not from the last one.
    assert run_at(t0 + timedelta(seconds=699)) == NOTHING
    assert fresh(answered).status == ConversationStatus.IN_PROGRESS

    assert run_at(t0 + timedelta(seconds=701)) == {"checked": 0, "rerouted": 0, "agent_inactive": 1}

    conversation = fresh(answered)
    assert conversation.status == ConversationStatus.AGENT_INACTIVE
    assert conversation.ended_at == t0 + timedelta(seconds=701)
    assert conversation.ended_by is None
    assert AgentPresence.objects.get(pk=agent.pk).load == 0
    last = Message.objects.filter(conversation=conversation).order_by("created_at", "id").last()
    assert last.kind == MessageKind.SYSTEM
    assert last.body == (
        "Pedimos desculpas: o atendente não respondeu a tempo e esta conversa foi encerrada. "
        f"Seu protocolo é {conversation.protocol}; se precisar, fale conosco novamente."
    )
    event = TicketEvent.objects.get(ticket=conversation.ticket, kind=EventKind.CONVERSATION_CLOSED)
    assert (event.actor, event.data["status"], event.data["agent"]) == (None, "agent_inactive", "Ana Souza")
    assert event.text.startswith(f"Conversa {conversation.protocol} (Live Chat) encerrada como Inativa PA em ")


def test_agent_inactive_is_idempotent(answered, t0):
    later = t0 + timedelta(seconds=800)
    assert run_at(later)["agent_inactive"] == 1
    assert run_at(later) == NOTHING
    with time_machine.travel(later, tick=False):
        assert services.conversation_close_agent_inactive(conversation_id=answered.pk) is False
    assert TicketEvent.objects.filter(ticket=answered.ticket, kind=EventKind.CONVERSATION_CLOSED).count() == 1


def test_an_agent_reply_restarts_the_count(answered, agent, t0):
    with time_machine.travel(t0 + timedelta(seconds=650), tick=False):
        services.conversation_reply(actor=agent, conversation=answered, body="Já verifico.")

    assert run_at(t0 + timedelta(seconds=2000)) == NOTHING  # the customer owes the answer now
    assert fresh(answered).status == ConversationStatus.IN_PROGRESS


def test_a_zero_inactivity_timeout_disables_it(answered, queue, t0):
    queue.inactivity_timeout = 0
    queue.save()
    assert run_at(t0 + timedelta(hours=5)) == NOTHING
    assert fresh(answered).status == ConversationStatus.IN_PROGRESS


def test_a_never_answered_assignment_is_rerouted_not_closed(agent, queue, t0):
    queue.inactivity_timeout = 60
    queue.answer_timeout = 0  # rerouting off: still never closed as agent_inactive
    queue.save()
    go_online(agent)
    with time_machine.travel(t0, tick=False):
        conversation = start(queue)
    assert run_at(t0 + timedelta(hours=1)) == NOTHING
    assert fresh(conversation).status == ConversationStatus.IN_PROGRESS
