"""Aba "Atrasados": tickets whose SLA was breached in a period, finalized or not (manual 001).

A ticket belongs to a view when its SLA clock's breach time (``breached_at``,
set by the SLA breach scan) falls in the period: the last 24 hours (rolling),
the last 7 or 30 calendar days (since local midnight 6 / 29 days ago), or
ever ("todos"). The rules read the ticket's copy of it (``sla_breached_at``,
kept by the sla app), so one index holds it with the visibility columns and
no query joins the clocks to filter or count.

"Horas de atraso" is wall-clock hours past the deadline: until the
finalization for a finalized ticket (``closed_at - due_at``), until now for
an open one. Wall hours, not business hours: the grid sorts and filters on
it in the database, and business time needs each calendar's rules in Python.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from dashboards.grids.counting import CountFamily, visible
from dashboards.grids.grid import GridView
from dashboards.grids.periods import days_start, hours_start
from dashboards.grids.registry import TOOL_EXPORT, register
from dashboards.panels import columns as c
from dashboards.panels.common import LATE

TOOLS = (TOOL_EXPORT,)


def breached(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Todos atendimentos atrasados: visible tickets whose SLA clock has a breach time."""
    return visible(user).filter(sla_breached_at__isnull=False)


def breached_24_hours(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Atrasados nas últimas 24 horas: breached at or after ``now - 24 h``."""
    return visible(user).filter(sla_breached_at__gte=hours_start(now, 24))


def breached_week(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Atrasados na semana: breached since local midnight 6 days ago."""
    return visible(user).filter(sla_breached_at__gte=days_start(now, 7))


def breached_30_days(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Atrasados nos últimos 30 dias: breached since local midnight 29 days ago."""
    return visible(user).filter(sla_breached_at__gte=days_start(now, 30))


def late_hours_annotation(now: datetime) -> dict:
    end = Coalesce(F("closed_at"), Value(now, output_field=DateTimeField()))
    return {"_late": ExpressionWrapper(end - F("sla_clock__due_at"), output_field=DurationField())}


def _columns():
    return [
        c.code(),
        c.customer_name(),
        c.protocol(),
        c.opened_at(),
        c.company(),
        c.subprocess(),
        c.process(),
        c.finalized(),
        c.hours_column("late_hours", _("Horas de atraso"), "_late"),
    ]


# The badges count the four periods together, over every breached ticket.
BREACHED = CountFamily("breached", breached, split=True)


def _breached_since(start):
    return lambda now: Q(sla_breached_at__gte=start(now))


for order, (slug, title, rule, family_q) in enumerate(
    (
        ("24-hours", _("Atrasados nas últimas 24 horas"), breached_24_hours, _breached_since(lambda n: hours_start(n, 24))),
        ("week", _("Atrasados na semana"), breached_week, _breached_since(lambda n: days_start(n, 7))),
        ("30-days", _("Atrasados nos últimos 30 dias"), breached_30_days, _breached_since(lambda n: days_start(n, 30))),
        ("all", _("Todos atendimentos atrasados"), breached, None),
    ),
    start=1,
):
    register(
        GridView(
            slug=slug, tab=LATE.slug, title=title, order=order * 10, tools=TOOLS,
            columns=_columns(), rule=rule, default_sort="-opened_at", annotations=late_hours_annotation,
            base_related=("sla_clock",), count_by_branch=slug != "24-hours", family=BREACHED, family_q=family_q,
        )
    )
