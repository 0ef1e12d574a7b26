"""The end of wrap-up ("pós-atendimento") acts on time: a task scheduled when it starts ends it
and brings the oldest waiting conversation, once, and only for that very wrap-up."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from omnichannel import services, tasks
from omnichannel.models import AgentPresence, AgentState, ConversationStatus

from .conftest import go_online, start

pytestmark = pytest.mark.django_db

WRAP_UP = 60


@pytest.fixture
def wrap_queue(queue):
    queue.wrap_up_seconds = WRAP_UP
    queue.save(update_fields=["wrap_up_seconds"])
    return queue


def fresh(conversation):
    conversation.refresh_from_db()
    return conversation


def resolve(agent, conversation, contact_reason):
    services.conversation_finish(actor=agent, conversation=fresh(conversation), contact_reason=contact_reason)
    return AgentPresence.objects.get(pk=agent.pk).wrap_up_until


def run(agent, until):
    return tasks.end_wrap_up(agent_id=agent.pk, until=until.isoformat())


def wrap_up_events(published, agent):
    return [p["change"] for _g, p in published if p.get("model") == "presence" and p.get("agent_id") == agent.pk]


def test_resolving_schedules_the_end_of_wrap_up_after_commit(
    agent, wrap_queue, contact_reason, monkeypatch, django_capture_on_commit_callbacks
):
    go_online(agent)
    conversation = start(wrap_queue)
    sent = []
    monkeypatch.setattr(tasks.end_wrap_up, "apply_async", lambda **kw: sent.append(kw))

    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            until = resolve(agent, conversation, contact_reason)
        assert until == t0 + timedelta(seconds=WRAP_UP)
        assert sent == []  # nothing before the commit
        for callback in callbacks:
            callback()

    assert sent == [{"kwargs": {"agent_id": agent.pk, "until": until.isoformat()}, "countdown": float(WRAP_UP)}]


def test_no_timer_when_the_queue_has_no_wrap_up(agent, queue, contact_reason, monkeypatch, django_capture_on_commit_callbacks):
    go_online(agent)
    conversation = start(queue)
    sent = []
    monkeypatch.setattr(tasks.end_wrap_up, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        assert resolve(agent, conversation, contact_reason) is None
    assert sent == []


def test_task_ends_an_expired_wrap_up_and_routes_the_waiting_conversation(
    agent, wrap_queue, contact_reason, published, django_capture_on_commit_callbacks
):
    go_online(agent)
    until = resolve(agent, start(wrap_queue), contact_reason)
    waiting = start(wrap_queue)
    assert fresh(waiting).status == ConversationStatus.QUEUED

    after = time_machine.travel(until + timedelta(seconds=1), tick=False)
    with after, django_capture_on_commit_callbacks(execute=True):
        assert run(agent, until) == {"ended": True, "routed": 1}

    assert fresh(waiting).agent == agent
    assert fresh(waiting).status == ConversationStatus.IN_PROGRESS
    assert AgentPresence.objects.get(pk=agent.pk).wrap_up_until is None
    assert wrap_up_events(published, agent)[-1] == "wrap_up_finished"


def test_task_run_again_changes_nothing(agent, wrap_queue, contact_reason, published, django_capture_on_commit_callbacks):
    go_online(agent)
    until = resolve(agent, start(wrap_queue), contact_reason)
    with time_machine.travel(until, tick=False), django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert run(agent, until) == {"ended": True, "routed": 0}
        assert run(agent, until) == {"ended": False, "routed": 0}
    assert len(callbacks) == 1  # one publication: the first run's "wrap_up_finished"
    assert wrap_up_events(published, agent) == ["wrap_up_finished"]


def test_task_before_the_end_changes_nothing(agent, wrap_queue, contact_reason):
    go_online(agent)
    until = resolve(agent, start(wrap_queue), contact_reason)
    waiting = start(wrap_queue)

    with time_machine.travel(until - timedelta(seconds=5), tick=False):
        assert run(agent, until) == {"ended": False, "early": True}

    assert AgentPresence.objects.get(pk=agent.pk).wrap_up_until == until
    assert fresh(waiting).status == ConversationStatus.QUEUED


def test_task_does_nothing_for_a_wrap_up_ended_by_hand(agent, wrap_queue, contact_reason, django_capture_on_commit_callbacks):
    go_online(agent)
    until = resolve(agent, start(wrap_queue), contact_reason)
    services.agent_wrap_up_finish(actor=agent, agent=agent)

    after = time_machine.travel(until + timedelta(seconds=1), tick=False)
    with after, django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert run(agent, until) == {"ended": False, "routed": 0}

    assert callbacks == []  # nothing published
    assert AgentPresence.objects.get(pk=agent.pk).wrap_up_until is None


def test_task_does_nothing_for_a_restarted_wrap_up(agent, wrap_queue, contact_reason):
    """Two conversations: the first resolution's timer fires during the second one's wrap-up."""
    go_online(agent)
    first, second = start(wrap_queue), start(wrap_queue)
    assert fresh(first).agent == agent and fresh(second).agent == agent
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        first_until = resolve(agent, first, contact_reason)
    with time_machine.travel(t0 + timedelta(seconds=30), tick=False):
        second_until = resolve(agent, second, contact_reason)
    assert second_until == first_until + timedelta(seconds=30)
    waiting = start(wrap_queue)

    with time_machine.travel(first_until + timedelta(seconds=1), tick=False):
        assert run(agent, first_until) == {"ended": False, "routed": 0}
    assert AgentPresence.objects.get(pk=agent.pk).wrap_up_until == second_until
    assert fresh(waiting).status == ConversationStatus.QUEUED

    with time_machine.travel(second_until + timedelta(seconds=1), tick=False):
        assert run(agent, second_until) == {"ended": True, "routed": 1}
    assert fresh(waiting).agent == agent


def test_task_does_nothing_for_an_agent_gone_offline(agent, wrap_queue, contact_reason):
    go_online(agent)
    until = resolve(agent, start(wrap_queue), contact_reason)
    services.agent_set_state(actor=agent, agent=agent, state=AgentState.OFFLINE)
    waiting = start(wrap_queue)

    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        assert run(agent, until) == {"ended": False, "routed": 0}

    assert fresh(waiting).status == ConversationStatus.QUEUED
    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.OFFLINE


def test_the_beat_sweep_still_routes_when_the_timer_is_lost(agent, wrap_queue, contact_reason):
    go_online(agent)
    until = resolve(agent, start(wrap_queue), contact_reason)
    waiting = start(wrap_queue)
    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        assert tasks.dispatch_waiting() == {"routed": 1}
    assert fresh(waiting).agent == agent
