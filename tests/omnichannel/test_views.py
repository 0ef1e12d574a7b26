"""The agent's omnichannel screens: presence control, workspace, conversation actions.

Every action goes through the real services; the tests check who is kept out
(404 for a conversation one may not see, 403 for an action one may not take),
the pt-BR refusals of bad input, and the query count of the list.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from omnichannel import services
from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    AgentState,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
)
from tests.omnichannel.conftest import go_online, make_queue, start

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def outsider_queue(other_team, company, process):
    """The outsider is an omnichannel agent too, of another team's queue."""
    return make_queue(other_team, company, process, name="Financeiro - Chat")


@pytest.fixture
def assigned(agent, queue):
    """A conversation routed to ``agent`` (the only one Online)."""
    go_online(agent)
    conversation = start(queue, name="Maria Cliente", message="Estou sem internet.")
    conversation.refresh_from_db()
    assert conversation.agent_id == agent.pk
    return conversation


# --- who may open the screens ------------------------------------------------------------------


def test_workspace_is_refused_to_users_who_are_neither_agents_nor_supervisors(client, outsider, queue):
    client.force_login(outsider)
    response = client.get(reverse("omnichannel:workspace"))
    assert response.status_code == 403


def test_workspace_requires_login(client, queue):
    response = client.get(reverse("omnichannel:workspace"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_another_agents_conversation_is_not_found(client, assigned, teammate, outsider, outsider_queue):
    for user in (teammate, outsider):
        client.force_login(user)
        assert client.get(reverse("omnichannel:conversation", args=[assigned.pk])).status_code == 404
        response = client.post(reverse("omnichannel:send", args=[assigned.pk]), {"body": "oi"}, **HTMX)
        assert response.status_code == 404
    assert not Message.objects.filter(conversation=assigned, kind=MessageKind.AGENT).exists()


def test_supervisor_of_the_queue_sees_the_conversation_but_not_the_outsider(client, assigned, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("omnichannel:conversation", args=[assigned.pk]))
    assert response.status_code == 200
    assert "Maria Cliente" in response.text


# --- the list -----------------------------------------------------------------------------------


def test_list_shows_my_conversations_with_unread_counts(client, agent, queue):
    go_online(agent)
    first = start(queue, name="Maria Cliente")
    start(queue, name="João Cliente")
    services.conversation_customer_message(conversation=first, body="Alguém aí?")
    client.force_login(agent)
    response = client.get(reverse("omnichannel:workspace"))
    assert response.status_code == 200
    html = response.text
    assert "Maria Cliente" in html and "João Cliente" in html
    # Maria: the first message plus "Alguém aí?"; João: the first message. System messages do not count.
    assert 'data-omni-unread>2</span>' in html
    assert 'data-omni-unread>1</span>' in html
    assert "Aguardando você há" in html


def test_opening_a_conversation_marks_it_read(client, agent, assigned):
    client.force_login(agent)
    client.get(reverse("omnichannel:conversation", args=[assigned.pk]))
    response = client.get(reverse("omnichannel:workspace"))
    assert "data-omni-unread>" not in response.text
    services.conversation_customer_message(conversation=assigned, body="Mais uma coisa")
    response = client.get(reverse("omnichannel:workspace"))
    assert 'data-omni-unread>1</span>' in response.text


def test_list_query_count_does_not_grow_with_conversations(
    client, agent, team, company, process, contact_reason, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    big = make_queue(team, company, process, name="Suporte - Grande", max_conversations=10)
    go_online(agent)
    start(big)
    client.force_login(agent)
    url = reverse("omnichannel:workspace")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(5):
        start(big)
    assert Conversation.objects.filter(agent=agent, status=ConversationStatus.IN_PROGRESS).count() == 6
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.text.count('class="list-group-item list-group-item-action omni-item') == 6


def test_customer_text_is_escaped_everywhere(client, agent, queue):
    go_online(agent)
    conversation = start(queue, name="<b>Eva</b>", message="<script>alert(1)</script>")
    client.force_login(agent)
    html = client.get(reverse("omnichannel:conversation", args=[conversation.pk])).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Eva</b>" not in html


def test_customer_panel_shows_open_tickets_and_previous_conversations(client, agent, queue, customer, contact_reason):
    go_online(agent)
    earlier = start(queue, document=customer.document)
    services.conversation_finish(actor=agent, conversation=earlier, contact_reason=contact_reason)
    now = start(queue, document=customer.document)
    now.refresh_from_db()
    client.force_login(agent)
    html = client.get(reverse("omnichannel:conversation", args=[now.pk])).text
    assert customer.name in html
    assert earlier.protocol in html  # Conversas anteriores
    assert reverse("tickets:detail", args=[now.ticket_id]) in html  # Atendimentos em aberto
    assert "Sem conexão" in html  # the earlier one's qualificação


# --- sending ------------------------------------------------------------------------------------


def test_reply_is_sent_and_the_composer_comes_back_empty(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:send", args=[assigned.pk]), {"body": "Vou verificar <já>."}, **HTMX)
    assert response.status_code == 200
    message = Message.objects.get(conversation=assigned, kind=MessageKind.AGENT)
    assert message.body == "Vou verificar <já>."
    assert f'id="omni-msg-{message.pk}"' in response.text
    assert "Vou verificar &lt;já&gt;." in response.text
    assert 'id="omni-composer"' in response.text


def test_empty_message_is_refused_in_portuguese(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:send", args=[assigned.pk]), {"body": "   "}, **HTMX)
    assert response.status_code == 400
    assert "Escreva a mensagem." in response.text


def test_internal_note_is_stored_as_a_note(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:send", args=[assigned.pk]), {"body": "Cliente VIP", "note": "on"}, **HTMX)
    assert response.status_code == 200
    assert Message.objects.get(conversation=assigned, body="Cliente VIP").kind == MessageKind.NOTE
    assert "Nota interna" in response.text


def test_supervisor_may_note_but_not_reply(client, supervisor, assigned):
    client.force_login(supervisor)
    response = client.post(reverse("omnichannel:send", args=[assigned.pk]), {"body": "Olá"}, **HTMX)
    assert response.status_code == 403
    assert "Só o agente responsável pela conversa pode respondê-la." in response.text
    response = client.post(reverse("omnichannel:send", args=[assigned.pk]), {"body": "Atenção", "note": "on"}, **HTMX)
    assert response.status_code == 200


# --- actions -----------------------------------------------------------------------------------


def test_resolve_needs_a_contact_reason(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:finish", args=[assigned.pk]), {"contact_reason": "", "notes": "x"}, **HTMX)
    assert response.status_code == 400
    assert "Escolha o motivo de contato." in response.text
    assigned.refresh_from_db()
    assert assigned.status == ConversationStatus.IN_PROGRESS


def test_resolve_concludes_and_starts_wrap_up(client, agent, assigned, queue, contact_reason):
    queue.wrap_up_seconds = 60
    queue.save()
    client.force_login(agent)
    response = client.post(
        reverse("omnichannel:finish", args=[assigned.pk]),
        {"contact_reason": contact_reason.pk, "notes": "Reiniciou a ONU."},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#omni-pane"
    assigned.refresh_from_db()
    assert assigned.status == ConversationStatus.CONCLUDED
    assert assigned.contact_reason == contact_reason
    assert assigned.notes == "Reiniciou a ONU."
    assert "Concluir pós-atendimento" in response.text
    response = client.post(reverse("omnichannel:wrap_up_finish"), {"from": "workspace"}, **HTMX)
    assert response.status_code == 200
    assert AgentPresence.objects.get(pk=agent.pk).wrap_up_until is None


def test_cancel_closes_the_conversation(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:cancel", args=[assigned.pk]), {"notes": "Engano"}, **HTMX)
    assert response.status_code == 200
    assigned.refresh_from_db()
    assert assigned.status == ConversationStatus.CANCELLED


def test_transfer_to_a_teammate_takes_it_off_my_list(client, agent, teammate, assigned):
    go_online(teammate)
    client.force_login(agent)
    response = client.post(
        reverse("omnichannel:transfer", args=[assigned.pk]), {"to_agent": teammate.pk, "note": "Ele resolve"}, **HTMX
    )
    assert response.status_code == 200
    assigned.refresh_from_db()
    assert assigned.agent_id == teammate.pk
    assert "Selecione uma conversa" in response.text
    assert Message.objects.filter(conversation=assigned, kind=MessageKind.NOTE, body="Ele resolve").exists()


def test_transfer_without_destination_is_refused(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:transfer", args=[assigned.pk]), {"note": "?"}, **HTMX)
    assert response.status_code == 400
    assert "Escolha o agente ou a fila de destino." in response.text


def test_return_to_queue_unassigns(client, agent, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:return", args=[assigned.pk]), {}, **HTMX)
    assert response.status_code == 200
    assigned.refresh_from_db()
    assert assigned.status == ConversationStatus.QUEUED
    assert assigned.agent_id is None


def test_supervisor_allocates_a_queued_conversation(client, supervisor, agent, queue):
    conversation = start(queue)  # nobody Online: it waits
    client.force_login(supervisor)
    page = client.get(reverse("omnichannel:workspace")).text
    assert conversation.protocol in page  # "Aguardando em fila"
    response = client.post(reverse("omnichannel:allocate", args=[conversation.pk]), {"agent": agent.pk}, **HTMX)
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.reserved_for_id == agent.pk


def test_allocation_by_the_holding_agent_is_forbidden(client, agent, teammate, assigned):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:allocate", args=[assigned.pk]), {"agent": teammate.pk}, **HTMX)
    assert response.status_code == 403
    assert "Só um supervisor da equipe da fila pode fazer isto." in response.text
    assigned.refresh_from_db()
    assert assigned.reserved_for_id is None


def test_agent_cannot_open_a_queued_conversation_of_the_queue(client, agent, queue):
    conversation = start(queue)
    client.force_login(agent)
    response = client.post(reverse("omnichannel:allocate", args=[conversation.pk]), {"agent": agent.pk}, **HTMX)
    assert response.status_code == 404


def test_allocate_with_unknown_agent_is_refused(client, supervisor, outsider, queue):
    conversation = start(queue)
    client.force_login(supervisor)
    response = client.post(reverse("omnichannel:allocate", args=[conversation.pk]), {"agent": outsider.pk}, **HTMX)
    assert response.status_code == 400
    assert "Agente inválido para esta fila." in response.text


# --- presence -----------------------------------------------------------------------------------


def test_top_bar_shows_the_presence_control_to_agents_only(client, agent, outsider, queue, reasons):
    client.force_login(agent)
    html = client.get(reverse("home")).text
    assert 'id="omni-presence"' in html
    assert "Alterar/Encerrar Omnichannel" in html
    assert "Omnichannel: Offline" in html
    assert "Ficar Online (Aguardando)" in html
    go_online(agent)
    assert "Almoço" in client.get(reverse("home")).text  # the pause reasons of the admin list
    client.force_login(outsider)
    assert 'id="omni-presence"' not in client.get(reverse("home")).text


def test_agent_goes_online_then_pauses_with_a_reason(client, agent, queue, reasons):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:presence_state"), {"state": "online"}, **HTMX)
    assert response.status_code == 200
    assert "Aguardando" in response.text
    presence = AgentPresence.objects.get(pk=agent.pk)
    assert presence.state == AgentState.ONLINE
    assert AgentQueue.objects.get(agent=agent, queue=queue).logged_in

    response = client.post(reverse("omnichannel:presence_state"), {"state": "away"}, **HTMX)
    assert response.status_code == 400
    assert "Escolha um motivo de pausa." in response.text

    response = client.post(
        reverse("omnichannel:presence_state"), {"state": "away", "pause_reason": reasons["lunch"].pk}, **HTMX
    )
    assert response.status_code == 200
    assert "Pausado" in response.text and "Almoço" in response.text
    presence.refresh_from_db()
    assert presence.state == AgentState.AWAY
    assert presence.pause_reason == reasons["lunch"]


def test_same_state_again_is_refused_in_portuguese(client, agent, queue):
    client.force_login(agent)
    client.post(reverse("omnichannel:presence_state"), {"state": "online"}, **HTMX)
    response = client.post(reverse("omnichannel:presence_state"), {"state": "online"}, **HTMX)
    assert response.status_code == 400
    assert "O agente já está Online." in response.text


def test_logging_out_of_one_queue_keeps_the_others(client, agent, queue, team, company, process):
    second = make_queue(team, company, process, name="Vendas - Chat")
    client.force_login(agent)
    client.post(reverse("omnichannel:presence_queues"), {"action": "login"}, **HTMX)
    response = client.post(reverse("omnichannel:presence_queues"), {"action": "logout", "queue": second.pk}, **HTMX)
    assert response.status_code == 200
    assert "1 de 2 logadas" in response.text
    assert not AgentQueue.objects.get(agent=agent, queue=second).logged_in
    assert AgentQueue.objects.get(agent=agent, queue=queue).logged_in
    assert AgentPresence.objects.get(pk=agent.pk).state == AgentState.ONLINE


def test_queue_login_to_a_queue_not_assigned_is_refused(client, agent, queue, outsider_queue):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:presence_queues"), {"action": "login", "queue": outsider_queue.pk}, **HTMX)
    assert response.status_code == 400
    assert not AgentQueue.objects.filter(agent=agent, queue=outsider_queue).exists()


def test_presence_change_is_refused_to_non_agents(client, outsider):
    client.force_login(outsider)
    response = client.post(reverse("omnichannel:presence_state"), {"state": "online"}, **HTMX)
    assert response.status_code == 403


def test_wrap_up_finish_outside_wrap_up_is_refused(client, agent, queue):
    client.force_login(agent)
    response = client.post(reverse("omnichannel:wrap_up_finish"), {}, **HTMX)
    assert response.status_code == 400
    assert "O agente não está em pós-atendimento." in response.text


def test_time_in_state_is_shown(client, agent, queue):
    go_online(agent)
    client.force_login(agent)
    html = client.get(reverse("home")).text
    since = AgentPresence.objects.get(pk=agent.pk).since
    assert f'data-omni-since="{timezone.localtime(since).isoformat()}"' in html
