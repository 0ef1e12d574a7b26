"""Set-based work on many clocks: recomputation after a configuration change, the scans.

Clocks start at NOW (Monday 02/03/2026 10:00) with the 8-hour policy: due
Tuesday 03/03 09:00. A holiday on Tuesday moves that to Wednesday 09:00.
"""

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from sla import batch, services, tasks
from sla.models import ClockState, Holiday, SlaClock
from tests import factories as f
from tickets.models import EventKind, Ticket, TicketEvent

from .conftest import NOW, sp
from .factories import CalendarFactory, HolidayFactory, PolicyFactory, ProcessPolicyFactory

TUESDAY_9 = sp(2026, 3, 3, 9)
WEDNESDAY_9 = sp(2026, 3, 4, 9)


@pytest.fixture
def clocks(frozen, policy, process, team):
    """Five tickets of ``process`` with clocks started at NOW (ids in creation order)."""
    ProcessPolicyFactory(process=process, policy=policy)
    made = []
    for _ in range(5):
        ticket = f.TicketFactory(process=process, team=team, opened_at=NOW)
        made.append(services.clock_start(ticket=ticket, at=NOW))
    return made


def dues(clocks) -> list:
    return list(SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).order_by("pk").values_list("due_at", flat=True))


# --- recomputation --------------------------------------------------------------------------


def test_adding_a_holiday_recomputes_the_open_clocks_of_its_calendar_after_commit(
    clocks, calendar, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        holiday = HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
        services.holiday_changed(holiday=holiday)
    assert callbacks, "the recomputation is enqueued on commit"
    assert dues(clocks) == [WEDNESDAY_9] * 5


def test_a_global_holiday_recomputes_every_calendar(clocks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        holiday = HolidayFactory(calendar=None, date=sp(2026, 3, 3).date())
        services.holiday_changed(holiday=holiday)
    assert dues(clocks) == [WEDNESDAY_9] * 5


def test_removing_the_holiday_brings_the_deadlines_back(clocks, calendar, django_capture_on_commit_callbacks):
    holiday = HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    with django_capture_on_commit_callbacks(execute=True):
        services.holiday_changed(holiday=holiday)
    with django_capture_on_commit_callbacks(execute=True):
        holiday.delete()
        services.holiday_changed(holiday=holiday)
    assert dues(clocks) == [TUESDAY_9] * 5


def test_a_holiday_of_another_calendar_changes_nothing(clocks, django_capture_on_commit_callbacks):
    other = CalendarFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.holiday_changed(holiday=HolidayFactory(calendar=other, date=sp(2026, 3, 3).date()))
    assert dues(clocks) == [TUESDAY_9] * 5


def test_changing_a_policy_recomputes_its_clocks(clocks, policy, django_capture_on_commit_callbacks):
    policy.resolution_amount = Decimal(2)
    with django_capture_on_commit_callbacks(execute=True):
        policy.save()
        services.policy_changed(policy=policy)
    assert dues(clocks) == [sp(2026, 3, 2, 12)] * 5  # 10-12: the end of the morning interval


def test_changing_the_working_hours_recomputes_the_calendars_clocks(
    clocks, calendar, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        calendar.intervals.filter(start__hour=13).update(end="19:00")
        services.calendar_changed(calendar=calendar)
    # 10-12 (2 h) + 13-19 (6 h) = 8 h: Monday 19:00.
    assert dues(clocks) == [sp(2026, 3, 2, 19)] * 5


def test_recomputation_keeps_increments_and_pauses(clocks, calendar, supervisor, team, increment_reason):
    team.supervisors.add(supervisor)
    services.sla_increment(actor=supervisor, ticket=clocks[0].ticket, reason=increment_reason, unit="hours", quantity=2)
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)  # bumps the calendar's version
    batch.recompute(calendar_id=calendar.pk)
    assert dues(clocks)[0] == sp(2026, 3, 4, 11)
    assert dues(clocks)[1:] == [WEDNESDAY_9] * 4


def test_recomputation_leaves_stopped_clocks_alone(clocks, calendar):
    SlaClock.objects.filter(pk=clocks[0].pk).update(state=ClockState.MET, stopped_at=NOW + timedelta(hours=1))
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    result = batch.recompute(calendar_id=calendar.pk)
    assert result.read == 4
    assert dues(clocks) == [TUESDAY_9] + [WEDNESDAY_9] * 4


def test_a_breached_clock_whose_deadline_moves_ahead_runs_again(clocks, calendar, frozen):
    frozen.move_to(sp(2026, 3, 3, 10), tick=False)
    SlaClock.objects.filter(pk=clocks[0].pk).update(state=ClockState.BREACHED, breached_at=TUESDAY_9)
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    batch.recompute(calendar_id=calendar.pk)
    moved = SlaClock.objects.get(pk=clocks[0].pk)
    assert (moved.due_at, moved.state, moved.breached_at) == (WEDNESDAY_9, ClockState.RUNNING, None)


def test_recomputation_is_idempotent(clocks, calendar):
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    first = batch.recompute(calendar_id=calendar.pk)
    versions = list(SlaClock.objects.order_by("pk").values_list("version", flat=True))
    second = batch.recompute(calendar_id=calendar.pk)
    assert (first.read, first.updated) == (5, 5)
    assert (second.read, second.updated) == (5, 0)
    assert list(SlaClock.objects.order_by("pk").values_list("version", flat=True)) == versions
    assert dues(clocks) == [WEDNESDAY_9] * 5


def test_a_recomputation_killed_mid_way_resumes_from_its_checkpoint(clocks, calendar):
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    job = "test-killed-job"
    cache.delete(f"sla:recompute:{job}")

    # The worker dies after its first batch of two: the checkpoint holds the last ticket done.
    killed = batch.recompute(calendar_id=calendar.pk, job=job, batch_size=2, max_batches=1)
    assert (killed.read, killed.updated) == (2, 2)
    assert cache.get(f"sla:recompute:{job}") == clocks[1].pk
    assert dues(clocks) == [WEDNESDAY_9] * 2 + [TUESDAY_9] * 3

    # The redelivered task (same job id) reads only what is left, then drops the checkpoint.
    resumed = batch.recompute(calendar_id=calendar.pk, job=job, batch_size=2)
    assert (resumed.read, resumed.updated) == (3, 3)
    assert cache.get(f"sla:recompute:{job}") is None
    assert dues(clocks) == [WEDNESDAY_9] * 5


def test_the_task_resumes_a_redelivered_job_from_the_checkpoint(clocks, calendar):
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    cache.set("sla:recompute:redelivered", clocks[2].pk)  # a first delivery did the first three
    result = tasks.recompute_deadlines.apply(kwargs={"calendar_id": calendar.pk}, task_id="redelivered").get()
    assert result == {"read": 2, "updated": 2, "batches": 1}
    assert dues(clocks) == [TUESDAY_9] * 3 + [WEDNESDAY_9] * 2


def test_a_row_changed_by_an_intervention_meanwhile_is_not_overwritten(clocks, calendar):
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    rows = [(c.pk, c.version, batch._to_us(WEDNESDAY_9), None, c.policy_id, c.calendar_id) for c in clocks]
    SlaClock.objects.filter(pk=clocks[0].pk).update(version=99)  # someone got there first
    assert batch._write(rows, NOW) == 4
    assert dues(clocks) == [TUESDAY_9] + [WEDNESDAY_9] * 4


def test_recompute_reads_in_bounded_queries(clocks, calendar, django_assert_max_num_queries):
    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    services.calendar_changed(calendar=calendar)
    with django_assert_max_num_queries(14):
        batch.recompute(calendar_id=calendar.pk, batch_size=100)


# --- scans ---------------------------------------------------------------------------------


def sla_events(kind_change: str) -> list[TicketEvent]:
    return [e for e in TicketEvent.objects.filter(kind=EventKind.SLA_CHANGED) if e.data.get("change") == kind_change]


def assert_event_counts_exact() -> None:
    """Each ticket's ``event_count`` (the "Interações" counts add them up) is its log's length:
    the scan records its events and counts them in the same statement (PostgreSQL) or step."""
    from django.db.models import Count

    rows = Ticket.objects.annotate(logged=Count("events")).values_list("event_count", "logged")
    assert rows and all(kept == logged for kept, logged in rows)


def test_the_scan_marks_clocks_past_their_deadline_breached_once(clocks, frozen, published):
    frozen.move_to(TUESDAY_9 + timedelta(minutes=1), tick=False)
    first = batch.scan()
    second = batch.scan()
    assert (first.breached, second.breached) == (5, 0)
    marked = SlaClock.objects.get(pk=clocks[0].pk)
    assert (marked.state, marked.breached_at) == (ClockState.BREACHED, TUESDAY_9)
    events = sla_events("breached")
    assert len(events) == 5
    assert {e.ticket_id for e in events} == {c.pk for c in clocks}
    assert all(e.actor_id is None and e.created_at == TUESDAY_9 + timedelta(minutes=1) for e in events)
    assert {datetime.fromisoformat(e.data["due_at"]) for e in events} == {TUESDAY_9}
    assert_event_counts_exact()


def test_the_scan_marks_clocks_close_to_the_deadline_at_risk_with_the_default_15_minutes(
    clocks, frozen, settings
):
    assert settings.SLA_WARNING_MINUTES == 15
    SlaClock.objects.filter(pk=clocks[0].pk).update(due_at=sp(2026, 3, 2, 10, 14))
    SlaClock.objects.filter(pk=clocks[1].pk).update(due_at=sp(2026, 3, 2, 10, 20))
    result = batch.scan()
    assert (result.breached, result.at_risk) == (0, 1)
    at_risk = SlaClock.objects.get(pk=clocks[0].pk)
    assert (at_risk.state, at_risk.at_risk_at) == (ClockState.AT_RISK, NOW)
    assert SlaClock.objects.get(pk=clocks[1].pk).state == ClockState.RUNNING
    assert len(sla_events("at_risk")) == 1
    assert batch.scan().at_risk == 0  # once
    assert_event_counts_exact()


def test_the_warning_window_is_configurable(clocks, settings):
    settings.SLA_WARNING_MINUTES = 30
    SlaClock.objects.filter(pk=clocks[1].pk).update(due_at=sp(2026, 3, 2, 10, 20))
    assert batch.scan().at_risk == 1


def test_an_at_risk_clock_that_passes_its_deadline_becomes_breached(clocks, frozen):
    SlaClock.objects.filter(pk=clocks[0].pk).update(due_at=sp(2026, 3, 2, 10, 10))
    assert batch.scan().at_risk == 1
    frozen.move_to(sp(2026, 3, 2, 10, 11), tick=False)
    assert batch.scan().breached == 1
    assert SlaClock.objects.get(pk=clocks[0].pk).state == ClockState.BREACHED


def test_paused_and_stopped_clocks_are_not_scanned(clocks, frozen):
    SlaClock.objects.filter(pk=clocks[0].pk).update(state=ClockState.PAUSED, paused_at=NOW)
    SlaClock.objects.filter(pk=clocks[1].pk).update(state=ClockState.MET, stopped_at=NOW)
    frozen.move_to(TUESDAY_9 + timedelta(hours=1), tick=False)
    assert batch.scan().breached == 3


def test_the_scan_publishes_each_change_after_commit(clocks, frozen, published, django_capture_on_commit_callbacks):
    frozen.move_to(TUESDAY_9, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        batch.scan()
    assert sorted(p["ticket_id"] for _, p in published) == sorted(c.pk for c in clocks)
    assert {p["change"] for _, p in published} == {"sla"}


def test_many_changes_are_published_per_team_in_one_message(clocks, frozen, published, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    monkeypatch.setattr(batch, "PER_TICKET_PUBLISH_LIMIT", 2)
    frozen.move_to(TUESDAY_9, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        batch.scan()
    [(groups, payload)] = published
    assert sorted(payload["ticket_ids"]) == sorted(c.pk for c in clocks)


def test_the_scan_query_count_does_not_grow_with_the_clocks(clocks, frozen, django_assert_max_num_queries):
    frozen.move_to(TUESDAY_9, tick=False)
    with django_assert_max_num_queries(12):
        result = batch.scan(batch_size=1000)
    assert result.breached == 5


def test_two_scans_never_overlap(clocks, frozen):
    """While another worker holds the lock, a scan does nothing and says it skipped."""
    frozen.move_to(TUESDAY_9, tick=False)
    held, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        from django.db import connection

        try:
            with batch.scan_lock() as got:
                assert got
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        skipped = batch.scan()
    finally:
        release.set()
        thread.join(10)
    assert skipped.skipped and skipped.breached == 0
    assert batch.scan().breached == 5


def test_the_scheduler_runs_the_scan_every_minute_in_process(clocks, frozen, settings, monkeypatch):
    from servicedesk.scheduler import run_due

    # The scheduler's thread drops stale connections between runs; here the test's own
    # transaction holds the connection (PostgreSQL would see it as unusable and close it).
    monkeypatch.setattr("servicedesk.scheduler.close_old_connections", lambda: None)

    entry = settings.CELERY_BEAT_SCHEDULE["sla-scan-clocks"]
    assert (entry["task"], entry["schedule"]) == ("sla.scan_clocks", 60.0)
    frozen.move_to(TUESDAY_9 + timedelta(minutes=5), tick=False)
    from django.utils import timezone

    last_run = {"sla-scan-clocks": timezone.now() - timedelta(minutes=2)}
    assert run_due({"sla-scan-clocks": entry}, last_run, timezone.now()) == ["sla-scan-clocks"]
    assert SlaClock.objects.filter(state=ClockState.BREACHED).count() == 5


def test_the_scan_task_reports_its_counts(clocks, frozen):
    frozen.move_to(TUESDAY_9, tick=False)
    assert tasks.scan_clocks.apply().get() == {"breached": 5, "at_risk": 0, "skipped": False}


def test_a_clock_on_another_policys_calendar_follows_a_new_process_mapping(
    clocks, process, django_capture_on_commit_callbacks
):
    always = PolicyFactory(calendar=CalendarFactory(always_open=True), resolution_amount=Decimal(8))
    with django_capture_on_commit_callbacks(execute=True):
        process.sla.policy = always
        process.sla.save()
        services.policy_changed(policy=always)
    assert dues(clocks) == [NOW + timedelta(hours=8)] * 5
    assert set(SlaClock.objects.values_list("policy_id", flat=True)) == {always.pk}


def test_holiday_constraints_speak_portuguese(calendar):
    from django.core.exceptions import ValidationError

    HolidayFactory(calendar=calendar, date=sp(2026, 3, 3).date())
    with pytest.raises(ValidationError, match="Este calendário já tem um feriado ou fechamento nesta data."):
        Holiday(calendar=calendar, date=sp(2026, 3, 3).date(), name="De novo").full_clean()
