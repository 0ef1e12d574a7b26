"""Conversations: start with protocol and ticket, bot, messages, finish, transfer, timers."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from omnichannel import services, tasks
from omnichannel.models import (
    AgentPresence,
    ContactReason,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
)
from tickets.models import EventKind, Origin, Ticket, TicketEvent

from .conftest import go_online, make_queue, start

pytestmark = pytest.mark.django_db


def fresh(conversation):
    conversation.refresh_from_db()
    return conversation


def bodies(conversation, kind=None):
    qs = Message.objects.filter(conversation=conversation).order_by("created_at", "id")
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.values_list("body", flat=True))


def test_start_gives_a_protocol_told_in_the_first_automatic_message_and_opens_a_ticket(queue, customer):
    conversation = start(queue, name="Maria Oliveira", document="529.982.247-25", message="Sem internet.")

    year = timezone.localdate().year
    assert conversation.protocol.startswith(f"C{year}.")
    assert bodies(conversation) == [
        "Sem internet.",
        f"Olá, Maria Oliveira! O protocolo deste atendimento é {conversation.protocol}.",
    ]
    conversation = fresh(conversation)
    assert conversation.customer == customer
    ticket = conversation.ticket
    assert (ticket.customer, ticket.team, ticket.origin, ticket.closed_at) == (customer, queue.team, Origin.LIVE_CHAT, None)
    assert ticket.protocol == f"{year}.000001"  # the tickets' own gap-free sequence
    started = TicketEvent.objects.filter(
        ticket=ticket, kind=EventKind.CONVERSATION_STARTED, data__conversation_id=conversation.pk
    )
    assert started.get().text.startswith(f"Atendimento aberto pela conversa {conversation.protocol} (Live Chat) em ")
    assert (conversation.status, conversation.queued_at is not None) == (ConversationStatus.QUEUED, True)


def test_a_new_conversation_joins_the_customers_open_ticket_of_the_same_queue(queue, customer, team, company, process):
    first = fresh(start(queue, document=customer.document))
    second = fresh(start(queue, document=customer.document))
    other_queue = make_queue(team, company, process, name="Suporte - WhatsApp", channel="whatsapp")
    third = fresh(start(other_queue, document=customer.document, channel="whatsapp"))

    assert second.ticket == first.ticket
    assert third.ticket != first.ticket
    assert Ticket.objects.filter(customer=customer).count() == 2
    joined = TicketEvent.objects.get(
        ticket=first.ticket, kind=EventKind.CONVERSATION_JOINED, data__conversation_id=second.pk
    )
    assert joined.data["joined"] is True
    assert joined.text.startswith(f"Conversa {second.protocol} (Live Chat) vinculada a este atendimento em ")


def test_a_contact_without_document_gets_a_ticket_once_the_agent_links_the_customer(agent, queue, customer):
    go_online(agent)
    conversation = fresh(start(queue, document=""))
    assert (conversation.customer, conversation.ticket) == (None, None)

    services.conversation_link_customer(actor=agent, conversation=conversation, customer=customer)

    conversation = fresh(conversation)
    assert conversation.ticket.customer == customer
    with pytest.raises(ValidationError):
        services.conversation_link_customer(actor=agent, conversation=conversation, customer=customer)


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"contact_name": " "}, {"contact_name": ["Informe o nome."]}),
        ({"contact_email": "", "contact_phone": ""}, {"contact_email": ["Informe o e-mail ou o telefone."]}),
        ({"contact_email": "não é e-mail"}, {"contact_email": ["E-mail inválido."]}),
        ({"contact_document": "123.456.789-00"}, {"contact_document": ["CPF inválido."]}),
        ({"channel": "pombo"}, {"channel": ["Canal inválido."], "queue": ["A fila não atende este canal."]}),
        ({"queue": None}, {"entry_point": ["Informe o ponto de entrada ou a fila."]}),
        ({"queue": None, "entry_point": "nada"}, {"entry_point": ["Ponto de entrada desconhecido."]}),
        ({"channel": "whatsapp"}, {"queue": ["A fila não atende este canal."]}),
    ],
)
def test_start_refuses_bad_input_and_creates_nothing(queue, kwargs, errors):
    args = {"channel": "live_chat", "contact_name": "Maria", "contact_email": "maria@example.com", "queue": queue}
    with pytest.raises(ValidationError) as exc:
        services.conversation_start(**{**args, **kwargs})
    if "contact_document" in errors:
        assert list(exc.value.message_dict) == ["contact_document"]
    else:
        assert exc.value.message_dict == errors
    assert not Conversation.objects.exists()
    assert not Ticket.objects.exists()


def test_bot_menu_navigation_with_fallback_and_submenu(menu, agent, queue):
    go_online(agent)
    conversation = start(entry_point="site", message="")
    assert fresh(conversation).status == ConversationStatus.BOT
    assert bodies(conversation)[-1] == "Olá! Escolha:\n1 - Suporte\n2 - Financeiro"

    services.conversation_customer_message(conversation=conversation, body="7")
    assert bodies(conversation, MessageKind.SYSTEM)[-2:] == [
        "Opção inválida. Responda com o número de uma das opções.",
        "Olá! Escolha:\n1 - Suporte\n2 - Financeiro",
    ]
    services.conversation_customer_message(conversation=conversation, body="2")
    assert bodies(conversation)[-1] == "Financeiro:\n1 - Boleto"
    assert fresh(conversation).status == ConversationStatus.BOT

    services.conversation_customer_message(conversation=conversation, body="1")
    conversation = fresh(conversation)
    assert conversation.queue.name == "Financeiro - Chat"
    assert (conversation.status, conversation.agent) == (ConversationStatus.IN_PROGRESS, agent)  # logged in to it too
    assert conversation.bot_started_at <= conversation.bot_ended_at <= conversation.queued_at


def test_bot_option_leading_to_a_queue_routes_to_an_online_agent(menu, agent):
    go_online(agent)
    conversation = start(entry_point="site", message="")
    services.conversation_customer_message(conversation=conversation, body="1")
    assert fresh(conversation).agent == agent


def test_reply_sets_first_response_and_only_the_assigned_agent_replies(agent, teammate, supervisor, queue):
    go_online(agent)
    conversation = start(queue)
    for intruder in (teammate, supervisor):
        with pytest.raises(PermissionDenied) as exc:
            services.conversation_reply(actor=intruder, conversation=conversation, body="Oi")
        assert str(exc.value) == "Só o agente responsável pela conversa pode respondê-la."
    with pytest.raises(ValidationError) as exc:
        services.conversation_reply(actor=agent, conversation=conversation, body="   ")
    assert exc.value.message_dict == {"body": ["Escreva a mensagem."]}
    assert fresh(conversation).first_response_at is None

    message = services.conversation_reply(actor=agent, conversation=conversation, body="<script>alert(1)</script>")

    conversation = fresh(conversation)
    assert message.body == "<script>alert(1)</script>"  # stored as typed; templates escape it
    assert conversation.first_response_at == message.created_at == conversation.last_message_at
    assert conversation.queue_time == conversation.first_response_at - conversation.queued_at


def test_internal_notes_are_not_sent_to_the_customer(agent, teammate, queue, published, django_capture_on_commit_callbacks):
    go_online(agent)
    conversation = start(queue)
    with pytest.raises(PermissionDenied):
        services.conversation_note(actor=teammate, conversation=conversation, body="x")
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        note = services.conversation_note(actor=agent, conversation=conversation, body="Cliente já ligou ontem.")
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Olá!")

    sent = [(groups, payload["message_id"]) for groups, payload in published if payload["model"] == "message"]
    customer_group = f"omni.customer.{conversation.pk}"
    assert [mid for groups, mid in sent if customer_group in groups] == [reply.pk]
    assert [mid for groups, mid in sent if f"omni.agent.{agent.pk}" in groups] == [note.pk, reply.pk]


def test_finish_with_contact_reason_ends_the_conversation_and_logs_it_on_the_ticket(agent, queue, customer, contact_reason):
    go_online(agent)
    conversation = fresh(start(queue, document=customer.document))
    services.conversation_reply(actor=agent, conversation=conversation, body="Resolvido?")

    services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason, notes="ONU reiniciada.")

    conversation = fresh(conversation)
    assert (conversation.status, conversation.contact_reason, conversation.notes) == (
        ConversationStatus.CONCLUDED, contact_reason, "ONU reiniciada.",
    )
    assert conversation.human_started_at <= conversation.human_ended_at == conversation.ended_at
    assert AgentPresence.objects.get(pk=agent.pk).load == 0
    closed = TicketEvent.objects.get(ticket=conversation.ticket, kind=EventKind.CONVERSATION_CLOSED)
    assert (closed.data["status"], closed.data["contact_reason"], closed.data["notes"]) == (
        "concluded", "Sem conexão", "ONU reiniciada.",
    )
    assert not TicketEvent.objects.filter(ticket=conversation.ticket, kind=EventKind.COMMENT_ADDED).exists()
    with pytest.raises(ValidationError) as exc:
        services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason)
    assert exc.value.messages == [f"A conversa {conversation.protocol} já foi encerrada (Concluído)."]


def test_finish_refuses_missing_or_foreign_contact_reasons_and_strangers(agent, teammate, outsider, queue):
    go_online(agent)
    conversation = start(queue)
    with pytest.raises(ValidationError) as exc:
        services.conversation_finish(actor=agent, conversation=conversation, contact_reason=None)
    assert exc.value.message_dict == {"contact_reason": ["Escolha o motivo de contato."]}
    foreign = ContactReason.objects.create(name="Mudança de endereço")
    with pytest.raises(ValidationError) as exc:
        services.conversation_finish(actor=agent, conversation=conversation, contact_reason=foreign)
    assert exc.value.message_dict == {"contact_reason": ["Este motivo de contato não é oferecido nesta fila."]}
    for intruder in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            services.conversation_finish(actor=intruder, conversation=conversation, contact_reason=foreign)
    assert fresh(conversation).status == ConversationStatus.IN_PROGRESS


def test_transfer_to_a_queue_and_to_an_agent(agent, teammate, queue, team, company, process):
    second = make_queue(team, company, process, name="Suporte N2 - Chat")
    go_online(agent)
    conversation = start(queue)
    services.conversation_transfer(actor=agent, conversation=conversation, to_queue=second, note="Caso para o N2.")
    conversation = fresh(conversation)
    assert conversation.queue == second
    assert conversation.agent == agent  # agent is logged in to both and is now free again
    assert bodies(conversation, MessageKind.NOTE) == ["Caso para o N2."]

    go_online(teammate)
    services.conversation_transfer(actor=agent, conversation=conversation, to_agent=teammate)
    assert fresh(conversation).agent == teammate
    assert AgentPresence.objects.get(pk=agent.pk).load == 0


def test_transfer_refusals(agent, outsider, queue, team, company, process):
    go_online(agent)
    conversation = start(queue)
    with pytest.raises(ValidationError) as exc:
        services.conversation_transfer(actor=agent, conversation=conversation)
    assert exc.value.messages == ["Escolha o agente ou a fila de destino."]
    voice = make_queue(team, company, process, name="Central", channel="voice")
    with pytest.raises(ValidationError) as exc:
        services.conversation_transfer(actor=agent, conversation=conversation, to_queue=voice)
    assert exc.value.message_dict == {"to_queue": ["A fila de destino não atende o canal desta conversa."]}
    with pytest.raises(ValidationError):
        services.conversation_transfer(actor=agent, conversation=conversation, to_agent=outsider)
    with pytest.raises(PermissionDenied):
        services.conversation_transfer(actor=outsider, conversation=conversation, to_queue=queue)
    assert fresh(conversation).agent == agent


def test_customer_inactivity_warns_then_closes(agent, queue):
    queue.inactivity_timeout = 300
    queue.save()
    go_online(agent)
    conversation = start(queue)
    services.conversation_reply(actor=agent, conversation=conversation, body="Pode testar agora?")
    t0 = timezone.now()

    with time_machine.travel(t0 + timedelta(seconds=299), tick=False):
        assert tasks.close_inactive() == {"warned": 0, "closed": 0}
    with time_machine.travel(t0 + timedelta(seconds=301), tick=False):
        assert tasks.close_inactive() == {"warned": 1, "closed": 0}
        assert tasks.close_inactive() == {"warned": 0, "closed": 0}
    with time_machine.travel(t0 + timedelta(seconds=301 + 121), tick=False):
        assert tasks.close_inactive() == {"warned": 0, "closed": 1}

    conversation = fresh(conversation)
    assert conversation.status == ConversationStatus.INACTIVITY
    assert bodies(conversation, MessageKind.SYSTEM)[-1] == queue.inactivity_warning
    assert AgentPresence.objects.get(pk=agent.pk).load == 0


def test_customer_answer_after_warning_keeps_the_conversation(agent, queue):
    queue.inactivity_timeout = 60
    queue.save()
    go_online(agent)
    conversation = start(queue)
    services.conversation_reply(actor=agent, conversation=conversation, body="Pode testar?")
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        tasks.close_inactive()
        services.conversation_customer_message(conversation=conversation, body="Testei, funcionou.")
    with time_machine.travel(timezone.now() + timedelta(seconds=300), tick=False):
        tasks.close_inactive()
    assert fresh(conversation).status == ConversationStatus.IN_PROGRESS  # the agent owes the answer now


def test_leaving_while_queued_is_abandonment(queue):
    conversation = start(queue)
    services.conversation_abandon(conversation=conversation)
    conversation = fresh(conversation)
    assert (conversation.status, conversation.human_started_at) == (ConversationStatus.ABANDONED, None)
    with pytest.raises(ValidationError):
        services.conversation_customer_message(conversation=conversation, body="Oi?")


def test_out_of_hours_message_when_the_queue_calendar_is_closed(queue):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from sla.models import BusinessCalendar, WorkingInterval

    calendar = BusinessCalendar.objects.create(name="Comercial", national_holidays=False)
    WorkingInterval.objects.create(calendar=calendar, weekday=0, start=time(8), end=time(18))  # Mondays only
    queue.calendar = calendar
    queue.save()
    sunday = datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    with time_machine.travel(sunday, tick=False):
        closed = start(queue)
    with time_machine.travel(sunday + timedelta(days=1), tick=False):
        open_ = start(queue)
    assert bodies(closed, MessageKind.SYSTEM)[-1] == queue.out_of_hours_message
    assert queue.out_of_hours_message not in bodies(open_)
    assert fresh(closed).status == ConversationStatus.QUEUED
