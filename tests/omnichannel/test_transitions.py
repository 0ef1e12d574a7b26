"""The conversation status machine: from each status of DOMAIN.md, every operation either
succeeds (to the status given here) or is refused, in pt-BR, changing nothing.

Each conversation is brought to its status through the real operations. Operations that act
on a conversation's behalf (the staff ones) run as the supervisor of the queue's team, so a
refusal here comes from the status, not from the actor, except where the conversation has no
queue yet (in the bot menu): nobody on staff may touch it then.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from omnichannel import email_filter, services
from omnichannel.models import (
    AgentPresence,
    Channel,
    Conversation,
    ConversationEvent,
    ConversationStatus,
)
from tickets.models import TicketEvent

from .conftest import go_online, make_queue, start

S = ConversationStatus
OPEN = ("in_filter", "bot", "queued", "in_progress")
CLOSED = ("concluded", "cancelled", "abandoned", "inactivity", "connection_lost", "agent_inactive")
# Hand-written: the pt-BR names of the closed statuses.
CLOSED_NAMES = {
    "concluded": "Concluído",
    "cancelled": "Cancelado",
    "abandoned": "Abandono",
    "inactivity": "Desistência/Inatividade",
    "connection_lost": "Perda de conexão",
    "agent_inactive": "Inativa PA",
}
NOT_HOLDER = "Só o agente responsável pela conversa pode respondê-la."
NOT_HANDLER = "Esta conversa está com outro agente."
NOT_QUEUE_SUPERVISOR = "Só um supervisor da equipe da fila pode fazer isto."
NOT_FILTER_SUPERVISOR = "Só um supervisor da equipe da fila pode tratar este e-mail."


@pytest.fixture
def email_queue(team, company, process):
    return make_queue(team, company, process, name="Suporte - E-mail", channel=Channel.EMAIL, email_filter=True)


@pytest.fixture
def make(agent, queue, menu, email_queue, contact_reason):
    """``make(status)``: a conversation without a registered customer, in ``status``; when a
    human handled it, ``agent`` did (the only agent Online)."""

    def in_progress() -> Conversation:
        go_online(agent)
        conversation = start(queue)
        conversation.refresh_from_db()
        assert conversation.agent_id == agent.pk
        return conversation

    def answered() -> Conversation:
        conversation = in_progress()
        services.conversation_reply(actor=agent, conversation=conversation, body="Vou verificar.")
        return conversation

    def build(status: str) -> Conversation:
        now = timezone.now()
        if status == "in_filter":
            conversation = services.conversation_start(
                channel=Channel.EMAIL, contact_name="Cliente E-mail", contact_email="email@example.com",
                queue=email_queue, first_message="Sem internet.", hold_in_filter=True,
            )
        elif status == "bot":
            conversation = start(entry_point="site")
        elif status == "queued":
            conversation = start(queue)
        elif status == "in_progress":
            conversation = in_progress()
        elif status == "concluded":
            conversation = answered()
            services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason)
        elif status == "cancelled":
            conversation = in_progress()
            services.conversation_cancel(actor=agent, conversation=conversation)
        elif status == "abandoned":
            conversation = start(queue)
            services.conversation_abandon(conversation=conversation)
        elif status == "inactivity":
            conversation = answered()
            later = now + timedelta(seconds=queue.inactivity_timeout + 1)
            assert services.conversation_check_inactivity(conversation_id=conversation.pk, at=later) == "warned"
            grace = timedelta(seconds=settings.OMNICHANNEL_INACTIVITY_GRACE_SECONDS + 1)
            assert services.conversation_check_inactivity(conversation_id=conversation.pk, at=later + grace) == "closed"
        elif status == "connection_lost":
            conversation = in_progress()
            services.conversation_abandon(conversation=conversation)
        elif status == "agent_inactive":
            conversation = answered()
            services.conversation_customer_message(conversation=conversation, body="Alô?")
            later = now + timedelta(seconds=queue.inactivity_timeout + 1)
            assert services.conversation_close_agent_inactive(conversation_id=conversation.pk, at=later) is True
        conversation.refresh_from_db()
        assert conversation.status == status
        return conversation

    return build


def snapshot(conversation: Conversation) -> dict:
    row = Conversation.objects.get(pk=conversation.pk)
    return {
        "row": {
            field: getattr(row, field)
            for field in (
                "status", "queue_id", "agent_id", "reserved_for_id", "customer_id", "ticket_id", "contact_reason_id",
                "notes", "assigned_at", "ended_at", "last_message_at",
            )
        },
        "messages": row.messages.count(),
        "events": ConversationEvent.objects.filter(conversation=row).count(),
        "ticket_events": TicketEvent.objects.filter(ticket_id=row.ticket_id).count() if row.ticket_id else 0,
        "loads": dict(AgentPresence.objects.values_list("pk", "load")),
    }


# --- the operations -------------------------------------------------------------------------------


def op_customer_message(c, ctx):
    return services.conversation_customer_message(conversation=c, body="Olá?")


def op_reply(c, ctx):
    return services.conversation_reply(actor=ctx["agent"], conversation=c, body="Resposta.")


def op_note(c, ctx):
    return services.conversation_note(actor=ctx["supervisor"], conversation=c, body="Nota interna.")


def op_finish(c, ctx):
    return services.conversation_finish(actor=ctx["supervisor"], conversation=c, contact_reason=ctx["contact_reason"])


def op_cancel(c, ctx):
    return services.conversation_cancel(actor=ctx["supervisor"], conversation=c)


def op_allocate(c, ctx):
    return services.conversation_allocate(actor=ctx["supervisor"], conversation=c, agent=ctx["teammate"])


def op_return(c, ctx):
    return services.conversation_return_to_queue(actor=ctx["supervisor"], conversation=c)


def op_transfer(c, ctx):
    return services.conversation_transfer(actor=ctx["supervisor"], conversation=c, to_agent=ctx["teammate"])


def op_link_customer(c, ctx):
    return services.conversation_link_customer(actor=ctx["supervisor"], conversation=c, customer=ctx["customer"])


def op_abandon(c, ctx):
    return services.conversation_abandon(conversation=c)


def op_leave_widget(c, ctx):
    return services.conversation_abandon(conversation=c, only_waiting=True)


def op_filter_accept(c, ctx):
    return email_filter.filter_accept(actor=ctx["supervisor"], conversation_ids=[c.pk])


def op_filter_delete(c, ctx):
    return email_filter.filter_delete(actor=ctx["supervisor"], conversation_ids=[c.pk])


def op_reroute_unanswered(c, ctx):
    return services.conversation_reroute_unanswered(conversation_id=c.pk, at=timezone.now() + timedelta(hours=1))


def op_close_agent_inactive(c, ctx):
    return services.conversation_close_agent_inactive(conversation_id=c.pk, at=timezone.now() + timedelta(hours=1))


def refused(exc, message):
    return ("refused", exc, message)


def noop():
    return ("noop",)


def closed_refusal(status):
    """The refusal of every operation on an ended conversation."""
    return refused(ValidationError, f"A conversa {{protocol}} já foi encerrada ({CLOSED_NAMES[status]}).")


def filter_refusal(status_name):
    return refused(ValidationError, f"O e-mail {{protocol}} já foi tratado ({status_name}). Atualize a lista.")


# Per operation: status → the status it leads to, or its refusal; a status left out of a row
# that lists only open statuses is closed, refused with ``closed_refusal``.
MATRIX = {
    op_customer_message: {
        "in_filter": "in_filter", "bot": "bot", "queued": "queued", "in_progress": "in_progress",
    },
    op_reply: {
        "in_filter": refused(PermissionDenied, NOT_HOLDER),
        "bot": refused(PermissionDenied, NOT_HOLDER),
        "queued": refused(PermissionDenied, NOT_HOLDER),
        "in_progress": "in_progress",
    },
    op_note: {
        "in_filter": "in_filter", "bot": refused(PermissionDenied, NOT_HANDLER), "queued": "queued",
        "in_progress": "in_progress",
    },
    op_finish: {
        "in_filter": refused(ValidationError, "Só uma conversa em andamento pode ser concluída."),
        "bot": refused(PermissionDenied, NOT_HANDLER),
        "queued": refused(ValidationError, "Só uma conversa em andamento pode ser concluída."),
        "in_progress": "concluded",
    },
    op_cancel: {
        "in_filter": "cancelled", "bot": refused(PermissionDenied, NOT_QUEUE_SUPERVISOR), "queued": "cancelled",
        "in_progress": "cancelled",
    },
    op_allocate: {
        "in_filter": refused(ValidationError, "Só uma conversa aguardando em fila pode ser alocada."),
        "bot": refused(PermissionDenied, NOT_QUEUE_SUPERVISOR),
        "queued": "queued",
        "in_progress": refused(ValidationError, "Só uma conversa aguardando em fila pode ser alocada."),
    },
    op_return: {
        "in_filter": refused(ValidationError, "A conversa não está com nenhum agente."),
        "bot": refused(PermissionDenied, NOT_HANDLER),
        "queued": refused(ValidationError, "A conversa não está com nenhum agente."),
        "in_progress": "queued",  # nobody else Online: it waits
    },
    op_transfer: {
        "in_filter": refused(ValidationError, "Só conversas em fila ou em andamento podem ser transferidas."),
        "bot": refused(PermissionDenied, NOT_HANDLER),
        "queued": "queued",
        "in_progress": "queued",  # kept for the teammate, who is not Online
    },
    op_link_customer: {
        "in_filter": "in_filter", "bot": refused(PermissionDenied, NOT_HANDLER), "queued": "queued",
        "in_progress": "in_progress",
    },
    op_abandon: {
        "in_filter": "connection_lost", "bot": "abandoned", "queued": "abandoned", "in_progress": "connection_lost",
    },
    op_leave_widget: {
        "in_filter": noop(), "bot": "abandoned", "queued": "abandoned", "in_progress": noop(),
        **{status: noop() for status in CLOSED},
    },
    op_filter_accept: {
        "in_filter": "queued",
        "bot": refused(PermissionDenied, NOT_FILTER_SUPERVISOR),
        "queued": filter_refusal("Aguardando em fila"),
        "in_progress": filter_refusal("Em andamento"),
        **{status: filter_refusal(CLOSED_NAMES[status]) for status in CLOSED},
    },
    op_filter_delete: {
        "in_filter": "cancelled",
        "bot": refused(PermissionDenied, NOT_FILTER_SUPERVISOR),
        "queued": filter_refusal("Aguardando em fila"),
        "in_progress": filter_refusal("Em andamento"),
        **{status: filter_refusal(CLOSED_NAMES[status]) for status in CLOSED},
    },
    # Timers act only on what is due, and leave everything else alone.
    op_reroute_unanswered: {
        **{status: noop() for status in (*OPEN, *CLOSED)},
        "in_progress": "queued",  # assigned, never answered: back to the queue, nobody else Online
    },
    op_close_agent_inactive: {status: noop() for status in (*OPEN, *CLOSED)},  # "in_progress" here is unanswered
}


def expectation(op, status):
    row = MATRIX[op]
    if status in row:
        return row[status]
    assert status in CLOSED, f"{op.__name__} has no expectation for {status}"
    return closed_refusal(status)


CASES = [
    pytest.param(op, status, id=f"{op.__name__.removeprefix('op_')}-{status}")
    for op in MATRIX
    for status in (*OPEN, *CLOSED)
]


@pytest.mark.parametrize(("op", "status"), CASES)
def test_transition(op, status, make, agent, teammate, supervisor, customer, contact_reason):
    conversation = make(status)
    ctx = {"agent": agent, "teammate": teammate, "supervisor": supervisor, "customer": customer,
           "contact_reason": contact_reason}
    before = snapshot(conversation)
    expected = expectation(op, status)

    if isinstance(expected, str):
        op(conversation, ctx)
        assert Conversation.objects.get(pk=conversation.pk).status == expected
    elif expected[0] == "noop":
        assert not op(conversation, ctx)
        assert snapshot(conversation) == before
    else:
        _, exc_class, message = expected
        with pytest.raises(exc_class) as exc:
            op(conversation, ctx)
        messages = exc.value.messages if isinstance(exc.value, ValidationError) else [str(exc.value)]
        assert messages == [message.format(protocol=conversation.protocol)]
        assert snapshot(conversation) == before


def test_every_status_of_the_domain_is_covered():
    assert set(OPEN) | set(CLOSED) == set(S.values)


# --- the same refusals through the workspace's views: 4xx, nothing changed ------------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("status", CLOSED)
def test_views_refuse_actions_on_an_ended_conversation(client, make, status, supervisor, teammate, contact_reason):
    conversation = make(status)
    before = snapshot(conversation)
    client.force_login(supervisor)
    posts = {
        "finish": {"contact_reason": contact_reason.pk, "notes": "x"},
        "cancel": {"notes": "x"},
        "transfer": {"to_agent": teammate.pk},
        "return": {},
        "allocate": {"agent": teammate.pk},
        "send": {"body": "x", "note": "on"},
    }
    for name, data in posts.items():
        response = client.post(reverse(f"omnichannel:{name}", args=[conversation.pk]), data, **HTMX)
        assert response.status_code == 400, name
        # The service's refusal; the composer shows the pane's notice that the conversation ended.
        refusal = "Conversa encerrada" if name == "send" else f"A conversa {conversation.protocol} já foi encerrada"
        assert refusal in response.content.decode(), name
    assert snapshot(conversation) == before


@pytest.mark.parametrize("status", ("queued", "bot", "in_filter"))
def test_finish_view_refuses_a_conversation_not_in_progress(client, make, status, supervisor, contact_reason):
    conversation = make(status)
    before = snapshot(conversation)
    client.force_login(supervisor)

    response = client.post(
        reverse("omnichannel:finish", args=[conversation.pk]), {"contact_reason": contact_reason.pk}, **HTMX
    )

    # Bot conversations have no queue yet: not even a supervisor may open them.
    assert response.status_code == (404 if status == "bot" else 400)
    assert snapshot(conversation) == before
