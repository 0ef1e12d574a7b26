"""Agent status: Online / Ausente (with a reason) / Offline, queue login/logout, timeline, forcing."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from omnichannel import services, tasks
from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    AgentState,
    ConversationStatus,
    PresenceInterval,
)

from .conftest import go_online, make_queue, start

pytestmark = pytest.mark.django_db


def intervals(user):
    return list(PresenceInterval.objects.filter(agent=user).order_by("started_at", "id"))


def test_online_logs_in_to_every_assigned_queue_and_opens_an_interval(agent, queue):
    presence = services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE)

    assert presence.state == AgentState.ONLINE
    assert str(presence.status_label) == "Aguardando"
    assert AgentQueue.objects.get(agent=agent, queue=queue).logged_in
    [interval] = intervals(agent)
    assert (interval.state, interval.ended_at, interval.forced_by) == (AgentState.ONLINE, None, None)


def test_every_state_change_closes_the_previous_interval(agent, queue, reasons):
    start_at = timezone.now()
    with time_machine.travel(start_at, tick=False):
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE)
    with time_machine.travel(start_at + timedelta(minutes=30), tick=False):
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.AWAY, pause_reason=reasons["lunch"])
    with time_machine.travel(start_at + timedelta(minutes=90), tick=False):
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE)
    with time_machine.travel(start_at + timedelta(minutes=100), tick=False):
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.OFFLINE)

    got = [(i.state, i.pause_reason and i.pause_reason.name, i.duration(), i.ended_at is None) for i in intervals(agent)]
    assert got[:3] == [
        (AgentState.ONLINE, None, timedelta(minutes=30), False),
        (AgentState.AWAY, "Almoço", timedelta(minutes=60), False),
        (AgentState.ONLINE, None, timedelta(minutes=10), False),
    ]
    assert got[3][0] == AgentState.OFFLINE and got[3][3]
    assert not AgentQueue.objects.filter(agent=agent, logged_in=True).exists()


def test_away_requires_an_active_pause_reason(agent, queue, reasons):
    go_online(agent)
    with pytest.raises(ValidationError) as exc:
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.AWAY)
    assert exc.value.message_dict == {"pause_reason": ["Escolha um motivo de pausa ativo."]}
    reasons["lunch"].active = False
    reasons["lunch"].save()
    with pytest.raises(ValidationError):
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.AWAY, pause_reason=reasons["lunch"])
    with pytest.raises(ValidationError) as exc:
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE, pause_reason=reasons["break"])
    assert exc.value.messages == ["Motivo de pausa só se aplica ao status Ausente."]
    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.ONLINE
    assert len(intervals(agent)) == 1


def test_same_state_is_refused_and_nothing_is_recorded(agent, queue):
    go_online(agent)
    with pytest.raises(ValidationError) as exc:
        services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE)
    assert exc.value.messages == ["O agente já está Online."]
    assert len(intervals(agent)) == 1


def test_unknown_state_and_agent_without_queues_are_refused(agent, outsider, queue):
    with pytest.raises(ValidationError) as exc:
        services.agent_set_state(actor=agent, agent=agent, state="busy")
    assert exc.value.message_dict == {"state": ["Status inválido."]}
    with pytest.raises(ValidationError) as exc:
        services.agent_set_state(actor=outsider, agent=outsider, state=AgentState.ONLINE)
    assert exc.value.messages == ["O agente não está atribuído a nenhuma fila."]
    assert not PresenceInterval.objects.exists()


def test_supervisor_forces_an_agents_state_and_it_is_recorded(agent, supervisor, queue, reasons):
    go_online(agent)
    services.agent_set_state(actor=supervisor, agent=agent, state=AgentState.AWAY, pause_reason=reasons["break"])

    last = intervals(agent)[-1]
    assert (last.state, last.forced_by) == (AgentState.AWAY, supervisor)


def test_teammate_and_outsider_cannot_change_an_agents_state(agent, teammate, outsider, queue):
    for intruder in (teammate, outsider):
        with pytest.raises(PermissionDenied) as exc:
            services.agent_set_state(actor=intruder, agent=agent, state=AgentState.ONLINE)
        assert str(exc.value) == "Só o próprio agente ou um supervisor da equipe dele pode alterar o status."
    assert not PresenceInterval.objects.exists()


def test_login_and_logout_of_single_queues(agent, queue, team, company, process, other_team):
    second = make_queue(team, company, process, name="Suporte - WhatsApp", channel="whatsapp")
    services.agent_queue_login(actor=agent, agent=agent, queues=[second])

    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.ONLINE
    assert set(AgentQueue.objects.filter(agent=agent, logged_in=True).values_list("queue", flat=True)) == {second.pk}

    services.agent_queue_login(actor=agent, agent=agent)  # all assigned
    assert AgentQueue.objects.filter(agent=agent, logged_in=True).count() == 2

    services.agent_queue_logout(actor=agent, agent=agent, queues=[queue])
    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.ONLINE
    services.agent_queue_logout(actor=agent, agent=agent, queues=[second])
    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.OFFLINE


def test_login_to_a_queue_not_assigned_is_refused(agent, queue, other_team, company, process):
    foreign = make_queue(other_team, company, process, name="Financeiro - Chat")
    with pytest.raises(ValidationError) as exc:
        services.agent_queue_login(actor=agent, agent=agent, queues=[foreign])
    assert exc.value.messages == ["O agente não está atribuído a todas as filas escolhidas."]
    assert not AgentPresence.objects.filter(pk=agent.pk, state=AgentState.ONLINE).exists()
    assert not AgentQueue.objects.filter(agent=agent, logged_in=True).exists()


def test_going_offline_returns_waiting_for_agent_conversations_to_the_queue(agent, teammate, queue):
    go_online(agent)
    unanswered = start(queue)
    answered = start(queue)
    answered.refresh_from_db()
    services.conversation_reply(actor=agent, conversation=answered, body="Olá!")
    go_online(teammate)  # takes nothing: both are with agent

    services.agent_set_state(actor=agent, agent=agent, state=AgentState.OFFLINE)

    unanswered.refresh_from_db()
    answered.refresh_from_db()
    assert (unanswered.status, unanswered.agent) == (ConversationStatus.IN_PROGRESS, teammate)
    # The customer owes the next message: it stays with agent until the customer writes.
    assert answered.agent == agent
    services.conversation_customer_message(conversation=answered, body="Continua sem funcionar.")
    answered.refresh_from_db()
    assert answered.agent == teammate
    assert AgentPresence.objects.get(pk=agent.pk).load == 0


def test_presence_sweep_disconnects_agents_without_heartbeat(agent, teammate, queue, settings):
    settings.OMNICHANNEL_PRESENCE_GRACE_SECONDS = 60
    go_online(agent, teammate)
    services.agent_heartbeat(agent=agent)
    services.agent_heartbeat(agent=teammate)
    later = timezone.now() + timedelta(seconds=90)
    AgentPresence.objects.filter(pk=teammate.pk).update(last_seen=later)  # still sending

    with time_machine.travel(later, tick=False):
        assert tasks.presence_sweep() == {"disconnected": 1}
        assert tasks.presence_sweep() == {"disconnected": 0}

    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.OFFLINE
    assert AgentPresence.objects.get(pk=teammate.pk).state == AgentState.ONLINE
    assert intervals(agent)[-1].note == "Perda de conexão"


def test_wrap_up_blocks_routing_until_finished(agent, teammate, supervisor, queue, contact_reason):
    queue.wrap_up_seconds = 300
    queue.save()
    go_online(agent)
    conversation = start(queue)
    conversation.refresh_from_db()
    services.conversation_reply(actor=agent, conversation=conversation, body="Resolvido.")
    services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason)
    waiting = start(queue)
    waiting.refresh_from_db()
    assert waiting.status == ConversationStatus.QUEUED

    with pytest.raises(PermissionDenied):
        services.agent_wrap_up_finish(actor=teammate, agent=agent)
    services.agent_wrap_up_finish(actor=supervisor, agent=agent)

    waiting.refresh_from_db()
    assert waiting.agent == agent
    with pytest.raises(ValidationError) as exc:
        services.agent_wrap_up_finish(actor=agent, agent=agent)
    assert exc.value.messages == ["O agente não está em pós-atendimento."]
