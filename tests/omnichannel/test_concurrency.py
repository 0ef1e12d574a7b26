"""Routing races on PostgreSQL with real connections (one thread, one connection).

Conversations are created queued first (no agent Online), then the routing
paths run at once: conversation-first routing of distinct conversations, and
agents coming Online (each pulling the oldest waiting ones). Whatever the
interleaving: no agent holds more than the queue allows, no conversation has
two agents (one ``assigned`` event each), and each agent's load equals the
weights of what they hold.
"""

from collections import Counter

import pytest
from django.db.models import Sum

from omnichannel import services
from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    AgentState,
    Channel,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Queue,
)
from tests import factories as f
from tests.integration.test_claim_race import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup():
    agents = [f.AgentFactory(username=f"agente{i}", first_name=f"Agente {i}") for i in range(6)]
    team = f.TeamFactory(name="Suporte N1", members=agents)
    queue = Queue.objects.create(
        name="Suporte - Chat",
        channel=Channel.LIVE_CHAT,
        team=team,
        company=f.CompanyFactory(),
        process=f.process_with_subprocesses(),
        max_conversations=2,
        answer_timeout=0,
    )
    AgentQueue.objects.bulk_create(AgentQueue(agent=a, queue=queue) for a in agents)
    conversations = [
        services.conversation_start(
            channel=Channel.LIVE_CHAT, contact_name=f"Cliente {i}", contact_email=f"c{i}@example.com", queue=queue
        )
        for i in range(16)
    ]
    assert not Conversation.objects.exclude(status=ConversationStatus.QUEUED).exists()
    return agents, queue, conversations


def assert_consistent(agents, queue):
    held = Counter(
        Conversation.objects.filter(status=ConversationStatus.IN_PROGRESS).values_list("agent_id", flat=True)
    )
    assert all(n <= queue.max_conversations for n in held.values()), held
    for presence in AgentPresence.objects.filter(pk__in=[a.pk for a in agents]):
        expected = (
            Conversation.objects.filter(status=ConversationStatus.IN_PROGRESS, agent_id=presence.pk).aggregate(
                s=Sum("weight")
            )["s"]
            or 0
        )
        assert presence.load == expected, (presence.pk, presence.load, expected)
    per_conversation = Counter(
        ConversationEvent.objects.filter(kind=ConversationEventKind.ASSIGNED).values_list("conversation_id", flat=True)
    )
    assert all(n == 1 for n in per_conversation.values()), per_conversation
    return held


def test_concurrent_routing_never_overfills_an_agent(setup):
    agents, queue, conversations = setup
    # Two agents Online with capacity 2 each: 4 slots for 16 conversations routed at once.
    for agent in agents[:2]:
        AgentPresence.objects.create(agent=agent, state=AgentState.ONLINE)
        AgentQueue.objects.filter(agent=agent).update(logged_in=True)

    results = run_concurrently(
        len(conversations), lambda i: services.conversation_route(conversation_id=conversations[i].pk)
    )

    assert all(status == "ok" for status, _ in results), results
    held = assert_consistent(agents, queue)
    assert held == {agents[0].pk: 2, agents[1].pk: 2}
    assert sorted(v for _, v in results if v is not None) == sorted([agents[0].pk] * 2 + [agents[1].pk] * 2)


def test_agents_coming_online_while_conversations_are_routed(setup):
    agents, queue, conversations = setup
    routers = 10

    def work(i: int):
        if i < routers:
            return services.conversation_route(conversation_id=conversations[i].pk)
        agent = agents[i - routers]
        return services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE).state

    results = run_concurrently(routers + len(agents), work)

    assert all(status == "ok" for status, _ in results), results
    held = assert_consistent(agents, queue)
    # 6 agents × 2 slots = 12 slots for 16 conversations: every slot is filled, 4 still wait.
    assert sum(held.values()) == 12
    assert Conversation.objects.filter(status=ConversationStatus.QUEUED).count() == 4


def test_agents_pulling_at_once_never_share_a_conversation(setup):
    agents, queue, conversations = setup
    for agent in agents:
        AgentPresence.objects.create(agent=agent, state=AgentState.ONLINE)
        AgentQueue.objects.filter(agent=agent).update(logged_in=True)

    results = run_concurrently(len(agents), lambda i: services.agent_pull(agent_id=agents[i].pk))

    assert all(status == "ok" for status, _ in results), results
    taken = [pk for _, ids in results for pk in ids]
    assert len(taken) == len(set(taken)) == 12
    # The oldest twelve went, the newest four wait.
    assert set(taken) == {c.pk for c in conversations[:12]}
    assert_consistent(agents, queue)
