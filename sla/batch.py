"""Set-based work on many clocks: recomputing deadlines, the breach and "em risco" scans.

Nothing here loops one query per ticket. Recomputation reads a batch of
clocks in ticket-id order, computes the new deadlines in Python with the fast
arithmetic and writes the batch with one statement (PostgreSQL: COPY into a
temporary table and one ``UPDATE ... FROM``). Each batch commits on its own
and the result depends only on the clock's row, so a run killed mid-way is
finished by running it again (from its checkpoint, or from the start: same
result). A row an intervention changed meanwhile is skipped (``version``).

The scans change states with one conditional ``UPDATE ... RETURNING`` per
batch (``state`` still active and ``due_at`` passed), so of two overlapping
scans each clock is taken by exactly one and its event recorded once; a lock
keeps two scans from even running together.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sla.businesstime import add_business_time
from sla.calendars import calendar_infos
from sla.models import ClockState, MatrixPolicy, ProcessPolicy, SlaClock, SlaPolicy
from sla.services import warning_window
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.publish import publish_on_commit, publish_ticket_change, team_group

logger = logging.getLogger(__name__)

BATCH_SIZE = 10_000
SCAN_BATCH_SIZE = 5_000
# Up to this many changed clocks per batch are published one by one (the
# ticket's own group too); above it, one message per team lists the ids.
PER_TICKET_PUBLISH_LIMIT = 100
IDS_PER_MESSAGE = 500
RECOMPUTED_STATES = ("running", "at_risk", "paused", "breached")
ACTIVE = ("running", "at_risk")
CHECKPOINT_TTL = 24 * 3600


def _table() -> str:
    return connection.ops.quote_name(SlaClock._meta.db_table)


def _db_dt(value: datetime) -> object:
    """A datetime as raw SQL expects it: as is for psycopg, Django's text form for SQLite."""
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)


def _py_dt(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


# --- recomputation -----------------------------------------------------------------------------


@dataclass
class RecomputeResult:
    batches: int = 0
    read: int = 0
    updated: int = 0
    last_ticket_id: int = 0
    seconds: float = 0.0
    timings: list[float] = field(default_factory=list)


def scope_filter(*, calendar_id: int | None = None, policy_id: int | None = None) -> Q:
    """Which open clocks a change may affect."""
    q = Q(state__in=RECOMPUTED_STATES, stopped_at__isnull=True)
    if calendar_id is not None:
        q &= Q(calendar_id=calendar_id) | Q(policy__calendar_id=calendar_id)
    if policy_id is not None:
        q &= (
            Q(policy_id=policy_id)
            | Q(ticket__category_matrix__sla__policy_id=policy_id)
            | Q(ticket__process__sla__policy_id=policy_id)
        )
    return q


class _Resolver:
    """Policy of a ticket from its matrix and process, with the policies' amounts, loaded once."""

    def __init__(self) -> None:
        self.policies = {p.pk: p for p in SlaPolicy.objects.select_related("calendar")}
        self.by_matrix = dict(
            MatrixPolicy.objects.filter(policy__active=True).values_list("matrix_id", "policy_id")
        )
        self.by_process = dict(
            ProcessPolicy.objects.filter(policy__active=True).values_list("process_id", "policy_id")
        )
        self.infos = calendar_infos({p.calendar_id for p in self.policies.values()})
        self.resolution: dict[int, timedelta] = {}
        self.first_response: dict[int, timedelta | None] = {}
        for pk, policy in self.policies.items():
            info = self.infos[policy.calendar_id]
            self.resolution[pk] = info.amount(policy.resolution_amount, policy.resolution_unit)
            self.first_response[pk] = (
                None
                if policy.first_response_amount is None
                else info.amount(policy.first_response_amount, policy.first_response_unit)
            )

    def policy_id(self, matrix_id: int | None, process_id: int, current: int) -> int:
        return self.by_matrix.get(matrix_id) or self.by_process.get(process_id) or current


def recompute(
    *,
    calendar_id: int | None = None,
    policy_id: int | None = None,
    job: str | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
    now: datetime | None = None,
) -> RecomputeResult:
    """Recompute the deadlines of the open clocks in scope, batch by batch.

    ``job`` names a checkpoint (the last ticket id done) kept in the cache, so
    a retried task continues where the killed one stopped; ``max_batches``
    stops early (tests simulate a crash with it).
    """
    import time

    started = time.monotonic()
    now = now or timezone.now()
    key = f"sla:recompute:{job}" if job else None
    after = int(cache.get(key) or 0) if key else 0
    resolver = _Resolver()
    result = RecomputeResult(last_ticket_id=after)
    q = scope_filter(calendar_id=calendar_id, policy_id=policy_id)
    while max_batches is None or result.batches < max_batches:
        t0 = time.monotonic()
        rows = list(
            SlaClock.objects.filter(q, ticket_id__gt=after)
            .order_by("ticket_id")
            .values_list(
                "ticket_id",
                "version",
                "policy_id",
                "calendar_id",
                "started_at",
                "increment_seconds",
                "paused_seconds",
                "due_at",
                "first_response_due_at",
                "ticket__category_matrix_id",
                "ticket__process_id",
            )[:batch_size]
        )
        if not rows:
            break
        changes = _compute(rows, resolver)
        with transaction.atomic():
            updated = _write(changes, now) if changes else 0
        after = rows[-1][0]
        if key:
            cache.set(key, after, CHECKPOINT_TTL)
        result.batches += 1
        result.read += len(rows)
        result.updated += updated
        result.last_ticket_id = after
        result.timings.append(time.monotonic() - t0)
        if len(rows) < batch_size:
            break
    else:
        result.seconds = time.monotonic() - started
        return result  # stopped by max_batches: the checkpoint stays
    if key:
        cache.delete(key)
    result.seconds = time.monotonic() - started
    return result


def _compute(rows: list[tuple], resolver: _Resolver) -> list[tuple]:
    """(ticket_id, version, due_at, first_response_due_at, policy_id, calendar_id) of rows that change."""
    changes = []
    policies, infos = resolver.policies, resolver.infos
    resolution, first_response = resolver.resolution, resolver.first_response
    for ticket_id, version, policy_id, calendar_id, started, inc, paused, due, fr_due, matrix_id, process_id in rows:
        new_policy = resolver.policy_id(matrix_id, process_id, policy_id)
        new_calendar = policies[new_policy].calendar_id
        spec = infos[new_calendar].spec
        new_due = add_business_time(spec, started, resolution[new_policy] + timedelta(seconds=inc + paused))
        fr_amount = first_response[new_policy]
        new_fr = None if fr_amount is None else add_business_time(spec, started, fr_amount)
        if new_due != due or new_fr != fr_due or new_policy != policy_id or new_calendar != calendar_id:
            changes.append((ticket_id, version, new_due, new_fr, new_policy, new_calendar))
    return changes


_SET_STATES = """
    state = CASE
        WHEN c.state = 'breached' AND {due} > %(now)s THEN 'running'
        WHEN c.state = 'at_risk' AND {due} > %(risk)s THEN 'running'
        ELSE c.state END,
    breached_at = CASE WHEN c.state = 'breached' AND {due} > %(now)s THEN NULL ELSE c.breached_at END,
    at_risk_at = CASE WHEN c.state = 'at_risk' AND {due} > %(risk)s THEN NULL ELSE c.at_risk_at END,
    version = c.version + 1
"""


def _write(changes: list[tuple], now: datetime) -> int:
    """Write one batch of new deadlines; rows changed meanwhile (other version) are left alone."""
    params = {"now": _db_dt(now), "risk": _db_dt(now + warning_window())}
    states = "('running', 'at_risk', 'paused', 'breached')"
    if connection.vendor == "postgresql":
        raw = connection.connection
        with raw.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sla_recompute_batch ("
                " ticket_id bigint PRIMARY KEY, version integer, due_at timestamptz,"
                " first_response_due_at timestamptz, policy_id bigint, calendar_id bigint"
                ") ON COMMIT DELETE ROWS"
            )
            with cursor.copy(
                "COPY sla_recompute_batch (ticket_id, version, due_at, first_response_due_at, policy_id, calendar_id)"
                " FROM STDIN"
            ) as copy:
                for row in changes:
                    copy.write_row(row)
            sql = (
                f"UPDATE {_table()} AS c SET due_at = t.due_at, first_response_due_at = t.first_response_due_at,"  # noqa: S608
                f" policy_id = t.policy_id, calendar_id = t.calendar_id, {_SET_STATES.format(due='t.due_at')}"
                f" FROM sla_recompute_batch AS t WHERE c.ticket_id = t.ticket_id AND c.version = t.version"
                f" AND c.stopped_at IS NULL AND c.state IN {states}"
            )
            cursor.execute(sql, params)
            return cursor.rowcount
    # SQLite (the embedded default): one prepared statement, executed per row.
    sql = (
        f"UPDATE {_table()} AS c SET due_at = %(due)s, first_response_due_at = %(fr)s,"  # noqa: S608
        f" policy_id = %(policy)s, calendar_id = %(calendar)s, {_SET_STATES.format(due='%(due)s')}"
        f" WHERE c.ticket_id = %(id)s AND c.version = %(version)s AND c.stopped_at IS NULL AND c.state IN {states}"
    )
    batch = [
        {
            **params,
            "id": ticket_id,
            "version": version,
            "due": _db_dt(due),
            "fr": _db_dt(fr) if fr is not None else None,
            "policy": policy_id,
            "calendar": calendar_id,
        }
        for ticket_id, version, due, fr, policy_id, calendar_id in changes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        return cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else len(batch)


# --- scans ------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    breached: int = 0
    at_risk: int = 0
    skipped: bool = False
    seconds: float = 0.0


@contextmanager
def scan_lock(name: str = "sla-scan", timeout: int = 600) -> Iterator[bool]:
    """Yield whether this process holds the lock; two scans never overlap.

    PostgreSQL: a session advisory lock (released if the worker dies with its
    connection). Elsewhere: an atomic ``cache.add`` with a timeout.
    """
    if connection.vendor == "postgresql":
        key = int(uuid.uuid5(uuid.NAMESPACE_OID, name).int % (2**63))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            got = bool(cursor.fetchone()[0])
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    token = uuid.uuid4().hex
    got = cache.add(f"lock:{name}", token, timeout)
    try:
        yield got
    finally:
        if got and cache.get(f"lock:{name}") == token:
            cache.delete(f"lock:{name}")


def _mark_batch(*, to_state: str, now: datetime, limit: int) -> list[tuple[int, datetime, int]]:
    """Flip one batch of clocks to ``to_state``; return (ticket_id, due_at, team_id) of those flipped."""
    table = _table()
    tickets_table = connection.ops.quote_name("tickets_ticket")
    if to_state == ClockState.BREACHED:
        where = "state IN ('running', 'at_risk') AND due_at <= %(now)s"
        sets = "state = 'breached', breached_at = {p}due_at, version = {p}version + 1"
    else:
        where = "state = 'running' AND due_at > %(now)s AND due_at <= %(risk)s"
        sets = "state = 'at_risk', at_risk_at = %(now)s, version = {p}version + 1"
    params = {"now": _db_dt(now), "risk": _db_dt(now + warning_window()), "limit": limit}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH due AS (SELECT ticket_id FROM {table} WHERE {where} ORDER BY due_at LIMIT %(limit)s"  # noqa: S608
                f" FOR UPDATE SKIP LOCKED)"
                f" UPDATE {table} AS c SET {sets.format(p='c.')} FROM due, {tickets_table} AS t"
                f" WHERE c.ticket_id = due.ticket_id AND t.id = c.ticket_id AND {where}"
                f" RETURNING c.ticket_id, c.due_at, t.team_id",
                params,
            )
            return [(tid, _py_dt(due), team) for tid, due, team in cursor.fetchall()]
        cursor.execute(
            f"UPDATE {table} SET {sets.format(p='')} WHERE ticket_id IN"  # noqa: S608
            f" (SELECT ticket_id FROM {table} WHERE {where} ORDER BY due_at LIMIT %(limit)s) AND {where}"
            f" RETURNING ticket_id, due_at",
            params,
        )
        flipped = cursor.fetchall()
        if not flipped:
            return []
        teams = dict(
            Ticket.objects.filter(pk__in=[row[0] for row in flipped]).values_list("pk", "team_id")
        )
        return [(tid, _py_dt(due), teams[tid]) for tid, due in flipped]


def _record_and_publish(rows: list[tuple[int, datetime, int]], change: str, now: datetime) -> None:
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket_id=tid,
                kind=EventKind.SLA_CHANGED,
                actor=None,
                created_at=now,
                data={"change": change, "due_at": due.isoformat()},
            )
            for tid, due, _team in rows
        ],
        batch_size=5000,
    )
    if len(rows) <= PER_TICKET_PUBLISH_LIMIT:
        for tid, _due, team in rows:
            publish_ticket_change(tid, team, "sla")
        return
    by_team: dict[int, list[int]] = defaultdict(list)
    for tid, _due, team in rows:
        by_team[team].append(tid)
    for team, ids in by_team.items():
        for i in range(0, len(ids), IDS_PER_MESSAGE):
            publish_on_commit(
                [team_group(team)], {"model": "ticket", "change": "sla", "ticket_ids": ids[i : i + IDS_PER_MESSAGE]}
            )


def scan(*, now: datetime | None = None, batch_size: int = SCAN_BATCH_SIZE) -> ScanResult:
    """Mark the clocks that passed their deadline as breached and those close to it as at risk."""
    import time

    started = time.monotonic()
    now = now or timezone.now()
    result = ScanResult()
    with scan_lock() as got:
        if not got:
            result.skipped = True
            return result
        for to_state, change in ((ClockState.BREACHED, "breached"), (ClockState.AT_RISK, "at_risk")):
            while True:
                with transaction.atomic():
                    rows = _mark_batch(to_state=to_state, now=now, limit=batch_size)
                    if rows:
                        _record_and_publish(rows, change, now)
                if to_state == ClockState.BREACHED:
                    result.breached += len(rows)
                else:
                    result.at_risk += len(rows)
                if len(rows) < batch_size:
                    break
    result.seconds = time.monotonic() - started
    return result

