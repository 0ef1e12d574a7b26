"""Aba "Abertos": the tickets not finalized (manual 001, "Abertos")."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DurationField as DurationOutput
from django.db.models import ExpressionWrapper, F, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from dashboards.grids.columns import Column, FilterKind, badge
from dashboards.grids.grid import GridView
from dashboards.grids.periods import days_start, today_start
from dashboards.grids.registry import TOOL_EDIT, TOOL_EXPORT, TOOL_MODIFY_SLA, TOOL_NEW, register
from dashboards.panels import columns as c
from dashboards.panels.common import OPEN, of_visible_tickets, open_tickets
from tickets.models import TicketEvent, TicketStage

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
    return TicketEvent.objects.filter(of_visible_tickets(user, open_only=True))


def open_subprocess_deadlines(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Prazos dos subprocessos: the unfinished stage (one row each) of every visible ticket not
    finalized, late or not."""
    return TicketStage.objects.filter(of_visible_tickets(user, open_only=True), finished_at__isnull=True)


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
    )
)
register(
    GridView(
        slug="week", tab=OPEN.slug, title=_("Abertos na semana"), order=20, tools=TOOLS,
        columns=_grid_columns(), rule=opened_this_week, default_sort="-opened_at",
    )
)
register(
    GridView(
        slug="all", tab=OPEN.slug, title=_("Todos abertos"), order=30, tools=TOOLS,
        columns=_grid_columns(address=True), rule=all_open, default_sort="-opened_at", search_mode=True,
    )
)
register(
    GridView(
        slug="sla-late", tab=OPEN.slug, title=_("Abertos com SLA atrasado"), order=40, tools=TOOLS,
        columns=_grid_columns()[:-1], rule=open_sla_late, default_sort="sla", search_mode=True,
    )
)

EVENT = c.On("ticket__")
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
        ],
        rule=open_interactions, default_sort="-event_at",
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
    )
)
