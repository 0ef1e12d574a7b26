"""Routing: least busy then longest idle, capacity and channel weights, pulls, allocation, re-route."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from omnichannel import services, tasks
from omnichannel.models import (
    AgentPresence,
    AgentState,
    Channel,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
)

from .conftest import go_online, make_queue, start

pytestmark = pytest.mark.django_db


def load(user) -> int:
    return AgentPresence.objects.get(pk=user.pk).load


def fresh(conversation):
    conversation.refresh_from_db()
    return conversation


def test_goes_to_the_least_busy_then_the_longest_idle_agent(agent, teammate, third_agent, queue):
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        go_online(teammate)
    with time_machine.travel(t0 + timedelta(minutes=1), tick=False):
        go_online(agent, third_agent)
    with time_machine.travel(t0 + timedelta(minutes=2), tick=False):
        first = start(queue)  # all at 0: teammate idle longest
        second = start(queue)  # agent and diana at 0, idle since the same minute: lower id (agent)
        third = start(queue)  # diana is the only one still at 0
        fourth = start(queue)  # all at 1, each received at minute 2: lowest id again

    assert [fresh(c).agent for c in (first, second, third, fourth)] == [teammate, agent, third_agent, agent]
    assert (load(agent), load(teammate), load(third_agent)) == (2, 1, 1)


def test_never_exceeds_the_queues_maximum_and_the_rest_waits(agent, queue):
    go_online(agent)
    conversations = [start(queue) for _ in range(3)]

    assert [fresh(c).status for c in conversations] == [
        ConversationStatus.IN_PROGRESS,
        ConversationStatus.IN_PROGRESS,
        ConversationStatus.QUEUED,
    ]
    assert load(agent) == 2


def test_away_offline_and_not_logged_in_agents_get_nothing(agent, teammate, queue, reasons):
    go_online(agent, teammate)
    services.agent_set_state(actor=agent, agent=agent, state=AgentState.AWAY, pause_reason=reasons["lunch"])
    services.agent_queue_logout(actor=teammate, agent=teammate, queues=[queue])

    conversation = start(queue)

    assert fresh(conversation).status == ConversationStatus.QUEUED


def test_a_voice_call_takes_the_whole_capacity(agent, teammate, team, company, process, queue):
    voice = make_queue(team, company, process, name="Central", channel=Channel.VOICE, max_conversations=1)
    go_online(agent)
    chat = start(queue)
    call = start(voice, channel=Channel.VOICE)
    assert fresh(chat).agent == agent
    assert fresh(call).status == ConversationStatus.QUEUED  # agent has a chat open

    go_online(teammate)
    assert fresh(call).agent == teammate
    other_chat = start(queue)
    assert fresh(other_chat).agent == agent  # teammate is full with the call
    assert load(teammate) == 1000


def test_freeing_a_slot_pulls_the_oldest_waiting_conversation(agent, queue, contact_reason):
    go_online(agent)
    a, b = start(queue), start(queue)
    older, newer = start(queue), start(queue)
    services.conversation_finish(actor=agent, conversation=fresh(a), contact_reason=contact_reason)

    assert fresh(older).agent == agent
    assert fresh(newer).status == ConversationStatus.QUEUED
    assert fresh(b).agent == agent


def test_coming_back_from_a_pause_or_logging_in_pulls(agent, teammate, queue, reasons):
    go_online(agent)
    services.agent_set_state(actor=agent, agent=agent, state=AgentState.AWAY, pause_reason=reasons["lunch"])
    waiting = start(queue)
    assert fresh(waiting).status == ConversationStatus.QUEUED

    services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE)
    assert fresh(waiting).agent == agent

    other = [start(queue), start(queue)]
    assert fresh(other[1]).status == ConversationStatus.QUEUED
    services.agent_queue_login(actor=teammate, agent=teammate, queues=[queue])
    assert fresh(other[1]).agent == teammate


def test_supervisor_allocation_comes_first_for_the_named_agent(agent, teammate, supervisor, queue, contact_reason):
    go_online(agent)
    busy = [start(queue), start(queue)]
    oldest = start(queue)
    allocated = start(queue)
    services.conversation_allocate(actor=supervisor, conversation=allocated, agent=agent)
    assert fresh(allocated).reserved_for == agent

    go_online(teammate)  # the allocated one waits for agent; teammate takes the oldest
    assert fresh(oldest).agent == teammate
    assert fresh(allocated).status == ConversationStatus.QUEUED

    services.conversation_finish(actor=agent, conversation=fresh(busy[0]), contact_reason=contact_reason)
    assert fresh(allocated).agent == agent
    assert ConversationEvent.objects.filter(conversation=allocated, kind=ConversationEventKind.ALLOCATED, actor=supervisor).exists()


def test_allocation_is_for_supervisors_and_queued_conversations(agent, teammate, supervisor, outsider, queue):
    go_online(agent)
    in_progress = start(queue)
    with pytest.raises(ValidationError) as exc:
        services.conversation_allocate(actor=supervisor, conversation=in_progress, agent=teammate)
    assert exc.value.messages == ["Só uma conversa aguardando em fila pode ser alocada."]
    queued = start(queue)
    queued2 = start(queue)
    for intruder in (agent, outsider):
        with pytest.raises(PermissionDenied):
            services.conversation_allocate(actor=intruder, conversation=queued2, agent=teammate)
    with pytest.raises(ValidationError) as exc:
        services.conversation_allocate(actor=supervisor, conversation=queued2, agent=outsider)
    assert exc.value.message_dict == {"agent": ["O agente precisa estar ativo e atribuído à fila Suporte - Chat."]}
    assert fresh(queued2).reserved_for is None
    assert fresh(queued).agent == agent


def test_return_to_queue_gives_it_to_another_agent(agent, teammate, supervisor, queue):
    go_online(agent)
    conversation = start(queue)
    go_online(teammate)

    services.conversation_return_to_queue(actor=supervisor, conversation=conversation)

    assert fresh(conversation).agent == teammate
    assert load(agent) == 0 and load(teammate) == 1
    event = ConversationEvent.objects.get(conversation=conversation, kind=ConversationEventKind.RETURNED)
    assert (event.actor, event.data["agent_id"]) == (supervisor, agent.pk)


def test_unanswered_conversation_is_rerouted_by_the_periodic_task(agent, teammate, queue):
    go_online(agent)
    conversation = start(queue)
    go_online(teammate)
    assert fresh(conversation).agent == agent

    with time_machine.travel(timezone.now() + timedelta(seconds=119), tick=False):
        assert tasks.reroute_unanswered() == {"checked": 0, "rerouted": 0, "agent_inactive": 0}
    with time_machine.travel(timezone.now() + timedelta(seconds=121), tick=False):
        assert tasks.reroute_unanswered() == {"checked": 1, "rerouted": 1, "agent_inactive": 0}
        # Idempotent: the new assignment has its own fresh timeout.
        assert tasks.reroute_unanswered() == {"checked": 0, "rerouted": 0, "agent_inactive": 0}

    assert fresh(conversation).agent == teammate
    assert load(agent) == 0
    [event] = ConversationEvent.objects.filter(conversation=conversation, kind=ConversationEventKind.REROUTED)
    assert event.data == {"agent_id": agent.pk, "timeout": 120}


def test_answered_conversation_is_not_rerouted(agent, teammate, queue):
    go_online(agent, teammate)
    conversation = start(queue)
    services.conversation_reply(actor=fresh(conversation).agent, conversation=conversation, body="Oi!")
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        assert tasks.reroute_unanswered()["rerouted"] == 0


def test_dispatch_routes_what_waits_once_wrap_up_is_over(agent, queue, contact_reason):
    queue.wrap_up_seconds = 60
    queue.save()
    go_online(agent)
    done = start(queue)
    services.conversation_finish(actor=agent, conversation=fresh(done), contact_reason=contact_reason)
    waiting = start(queue)
    assert fresh(waiting).status == ConversationStatus.QUEUED

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert tasks.dispatch_waiting() == {"routed": 1}
    assert fresh(waiting).agent == agent
