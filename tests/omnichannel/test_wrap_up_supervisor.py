"""A supervisor ends an agent's wrap-up ("Concluir pós-atendimento") on their behalf."""

import pytest
from django.urls import reverse

from omnichannel import services
from omnichannel.models import AgentPresence
from tests import factories as f
from tests.omnichannel.conftest import go_online, start

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def in_wrap_up(agent, queue, contact_reason):
    """``agent`` resolved a conversation in a queue with 5 minutes of wrap-up."""
    queue.wrap_up_seconds = 300
    queue.save(update_fields=["wrap_up_seconds"])
    go_online(agent)
    conversation = start(queue)
    conversation.refresh_from_db()
    services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason)
    assert AgentPresence.objects.get(pk=agent.pk).wrap_up_until is not None
    return agent


@pytest.fixture
def other_supervisor(other_team):
    user = f.SupervisorFactory(username="otavio")
    other_team.supervisors.add(user)
    return user


def _url(agent):
    return reverse("omnichannel:agent_wrap_up_finish", args=[agent.pk])


def test_supervisor_sees_the_agent_in_wrap_up_with_the_button(client, supervisor, in_wrap_up):
    client.force_login(supervisor)
    text = client.get(reverse("omnichannel:workspace")).text
    assert "Agentes em pós-atendimento" in text
    assert f'data-omni-wrap-up-agent="{in_wrap_up.pk}"' in text
    assert _url(in_wrap_up) in text


def test_supervisor_ends_the_wrap_up_and_the_card_empties(client, supervisor, in_wrap_up, published):
    client.force_login(supervisor)
    response = client.post(_url(in_wrap_up), **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#omni-sidebar"
    assert "Nenhum agente em pós-atendimento." in response.text
    assert AgentPresence.objects.get(pk=in_wrap_up.pk).wrap_up_until is None


def test_supervisor_without_htmx_is_sent_back_to_the_workspace(client, supervisor, in_wrap_up):
    client.force_login(supervisor)
    response = client.post(_url(in_wrap_up))
    assert response.status_code == 302
    assert response["Location"] == reverse("omnichannel:workspace")
    assert AgentPresence.objects.get(pk=in_wrap_up.pk).wrap_up_until is None


def test_supervisor_of_another_team_is_refused_403_and_nothing_changes(client, other_supervisor, in_wrap_up):
    client.force_login(other_supervisor)
    text = client.get(reverse("omnichannel:workspace")).text
    assert f'data-omni-wrap-up-agent="{in_wrap_up.pk}"' not in text
    for headers in (HTMX, {}):
        response = client.post(_url(in_wrap_up), **headers)
        assert response.status_code == 403
    assert AgentPresence.objects.get(pk=in_wrap_up.pk).wrap_up_until is not None


def test_a_teammate_agent_is_refused_403(client, teammate, queue, in_wrap_up):
    client.force_login(teammate)
    response = client.post(_url(in_wrap_up), **HTMX)
    assert response.status_code == 403
    assert AgentPresence.objects.get(pk=in_wrap_up.pk).wrap_up_until is not None


def test_an_agent_not_in_wrap_up_is_a_400_in_portuguese(client, supervisor, agent, queue):
    go_online(agent)
    client.force_login(supervisor)
    response = client.post(_url(agent), **HTMX)
    assert response.status_code == 400
    assert "O agente não está em pós-atendimento." in response.text


def test_unknown_agent_is_404_and_login_is_required(client, supervisor, in_wrap_up):
    response = client.post(_url(in_wrap_up))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(supervisor)
    assert client.post(reverse("omnichannel:agent_wrap_up_finish", args=[999999]), **HTMX).status_code == 404
    assert AgentPresence.objects.get(pk=in_wrap_up.pk).wrap_up_until is not None


def test_operation_refuses_a_supervisor_of_another_team(other_supervisor, in_wrap_up):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.agent_wrap_up_finish(actor=other_supervisor, agent=in_wrap_up)
