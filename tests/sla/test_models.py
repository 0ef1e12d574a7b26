"""Calendars as the arithmetic sees them, the clock's read view, and the demo data's clocks."""

from datetime import date, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from sla import demo
from sla.models import ClockState, SlaClock, SlaReason, find_overlap
from sla.selectors import clock_view
from tickets.models import Ticket

from .conftest import NOW, sp
from .factories import AlwaysOpenCalendarFactory, CalendarFactory, HolidayFactory

pytestmark = pytest.mark.django_db


def test_spec_closes_national_state_own_and_global_dates():
    calendar = CalendarFactory(national_holidays=True, state="SP")
    HolidayFactory(calendar=calendar, date=date(2026, 1, 25), name="Aniversário de São Paulo")
    HolidayFactory(calendar=None, date=date(2026, 12, 24), name="Véspera de Natal")
    HolidayFactory(calendar=CalendarFactory(), date=date(2026, 3, 19), name="De outro calendário")
    holidays = calendar.spec(years=range(2026, 2027)).holidays
    assert {date(2026, 4, 21), date(2026, 7, 9), date(2026, 1, 25), date(2026, 12, 24)} <= holidays
    assert date(2026, 3, 19) not in holidays


def test_national_holidays_can_be_switched_off_keeping_the_states_own():
    calendar = CalendarFactory(national_holidays=False, state="SP")
    holidays = calendar.spec(years=range(2026, 2027)).holidays
    assert date(2026, 7, 9) in holidays  # Revolução Constitucionalista, São Paulo only
    assert date(2026, 4, 21) not in holidays  # Tiradentes, national


def test_a_24x7_calendar_ignores_holidays_and_has_24_hour_days():
    calendar = AlwaysOpenCalendarFactory()
    HolidayFactory(calendar=calendar, date=date(2026, 3, 3))
    assert calendar.spec().always_open
    assert calendar.business_day() == timedelta(hours=24)


def test_the_business_day_is_the_mean_open_time_of_the_open_weekdays():
    calendar = CalendarFactory()
    calendar.intervals.create(weekday=5, start=time(8), end=time(12))  # Saturday morning
    # (5 × 9 h + 4 h) / 6 days
    assert calendar.business_day() == timedelta(hours=49) / 6


@pytest.mark.parametrize(
    ("intervals", "clash"),
    [
        ([(0, time(8), time(12)), (0, time(12), time(18))], None),  # touching is fine
        ([(0, time(8), time(12)), (1, time(9), time(10))], None),
        ([(0, time(8), time(12)), (0, time(11), time(13))], (0, time(11), time(13))),
        ([(2, time(22), time(0)), (2, time(23), time(23, 30))], (2, time(23), time(23, 30))),
    ],
)
def test_find_overlap(intervals, clash):
    assert find_overlap(intervals) == clash


def test_clock_view_counts_business_hours_left_and_late(clock, frozen):
    frozen.move_to(sp(2026, 3, 2, 17), tick=False)
    running = clock_view(clock)
    assert (running.remaining_hours, running.overdue_hours, running.state_label) == (2.0, None, "Em andamento")
    late = clock_view(clock, now=sp(2026, 3, 3, 11, 30))
    assert (late.remaining_hours, late.overdue_hours, late.state_label) == (None, 2.5, "Atrasado")
    assert late.badge == "text-bg-danger"


def test_a_paused_clock_keeps_the_hours_it_had_left_when_paused(clock):
    SlaClock.objects.filter(pk=clock.pk).update(state=ClockState.PAUSED, paused_at=NOW)
    paused = clock_view(SlaClock.objects.select_related("calendar").get(pk=clock.pk), now=NOW + timedelta(days=3))
    assert paused.remaining_hours == 8.0
    assert paused.paused and not paused.counting


def test_the_demo_gives_every_seeded_ticket_with_a_policy_a_clock_and_reasons_of_both_kinds():
    call_command("seed_demo", tickets=120, seed=3, stdout=StringIO())
    with_policy = Ticket.objects.filter(process__sla__isnull=False)
    clocks = SlaClock.objects.all()
    assert with_policy.exists()
    assert set(with_policy.values_list("pk", flat=True)) <= set(clocks.values_list("pk", flat=True))
    assert {c.state for c in clocks} >= {ClockState.MET, ClockState.BREACHED}
    assert all(c.stopped_at is not None for c in clocks.filter(ticket__closed_at__isnull=False))
    assert set(SlaReason.objects.values_list("kind", flat=True)) == {"increment", "pause"}
    assert demo.COMMERCIAL in {c.calendar.name for c in clocks.select_related("calendar")}
