"""Omnichannel fixtures: a live-chat queue of ``team`` with ``agent`` and ``teammate`` assigned.

Helpers start conversations through the real customer-side operation and put
agents Online through the real status operation.
"""

import pytest

from omnichannel import services
from omnichannel.models import (
    AgentQueue,
    AgentState,
    BotMenu,
    BotOption,
    Channel,
    ContactReason,
    PauseReason,
    Queue,
)
from tests import factories as f
from tickets.models import Process


@pytest.fixture(autouse=True)
def _quiet_publish(published):
    """Every test sees what was published (``published``) instead of a channel layer."""
    return published


@pytest.fixture
def reasons(db):
    return {
        "lunch": PauseReason.objects.create(name="Almoço"),
        "break": PauseReason.objects.create(name="Descanso"),
    }


@pytest.fixture
def contact_reason(db):
    return ContactReason.objects.create(name="Sem conexão")


def make_queue(team, company, process: Process, *, name="Suporte - Chat", channel=Channel.LIVE_CHAT, **kwargs) -> Queue:
    queue = Queue.objects.create(name=name, channel=channel, team=team, company=company, process=process, **kwargs)
    for member in team.members.all():
        AgentQueue.objects.create(agent=member, queue=queue)
    return queue


@pytest.fixture
def queue(team, company, process, contact_reason):
    queue = make_queue(team, company, process, max_conversations=2, answer_timeout=120)
    queue.contact_reasons.add(contact_reason)
    return queue


@pytest.fixture
def menu(queue, team, company, process):
    finance = make_queue(team, company, process, name="Financeiro - Chat")
    root = BotMenu.objects.create(name="Site", entry_point="site", greeting="Olá! Escolha:")
    sub = BotMenu.objects.create(name="Financeiro", greeting="Financeiro:")
    BotOption.objects.create(menu=root, number=1, label="Suporte", queue=queue)
    BotOption.objects.create(menu=root, number=2, label="Financeiro", submenu=sub)
    BotOption.objects.create(menu=sub, number=1, label="Boleto", queue=finance)
    return root


def go_online(*users):
    for user in users:
        services.agent_set_state(actor=user, agent=user, state=AgentState.ONLINE)


_counter = iter(range(1, 10_000))


def start(queue=None, *, name=None, document="", entry_point=None, message="Estou sem internet.", channel=None):
    n = next(_counter)
    return services.conversation_start(
        channel=channel or (queue.channel if queue is not None else Channel.LIVE_CHAT),
        contact_name=name or f"Cliente {n}",
        contact_email=f"cliente{n}@example.com",
        contact_document=document,
        queue=queue,
        entry_point=entry_point,
        first_message=message,
    )


@pytest.fixture
def third_agent(team):
    user = f.AgentFactory(username="diana", first_name="Diana", last_name="Costa")
    team.members.add(user)
    return user
