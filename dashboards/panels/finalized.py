"""Aba "Finalizados": tickets finalized in a period (manual 001, "Finalizados").

"Reenviar avaliação para o SAC Plus" posts the selected ticket to
``omnichannel.evaluation_views.resend`` (``omnichannel.evaluations``).
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.grids.counting import CountFamily, visible
from dashboards.grids.grid import GridView
from dashboards.grids.periods import days_start, today_start
from dashboards.grids.registry import TOOL_EXPORT, TOOL_REFRESH, TOOL_RESEND_EVALUATION, register
from dashboards.panels import columns as c
from dashboards.panels.common import FINALIZED

TOOLS = (TOOL_RESEND_EVALUATION, TOOL_REFRESH, TOOL_EXPORT)


def finalized_since(user: AbstractBaseUser, start: datetime) -> QuerySet:
    return visible(user).filter(closed_at__gte=start)


def finalized_today(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Finalizados hoje: finalized since local midnight today."""
    return finalized_since(user, today_start(now))


def finalized_this_week(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Finalizados na semana: finalized in the last 7 calendar days (since local midnight 6 days ago)."""
    return finalized_since(user, days_start(now, 7))


def finalized_30_days(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Finalizados nos últimos 30 dias: finalized since local midnight 29 days ago."""
    return finalized_since(user, days_start(now, 30))


def finalized_late_30_days(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Finalizados com atraso nos últimos 30 dias: finalized in the last 30 calendar days with the
    SLA clock breached (a breach time recorded, copied to the ticket; every "Atrasado" clock has one)."""
    return finalized_30_days(user, now).filter(sla_breached_at__isnull=False)


def _columns():
    return [
        c.code(),
        c.customer(),
        c.protocol(),
        c.opened_at(),
        c.closed_at(),
        c.closing_classification(),
        c.closed_by(),
        c.company(),
        c.process(),
        c.subprocess(),
        c.sla(),
        c.origin(),
    ]


def _address_columns():
    return [
        c.code(),
        c.customer(),
        c.protocol(),
        c.opened_at(),
        c.closed_at(),
        c.closing_classification(),
        c.city(),
        c.neighbourhood(),
        c.subprocess(),
        c.sla(),
        c.origin(),
    ]


# The badges count the plain period views together, over the last 30 days' finalized tickets.
FINALIZED_30_DAYS = CountFamily("finalized-30-days", finalized_30_days, split=True)


def _since(start):
    return lambda now: Q(closed_at__gte=start(now))


for order, (slug, title, rule, cols, big, family_q) in enumerate(
    (
        ("today", _("Finalizados hoje"), finalized_today, _columns, False, _since(today_start)),
        ("week", _("Finalizados na semana"), finalized_this_week, _columns, False, _since(lambda now: days_start(now, 7))),
        ("30-days", _("Finalizados nos últimos 30 dias"), finalized_30_days, _columns, True, None),
        ("30-days-address", _("Finalizados nos últimos 30 dias com endereço"), finalized_30_days, _address_columns, True, None),
        ("30-days-late", _("Finalizados com atraso nos últimos 30 dias"), finalized_late_30_days, _columns, True, None),
    ),
    start=1,
):
    register(
        GridView(
            slug=slug, tab=FINALIZED.slug, title=title, order=order * 10, tools=TOOLS,
            columns=cols(), rule=rule, default_sort="-closed_at", count_by_branch=big,
            family=FINALIZED_30_DAYS if rule is not finalized_late_30_days else None, family_q=family_q,
        )
    )
