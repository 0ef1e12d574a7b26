"""Demo rows of the SLA app, added when ``seed_demo`` sends ``demo_seeded``.

Calendars, policies (per process, and per matrix for "Sem conexão"), reasons,
and one clock for every seeded ticket, written set-based (COPY on PostgreSQL,
with the clock table's indexes and foreign keys detached for big loads): the
1,000,000-ticket seed must not get minutes slower. Open clocks get their
state from the seed's "now": some breached, some at risk, some paused; a few
tickets get interventions through the real operations' rows.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, Subquery

from sla.businesstime import add_business_time
from sla.calendars import calendar_info
from sla.models import (
    BusinessCalendar,
    ClockState,
    MatrixPolicy,
    ProcessPolicy,
    SlaClock,
    SlaIntervention,
    SlaPolicy,
    SlaReason,
    TimeUnit,
    WorkingInterval,
)
from sla.services import sync_ticket_copies
from tickets.demo.loader import PostgresBulkLoad, TableWriter, analyze
from tickets.events import record
from tickets.models import CategoryMatrix, EventKind, Process, Ticket

COMMERCIAL = "Comercial (seg-sex 08-18)"
ALWAYS = "Plantão 24x7"
INCREMENT_REASONS = ["Aguardando cliente", "Dependência de terceiros", "Reagendamento solicitado pelo cliente"]
PAUSE_REASONS = ["Aguardando retorno do cliente", "Falta de acesso ao local", "Problema massivo em andamento"]
# name: (calendar, amount, unit, first response hours)
POLICIES = {
    "Suporte 24h úteis": (COMMERCIAL, 24, TimeUnit.HOURS, 4),
    "Instalação 5 dias úteis": (COMMERCIAL, 5, TimeUnit.DAYS, None),
    "Financeiro 2 dias úteis": (COMMERCIAL, 2, TimeUnit.DAYS, 4),
    "Manutenção 24h corridas": (ALWAYS, 24, TimeUnit.HOURS, 4),
    "Sem conexão 8h corridas": (ALWAYS, 8, TimeUnit.HOURS, 1),
}
PROCESS_POLICIES = {
    "Suporte Técnico": "Suporte 24h úteis",
    "Ativação / Instalação Fibra": "Instalação 5 dias úteis",
    "Manutenção / Fibra": "Manutenção 24h corridas",
    "Financeiro": "Financeiro 2 dias úteis",
    "Cancelamento": "Financeiro 2 dias úteis",
    "Comercial": "Suporte 24h úteis",
}
MATRIX_KEYWORD = ("Sem conexão", "Sem conexão 8h corridas")
CLOCK_COLUMNS = [
    "ticket_id", "policy_id", "calendar_id", "started_at", "increment_seconds", "paused_seconds", "paused_at",
    "due_at", "first_response_due_at", "first_response_at", "state", "at_risk_at", "breached_at", "stopped_at",
    "version",
]
PAUSED_EVERY = 23
AT_RISK_EVERY = 7
INTERVENTIONS = 40


def create_configuration() -> dict[str, SlaPolicy]:
    commercial, created = BusinessCalendar.objects.get_or_create(
        name=COMMERCIAL, defaults={"national_holidays": True, "state": "SP"}
    )
    if created:
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=commercial, weekday=day, start=start, end=end)
            for day in range(5)
            for start, end in ((time(8), time(12)), (time(13), time(18)))
        )
    BusinessCalendar.objects.get_or_create(name=ALWAYS, defaults={"always_open": True, "national_holidays": False})
    calendars = {c.name: c for c in BusinessCalendar.objects.filter(name__in=[COMMERCIAL, ALWAYS])}
    policies = {}
    for name, (calendar, amount, unit, first) in POLICIES.items():
        policies[name], _ = SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "calendar": calendars[calendar],
                "resolution_amount": Decimal(amount),
                "resolution_unit": unit,
                "first_response_amount": Decimal(first) if first else None,
            },
        )
    for process in Process.objects.filter(name__in=PROCESS_POLICIES):
        ProcessPolicy.objects.get_or_create(process=process, defaults={"policy": policies[PROCESS_POLICIES[process.name]]})
    keyword, policy_name = MATRIX_KEYWORD
    for matrix in CategoryMatrix.objects.select_related("category__parent__parent__parent__parent"):
        if keyword in matrix.category.path:
            MatrixPolicy.objects.get_or_create(matrix=matrix, defaults={"policy": policies[policy_name]})
    for names, kind in ((INCREMENT_REASONS, SlaReason.Kind.INCREMENT), (PAUSE_REASONS, SlaReason.Kind.PAUSE)):
        for name in names:
            SlaReason.objects.get_or_create(name=name, kind=kind)
    return policies


def on_demo_seeded(sender, result, **kwargs) -> None:
    create_configuration()
    if result.first_ticket_id and result.last_ticket_id >= result.first_ticket_id:
        write_clocks(result.first_ticket_id, result.last_ticket_id, result.now, bulk=result.bulk)


def write_clocks(first_id: int, last_id: int, now: datetime, *, bulk: bool = False, chunk: int = 50_000) -> int:
    """One clock per ticket in ``[first_id, last_id]`` that has a policy."""
    from sla.batch import _Resolver

    resolver = _Resolver()
    warning = timedelta(minutes=15)
    rng = random.Random(4046)
    loader = PostgresBulkLoad([SlaClock]) if bulk and connection.vendor == "postgresql" else None
    if loader is not None:
        loader.detach()
    writer = TableWriter(SlaClock, CLOCK_COLUMNS)
    written = 0
    start = first_id
    while start <= last_id:
        end = min(last_id, start + chunk - 1)
        rows = (
            Ticket.objects.filter(pk__gte=start, pk__lte=end)
            .order_by("pk")
            .values_list("pk", "opened_at", "closed_at", "category_matrix_id", "process_id")
        )
        out = []
        for pk, opened, closed, matrix_id, process_id in rows:
            policy_id = resolver.by_matrix.get(matrix_id) or resolver.by_process.get(process_id)
            if policy_id is None:
                continue
            calendar_id = resolver.policies[policy_id].calendar_id
            spec = resolver.infos[calendar_id].spec
            due = add_business_time(spec, opened, resolver.resolution[policy_id])
            fr_amount = resolver.first_response[policy_id]
            fr_due = add_business_time(spec, opened, fr_amount) if fr_amount is not None else None
            paused_at = at_risk_at = breached_at = stopped_at = None
            paused_seconds = increment = 0
            always_open = resolver.infos[calendar_id].spec.always_open
            if closed is None and always_open and pk % AT_RISK_EVERY == 0 and due < now + warning:
                # Deadline moved to a few minutes from now (24x7: wall time is business time).
                increment = int((now + timedelta(minutes=rng.randint(3, 12)) - due).total_seconds())
                due = add_business_time(spec, opened, resolver.resolution[policy_id] + timedelta(seconds=increment))
            if closed is not None:
                state = ClockState.MET if closed <= due else ClockState.BREACHED
                breached_at = due if state == ClockState.BREACHED else None
                stopped_at = closed
            elif pk % PAUSED_EVERY == 0:
                # Paused a while ago, somewhere between the opening and now.
                state = ClockState.PAUSED
                paused_at = opened + (now - opened) * rng.uniform(0.3, 0.9)
                breached_at = due if due <= paused_at else None
            elif due <= now:
                state, breached_at = ClockState.BREACHED, due
            elif due <= now + warning:
                state, at_risk_at = ClockState.AT_RISK, now
            else:
                state = ClockState.RUNNING
            out.append(
                (pk, policy_id, calendar_id, opened, increment, paused_seconds, paused_at, due, fr_due, None, state,
                 at_risk_at, breached_at, stopped_at, 0)
            )
        writer.write(out)
        written += len(out)
        start = end + 1
    if loader is not None:
        loader.reattach()
        analyze([SlaClock])
    _copy_clocks_to_tickets(first_id, last_id)
    _demo_interventions(rng, now)
    return written


def _copy_clocks_to_tickets(first_id: int, last_id: int) -> None:
    """The tickets' copies of their clocks' breach times and deadlines (``Ticket.sla_breached_at``,
    ``Ticket.sla_due_at``), set-based."""
    if connection.vendor != "postgresql":
        clocks = SlaClock.objects.filter(ticket_id__gte=first_id, ticket_id__lte=last_id)
        clock = clocks.filter(ticket_id=OuterRef("pk"))
        Ticket.objects.filter(pk__in=clocks.values("ticket_id")).update(
            sla_breached_at=Subquery(clock.values("breached_at")[:1]), sla_due_at=Subquery(clock.values("due_at")[:1])
        )
        return
    tickets = connection.ops.quote_name(Ticket._meta.db_table)
    clocks = connection.ops.quote_name(SlaClock._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {tickets} AS t SET sla_breached_at = c.breached_at, sla_due_at = c.due_at"  # noqa: S608
            f" FROM {clocks} AS c WHERE c.ticket_id = t.id AND c.ticket_id BETWEEN %s AND %s",
            [first_id, last_id],
        )


def _demo_interventions(rng: random.Random, now: datetime) -> None:
    """A few increments (and the pauses' own records) on open tickets, like an operator made them."""
    User = get_user_model()
    actor = User.objects.filter(username="supervisor").first() or User.objects.filter(is_superuser=True).first()
    if actor is None:
        return
    reasons = {r.name: r for r in SlaReason.objects.all()}
    paused = list(
        SlaClock.objects.filter(state=ClockState.PAUSED).select_related("calendar").order_by("-ticket_id")[:INTERVENTIONS // 2]
    )
    running = list(
        SlaClock.objects.filter(state=ClockState.RUNNING)
        .select_related("calendar", "policy")
        .order_by("-ticket_id")[:INTERVENTIONS // 2]
    )
    tickets = {t.pk: t for t in Ticket.objects.filter(pk__in=[c.pk for c in paused + running])}
    for clock in paused:
        reason = reasons[rng.choice(PAUSE_REASONS)]
        SlaIntervention.objects.create(
            ticket_id=clock.pk, kind=SlaIntervention.Kind.PAUSE, actor=actor, created_at=clock.paused_at,
            reason=reason, notes="Cliente pediu retorno após as 18h.", due_before=clock.due_at, due_after=clock.due_at,
        )
        record(ticket=tickets[clock.pk], kind=EventKind.SLA_CHANGED, actor=actor, data={"change": "pause"}, at=clock.paused_at)
    for clock in running:
        info = calendar_info(clock.calendar)
        hours = rng.choice([2, 4, 8])
        at = clock.started_at + (now - clock.started_at) / 2
        before = clock.due_at
        clock.increment_seconds += hours * 3600
        clock.due_at = add_business_time(info.spec, clock.started_at, info.amount(clock.policy.resolution_amount, clock.policy.resolution_unit) + timedelta(seconds=clock.increment_seconds))
        clock.version += 1
        clock.save(update_fields=["increment_seconds", "due_at", "version"])
        SlaIntervention.objects.create(
            ticket_id=clock.pk, kind=SlaIntervention.Kind.INCREMENT, actor=actor, created_at=at,
            reason=reasons[rng.choice(INCREMENT_REASONS)], notes="Incremento combinado com o cliente.",
            unit=TimeUnit.HOURS, quantity=Decimal(hours), due_before=before, due_after=clock.due_at,
        )
        record(ticket=tickets[clock.pk], kind=EventKind.SLA_CHANGED, actor=actor, data={"change": "increment"}, at=at)
    sync_ticket_copies(ticket_ids=[clock.pk for clock in running])  # the moved deadlines
