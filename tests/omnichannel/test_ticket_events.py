"""A conversation on its ticket's log: opened or joined, closed with status, agent, contact
reason and notes, and the ticket page's timeline showing it (escaped) with a link for those
who may open the conversation."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from omnichannel import services, tasks
from tickets.models import EventKind, TicketEvent

from .conftest import go_online, start

NOTES = '<script>alert("x")</script>\nONU reiniciada.'


def fresh(conversation):
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def finished(agent, queue, customer, contact_reason):
    """A conversation of ``customer`` that ``agent`` resolved with a contact reason and notes with markup."""
    go_online(agent)
    conversation = fresh(start(queue, document=customer.document))
    services.conversation_reply(actor=agent, conversation=conversation, body="Vou verificar.")
    services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason, notes=NOTES)
    return fresh(conversation)


def test_opening_a_ticket_records_conversation_started_with_protocol_and_channel(queue, customer):
    conversation = fresh(start(queue, document=customer.document))

    event = TicketEvent.objects.get(ticket=conversation.ticket, kind=EventKind.CONVERSATION_STARTED)
    assert event.data == {
        "protocol": conversation.protocol,
        "conversation_id": conversation.pk,
        "channel": "live_chat",
        "channel_name": "Live Chat",
        "joined": False,
    }
    assert event.text.startswith(f"Atendimento aberto pela conversa {conversation.protocol} (Live Chat) em ")
    assert not TicketEvent.objects.filter(ticket=conversation.ticket, kind=EventKind.CONVERSATION_JOINED).exists()


def test_finishing_records_conversation_closed_with_status_agent_reason_and_notes(finished, agent):
    [event] = TicketEvent.objects.filter(ticket=finished.ticket, kind=EventKind.CONVERSATION_CLOSED)

    assert event.actor == agent
    assert event.created_at == finished.ended_at
    assert event.data == {
        "protocol": finished.protocol,
        "conversation_id": finished.pk,
        "channel": "live_chat",
        "channel_name": "Live Chat",
        "status": "concluded",
        "status_name": "Concluído",
        "agent_id": agent.pk,
        "agent": "Ana Souza",
        "contact_reason_id": finished.contact_reason_id,
        "contact_reason": "Sem conexão",
        "notes": NOTES,
    }
    assert event.text.startswith(f"Conversa {finished.protocol} (Live Chat) encerrada como Concluído em ")
    # The generic "Novo comentário" is no longer used for conversations.
    assert not TicketEvent.objects.filter(ticket=finished.ticket, kind=EventKind.COMMENT_ADDED).exists()


def test_cancelling_records_the_cancelled_status_without_contact_reason(agent, queue, customer):
    go_online(agent)
    conversation = fresh(start(queue, document=customer.document))
    services.conversation_cancel(actor=agent, conversation=conversation, notes="Engano.")

    event = TicketEvent.objects.get(ticket=conversation.ticket, kind=EventKind.CONVERSATION_CLOSED)
    assert (event.data["status"], event.data["contact_reason"], event.data["notes"]) == ("cancelled", "", "Engano.")
    assert "encerrada como Cancelado em " in event.text


def test_customer_inactivity_closes_on_the_ticket_without_an_actor(agent, queue, customer):
    queue.inactivity_timeout = 60
    queue.inactivity_warning = ""
    queue.save()
    go_online(agent)
    conversation = fresh(start(queue, document=customer.document))
    services.conversation_reply(actor=agent, conversation=conversation, body="Pode testar?")
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        tasks.close_inactive()

    event = TicketEvent.objects.get(ticket=conversation.ticket, kind=EventKind.CONVERSATION_CLOSED)
    assert (event.actor, event.data["status"], event.data["agent"]) == (None, "inactivity", "Ana Souza")


# --- the ticket page ------------------------------------------------------------------------------


def ticket_page(client, user, conversation) -> tuple[int, str]:
    client.force_login(user)
    response = client.get(reverse("tickets:detail", args=[conversation.ticket_id]))
    return response.status_code, response.content.decode()


def test_ticket_page_shows_the_conversation_with_its_notes_escaped(client, finished, agent):
    status, page = ticket_page(client, agent, finished)

    assert status == 200
    assert f"Atendimento aberto pela conversa {finished.protocol} (Live Chat) em " in page
    assert f"Conversa {finished.protocol} (Live Chat) encerrada como Concluído em " in page
    assert "Qualificação" in page and "Sem conexão" in page
    assert "Notas do atendimento" in page
    assert "Ana Souza" in page
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>ONU reiniciada." in page


def test_ticket_page_links_the_conversation_for_its_agent_and_the_supervisor(client, finished, agent, supervisor):
    url = reverse("omnichannel:conversation", args=[finished.pk])
    for user in (agent, supervisor):
        status, page = ticket_page(client, user, finished)
        assert status == 200
        assert f'href="{url}"' in page, user
        assert f"Abrir a conversa {finished.protocol}" in page
        assert client.get(url).status_code == 200


def test_ticket_page_has_no_link_for_a_teammate_who_may_not_open_the_conversation(client, finished, teammate):
    status, page = ticket_page(client, teammate, finished)

    assert status == 200  # the ticket is unassigned in the teammate's team: visible
    assert f"Conversa {finished.protocol} (Live Chat) encerrada como Concluído em " in page
    assert reverse("omnichannel:conversation", args=[finished.pk]) not in page
    assert client.get(reverse("omnichannel:conversation", args=[finished.pk])).status_code == 404


def test_outsider_sees_neither_the_ticket_nor_the_conversation(client, finished, outsider):
    status, page = ticket_page(client, outsider, finished)

    assert status == 404
    assert finished.protocol not in page
    assert "ONU reiniciada" not in page

