"""Generating tickets with consistent lives: stages, service orders, comments, events.

Each ticket is simulated from its opening time: it is claimed, walks the
subprocesses of its process in order (each taking a random share of its
expected duration, sometimes more, which makes it late), may get a service
order at the field-work stage, and is finalized when its path ends, unless
``now`` comes first, in which case it stays open in the stage it is in.
Some tickets get stuck (open and late) or are never claimed ("Sem resgate").

Times are integer Unix seconds until a row is emitted. Rows are plain tuples
in the column order of the ``*_COLUMNS`` lists below; ids, codes and
protocols are assigned here, in opening order.
"""

import bisect
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tickets.demo import data
from tickets.demo.reference import KindRef, Reference
from tickets.models import EventKind, Origin, ServiceOrderStatus, Ticket
from tickets.services import format_protocol

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TICKET_COLUMNS = [
    "id",
    "code",
    "protocol",
    "customer_id",
    "company_id",
    "team_id",
    "process_id",
    "current_subprocess_id",
    "category_matrix_id",
    "origin",
    "opening_classification_id",
    "closing_classification_id",
    "assignee_id",
    "opened_by_id",
    "closed_by_id",
    "customer_report",
    "service_order_status",
    "opened_at",
    "closed_at",
    "updated_at",
    "event_count",
    *Ticket.ADDRESS_FIELDS,
]
STAGE_COLUMNS = [
    "id",
    "ticket_id",
    "subprocess_id",
    "started_at",
    "due_at",
    "finished_at",
    "started_by_id",
    "finished_by_id",
]
EVENT_COLUMNS = ["id", "ticket_id", "kind", "actor_id", "created_at", "data"]
ORDER_COLUMNS = [
    "id",
    "ticket_id",
    "code",
    "status",
    "description",
    "scheduled_for",
    "due_at",
    "completed_at",
    "created_by_id",
    "created_at",
]
COMMENT_COLUMNS = ["id", "ticket_id", "author_id", "body", "created_at"]
WATCHER_COLUMNS = ["id", "ticket_id", "user_id"]

# What becomes of a ticket. FLOW lets the simulation decide (closed, or open
# because ``now`` came first); the others are imposed, some only on a few
# chosen tickets so that small demo sets still show every state.
FLOW, STUCK, UNCLAIMED, ONTIME, OS_UNSCHEDULED, OS_SCHEDULED, OS_LATE, OS_COMPLETED = range(8)
P_STUCK = 0.04
P_UNCLAIMED = 0.03  # of the tickets of the last 10 days

HOUR = 3600
DAY = 86400

# Relative volume by local hour of day and by weekday (Monday = 0).
HOUR_WEIGHTS = [
    0.15,
    0.1,
    0.08,
    0.08,
    0.1,
    0.2,
    0.4,
    0.8,
    1.5,
    1.8,
    1.8,
    1.7,
    1.2,
    1.3,
    1.6,
    1.6,
    1.5,
    1.4,
    1.1,
    1.0,
    0.9,
    0.7,
    0.45,
    0.25,
]
WEEKDAY_WEIGHTS = [1.15, 1.05, 1.0, 1.0, 0.95, 0.6, 0.4]


class K:
    """Event kinds as plain strings (the database adapters want ``str``, not the enum)."""


for _member in EventKind:
    setattr(K, _member.name, _member.value)

NONE, UNSCHEDULED, SCHEDULED, COMPLETED = (s.value for s in ServiceOrderStatus)
TOOL_KINDS = [
    K.TOOL_CHANGE_MAC,
    K.TOOL_CHANGE_IP,
    K.TOOL_UNBLOCK_CONNECTION,
    K.TOOL_EDIT_CONNECTION,
    K.TOOL_CHANGE_CREDENTIALS,
]


def _j(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Chunk:
    tickets: list[tuple] = field(default_factory=list)
    stages: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    comments: list[tuple] = field(default_factory=list)
    watchers: list[tuple] = field(default_factory=list)


@dataclass
class Ids:
    """Next id of each table, and the sequences the services continue."""

    ticket: int = 1
    stage: int = 1
    event: int = 1
    order: int = 1
    comment: int = 1
    watcher: int = 1
    code: int = 0  # last used
    order_code: int = 0  # last used
    protocol: dict[int, int] = field(default_factory=dict)  # year -> last used


@dataclass
class Stats:
    open: int = 0
    closed: int = 0
    unassigned: int = 0
    late_stages: int = 0
    by_os_status: dict[str, int] = field(default_factory=dict)
    late_orders: int = 0
    with_watchers: int = 0


def timestamp_formatter(vendor: str) -> Callable[[int], str]:
    """Unix seconds to the text the database reads as a UTC timestamp, from lookup tables.

    Several times faster than building ``datetime`` objects, which matters at
    tens of millions of values. PostgreSQL gets an explicit ``+00`` offset;
    SQLite stores naive UTC text, as Django's SQLite backend does.
    """
    suffix = "+00" if vendor == "postgresql" else ""
    seconds = [
        f"{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)
    ]
    days: dict[int, str] = {}

    def fmt(ts: int) -> str:
        day, second = divmod(ts, DAY)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%d ")
        return prefix + seconds[second]

    return fmt


def opening_times(rng: random.Random, count: int, start: int, end: int) -> Iterator[int]:
    """``count`` opening times in [start, end), ascending, busier in business hours and lately."""
    buckets = []
    hour = start - start % HOUR
    while hour < end:
        b0, b1 = max(hour, start), min(hour + HOUR, end)
        local = datetime.fromtimestamp(hour, SAO_PAULO)
        trend = 0.75 + 0.5 * (hour - start) / max(1, end - start)
        weight = (
            HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()] * trend * (b1 - b0) / HOUR
        )
        buckets.append((b0, b1, weight))
        hour += HOUR
    total = sum(w for _, _, w in buckets)
    cumulative = 0.0
    emitted = 0
    for b0, b1, weight in buckets:
        cumulative += weight
        target = round(count * cumulative / total)
        k = target - emitted
        if k > 0:
            span = b1 - b0
            yield from sorted(b0 + int(rng.random() * span) for _ in range(k))
            emitted = target


class TicketGenerator:
    def __init__(
        self,
        *,
        ref: Reference,
        rng: random.Random,
        now: datetime,
        count: int,
        days: int,
        ids: Ids,
        vendor: str,
    ):
        self.fmt = timestamp_formatter(vendor)
        self.ref = ref
        self.rng = rng
        self.now = int(now.timestamp())
        self.count = count
        self.days = days
        self.ids = ids
        self.stats = Stats()

        self.kinds = ref.kinds
        self.kind_cum = self._cumulative([k.weight for k in ref.kinds])
        self.install_kind = next(
            k for k in ref.kinds if k.process.name == "Ativação / Instalação Fibra"
        )
        self.origins = list(data.ORIGIN_WEIGHTS)
        self.origin_cum = self._cumulative(list(data.ORIGIN_WEIGHTS.values()))
        self.all_origins = list(Origin.values)
        self.opening_ids = [cid for cid, _ in ref.opening]
        self.opening_cum = self._cumulative([w for _, w in ref.opening])
        self.operator_json = {uid: _j({"operator": name}) for uid, name in ref.usernames.items()}
        self.opening_comments = [(body, _j({"comment": body})) for body in data.OPENING_COMMENTS]
        self.finalize_comments = [(body, _j({"comment": body})) for body in data.FINALIZE_COMMENTS]
        self.work_comments = [
            (body, '{"comment": ' + json.dumps(body, ensure_ascii=False))
            for body in data.WORK_COMMENTS
        ]
        self.outages = [_j({"outage": o}) for o in data.OUTAGES]
        self.companies = ref.company_ids
        self.customers = ref.customers
        self.year_end = 0
        self.year = 0

        n = count
        self.forced: dict[int, int] = {}
        if n >= 8:
            self.forced = {
                (2 * n) // 3: OS_COMPLETED,
                n // 2: OS_LATE,
                n // 3: STUCK,
                n - 4: OS_UNSCHEDULED,
                n - 3: ONTIME,
                n - 2: OS_SCHEDULED,
                n - 1: UNCLAIMED,
            }

    @staticmethod
    def _cumulative(weights: list[float]) -> list[float]:
        total = sum(weights)
        out, acc = [], 0.0
        for w in weights:
            acc += w / total
            out.append(acc)
        out[-1] = 1.0
        return out

    def _protocol(self, t0: int) -> str:
        if t0 >= self.year_end:
            year = datetime.fromtimestamp(t0, SAO_PAULO).year
            self.year = year
            self.year_end = int(datetime(year + 1, 1, 1, tzinfo=SAO_PAULO).timestamp())
        number = self.ids.protocol.get(self.year, 0) + 1
        self.ids.protocol[self.year] = number
        return format_protocol(self.year, number)

    def chunks(self, size: int) -> Iterator[Chunk]:
        start = self.now - self.days * DAY
        end = self.now - 120
        chunk = Chunk()
        for index, t0 in enumerate(opening_times(self.rng, self.count, start, end)):
            self._ticket(chunk, index, t0, self.forced.get(index, FLOW))
            if len(chunk.tickets) >= size:
                yield chunk
                chunk = Chunk()
        if chunk.tickets:
            yield chunk

    # --- one ticket ----------------------------------------------------------------

    def _ticket(self, out: Chunk, index: int, t0: int, fate: int) -> None:
        rng = self.rng
        r = rng.random
        now = self.now
        ref = self.ref
        ids = self.ids
        stats = self.stats
        fmt = self.fmt

        if fate == FLOW:
            u = r()
            if u < P_STUCK:
                fate = STUCK
            elif u < P_STUCK + P_UNCLAIMED and now - t0 < 10 * DAY:
                fate = UNCLAIMED
        kind: KindRef
        if fate in (OS_UNSCHEDULED, OS_SCHEDULED, OS_LATE, OS_COMPLETED):
            kind = self.install_kind
        else:
            kind = self.kinds[bisect.bisect_left(self.kind_cum, r())]
        process = kind.process
        subs = process.subprocesses
        customer_id, company_index, is_company, address = self.customers[
            int(len(self.customers) * r() ** 1.2)
        ]
        if kind.origin:
            origin = kind.origin
        elif index < len(self.all_origins):
            origin = self.all_origins[index]  # every channel appears, even in a small demo
        else:
            origin = self.origins[bisect.bisect_left(self.origin_cum, r())]
        team_id = kind.team_id
        members = ref.team_members[team_id]
        opener = members[int(r() * len(members))]
        if is_company and r() < 0.7:
            opening_cls = ref.corporate_classification
        elif r() < 0.04:
            opening_cls = None
        else:
            opening_cls = self.opening_ids[bisect.bisect_left(self.opening_cum, r())]

        n_path = bisect.bisect_left(kind.stops_cum, r()) + 1
        if fate == OS_COMPLETED:
            n_path = len(subs)

        # Who holds it: live channels keep the operator who answered.
        if origin in data.LIVE_ORIGINS and r() < 0.7:
            assignee: int | None = opener
            claim_t = t0
        else:
            assignee = members[int(r() * len(members))]
            claim_t = t0 + 30 + int(min(rng.expovariate(1 / 2700), 8 * HOUR))
        if fate == UNCLAIMED:
            assignee = None

        # --- the stages ---
        starts: list[int] = []
        # ends[k] for the finished stages; the open one, if any, is starts[len(ends)].
        ends: list[int] = []
        schedule_mode = 0  # 0 natural, 1 never scheduled yet, 2 scheduled for the future
        if fate in (ONTIME, OS_UNSCHEDULED, OS_SCHEDULED, OS_LATE):
            so_create, so_complete = process.service_order or (0, 0)
            if fate == ONTIME:
                k = 0 if now - t0 < subs[0][2] * 0.8 else int(r() * len(subs))
                s_k = now - int(subs[k][2] * (0.05 + 0.6 * r()))
            elif fate == OS_UNSCHEDULED:
                k, schedule_mode = so_create, 1
                s_k = now - int(subs[k][2] * (0.02 + 0.08 * r()))
            elif fate == OS_SCHEDULED:
                k, schedule_mode = so_create, 2
                s_k = now - int(subs[k][2] * (0.2 + 0.4 * r()))
            else:
                k = so_complete
                s_k = now - int((3 + 7 * r()) * DAY)
            s_k = t0 if k == 0 else max(s_k, t0 + k * 300)
            if s_k >= now:
                k, s_k = 0, t0
            for j in range(k):
                starts.append(t0 + (s_k - t0) * j // k)
                ends.append(t0 + (s_k - t0) * (j + 1) // k)
            starts.append(s_k)
            if assignee is None:
                assignee = members[0]
            latest_claim = ends[0] if ends else now - 1
            claim_t = max(t0, min(claim_t, t0 + (latest_claim - t0) // 2))
        else:
            stuck_at = int(r() * n_path) if fate == STUCK else (0 if fate == UNCLAIMED else -1)
            t = t0
            lognorm = rng.lognormvariate
            for k in range(n_path):
                starts.append(t)
                if k == stuck_at:
                    break
                end = t + max(240, int(subs[k][2] * lognorm(-0.8, 0.75)))
                if k == 0 and assignee is not None and claim_t >= end - 60:
                    end = claim_t + max(240, (end - t) // 2)
                if end >= now:
                    break
                ends.append(end)
                t = end
            if claim_t >= now and not ends:
                assignee = None
        closed = len(ends) == len(starts)
        closed_at = ends[-1] if closed else None

        # --- ids and numbers ---
        ticket_id = ids.ticket
        ids.ticket += 1
        ids.code += 1
        protocol = self._protocol(t0)

        events: list[tuple] = []  # (time, seq, kind, actor, data)
        seq = 0

        def ev(at: int, kind_: str, actor: int | None, data_: str = "{}") -> None:
            nonlocal seq
            events.append((at, seq, kind_, actor, data_))
            seq += 1

        ev(t0, K.CREATED, opener)
        ev(t0, K.STARTED, opener, f'{{"protocol": "{protocol}"}}')
        if assignee is not None and claim_t == t0:
            ev(t0, K.OPERATOR_ADDED, opener, self.operator_json[assignee])
        if origin == "monitoring" and process.name == "Manutenção / Fibra":
            ev(t0, K.OUTAGE_FOUND, opener, self.outages[int(r() * len(self.outages))])
        if process.name == "Cancelamento":
            ev(t0, K.CANCELLATION_REQUESTED, opener)
        if r() < 0.25:
            body, body_json = self.opening_comments[int(r() * len(self.opening_comments))]
            out.comments.append((ids.comment, ticket_id, opener, body, fmt(t0)))
            ids.comment += 1
            ev(t0, K.OPENING_COMMENT, opener, body_json)
        if r() < 0.2:
            ev(t0, K.CUSTOMER_INFO, opener)
        if assignee is not None and claim_t > t0:
            ev(claim_t, K.CLAIMED, assignee)

        # Closing actor: whoever holds it, now and then the team's supervisor.
        closer = None
        if closed:
            closer = ref.team_supervisor[team_id] if r() < 0.1 else assignee

        # Service order at the field-work stage.
        so_rule = process.service_order
        so_status = NONE
        so = None
        if so_rule is not None and len(starts) > so_rule[0]:
            so_create, so_complete = so_rule
            created = starts[so_create]
            exp_c = subs[so_create][2]
            c_end = ends[so_create] if so_create < len(ends) else None
            if schedule_mode == 1:
                sched_at = None
            elif schedule_mode == 2:
                sched_at = created + int((now - created) * (0.2 + 0.6 * r()))
            elif c_end is not None:
                sched_at = created + int((c_end - created) * (0.1 + 0.5 * r()))
            else:
                sched_at = created + int(exp_c * (0.1 + 1.1 * r()))
                if sched_at >= now:
                    sched_at = None
            completed_at = ends[so_complete] if so_complete < len(ends) else None
            if completed_at is not None:
                scheduled_for = max(sched_at or created, completed_at - HOUR - int(r() * 2 * HOUR))
            elif schedule_mode == 2:
                scheduled_for = now + 4 * HOUR + int(r() * 68 * HOUR)
            elif sched_at is not None:
                scheduled_for = sched_at + 2 * HOUR + int(r() * 46 * HOUR)
            else:
                scheduled_for = None
            due = created + sum(s[2] for s in subs[so_create : so_complete + 1])
            if scheduled_for is not None and due < scheduled_for + 4 * HOUR:
                due = scheduled_for + 4 * HOUR
            if completed_at is not None:
                so_status = COMPLETED
            elif scheduled_for is not None:
                so_status = SCHEDULED
            else:
                so_status = UNSCHEDULED
            ids.order_code += 1
            so = (ids.order, ids.order_code, created, sched_at, scheduled_for, due, completed_at)
            ids.order += 1
            if completed_at is None and due < now:
                stats.late_orders += 1
        stats.by_os_status[so_status] = stats.by_os_status.get(so_status, 0) + 1

        # Stage rows and their events, in order.
        worker = assignee if assignee is not None else opener
        stage_rows = out.stages
        last = len(starts) - 1
        for k, s in enumerate(starts):
            sub_id, _name, expected, sub_json = subs[k]
            started_by = opener if k == 0 else worker
            ev(s, K.SUBPROCESS_STARTED, started_by, sub_json)
            if so is not None and k == so_rule[0]:
                so_json = f'{{"service_order": {so[1]}}}'
                ev(so[2], K.SERVICE_ORDER_CREATED, worker, so_json)
                if so[3] is not None:
                    ev(so[3], K.SERVICE_ORDER_EDITED, worker, so_json)
            if k < len(ends):
                e = ends[k]
                finisher = closer if (closed and k == last) else worker
                if so is not None and k == so_rule[1] and so[6] is not None:
                    ev(e, K.SERVICE_ORDER_COMPLETED, worker, f'{{"service_order": {so[1]}}}')
                ev(e, K.SUBPROCESS_FINISHED, finisher, sub_json)
                stage_rows.append(
                    (
                        ids.stage,
                        ticket_id,
                        sub_id,
                        fmt(s),
                        fmt(s + expected),
                        fmt(e),
                        started_by,
                        finisher,
                    )
                )
            else:
                if s + expected < now:
                    stats.late_stages += 1
                stage_rows.append(
                    (
                        ids.stage,
                        ticket_id,
                        sub_id,
                        fmt(s),
                        fmt(s + expected),
                        None,
                        started_by,
                        None,
                    )
                )
            ids.stage += 1

        end_t = closed_at if closed else now
        first_end = ends[0] if ends else end_t
        # Work during the first stage.
        if process.name in ("Suporte Técnico", "Manutenção / Fibra"):
            if r() < 0.25:
                ev(t0 + int((first_end - t0) * r()), K.EXPRESS_QUERY, worker)
            if r() < 0.12 and assignee is not None:
                ev(
                    claim_t + int((first_end - claim_t) * r()),
                    TOOL_KINDS[int(r() * len(TOOL_KINDS))],
                    assignee,
                )
        elif "Segunda via" in kind.path and r() < 0.8:
            ev(
                t0 + int((first_end - t0) * r()),
                K.INVOICE_COPY_EMAIL if r() < 0.6 else K.INVOICE_COPY_SMS,
                worker,
            )

        # Comments along the way.
        u = r()
        n_comments = 0 if u < 0.55 else (1 if u < 0.85 else 2)
        from_t = claim_t if assignee is not None else t0
        for _ in range(n_comments):
            at = from_t + int((end_t - from_t) * r())
            body, prefix = self.work_comments[int(r() * len(self.work_comments))]
            out.comments.append((ids.comment, ticket_id, worker, body, fmt(at)))
            ev(at, K.COMMENT_ADDED, worker, f'{prefix}, "comment_id": {ids.comment}}}')
            ids.comment += 1

        # Someone else follows it now and then.
        if r() < 0.06:
            candidates = [m for m in members if m != assignee] + [ref.team_supervisor[team_id]]
            watcher = candidates[int(r() * len(candidates))]
            out.watchers.append((ids.watcher, ticket_id, watcher))
            ids.watcher += 1
            ev(t0 + int((end_t - t0) * r()), K.WATCHER_ADDED, worker, self.operator_json[watcher])
            stats.with_watchers += 1

        closing_cls = None
        if closed:
            choices = ref.closing[(process.name, len(ends) - 1)]
            closing_cls, closing_json = choices[int(r() * len(choices))]
            body, body_json = self.finalize_comments[int(r() * len(self.finalize_comments))]
            out.comments.append((ids.comment, ticket_id, closer, body, fmt(closed_at)))
            ids.comment += 1
            ev(closed_at, K.FINALIZE_COMMENT, closer, body_json)
            ev(closed_at, K.CLOSED, closer, closing_json)
            stats.closed += 1
        else:
            stats.open += 1
            if assignee is None:
                stats.unassigned += 1

        if so is not None:
            order_id, order_code, created, _sched_at, scheduled_for, due, completed_at = so
            out.orders.append(
                (
                    order_id,
                    ticket_id,
                    order_code,
                    so_status,
                    data.SERVICE_ORDER_TEXT[process.name],
                    fmt(scheduled_for) if scheduled_for is not None else None,
                    fmt(due),
                    fmt(completed_at) if completed_at is not None else None,
                    worker,
                    fmt(created),
                )
            )

        events.sort()
        event_rows = out.events
        event_id = ids.event
        for at, _seq, kind_, actor, data_ in events:
            event_rows.append((event_id, ticket_id, kind_, actor, fmt(at), data_))
            event_id += 1
        ids.event = event_id
        updated_at = events[-1][0]

        out.tickets.append(
            (
                ticket_id,
                ids.code,
                protocol,
                customer_id,
                self.companies[company_index],
                team_id,
                process.id,
                subs[len(starts) - 1][0],
                kind.matrix_id,
                origin,
                opening_cls,
                closing_cls,
                assignee,
                opener,
                closer,
                kind.reports[int(r() * len(kind.reports))],
                so_status,
                fmt(t0),
                fmt(closed_at) if closed_at is not None else None,
                fmt(updated_at),
                len(events),
                *address,
            )
        )
