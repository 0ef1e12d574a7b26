"""Aba "Subprocessos atrasados": unfinished stages past their "Fim previsto" (manual 001).

A stage is late when it is unfinished and its due time (``TicketStage.due_at``,
"Fim previsto") has passed. The views differ by *when* it became late, like
the other tabs' periods: "há 7 dias" = the due time fell in the last 7
calendar days, today included (since local midnight 6 days ago, up to now);
"há 15 dias" the same with 15; "todos" every late stage. So 7 ⊂ 15 ⊂ todos,
and a stage late for a month shows only in "todos", where sorting by "Fim
previsto" puts the oldest first.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.grids.grid import GridView
from dashboards.grids.periods import days_start
from dashboards.grids.registry import TOOL_EDIT, TOOL_EXPORT, register
from dashboards.panels import columns as c
from dashboards.panels.common import LATE_SUBPROCESSES, of_visible_tickets
from dashboards.panels.open import OPEN_STAGES, stage_due, stage_started, stage_subprocess
from tickets.models import TicketStage

TOOLS = (TOOL_EDIT, TOOL_EXPORT)
STAGE = c.On("ticket__")


def late_stages(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Todos subprocessos atrasados: unfinished stages of visible open tickets with ``due_at < now``."""
    return TicketStage.objects.filter(of_visible_tickets(user, open_only=True), finished_at__isnull=True, due_at__lt=now)


def late_stages_7_days(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Subprocessos atrasados há 7 dias: late stages whose due time is since local midnight 6 days ago."""
    return late_stages(user, now).filter(due_at__gte=days_start(now, 7))


def late_stages_15_days(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Subprocessos atrasados há 15 dias: late stages whose due time is since local midnight 14 days ago."""
    return late_stages(user, now).filter(due_at__gte=days_start(now, 15))


def _columns():
    return [
        c.code(STAGE),
        c.customer(STAGE),
        c.protocol(STAGE),
        c.opened_at(STAGE),
        c.assignee(STAGE, label=_("Operador")),
        c.company(STAGE),
        c.process(STAGE),
        stage_subprocess(),
        stage_started(),
        stage_due(),
        c.city(STAGE),
        c.neighbourhood(STAGE),
        c.team(STAGE),
        c.origin(STAGE),
    ]


def _late_since(days: int | None):
    """The family condition of a view: late (due before now), since local midnight ``days - 1`` ago."""

    def q(now: datetime) -> Q:
        late = Q(due_at__lt=now)
        return late if days is None else late & Q(due_at__gte=days_start(now, days))

    return q


for order, (slug, title, rule, days) in enumerate(
    (
        ("7-days", _("Subprocessos atrasados há 7 dias"), late_stages_7_days, 7),
        ("15-days", _("Subprocessos atrasados há 15 dias"), late_stages_15_days, 15),
        ("all", _("Todos subprocessos atrasados"), late_stages, None),
    ),
    start=1,
):
    register(
        GridView(
            slug=slug, tab=LATE_SUBPROCESSES.slug, title=title, order=order * 10, tools=TOOLS,
            columns=_columns(), rule=rule, default_sort="due_at", ticket_attr="ticket_id",
            family=OPEN_STAGES, family_q=_late_since(days),
        )
    )
