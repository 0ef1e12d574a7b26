"""The omnichannel timers through a real Celery worker on Redis and PostgreSQL.

The worker of ``test_sla_celery`` (a ``celery worker --pool=solo`` subprocess
on the test database), consuming a queue of its own to which the
``omnichannel.*`` tasks are routed here. Each periodic task is sent as beat
sends it (``send_task`` of its ``CELERY_BEAT_SCHEDULE`` entry); the clocks are
moved back in the database instead of waiting. Proved here: customer
inactivity warns first and then closes as ``inactivity``; an unanswered
assignment is re-routed to another agent; an agent who stopped answering is
closed as Inativa PA (``agent_inactive``); a waiting widget conversation whose
customer's sockets stopped stamping (a crashed web process) is closed as
Abandono, with the stamp in the shared Redis cache.
"""

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from omnichannel import services, widget
from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    AgentState,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Message,
    MessageKind,
    Queue,
)
from servicedesk.celery import app as celery_app
from tests.integration.test_sla_celery import wait_for, worker  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WARNING = "Você ainda está aí? Sem resposta, esta conversa será encerrada."


@pytest.fixture
def queue() -> Iterator[str]:
    """Overrides the SLA test's queue: here the omnichannel tasks go to the worker's own queue."""
    name = f"omni-it-{uuid.uuid4().hex[:12]}"
    saved = (celery_app.conf.task_routes, celery_app.conf.task_always_eager)
    celery_app.conf.task_routes = {"omnichannel.*": {"queue": name}}
    celery_app.conf.task_always_eager = False
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)
    yield name
    celery_app.conf.task_routes, celery_app.conf.task_always_eager = saved
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete(name, f"_kombu.binding.{name}")


def _beat(entry: str) -> None:
    celery_app.send_task(settings.CELERY_BEAT_SCHEDULE[entry]["task"])


@pytest.fixture
def chat(team, company, process) -> Queue:
    queue = Queue.objects.create(
        name="Suporte - Chat", channel="live_chat", team=team, company=company, process=process,
        max_conversations=2, answer_timeout=120, inactivity_timeout=300, inactivity_warning=WARNING,
    )
    for member in team.members.all():
        AgentQueue.objects.create(agent=member, queue=queue)
    return queue


def _online(*users) -> None:
    for user in users:
        services.agent_set_state(actor=user, agent=user, state=AgentState.ONLINE)


def _start(queue: Queue, **kwargs) -> Conversation:
    conversation = services.conversation_start(
        channel=queue.channel, contact_name="Cliente", contact_email=f"c{uuid.uuid4().hex[:6]}@example.com",
        queue=queue, first_message="Estou sem internet.", **kwargs,
    )
    conversation.refresh_from_db()
    return conversation


def test_inactivity_warns_then_closes_as_inactivity_in_the_worker(worker, chat, agent):  # noqa: F811
    _online(agent)
    conversation = _start(chat)
    assert conversation.agent_id == agent.pk
    services.conversation_reply(actor=agent, conversation=conversation, body="Pode reiniciar o roteador?")
    # The customer has been silent for 10 minutes (the queue's timeout is 5).
    back = timedelta(minutes=10)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=F("last_message_at") - back,
        last_agent_message_at=F("last_agent_message_at") - back,
        last_customer_message_at=F("last_customer_message_at") - back,
    )

    _beat("omni-inactivity")
    wait_for(
        lambda: Conversation.objects.filter(pk=conversation.pk, inactivity_warned_at__isnull=False).exists(),
        what=f"the worker to warn (log: {worker.log_path})",
    )
    assert Message.objects.filter(conversation=conversation, kind=MessageKind.SYSTEM, body=WARNING).count() == 1
    assert Conversation.objects.get(pk=conversation.pk).status == ConversationStatus.IN_PROGRESS

    # The grace after the warning has passed, still without an answer.
    grace = timedelta(seconds=settings.OMNICHANNEL_INACTIVITY_GRACE_SECONDS + 30)
    Conversation.objects.filter(pk=conversation.pk).update(
        inactivity_warned_at=F("inactivity_warned_at") - grace, last_message_at=F("last_message_at") - grace
    )
    _beat("omni-inactivity")
    wait_for(
        lambda: Conversation.objects.get(pk=conversation.pk).status == ConversationStatus.INACTIVITY,
        what=f"the worker to close as inactivity (log: {worker.log_path})",
    )
    closed = Conversation.objects.get(pk=conversation.pk)
    assert closed.ended_at is not None and closed.ended_by is None
    assert Message.objects.filter(conversation=conversation, body=WARNING).count() == 1  # warned once


def test_an_unanswered_assignment_is_rerouted_by_the_worker(worker, chat, agent, teammate):  # noqa: F811
    _online(agent)
    conversation = _start(chat)
    assert conversation.agent_id == agent.pk
    _online(teammate)
    Conversation.objects.filter(pk=conversation.pk).update(assigned_at=timezone.now() - timedelta(seconds=200))

    _beat("omni-reroute-unanswered")
    wait_for(
        lambda: Conversation.objects.get(pk=conversation.pk).agent_id == teammate.pk,
        what=f"the worker to re-route (log: {worker.log_path})",
    )
    event = ConversationEvent.objects.get(conversation=conversation, kind=ConversationEventKind.REROUTED)
    assert event.data == {"agent_id": agent.pk, "timeout": 120}
    assert Conversation.objects.get(pk=conversation.pk).status == ConversationStatus.IN_PROGRESS


def test_a_silent_agent_is_closed_as_agent_inactive_by_the_worker(worker, chat, agent):  # noqa: F811
    _online(agent)
    conversation = _start(chat)
    services.conversation_reply(actor=agent, conversation=conversation, body="Pode reiniciar o roteador?")
    services.conversation_customer_message(conversation=conversation, body="Reiniciei, e agora?")
    # The agent has not answered for 10 minutes (the queue's timeout is 5).
    back = timedelta(minutes=10)
    Message.objects.filter(conversation=conversation).update(created_at=F("created_at") - back)
    Conversation.objects.filter(pk=conversation.pk).update(
        assigned_at=F("assigned_at") - back,
        assignment_answered_at=F("assignment_answered_at") - back,
        last_message_at=F("last_message_at") - back,
        last_agent_message_at=F("last_agent_message_at") - back,
        last_customer_message_at=F("last_customer_message_at") - back,
    )

    _beat("omni-reroute-unanswered")
    wait_for(
        lambda: Conversation.objects.get(pk=conversation.pk).status == ConversationStatus.AGENT_INACTIVE,
        what=f"the worker to close as agent_inactive (log: {worker.log_path})",
    )
    closed = Conversation.objects.get(pk=conversation.pk)
    assert closed.ended_at is not None and closed.ended_by is None
    assert AgentPresence.objects.get(pk=agent.pk).load == 0
    event = ConversationEvent.objects.get(conversation=conversation, kind=ConversationEventKind.CLOSED)
    assert event.data == {"status": "agent_inactive"}


def test_a_widget_customer_whose_sockets_went_silent_is_abandoned_by_the_worker(worker, chat):  # noqa: F811
    # Nobody online: both conversations wait in the queue.
    _secret, digest = widget.new_secret()
    gone = _start(chat, access_token_hash=digest)
    _secret, digest = widget.new_secret()
    here = _start(chat, access_token_hash=digest)
    assert {gone.status, here.status} == {ConversationStatus.QUEUED}
    grace = settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS
    # The process holding the first one's socket died: its counter stays up, its stamp gets old.
    widget.socket_opened(gone.pk)
    widget.socket_alive(gone.pk, at=time.time() - grace - 10)
    widget.socket_alive(here.pk)  # a live socket keeps stamping

    _beat("omni-close-abandoned")
    wait_for(
        lambda: Conversation.objects.get(pk=gone.pk).status == ConversationStatus.ABANDONED,
        what=f"the worker to close the abandoned chat (log: {worker.log_path})",
    )
    assert Conversation.objects.get(pk=here.pk).status == ConversationStatus.QUEUED
    assert ConversationEvent.objects.filter(conversation=gone, kind=ConversationEventKind.CLOSED).count() == 1
    log = worker.log_path.read_text()
    assert "omnichannel.close_abandoned" in log and "succeeded" in log
