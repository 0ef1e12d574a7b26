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

from sla.businesstime import add_business_us
from sla.calendars import calendar_infos
from sla.models import ClockState, MatrixPolicy, ProcessPolicy, SlaClock, SlaPolicy
from sla.services import sync_ticket_copies, warning_window
from tickets.events import count_events
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.publish import publish_on_commit, publish_ticket_change, team_group

logger = logging.getLogger(__name__)

BATCH_SIZE = 10_000
SCAN_BATCH_SIZE = 20_000
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
    """Which open clocks a change may affect (the ORM form; PostgreSQL reads with ``_scope_sql``)."""
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


_US = timedelta(microseconds=1)


def _us(value: timedelta) -> int:
    return value // _US


class _Resolver:
    """Policy of a ticket from its matrix and process, with the policies' amounts, loaded once.

    Amounts are integer microseconds: the batch loop computes on integers
    (``add_business_us``) and never builds a ``datetime`` per row.
    """

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
        self.resolution_us: dict[int, int] = {}
        self.first_response_us: dict[int, int | None] = {}
        self.calendar_of: dict[int, int] = {}
        self.spec_of: dict[int, object] = {}
        for pk, policy in self.policies.items():
            info = self.infos[policy.calendar_id]
            self.resolution[pk] = info.amount(policy.resolution_amount, policy.resolution_unit)
            self.first_response[pk] = (
                None
                if policy.first_response_amount is None
                else info.amount(policy.first_response_amount, policy.first_response_unit)
            )
            self.resolution_us[pk] = _us(self.resolution[pk])
            first = self.first_response[pk]
            self.first_response_us[pk] = None if first is None else _us(first)
            self.calendar_of[pk] = policy.calendar_id
            self.spec_of[pk] = info.spec

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
    read = _reader(resolver, calendar_id=calendar_id, policy_id=policy_id)
    while max_batches is None or result.batches < max_batches:
        t0 = time.monotonic()
        rows = read(after, batch_size)
        if not rows:
            break
        changes = _compute(rows, resolver)
        with transaction.atomic():
            updated = _write(changes, now) if changes else 0
            if changes:
                team_of = {row[0]: row[11] for row in rows}
                _publish_moved([(change[0], team_of[change[0]]) for change in changes])
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


# A batch row: (ticket_id, version, policy_id, calendar_id, started_us, increment_s, paused_s,
#               due_us, first_response_due_us | None, matrix_id | None, process_id, team_id)
Row = tuple[int, int, int, int, int, int, int, int, int | None, int | None, int, int]


def _reader(resolver: _Resolver, *, calendar_id: int | None, policy_id: int | None):
    """A function ``(after, limit) -> [Row]`` reading the next batch in ticket-id order."""
    if connection.vendor == "postgresql":
        return _pg_reader(resolver, calendar_id=calendar_id, policy_id=policy_id)
    q = scope_filter(calendar_id=calendar_id, policy_id=policy_id)

    def read(after: int, limit: int) -> list[Row]:
        rows = (
            SlaClock.objects.filter(q, ticket_id__gt=after)
            .order_by("ticket_id")
            .values_list(
                "ticket_id", "version", "policy_id", "calendar_id", "started_at", "increment_seconds",
                "paused_seconds", "due_at", "first_response_due_at", "ticket__category_matrix_id",
                "ticket__process_id", "ticket__team_id",
            )[:limit]
        )
        return [
            (tid, ver, pol, cal, _to_us(start), inc, paused, _to_us(due), None if fr is None else _to_us(fr), m, p, team)
            for tid, ver, pol, cal, start, inc, paused, due, fr, m, p, team in rows
        ]

    return read


def _pg_reader(resolver: _Resolver, *, calendar_id: int | None, policy_id: int | None):
    """PostgreSQL: instants come out as integer microseconds, and the ticket join is bounded too.

    Both sides of the join get the ``> after`` bound: with it only on the
    clock, the planner may merge-join from the first ticket on every batch,
    which makes a run over N clocks O(N²).
    """
    where = ["c.stopped_at IS NULL", "c.state IN ('running', 'at_risk', 'paused', 'breached')"]
    params: list = []
    if calendar_id is not None:
        on_calendar = [pk for pk, cal in resolver.calendar_of.items() if cal == calendar_id]
        where.append("(c.calendar_id = %s OR c.policy_id = ANY(%s))")
        params += [calendar_id, on_calendar]
    if policy_id is not None:
        matrices = [m for m, p in MatrixPolicy.objects.values_list("matrix_id", "policy_id") if p == policy_id]
        processes = [m for m, p in ProcessPolicy.objects.values_list("process_id", "policy_id") if p == policy_id]
        where.append("(c.policy_id = %s OR t.category_matrix_id = ANY(%s) OR t.process_id = ANY(%s))")
        params += [policy_id, matrices, processes]
    us = "(extract(epoch FROM {0}) * 1000000)::bigint"
    sql = (
        f"SELECT c.ticket_id, c.version, c.policy_id, c.calendar_id, {us.format('c.started_at')},"  # noqa: S608
        f" c.increment_seconds, c.paused_seconds, {us.format('c.due_at')}, {us.format('c.first_response_due_at')},"
        f" t.category_matrix_id, t.process_id, t.team_id"
        f" FROM {_table()} AS c JOIN {connection.ops.quote_name(Ticket._meta.db_table)} AS t ON t.id = c.ticket_id"
        f" WHERE c.ticket_id > %s AND t.id > %s AND {' AND '.join(where)}"
        f" ORDER BY c.ticket_id LIMIT %s"
    )

    def read(after: int, limit: int) -> list[Row]:
        with connection.cursor() as cursor:
            cursor.execute(sql, [after, after, *params, limit])
            return cursor.fetchall()

    return read


def _to_us(value: object) -> int:
    moment = _py_dt(value)
    return (moment - _EPOCH) // _US


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _compute(rows: list[Row], resolver: _Resolver) -> list[tuple]:
    """(ticket_id, version, due_us, first_response_due_us, policy_id, calendar_id) of the rows that change."""
    changes = []
    by_matrix, by_process = resolver.by_matrix, resolver.by_process
    calendar_of, spec_of = resolver.calendar_of, resolver.spec_of
    resolution, first_response = resolver.resolution_us, resolver.first_response_us
    add = add_business_us
    for ticket_id, version, policy_id, calendar_id, start, inc, paused, due, fr_due, matrix_id, process_id, _t in rows:
        new_policy = by_matrix.get(matrix_id) or by_process.get(process_id) or policy_id
        spec = spec_of[new_policy]
        new_due = add(spec, start, resolution[new_policy] + (inc + paused) * 1_000_000)
        fr_amount = first_response[new_policy]
        new_fr = None if fr_amount is None else add(spec, start, fr_amount)
        new_calendar = calendar_of[new_policy]
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
    """Write one batch of new deadlines; rows changed meanwhile (other version) are left alone.

    ``changes`` hold instants as integer microseconds since the epoch.
    """
    params = {"now": _db_dt(now), "risk": _db_dt(now + warning_window())}
    states = "('running', 'at_risk', 'paused', 'breached')"
    if connection.vendor == "postgresql":
        raw = connection.connection
        with raw.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sla_recompute_us ("
                " ticket_id bigint PRIMARY KEY, version integer, due_us bigint,"
                " first_response_due_us bigint, policy_id bigint, calendar_id bigint"
                ") ON COMMIT DELETE ROWS"
            )
            # Empty already after each commit; not inside an outer transaction (tests, callers).
            cursor.execute("DELETE FROM sla_recompute_us")
            with cursor.copy(
                "COPY sla_recompute_us (ticket_id, version, due_us, first_response_due_us, policy_id, calendar_id)"
                " FROM STDIN"
            ) as copy:
                for row in changes:
                    copy.write_row(row)
            epoch = "(timestamptz '1970-01-01 00:00:00+00' + {0} * interval '1 microsecond')"
            due = epoch.format("t.due_us")
            sql = (
                f"UPDATE {_table()} AS c SET due_at = {due},"  # noqa: S608
                f" first_response_due_at = {epoch.format('t.first_response_due_us')},"
                f" policy_id = t.policy_id, calendar_id = t.calendar_id, {_SET_STATES.format(due=due)}"
                f" FROM sla_recompute_us AS t WHERE c.ticket_id = t.ticket_id AND c.version = t.version"
                f" AND c.stopped_at IS NULL AND c.state IN {states}"
            )
            # Lock the tickets whose copies (breach time, deadline) change before their clocks, in
            # the order of the ticket operations (ticket, then clock), so the two never deadlock.
            tickets = connection.ops.quote_name(Ticket._meta.db_table)
            cursor.execute(
                f"SELECT tk.id FROM {tickets} AS tk JOIN sla_recompute_us AS t ON tk.id = t.ticket_id"  # noqa: S608
                " ORDER BY tk.id FOR NO KEY UPDATE OF tk"
            )
            cursor.execute(sql, params)
            updated = cursor.rowcount
            # The tickets' copy of the breach time and deadline (the late panels and the "SLA"
            # sort read them), in the same transaction.
            cursor.execute(
                f"UPDATE {tickets} AS tk SET sla_breached_at = c.breached_at, sla_due_at = c.due_at"  # noqa: S608
                f" FROM sla_recompute_us AS t, {_table()} AS c"
                " WHERE tk.id = t.ticket_id AND c.ticket_id = t.ticket_id"
                " AND (tk.sla_breached_at IS DISTINCT FROM c.breached_at OR tk.sla_due_at IS DISTINCT FROM c.due_at)"
            )
            return updated
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
            "due": _db_dt(_from_us(due)),
            "fr": _db_dt(_from_us(fr)) if fr is not None else None,
            "policy": policy_id,
            "calendar": calendar_id,
        }
        for ticket_id, version, due, fr, policy_id, calendar_id in changes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        updated = cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else len(batch)
    sync_ticket_copies(ticket_ids=[change[0] for change in changes])
    return updated


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


def _mark_batch(*, to_state: str, now: datetime, limit: int) -> tuple[list[tuple[int, datetime, int]], bool]:
    """Flip one batch of clocks to ``to_state``.

    Returns (ticket_id, due_at, team_id) of those flipped, and whether their
    "Alteração de SLA" events are already written (PostgreSQL inserts them in
    the same statement, a data-modifying CTE, so a big scan makes no round
    trip per row).
    """
    table = _table()
    tickets_table = connection.ops.quote_name(Ticket._meta.db_table)
    events_table = connection.ops.quote_name(TicketEvent._meta.db_table)
    change = "breached" if to_state == ClockState.BREACHED else "at_risk"
    # ``{p}`` qualifies the clock's columns: joined with the ticket table
    # (which has a ``state`` column of its own, the UF) they would be ambiguous.
    if to_state == ClockState.BREACHED:
        where = "{p}state IN ('running', 'at_risk') AND {p}due_at <= %(now)s"
        sets = "state = 'breached', breached_at = {p}due_at, version = {p}version + 1"
    else:
        where = "{p}state = 'running' AND {p}due_at > %(now)s AND {p}due_at <= %(risk)s"
        sets = "state = 'at_risk', at_risk_at = %(now)s, version = {p}version + 1"
    # PostgreSQL: the ticket row is written in the same statement: its event count (the scan
    # records an event per clock) and, on a breach, its copy of the breach (``sla_breached_at``).
    breach_copy = "sla_breached_at = flipped.due_at, " if to_state == ClockState.BREACHED else ""
    sync = (
        f" ticket_sync AS (UPDATE {tickets_table} AS s SET {breach_copy}event_count = s.event_count + 1"  # noqa: S608
        f" FROM flipped WHERE s.id = flipped.ticket_id),"
    )
    # The ticket row is written: lock it with the clock, skipping tickets an operation holds
    # (it locks the ticket, then the clock; the next scan takes them).
    p = "d."
    due_select = (
        f"d.ticket_id FROM {table} AS d JOIN {tickets_table} AS dt ON dt.id = d.ticket_id"
        f" WHERE {where.format(p='d.')}"
    )
    due_lock = "FOR UPDATE OF d SKIP LOCKED FOR NO KEY UPDATE OF dt SKIP LOCKED"
    params = {
        "now": _db_dt(now), "risk": _db_dt(now + warning_window()), "limit": limit,
        "kind": str(EventKind.SLA_CHANGED.value), "change": change,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH due AS (SELECT {due_select} ORDER BY {p}due_at"  # noqa: S608
                f" LIMIT %(limit)s {due_lock}),"
                f" flipped AS (UPDATE {table} AS c SET {sets.format(p='c.')} FROM due, {tickets_table} AS t"
                f" WHERE c.ticket_id = due.ticket_id AND t.id = c.ticket_id AND {where.format(p='c.')}"
                f" RETURNING c.ticket_id, c.due_at, t.team_id),{sync}"
                f" events AS (INSERT INTO {events_table} (ticket_id, kind, actor_id, created_at, data)"
                f" SELECT ticket_id, %(kind)s, NULL, %(now)s,"
                f" jsonb_build_object('change', %(change)s::text, 'due_at',"
                f" to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'))"
                f" FROM flipped)"
                f" SELECT ticket_id, due_at, team_id FROM flipped",
                params,
            )
            return [(tid, _py_dt(due), team) for tid, due, team in cursor.fetchall()], True
        cursor.execute(
            f"UPDATE {table} SET {sets.format(p='')} WHERE ticket_id IN"  # noqa: S608
            f" (SELECT ticket_id FROM {table} WHERE {where.format(p='')} ORDER BY due_at LIMIT %(limit)s)"
            f" AND {where.format(p='')}"
            f" RETURNING ticket_id, due_at",
            params,
        )
        flipped = cursor.fetchall()
        if not flipped:
            return [], False
        if to_state == ClockState.BREACHED:
            sync_ticket_copies(ticket_ids=[row[0] for row in flipped])
        teams = dict(
            Ticket.objects.filter(pk__in=[row[0] for row in flipped]).values_list("pk", "team_id")
        )
        return [(tid, _py_dt(due), teams[tid]) for tid, due in flipped], False


def _publish_moved(moved: list[tuple[int, int]]) -> None:
    """(ticket_id, team_id) whose SLA changed: live screens re-render those rows.

    A few are published one by one (the ticket's own group too); many, as one
    message per team listing the ids. A recomputation records no event (a
    holiday can move a million deadlines; a clock's history is its
    interventions), a scan does (``_record_and_publish``).
    """
    if len(moved) <= PER_TICKET_PUBLISH_LIMIT:
        for tid, team in moved:
            publish_ticket_change(tid, team, "sla")
        return
    by_team: dict[int, list[int]] = defaultdict(list)
    for tid, team in moved:
        by_team[team].append(tid)
    for team, ids in by_team.items():
        for i in range(0, len(ids), IDS_PER_MESSAGE):
            publish_on_commit(
                [team_group(team)], {"model": "ticket", "change": "sla", "ticket_ids": ids[i : i + IDS_PER_MESSAGE]}
            )


def _record_and_publish(
    rows: list[tuple[int, datetime, int]], change: str, now: datetime, *, recorded: bool = False
) -> None:
    if not recorded:
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
        ids = [tid for tid, _due, _team in rows]
        for i in range(0, len(ids), 5000):
            count_events(dict.fromkeys(ids[i : i + 5000], 1))
    _publish_moved([(tid, team) for tid, _due, team in rows])


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
                    rows, recorded = _mark_batch(to_state=to_state, now=now, limit=batch_size)
                    if rows:
                        _record_and_publish(rows, change, now, recorded=recorded)
                if to_state == ClockState.BREACHED:
                    result.breached += len(rows)
                else:
                    result.at_risk += len(rows)
                if len(rows) < batch_size:
                    break
    result.seconds = time.monotonic() - started
    return result

