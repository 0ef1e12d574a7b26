"""The event log: ``record`` and the sentences the timeline shows (local time, DD/MM/AAAA HH:MM:SS)."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import translation

from tests import factories as f
from tickets.events import event_text, record
from tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return f.TicketFactory()


def _event(ticket, kind, at, **data) -> TicketEvent:
    return record(ticket=ticket, kind=kind, actor=None, data=data, at=at)


def test_comment_event_text_is_in_sao_paulo_time(ticket):
    # 15:04:05 UTC on 10/03/2026 is 12:04:05 in São Paulo (UTC-3, no daylight saving).
    event = _event(ticket, EventKind.COMMENT_ADDED, datetime(2026, 3, 10, 15, 4, 5, tzinfo=UTC))
    assert event_text(event) == "Novo comentário em 10/03/2026 12:04:05"
    assert event.text == str(event) == "Novo comentário em 10/03/2026 12:04:05"


def test_event_text_crosses_the_day_back_to_local_date(ticket):
    # 02:30 UTC on 01/01/2026 is still 23:30 on 31/12/2025 in São Paulo.
    event = _event(ticket, EventKind.CLOSED, datetime(2026, 1, 1, 2, 30, tzinfo=UTC))
    assert event_text(event) == "Fechamento deste atendimento realizado em 31/12/2025 23:30:00"


def test_event_text_fills_names_from_the_data(ticket):
    at = datetime(2026, 5, 4, 12, 0, 9, tzinfo=UTC)
    started = _event(ticket, EventKind.STARTED, at, protocol="2026.000123")
    forwarded = _event(ticket, EventKind.FORWARDED, at, process="Financeiro")
    stage = _event(ticket, EventKind.SUBPROCESS_STARTED, at, subprocess="Triagem")
    team = _event(ticket, EventKind.TEAM_TRANSFERRED, at, team="Suporte N2")
    assert event_text(started) == "Atendimento protocolo 2026.000123 iniciado em 04/05/2026 09:00:09"
    assert event_text(forwarded) == "Encaminhando atendimento para novo processo Financeiro"
    assert event_text(stage) == "Iniciando subprocesso Triagem"
    assert event_text(team) == "Atendimento transferido para a equipe Suporte N2 em 04/05/2026 09:00:09"


def test_event_text_leaves_a_missing_name_blank_instead_of_failing(ticket):
    event = _event(ticket, EventKind.SUBPROCESS_FINISHED, datetime(2026, 5, 4, 12, 0, tzinfo=UTC))
    assert event_text(event) == "Encerramento do subprocesso "


def test_event_text_ignores_nested_data(ticket):
    event = _event(ticket, EventKind.FORWARDED, datetime(2026, 5, 4, 12, 0, tzinfo=UTC), process={"id": 1})
    assert event_text(event) == "Encaminhando atendimento para novo processo "


def test_event_text_keeps_the_brazilian_date_format_in_english(ticket):
    event = _event(ticket, EventKind.COMMENT_ADDED, datetime(2026, 3, 10, 15, 4, 5, tzinfo=UTC))
    with translation.override("en"):
        assert event_text(event).endswith("10/03/2026 12:04:05")


def test_record_stores_kind_actor_data_and_time(ticket, agent):
    at = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    event = record(ticket=ticket, kind="claimed", actor=agent, data={"x": 1}, at=at)
    event.refresh_from_db()
    assert (event.ticket, event.kind, event.actor, event.data, event.created_at) == (ticket, "claimed", agent, {"x": 1}, at)


def test_record_keeps_no_actor_for_an_anonymous_user(ticket):
    event = record(ticket=ticket, kind=EventKind.CRM_LINKED, actor=AnonymousUser())
    assert event.actor is None
    assert event.data == {}


def test_record_refuses_an_unknown_kind(ticket):
    with pytest.raises(ValueError):
        record(ticket=ticket, kind="teleported", actor=None)
    assert not TicketEvent.objects.exists()


def test_every_event_kind_renders_without_error(ticket):
    at = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    for kind in EventKind:
        text = event_text(TicketEvent(ticket=ticket, kind=kind, created_at=at, data={}))
        assert "{" not in text and text


def test_record_counts_the_event_on_the_ticket_and_a_stale_save_keeps_the_count(ticket):
    """``Ticket.event_count`` is what the "Interações" counts add up: ``record`` adds one in the
    same transaction, and a ticket read before and saved whole after does not write it back."""
    stale = Ticket.objects.get(pk=ticket.pk)
    assert stale.event_count == 0
    for kind in (EventKind.CREATED, EventKind.COMMENT_ADDED, EventKind.COMMENT_ADDED):
        _event(ticket, kind, datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    assert Ticket.objects.get(pk=ticket.pk).event_count == 3 == ticket.events.count()
    stale.city = "Campinas"
    stale.save()
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.city, fresh.event_count) == ("Campinas", 3)
    fresh.save(update_fields=["city"])
    assert Ticket.objects.get(pk=ticket.pk).event_count == 3
    partial = Ticket.objects.only("id", "city").get(pk=ticket.pk)
    partial.city = "Santos"
    partial.save()  # writes what it holds, in one UPDATE, and never the count
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.city, fresh.event_count) == ("Santos", 3)


def test_count_events_adds_several_at_once(ticket):
    from tickets.events import count_events

    other = f.TicketFactory()
    count_events({ticket.pk: 2, other.pk: 1})
    count_events({ticket.pk: 1})
    assert dict(Ticket.objects.filter(pk__in=[ticket.pk, other.pk]).values_list("pk", "event_count")) == {
        ticket.pk: 3, other.pk: 1,
    }
