"""The SLA background work through a real Celery worker on Redis and PostgreSQL.

A worker subprocess (``celery -A servicedesk worker --pool=solo``) is started
against the test database (``DATABASE_URL`` rewritten to the test database's
name) and the test's Redis, consuming a queue of its own so that nothing else
using the same Redis takes these tasks (and it takes nobody else's). The
tests are transactional: the worker sees only committed rows.

Proved here: a holiday added through ``sla.services`` enqueues the
recomputation on commit and the worker moves the open deadlines; a
redelivered recomputation resumes from its checkpoint; the periodic scan, sent
as beat sends it, marks breached and "em risco" clocks and records each event
once.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import time as clock_time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from servicedesk.celery import app as celery_app
from sla import services
from sla.businesstime import add_business_time
from sla.calendars import clear_cache
from sla.models import (
    BusinessCalendar,
    ClockState,
    Holiday,
    ProcessPolicy,
    SlaClock,
    SlaPolicy,
    WorkingInterval,
)
from sla.tasks import recompute_deadlines, scan_clocks
from tests import factories as f
from tickets.models import EventKind, TicketEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
READY_TIMEOUT = 60
TASK_TIMEOUT = 60


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(check: Callable[[], bool], timeout: float = TASK_TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test alone; the SLA tasks are routed to it while the test runs."""
    name = f"sla-it-{uuid.uuid4().hex[:12]}"
    saved = (celery_app.conf.task_routes, celery_app.conf.task_always_eager)
    celery_app.conf.task_routes = {"sla.*": {"queue": name}}
    celery_app.conf.task_always_eager = False
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)
    yield name
    celery_app.conf.task_routes, celery_app.conf.task_always_eager = saved
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(name, f"_kombu.binding.{name}")


@pytest.fixture
def worker(queue: str, tmp_path: Path) -> Iterator[subprocess.Popen]:
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
        "SLA_WARNING_MINUTES": str(settings.SLA_WARNING_MINUTES),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own venv's celery, fixed arguments
            [str(CELERY), "-A", "servicedesk", "worker", "--pool=solo", "-Q", queue, "-l", "info",
             "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: b" ready." in log_path.read_bytes() or process.poll() is not None, READY_TIMEOUT,
                 "the worker to be ready")
        assert process.poll() is None, log_path.read_text()
        process.log_path = log_path  # type: ignore[attr-defined]
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def clocks():
    """Six open tickets with clocks on a calendar open all day, every day (holidays close it)."""
    clear_cache()
    calendar = BusinessCalendar.objects.create(name="Dia todo", national_holidays=False)
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=calendar, weekday=day, start=clock_time(0), end=clock_time(0)) for day in range(7)
    )
    policy = SlaPolicy.objects.create(name="8 horas", calendar=calendar, resolution_amount=Decimal(8))
    process = f.process_with_subprocesses(name="Suporte técnico")
    ProcessPolicy.objects.create(process=process, policy=policy)
    team = f.TeamFactory(name="Suporte N1")
    started = timezone.now()
    made = []
    for _ in range(6):
        ticket = f.TicketFactory(process=process, team=team, opened_at=started)
        with transaction.atomic():  # as inside ticket_open: the clock row is locked while written
            made.append(services.clock_start(ticket=ticket, at=started))
    return {"calendar": calendar, "policy": policy, "clocks": made, "started": started}


def _expected_due(calendar: BusinessCalendar, started, hours: int = 8):
    clear_cache()
    return add_business_time(calendar.spec(), started, timedelta(hours=hours))


def test_a_holiday_added_through_the_service_is_recomputed_by_the_worker(worker, clocks):
    calendar, started = clocks["calendar"], clocks["started"]
    today = timezone.localdate(started)
    with transaction.atomic():
        holiday = Holiday.objects.create(calendar=calendar, date=today, name="Enchente")
        services.holiday_changed(holiday=holiday)  # enqueued on commit, to the worker's queue
    expected = _expected_due(BusinessCalendar.objects.get(pk=calendar.pk), started)
    assert expected > started + timedelta(hours=8)  # today is closed now: counting starts tomorrow

    ids = [c.pk for c in clocks["clocks"]]
    wait_for(
        lambda: set(SlaClock.objects.filter(pk__in=ids).values_list("due_at", flat=True)) == {expected},
        what=f"the worker to recompute the deadlines (log: {worker.log_path})",
    )
    # The rows are committed a moment before the worker logs the task's end.
    wait_for(
        lambda: re.search(r"sla\.recompute_deadlines\[[^]]+\] succeeded", worker.log_path.read_text()),
        what="the worker to log the task's success",
    )


def test_a_redelivered_recomputation_resumes_from_its_checkpoint_in_the_worker(worker, clocks):
    calendar, started, made = clocks["calendar"], clocks["started"], clocks["clocks"]
    Holiday.objects.create(calendar=calendar, date=timezone.localdate(started), name="Enchente")
    # The calendar's new version, without enqueueing (the test sends the task itself).
    BusinessCalendar.objects.filter(pk=calendar.pk).update(version=F("version") + 1)
    old_due = made[0].due_at
    expected = _expected_due(BusinessCalendar.objects.get(pk=calendar.pk), started)
    # A first delivery did the first four tickets, then its worker was killed: the checkpoint remains.
    job = f"sla-it-job-{uuid.uuid4().hex}"
    cache.set(f"sla:recompute:{job}", made[3].pk, 600)

    recompute_deadlines.apply_async(kwargs={"calendar_id": calendar.pk}, task_id=job)

    ids = [c.pk for c in made]
    wait_for(lambda: cache.get(f"sla:recompute:{job}") is None, what="the worker to finish the job")
    dues = list(SlaClock.objects.filter(pk__in=ids).order_by("pk").values_list("due_at", flat=True))
    assert dues == [old_due] * 4 + [expected] * 2


def test_the_periodic_scan_runs_in_the_worker_and_records_each_change_once(worker, clocks):
    made = clocks["clocks"]
    now = timezone.now()
    late, soon = [c.pk for c in made[:3]], made[3].pk
    SlaClock.objects.filter(pk__in=late).update(due_at=now - timedelta(minutes=1))
    SlaClock.objects.filter(pk=soon).update(due_at=now + timedelta(minutes=5))

    entry = settings.CELERY_BEAT_SCHEDULE["sla-scan-clocks"]
    celery_app.send_task(entry["task"])  # what beat does every minute
    wait_for(
        lambda: SlaClock.objects.filter(pk__in=late, state=ClockState.BREACHED).count() == 3
        and SlaClock.objects.filter(pk=soon, state=ClockState.AT_RISK).exists(),
        what=f"the worker to run the scan (log: {worker.log_path})",
    )
    scan_clocks.apply_async()  # a second run finds nothing new
    wait_for(lambda: worker.log_path.read_text().count("sla.scan_clocks") >= 4, what="the second scan")
    time.sleep(0.5)
    events = TicketEvent.objects.filter(kind=EventKind.SLA_CHANGED)
    assert sorted(e.ticket_id for e in events if e.data["change"] == "breached") == sorted(late)
    assert [e.ticket_id for e in events if e.data["change"] == "at_risk"] == [soon]
    assert SlaClock.objects.filter(state=ClockState.RUNNING).count() == 2
