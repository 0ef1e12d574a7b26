"""The end of wrap-up ("pós-atendimento") through a real Celery worker on Redis and PostgreSQL.

The worker and its queue are ``test_omni_celery``'s. Resolving a conversation
enqueues ``omnichannel.end_wrap_up`` after the commit with the queue's wrap-up
time as countdown; no beat runs here, so the waiting conversation can only reach
the agent through that task, ending the wrap-up when it runs out.
"""

import re
import time

import pytest
from django.utils import timezone

from omnichannel import services
from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    AgentState,
    ContactReason,
    ConversationStatus,
    Queue,
)
from tests.integration.test_omni_celery import _start, queue  # noqa: F401 - fixture
from tests.integration.test_sla_celery import wait_for, worker  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WRAP_UP_SECONDS = 2


@pytest.fixture
def chat(team, company, process) -> Queue:
    """One conversation at a time per agent, two seconds of wrap-up."""
    chat = Queue.objects.create(
        name="Suporte - Chat", channel="live_chat", team=team, company=company, process=process,
        max_conversations=1, wrap_up_seconds=WRAP_UP_SECONDS,
    )
    for member in team.members.all():
        AgentQueue.objects.create(agent=member, queue=chat)
    return chat


def test_the_worker_ends_the_wrap_up_on_time_and_the_waiting_conversation_reaches_the_agent(
    worker, chat, agent  # noqa: F811
):
    reason = ContactReason.objects.create(name="Sem conexão")
    services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE)
    first = _start(chat)
    assert first.agent_id == agent.pk

    services.conversation_finish(actor=agent, conversation=first, contact_reason=reason)
    resolved_at = time.monotonic()
    until = AgentPresence.objects.get(pk=agent.pk).wrap_up_until
    assert until is not None and until > timezone.now()
    waiting = _start(chat)
    assert waiting.status == ConversationStatus.QUEUED  # the agent is in wrap-up

    wait_for(
        lambda: AgentPresence.objects.get(pk=agent.pk).wrap_up_until is None,
        timeout=30,
        what=f"the worker to end the wrap-up (log: {worker.log_path})",
    )
    waiting.refresh_from_db()
    assert waiting.status == ConversationStatus.IN_PROGRESS and waiting.agent_id == agent.pk
    # Not before its end, and well before the next beat sweep would have come (60 s).
    assert timezone.now() >= until
    assert time.monotonic() - resolved_at < 20
    # The rows are committed a moment before the worker logs the task's end.
    wait_for(
        lambda: re.search(r"omnichannel\.end_wrap_up\[[^]]+\] succeeded .*'ended': True", worker.log_path.read_text()),
        what="the worker to log the task's success",
    )
