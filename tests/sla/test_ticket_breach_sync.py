"""Every writer of an SLA clock's breach time keeps the ticket's copy (``Ticket.sla_breached_at``,
read by the late panels) equal to it; and of its deadline, ``Ticket.sla_due_at`` (the grids'
"SLA" sort), checked by ``copies`` on every call.

Same calendar as conftest.py: the 8-hour policy started at NOW (Monday 02/03 10:00) is due
Tuesday 03/03 09:00.
"""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from sla import batch, services
from sla.models import ClockState, SlaClock
from tests import factories as f
from tickets import services as ticket_services
from tickets.models import Ticket

from .conftest import NOW, sp
from .factories import HolidayFactory, MatrixPolicyFactory, PolicyFactory

TUESDAY_9 = sp(2026, 3, 3, 9)
WEDNESDAY_9 = sp(2026, 3, 4, 9)


def copies(*tickets) -> list:
    """(clock's breach time, ticket's copy) per ticket; the deadline's copy must equal the clock's."""
    ids = [t.pk for t in tickets]
    clocks = {pk: (breached, due) for pk, breached, due in SlaClock.objects.filter(pk__in=ids).values_list("pk", "breached_at", "due_at")}
    copied = {pk: (breached, due) for pk, breached, due in Ticket.objects.filter(pk__in=ids).values_list("pk", "sla_breached_at", "sla_due_at")}
    assert [copied[pk][1] for pk in ids] == [clocks[pk][1] for pk in ids], "the ticket's sla_due_at is not the clock's due_at"
    return [(clocks[pk][0], copied[pk][0]) for pk in ids]


@pytest.fixture
def tickets(frozen, process_policy, process, team):
    """Three tickets of ``process`` with clocks started at NOW."""
    made = []
    for _ in range(3):
        ticket = f.TicketFactory(process=process, team=team, opened_at=NOW)
        services.clock_start(ticket=ticket, at=NOW)
        made.append(ticket)
    return made


def scan_at(frozen, at):
    frozen.move_to(at, tick=False)
    return batch.scan()


def test_the_breach_scan_copies_the_breach_time_to_the_tickets(tickets, frozen):
    assert copies(*tickets) == [(None, None)] * 3
    assert scan_at(frozen, TUESDAY_9 + timedelta(minutes=1)).breached == 3
    assert copies(*tickets) == [(TUESDAY_9, TUESDAY_9)] * 3


def test_the_at_risk_scan_leaves_the_tickets_unbreached(tickets, frozen):
    assert scan_at(frozen, TUESDAY_9 - timedelta(minutes=5)).at_risk == 3
    assert copies(*tickets) == [(None, None)] * 3


def test_a_recomputation_that_moves_a_breached_deadline_ahead_clears_the_tickets_copy(tickets, frozen, calendar):
    scan_at(frozen, sp(2026, 3, 3, 10))
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())  # Tuesday off: due Wednesday 09:00
    services.calendar_changed(calendar=calendar)
    batch.recompute(calendar_id=calendar.pk)
    assert copies(*tickets) == [(None, None)] * 3


def test_a_recomputation_that_keeps_the_clock_late_keeps_the_tickets_copy(tickets, frozen, calendar):
    scan_at(frozen, sp(2026, 3, 4, 10))  # Wednesday 10:00, past both deadlines
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    batch.recompute(calendar_id=calendar.pk)
    assert SlaClock.objects.get(pk=tickets[0].pk).due_at == WEDNESDAY_9
    assert copies(*tickets) == [(TUESDAY_9, TUESDAY_9)] * 3


def test_an_increment_past_now_clears_the_tickets_copy(sla_ticket, supervisor, increment_reason, frozen):
    scan_at(frozen, sp(2026, 3, 3, 10))
    services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=4)
    assert copies(sla_ticket) == [(None, None)]
    assert Ticket.objects.get(pk=sla_ticket.pk).sla_due_at == sp(2026, 3, 3, 14)  # moved with the clock (lunch 12-13)


def test_the_tickets_deadline_copy_follows_start_pause_resume_and_stop(
    sla_ticket, supervisor, agent, pause_reason, closing_classification, frozen, django_capture_on_commit_callbacks
):
    def due() -> object:
        copies(sla_ticket)  # the copy equals the clock's deadline
        return Ticket.objects.get(pk=sla_ticket.pk).sla_due_at

    assert due() == TUESDAY_9
    frozen.move_to(sp(2026, 3, 2, 14), tick=False)
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    frozen.move_to(sp(2026, 3, 2, 16), tick=False)
    services.sla_resume(actor=supervisor, ticket=sla_ticket)  # two business hours paused
    assert due() == sp(2026, 3, 3, 11)
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    frozen.move_to(sp(2026, 3, 2, 17), tick=False)
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    # Finalized while paused: the hour paused moves the deadline one last time.
    assert due() == sp(2026, 3, 3, 12)


def test_pause_and_resume_of_a_late_clock_keep_the_tickets_copy(sla_ticket, supervisor, pause_reason, frozen):
    scan_at(frozen, sp(2026, 3, 3, 10))
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    assert copies(sla_ticket) == [(TUESDAY_9, TUESDAY_9)]
    frozen.move_to(sp(2026, 3, 3, 15), tick=False)
    services.sla_resume(actor=supervisor, ticket=sla_ticket)
    assert SlaClock.objects.get(pk=sla_ticket.pk).state == ClockState.BREACHED
    assert copies(sla_ticket) == [(TUESDAY_9, TUESDAY_9)]


def test_finalizing_late_without_a_scan_copies_the_deadline_as_breach_time(
    sla_ticket, agent, closing_classification, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
    frozen.move_to(sp(2026, 3, 3, 15), tick=False)
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    assert copies(sla_ticket) == [(TUESDAY_9, TUESDAY_9)]


def test_reopening_a_late_ticket_restarts_the_clock_and_clears_the_tickets_copy(
    sla_ticket, agent, closing_classification, frozen, django_capture_on_commit_callbacks
):
    scan_at(frozen, sp(2026, 3, 3, 10))
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
        closed = ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    assert copies(sla_ticket) == [(TUESDAY_9, TUESDAY_9)]
    frozen.move_to(sp(2026, 3, 4, 8), tick=False)
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_reopen(actor=agent, ticket=closed, reason="Cliente ligou de novo.")
    assert copies(sla_ticket) == [(None, None)]


def test_a_longer_policy_after_a_matrix_change_clears_the_tickets_copy(
    clock, sla_ticket, supervisor, frozen, django_capture_on_commit_callbacks
):
    scan_at(frozen, sp(2026, 3, 3, 10))
    matrix = f.CategoryMatrixFactory()
    # 27 business hours from Monday 10:00: Mon 7 h, Tue 9 h, Wed 9 h, Thu 08-10 2 h.
    MatrixPolicyFactory(matrix=matrix, policy=PolicyFactory(calendar=clock.calendar, resolution_amount=Decimal(27)))
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_edit(actor=supervisor, ticket=sla_ticket, changes={"category_matrix": matrix})
    assert SlaClock.objects.get(pk=sla_ticket.pk).due_at == sp(2026, 3, 5, 10)
    assert copies(sla_ticket) == [(None, None)]


@pytest.mark.django_db
def test_the_demo_data_gives_each_ticket_its_clocks_breach_time():
    call_command("seed_demo", tickets=200, seed=1, stdout=StringIO())
    pairs = list(SlaClock.objects.values_list("breached_at", "ticket__sla_breached_at"))
    assert any(breached is not None for breached, _copy in pairs)
    assert all(breached == copy for breached, copy in pairs)
    dues = list(SlaClock.objects.values_list("due_at", "ticket__sla_due_at"))
    assert dues and all(due == copy for due, copy in dues)
    assert not Ticket.objects.filter(sla_clock__isnull=True, sla_due_at__isnull=False).exists()
    assert not Ticket.objects.filter(sla_clock__isnull=True, sla_breached_at__isnull=False).exists()
