"""Aba "Abertos": the tickets not finalized (manual 001, "Abertos")."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DurationField as DurationOutput
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum, Value
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from dashboards.grids import pivot as pv
from dashboards.grids.columns import Column, FilterKind, badge
from dashboards.grids.counting import CountFamily
from dashboards.grids.grid import GridView
from dashboards.grids.periods import days_start, today_start
from dashboards.grids.registry import TOOL_EDIT, TOOL_EXPORT, TOOL_MODIFY_SLA, TOOL_NEW, register
from dashboards.grids.tree import Level, TreeView
from dashboards.panels import columns as c
from dashboards.panels.common import OPEN, of_visible_tickets, open_tickets
from sla.models import ACTIVE_STATES, ClockState, SlaClock
from tickets.models import Origin, TicketEvent, TicketStage

TOOLS = (TOOL_NEW, TOOL_EDIT, TOOL_MODIFY_SLA, TOOL_EXPORT)


def opened_today(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Abertos hoje: not finalized and opened since local midnight today (00:00:00 counts)."""
    return open_tickets(user).filter(opened_at__gte=today_start(now))


def opened_this_week(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Abertos na semana: not finalized and opened in the last 7 calendar days, today included
    (since local midnight 6 days ago)."""
    return open_tickets(user).filter(opened_at__gte=days_start(now, 7))


def all_open(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Todos abertos: every visible ticket not finalized."""
    return open_tickets(user)


def open_sla_late(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Abertos com SLA atrasado: not finalized and the SLA clock breached, or still running
    (em andamento / em risco) past its deadline; a paused clock is never late."""
    return open_tickets(user).filter(c.sla_late_q(now=now))


def open_interactions(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Interações: every event (one row each) of the visible tickets not finalized."""
    return TicketEvent.objects.filter(of_visible_tickets(user, open_only=True, semi_join=True))


def open_interactions_joined(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """``open_interactions`` joined to the tickets instead of a semi-join on their ids: sorted by
    the ticket's SLA deadline, PostgreSQL walks the open tickets' deadline index
    (``ticket_open_sla_due_idx``) and reads the events of the first few tickets, where the
    semi-join read and sorted the events of every visible open ticket (175,000 at 1M)."""
    return TicketEvent.objects.filter(of_visible_tickets(user, open_only=True))


def open_subprocess_deadlines(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Prazos dos subprocessos: the unfinished stage (one row each) of every visible ticket not
    finalized, late or not."""
    return TicketStage.objects.filter(of_visible_tickets(user, open_only=True), finished_at__isnull=True)


def late_clock_of(ticket: OuterRef, now: datetime) -> QuerySet:
    """The ticket's SLA clock when it is late (``c.sla_late_q``): an ``EXISTS`` for the badge
    counts, which probe the clocks' late index per open ticket instead of joining every clock."""
    return SlaClock.objects.filter(
        Q(state=ClockState.BREACHED) | Q(state__in=ACTIVE_STATES, due_at__lt=now), ticket=ticket
    )


# The badges count these views together (``counting.CountFamily``).
OPEN_TICKETS = CountFamily("open-tickets", lambda user, now: all_open(user, now))
OPEN_STAGES = CountFamily("open-stages", lambda user, now: open_subprocess_deadlines(user, now))


def _grid_columns(*, address: bool = False) -> list[Column]:
    cols = [
        c.code(),
        c.customer(),
        c.protocol(),
        c.opened_at(),
        c.assignee(),
        c.process(),
        c.subprocess(),
        c.opening_classification(),
        c.company(),
        c.sla(),
        c.origin(),
        c.service_order_status(),
    ]
    if address:
        cols += [c.city(), c.neighbourhood()]
    return cols


register(
    GridView(
        slug="today", tab=OPEN.slug, title=_("Abertos hoje"), order=10, tools=TOOLS,
        columns=_grid_columns(), rule=opened_today, default_sort="-opened_at",
        family=OPEN_TICKETS, family_q=lambda now: Q(opened_at__gte=today_start(now)),
    )
)
register(
    GridView(
        slug="week", tab=OPEN.slug, title=_("Abertos na semana"), order=20, tools=TOOLS,
        columns=_grid_columns(), rule=opened_this_week, default_sort="-opened_at",
        family=OPEN_TICKETS, family_q=lambda now: Q(opened_at__gte=days_start(now, 7)),
    )
)
register(
    GridView(
        slug="all", tab=OPEN.slug, title=_("Todos abertos"), order=30, tools=TOOLS,
        columns=_grid_columns(address=True), rule=all_open, default_sort="-opened_at", search_mode=True,
        family=OPEN_TICKETS,
    )
)
register(
    GridView(
        slug="sla-late", tab=OPEN.slug, title=_("Abertos com SLA atrasado"), order=40, tools=TOOLS,
        columns=_grid_columns()[:-1], rule=open_sla_late, default_sort="sla", search_mode=True,
        family=OPEN_TICKETS, family_q=lambda now: Q(Exists(late_clock_of(OuterRef("pk"), now))),
    )
)

EVENT = c.On("ticket__")


def event_actor() -> Column:
    """"Operador da interação": who did it (the manual names the panel after the operators' interactions);
    empty for the system's own events."""
    return Column(
        key="actor", label=_("Operador da interação"), value=lambda r: c.user_name(r.actor),
        sort="actor__first_name", nullable=True, filter=FilterKind.TEXT, filter_method=c.user_filter("actor"),
        related=("actor",),
    )


register(
    GridView(
        slug="interactions", tab=OPEN.slug, title=_("Interações dos operadores nos atendimentos abertos"), order=50,
        tools=TOOLS, ticket_attr="ticket_id",
        columns=[
            c.code(EVENT),
            c.event_text(),
            c.protocol(EVENT),
            c.event_at(),
            c.assignee(EVENT),
            c.process(EVENT),
            c.subprocess(EVENT),
            c.opening_classification(EVENT),
            c.company(EVENT),
            c.sla(EVENT),
            event_actor(),
        ],
        rule=open_interactions, default_sort="-event_at", sort_rules={"sla": open_interactions_joined},
        family=OPEN_TICKETS, family_total=lambda now: Sum("event_count"),
    )
)


# --- Prazos dos subprocessos -------------------------------------------------------------------

STAGE = c.On("ticket__")


def stage_due() -> Column:
    return Column(
        key="due_at", label=_("Fim previsto"), value=lambda r: r.due_at, sort="due_at",
        filter=FilterKind.DATE_RANGE, filter_field="due_at", css="text-nowrap",
    )


def stage_started() -> Column:
    return Column(
        key="started_at", label=_("Início"), value=lambda r: r.started_at, sort="started_at",
        filter=FilterKind.DATE_RANGE, filter_field="started_at", css="text-nowrap",
    )


def stage_subprocess() -> Column:
    return Column(
        key="subprocess", label=_("Subprocesso"), value=lambda r: r.subprocess.name, sort="subprocess__name",
        filter=FilterKind.TEXT, filter_field="subprocess__name", related=("subprocess",),
    )


LATE_CHOICES = (("late", _("Atrasado")), ("on_time", _("Em dia")))


def _stage_status_filter(qs: QuerySet, value: str) -> QuerySet:
    from django.utils import timezone

    now = timezone.now()
    if value == "late":
        return qs.filter(due_at__lt=now)
    return qs.filter(due_at__gte=now)


def stage_status() -> Column:
    def html(r):
        return badge(str(_("Atrasado")), "danger") if r._remaining.total_seconds() < 0 else badge(str(_("Em dia")), "success")

    return Column(
        key="stage_status", label=_("Status"),
        value=lambda r: str(_("Atrasado")) if r._remaining.total_seconds() < 0 else str(_("Em dia")),
        html=html, sort="due_at", filter=FilterKind.CHOICE, filter_method=_stage_status_filter, choices=LATE_CHOICES,
    )


def remaining_annotation(now: datetime) -> dict:
    return {"_remaining": ExpressionWrapper(F("due_at") - Value(now), output_field=DurationOutput())}


register(
    GridView(
        slug="subprocess-deadlines", tab=OPEN.slug, title=_("Prazos dos subprocessos"), order=60, tools=TOOLS,
        ticket_attr="ticket_id", search_mode=True,
        columns=[
            c.code(STAGE, label=_("Código")),
            c.customer(STAGE),
            c.protocol(STAGE),
            c.opened_at(STAGE),
            c.opened_by(STAGE, label=_("Operador")),
            c.process(STAGE),
            stage_subprocess(),
            stage_due(),
            stage_status(),
            c.hours_column("remaining", _("Restantes (hrs)"), "_remaining", nullable=False, at_least=False),
            c.company(STAGE),
            c.origin(STAGE),
        ],
        rule=open_subprocess_deadlines, default_sort="due_at", annotations=remaining_annotation,
        family=OPEN_STAGES,
    )
)


# --- Processo x Subprocesso -----------------------------------------------------------------------


def stage_late() -> Column:
    """"Atrasado": SIM when the stage's "Fim previsto" has passed."""

    def method(qs: QuerySet, yes: bool) -> QuerySet:
        from django.utils import timezone

        now = timezone.now()
        return qs.filter(due_at__lt=now) if yes else qs.filter(due_at__gte=now)

    def html(r):
        late = r._remaining.total_seconds() < 0
        return badge(str(_("SIM")), "danger") if late else badge(str(_("NÃO")), "success")

    return Column(
        key="late", label=_("Atrasado"), value=lambda r: r._remaining.total_seconds() < 0, html=html,
        sort="due_at", filter=FilterKind.YES_NO, filter_method=method,
    )


def _late_stage_q(now: datetime) -> Q:
    return Q(due_at__lt=now)


register(
    TreeView(
        slug="process-subprocess", tab=OPEN.slug, title=_("Processo x Subprocesso"), order=70,
        tools=(TOOL_NEW, TOOL_EDIT, TOOL_EXPORT), ticket_attr="ticket_id",
        levels=(
            Level("subprocess__process_id", "subprocess__process__name", ("subprocess__process__order",)),
            Level("subprocess_id", "subprocess__name", ("subprocess__order",)),
        ),
        late_q=_late_stage_q,
        export_prefix=(
            Column(key="tree_process", label=_("Processo"), value=lambda r: r.subprocess.process.name),
            Column(key="tree_subprocess", label=_("Subprocesso"), value=lambda r: r.subprocess.name),
        ),
        base_related=("subprocess__process",),
        columns=[
            c.code(STAGE),
            c.assignee(STAGE, label=_("Operador")),
            c.protocol(STAGE),
            c.city(STAGE),
            c.neighbourhood(STAGE),
            c.street(STAGE),
            stage_due(),
            stage_late(),
            c.hours_column("remaining", _("Restante (hrs)"), "_remaining", nullable=False, at_least=False),
        ],
        rule=open_subprocess_deadlines, default_sort="due_at", annotations=remaining_annotation,
        family=OPEN_STAGES,
    )
)


# --- Gráfico sintético -------------------------------------------------------------------------------

PIVOT_DIMENSIONS = [
    pv.operator(),
    pv.named("process", _("Processo"), "process", _("Sem processo")),
    pv.named("subprocess", _("Subprocesso"), "current_subprocess", _("Sem subprocesso")),
    pv.choice("origin", _("Origem do contato"), "origin", Origin.choices),
    pv.text("city", _("Cidade"), "city", _("Sem cidade")),
    pv.named("company", _("Empresa"), "company", _("Sem empresa")),
    pv.named("classification", _("Classificação de abertura"), "opening_classification", _("Sem classificação")),
    pv.day(label=_("Dia de abertura")),
]


def open_pivot_base(request: HttpRequest, now: datetime):
    """Gráfico sintético: every visible ticket not finalized (the tab's "Todos abertos")."""
    return open_tickets(request.user), None


register(
    pv.PivotView(
        slug="synthetic-chart", tab=OPEN.slug, title=_("Gráfico sintético"), order=80, tools=(TOOL_NEW,),
        dimensions=PIVOT_DIMENSIONS, base=open_pivot_base,
        default=pv.PivotConfig(rows=["process"], cols=["origin"], measure="count", chart="stacked"),
    )
)
