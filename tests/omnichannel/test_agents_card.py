"""The supervisor's "Agentes" card in the workspace: the agents of the supervised teams with their
state, and forcing an agent Online / Ausente (with a pause reason) / Offline, recorded as forced."""

import pytest
from django.urls import reverse

from omnichannel.models import AgentPresence, AgentState, PresenceInterval
from omnichannel.views_live import supervised_agents
from tests import factories as f
from tests.omnichannel.conftest import go_online

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def other_supervisor(other_team):
    user = f.SupervisorFactory(username="sergio")
    other_team.supervisors.add(user)
    return user


def _url(agent) -> str:
    return reverse("omnichannel:agent_state", args=[agent.pk])


def _state(agent) -> tuple[str, str | None]:
    presence = AgentPresence.objects.select_related("pause_reason").get(pk=agent.pk)
    return presence.state, presence.pause_reason.name if presence.pause_reason else None


def _intervals(agent) -> list[PresenceInterval]:
    return list(PresenceInterval.objects.filter(agent=agent).order_by("started_at", "id"))


def test_supervisor_sees_the_agents_of_the_team_with_state_reason_and_clock(
    client, supervisor, agent, teammate, outsider, queue, reasons
):
    go_online(agent, teammate)
    from omnichannel import services

    services.agent_set_state(actor=teammate, agent=teammate, state=AgentState.AWAY, pause_reason=reasons["lunch"])
    client.force_login(supervisor)
    text = client.get(reverse("omnichannel:workspace")).text

    assert 'id="omni-agents"' in text
    assert f'data-omni-agent="{agent.pk}" data-state="online"' in text
    assert f'data-omni-agent="{teammate.pk}" data-state="away"' in text
    assert "Almoço" in text
    assert _url(agent) in text and _url(teammate) in text
    assert f'data-omni-agent="{outsider.pk}"' not in text  # another team's agent
    assert text.count("data-omni-since=") >= 2  # time in state of both


def test_agents_card_lists_online_then_away_then_offline_in_one_query(
    supervisor, agent, teammate, third_agent, queue, reasons, django_assert_num_queries
):
    from omnichannel import services

    go_online(teammate, third_agent)
    services.agent_set_state(actor=third_agent, agent=third_agent, state=AgentState.AWAY, pause_reason=reasons["break"])
    supervisor.refresh_from_db()
    supervised_agents(supervisor)  # role and teams are cached on the user by the first call
    with django_assert_num_queries(1):
        rows = supervised_agents(supervisor)
    assert [(r.agent.username, r.state) for r in rows] == [
        ("bruno", AgentState.ONLINE),
        ("diana", AgentState.AWAY),
        ("ana", AgentState.OFFLINE),  # never went Online: no presence row yet
    ]
    assert rows[1].pause_reason.name == "Descanso" and rows[2].since is None


def test_agents_see_no_agents_card(client, agent, queue):
    client.force_login(agent)
    assert 'id="omni-agents"' not in client.get(reverse("omnichannel:workspace")).text


def test_supervisor_forces_an_agent_away_and_the_interval_records_who(client, supervisor, agent, queue, reasons):
    go_online(agent)
    client.force_login(supervisor)
    response = client.post(_url(agent), {"state": "away", "pause_reason": reasons["lunch"].pk}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#omni-agents" and response["HX-Reswap"] == "outerHTML"
    assert f'data-omni-agent="{agent.pk}" data-state="away"' in response.text
    assert "Almoço" in response.text
    assert _state(agent) == (AgentState.AWAY, "Almoço")
    last = _intervals(agent)[-1]
    assert (last.state, last.pause_reason_id, last.forced_by, last.ended_at) == (
        AgentState.AWAY, reasons["lunch"].pk, supervisor, None,
    )


def test_supervisor_forces_online_and_offline(client, supervisor, agent, queue):
    client.force_login(supervisor)
    assert client.post(_url(agent), {"state": "online"}, **HTMX).status_code == 200
    assert _state(agent) == (AgentState.ONLINE, None)
    assert client.post(_url(agent), {"state": "offline"}, **HTMX).status_code == 200
    assert _state(agent) == (AgentState.OFFLINE, None)
    assert [(i.state, i.forced_by) for i in _intervals(agent)] == [
        (AgentState.ONLINE, supervisor),
        (AgentState.OFFLINE, supervisor),
    ]


def test_without_htmx_the_supervisor_is_sent_back_to_the_workspace(client, supervisor, agent, queue):
    client.force_login(supervisor)
    response = client.post(_url(agent), {"state": "online"})
    assert response.status_code == 302 and response["Location"] == reverse("omnichannel:workspace")
    assert _state(agent) == (AgentState.ONLINE, None)


def test_missing_pause_reason_is_a_400_in_portuguese_and_nothing_changes(client, supervisor, agent, queue):
    go_online(agent)
    client.force_login(supervisor)
    response = client.post(_url(agent), {"state": "away", "pause_reason": ""}, **HTMX)

    assert response.status_code == 400
    assert "Escolha um motivo de pausa." in response.text
    assert "data-omni-agent-error" in response.text
    assert _state(agent) == (AgentState.ONLINE, None)
    assert len(_intervals(agent)) == 1


def test_unknown_state_or_reason_is_a_400_and_nothing_changes(client, supervisor, agent, queue, reasons):
    go_online(agent)
    reasons["lunch"].active = False
    reasons["lunch"].save()
    client.force_login(supervisor)
    for data in ({"state": "busy"}, {"state": "away", "pause_reason": reasons["lunch"].pk}, {}):
        response = client.post(_url(agent), data, **HTMX)
        assert response.status_code == 400, data
    assert "Faça uma escolha válida" in response.text or "Este campo é obrigatório." in response.text
    assert _state(agent) == (AgentState.ONLINE, None)
    assert len(_intervals(agent)) == 1


def test_the_same_state_again_is_a_400(client, supervisor, agent, queue):
    go_online(agent)
    client.force_login(supervisor)
    response = client.post(_url(agent), {"state": "online"}, **HTMX)
    assert response.status_code == 400
    assert "O agente já está Online." in response.text


def test_an_agent_cannot_force_a_teammate(client, agent, teammate, queue):
    go_online(teammate)
    client.force_login(agent)
    for headers in (HTMX, {}):
        response = client.post(_url(teammate), {"state": "offline"}, **headers)
        assert response.status_code == 403
    assert _state(teammate) == (AgentState.ONLINE, None)
    assert len(_intervals(teammate)) == 1


def test_supervisor_of_another_team_is_refused_and_does_not_see_the_agent(
    client, other_supervisor, agent, queue, reasons
):
    go_online(agent)
    client.force_login(other_supervisor)
    assert f'data-omni-agent="{agent.pk}"' not in client.get(reverse("omnichannel:workspace")).text
    for headers in (HTMX, {}):
        response = client.post(_url(agent), {"state": "away", "pause_reason": reasons["lunch"].pk}, **headers)
        assert response.status_code == 403
    assert "Só o próprio agente ou um supervisor da equipe dele pode alterar o status." in client.post(
        _url(agent), {"state": "offline"}, **HTMX
    ).text
    assert _state(agent) == (AgentState.ONLINE, None)
    assert len(_intervals(agent)) == 1


def test_outsider_is_refused(client, outsider, agent, queue):
    go_online(agent)
    client.force_login(outsider)
    assert client.post(_url(agent), {"state": "offline"}, **HTMX).status_code == 403
    assert _state(agent) == (AgentState.ONLINE, None)


def test_unknown_agent_is_404_and_login_is_required(client, supervisor, agent, queue):
    response = client.post(_url(agent), {"state": "online"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(supervisor)
    assert client.post(reverse("omnichannel:agent_state", args=[999999]), {"state": "online"}, **HTMX).status_code == 404
    assert client.get(_url(agent)).status_code == 405
    assert not PresenceInterval.objects.exists()
