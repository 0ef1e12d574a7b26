"""SLA recomputation and breach scan at 100,000 and 1,000,000 open tickets, on PostgreSQL.

Run from the project root::

    .venv/bin/python bench/sla_bench.py                    # 100000 then 1000000
    .venv/bin/python bench/sla_bench.py --sizes 100000     # one size
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/slabench .venv/bin/python bench/sla_bench.py

For each size the database (``slabench`` by default; created when missing) is
rebuilt with the project's own commands: ``migrate``, then ``seed_demo
--tickets N`` (its bulk path; ``sla.demo`` writes one clock per ticket). The
database is reused when it already holds exactly N tickets (``--fresh`` forces
a rebuild). Then, bench-only setup in SQL: every ticket is made open again and
every policy counts on the commercial calendar, so the N clocks are all open
and all on the calendar that gets the holiday; one untimed recomputation
makes them consistent.

Measured:

1. a holiday is added to the commercial calendar on the next weekday, through
   ``sla.services.holiday_changed`` (what the admin does), and the
   recomputation it enqueues (``sla.batch.recompute`` for that calendar) runs
   over the open clocks of the calendar;
2. the breach / "em risco" scan (``sla.batch.scan``) over the same clocks;
3. the reference: one plain SQL ``UPDATE`` touching the same rows (the open
   clocks of the calendar), changing the indexed ``due_at`` like the
   recomputation does.

Target: each within 5x of the reference.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/slabench"
TARGET = 5.0


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env["DATABASE_URL"] = url
    env.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    return env


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    return urlunparse(parts._replace(path="/postgres")), name


def ensure_database(url: str, *, fresh: bool) -> None:
    import psycopg

    admin, name = _admin_url(url)
    if name in ("postgres", "test", "template0", "template1"):
        raise SystemExit(f"refusing to use the database {name!r} for the bench")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def ticket_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        found = conn.execute("SELECT to_regclass('tickets_ticket') IS NOT NULL").fetchone()[0]
        if not found:
            return -1
        return conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]


def manage(url: str, *args: str) -> None:
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(url), check=True,
                   stdout=subprocess.DEVNULL)
    print(f"  manage.py {' '.join(args)}: {time.monotonic() - started:.1f}s", flush=True)


def prepare(url: str, size: int, fresh: bool) -> None:
    ensure_database(url, fresh=fresh)
    have = ticket_count(url)
    if have != size:
        if have > 0:
            ensure_database(url, fresh=True)
        manage(url, "migrate", "--verbosity", "0")
        manage(url, "seed_demo", "--tickets", str(size), "--days", "7", "--verbosity", "0")
    else:
        manage(url, "migrate", "--verbosity", "0")


def _one(sql: str, params: list | None = None) -> object:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
        return row[0] if row else None


def _exec(sql: str, params: list | None = None) -> tuple[int, float]:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        count = cursor.rowcount
    return count, time.perf_counter() - started


def open_everything(calendar_id: int) -> None:
    """Bench-only: all tickets open, all policies on ``calendar_id``, every clock counting again."""
    from sla import batch
    from sla.calendars import clear_cache

    _exec("UPDATE sla_slapolicy SET calendar_id = %s, updated_at = now()", [calendar_id])
    _exec("UPDATE tickets_ticket SET closed_at = NULL, closed_by_id = NULL, closing_classification_id = NULL"
          " WHERE closed_at IS NOT NULL")
    _exec("UPDATE sla_slaclock SET stopped_at = NULL, breached_at = NULL, at_risk_at = NULL,"
          " state = CASE WHEN paused_at IS NULL THEN 'running' ELSE 'paused' END")
    _exec("DELETE FROM sla_holiday")
    clear_cache()
    batch.recompute(calendar_id=calendar_id)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE sla_slaclock")


def next_weekday(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def run(size: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from sla import batch, services
    from sla.demo import COMMERCIAL
    from sla.models import BusinessCalendar, Holiday, SlaClock

    calendar = BusinessCalendar.objects.get(name=COMMERCIAL)
    started = time.monotonic()
    open_everything(calendar.pk)
    vacuum()
    print(f"  setup (all open, one calendar, consistent): {time.monotonic() - started:.1f}s", flush=True)

    scope = "calendar_id = %s AND stopped_at IS NULL AND state IN ('running', 'at_risk', 'paused', 'breached')"
    rows = _one(f"SELECT count(*) FROM sla_slaclock WHERE {scope}", [calendar.pk])  # noqa: S608
    holiday_day = next_weekday(timezone.localdate())

    # 1. The holiday, as the admin adds it; the recomputation it enqueues, timed.
    enqueued: list[dict] = []
    original = services._enqueue_recompute
    services._enqueue_recompute = lambda **scope_: enqueued.append(scope_)
    try:
        with transaction.atomic():
            holiday = Holiday.objects.create(calendar=calendar, date=holiday_day, name="Feriado municipal (bench)")
            services.holiday_changed(holiday=holiday)
    finally:
        services._enqueue_recompute = original
    assert enqueued == [{"calendar_id": calendar.pk}], enqueued
    result = batch.recompute(**enqueued[0])
    recompute_s = result.seconds
    again = batch.recompute(**enqueued[0])

    # 2. The scan (breached and "em risco").
    now = timezone.now()
    scan = batch.scan(now=now)
    scan_s = scan.seconds

    # 3. The reference: one plain UPDATE of the same rows, changing the indexed due_at.
    vacuum()
    touched, reference_s = _exec(
        f"UPDATE sla_slaclock SET due_at = due_at + interval '1 microsecond', version = version + 1 WHERE {scope}",  # noqa: S608
        [calendar.pk],
    )
    _exec(f"UPDATE sla_slaclock SET due_at = due_at - interval '1 microsecond' WHERE {scope}", [calendar.pk])  # noqa: S608
    assert touched == rows, (touched, rows)

    paused = SlaClock.objects.filter(calendar=calendar, state="paused").count()
    print(f"\n== {size:,} open tickets with clocks ({rows:,} open clocks on '{calendar.name}', {paused:,} paused)")
    print(f"holiday added: {holiday_day:%d/%m/%Y}")
    print(
        f"recompute : {recompute_s:8.2f} s  {rows / recompute_s:12,.0f} rows/s"
        f"  ({result.read:,} read, {result.updated:,} deadlines moved, {result.batches} batches)"
        f"  {recompute_s / reference_s:5.2f}x reference"
    )
    print(f"  rerun (idempotent): {again.seconds:.2f} s, {again.updated} moved")
    print(
        f"scan      : {scan_s:8.2f} s  {rows / scan_s:12,.0f} rows/s"
        f"  ({scan.breached:,} marked breached, {scan.at_risk:,} em risco)"
        f"  {scan_s / reference_s:5.2f}x reference"
    )
    print(f"reference : {reference_s:8.2f} s  {touched / reference_s:12,.0f} rows/s  (one UPDATE of {touched:,} rows)")
    verdict = "OK" if max(recompute_s, scan_s) <= TARGET * reference_s else "MISSED"
    print(f"target within {TARGET:.0f}x of the reference: {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database even if it has N tickets")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    sys.path.insert(0, str(ROOT))
    parts = urlparse(url)
    shown = f"{parts.scheme}://{parts.hostname}:{parts.port or 5432}{parts.path}"
    print(f"SLA bench on {shown} at {datetime.now():%Y-%m-%d %H:%M}",
          flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"\n-- preparing {size:,} tickets", flush=True)
        prepare(url, size, args.fresh)
        import django

        if not getattr(main, "_setup", False):
            django.setup()
            main._setup = True  # type: ignore[attr-defined]
        from django.db import connection

        connection.close()
        run(size)
        connection.close()


if __name__ == "__main__":
    main()
