"""Aba "Em O.S.": tickets with service orders (manual 001, "Em Ordem de Serviço").

The ticket carries its latest service order denormalised (status, code, due
and completion time; kept by ``tickets.services._refresh_service_order_status``),
so these views filter and sort without touching the service-order table.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.grids.counting import CountFamily, visible
from dashboards.grids.grid import GridView
from dashboards.grids.periods import days_start
from dashboards.grids.registry import TOOL_EXPORT, register
from dashboards.panels import columns as c
from dashboards.panels.common import SERVICE_ORDERS
from tickets.models import ServiceOrderStatus

TOOLS = (TOOL_EXPORT,)
OPEN_ORDER = (ServiceOrderStatus.UNSCHEDULED, ServiceOrderStatus.SCHEDULED)


def with_service_order(user: AbstractBaseUser) -> QuerySet:
    return visible(user).exclude(service_order_status=ServiceOrderStatus.NONE)


def opened_30_days_with_order(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Abertos nos últimos 30 dias com O.S.: opened since local midnight 29 days ago (finalized or
    not) and with at least one service order."""
    return with_service_order(user).filter(opened_at__gte=days_start(now, 30))


def order_still_open(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Com O.S. ainda aberta: the latest service order is not completed (Sem agendamento or
    Agendada), whenever the ticket was opened."""
    return visible(user).filter(service_order_status__in=OPEN_ORDER)


def opened_30_days_order_late(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Últimos 30 dias com O.S. atrasada: opened in the last 30 calendar days and the latest service
    order is late: past its due time and not completed, or completed after it."""
    return opened_30_days_with_order(user, now).filter(order_late_q(now))


def order_late_q(now: datetime) -> Q:
    """The latest service order is late: past its due time and not completed, or completed after it."""
    return Q(service_order_status__in=OPEN_ORDER, service_order_due_at__lt=now) | Q(
        service_order_status=ServiceOrderStatus.COMPLETED, service_order_completed_at__gt=F("service_order_due_at")
    )


def _columns():
    return [
        c.code(),
        c.customer(),
        c.protocol(),
        c.opened_at(),
        c.service_order_code(),
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
        c.service_order_code(),
        c.city(),
        c.neighbourhood(),
        c.street(),
        c.sla(),
        c.origin(),
    ]


# The badges count the 30-day views together.
WITH_ORDER_30_DAYS = CountFamily("service-orders-30-days", opened_30_days_with_order)

for order, (slug, title, rule, cols, family, family_q) in enumerate(
    (
        ("30-days", _("Abertos nos últimos 30 dias com O.S."), opened_30_days_with_order, _columns,
         WITH_ORDER_30_DAYS, None),
        ("open-orders", _("Com O.S. ainda aberta"), order_still_open, _columns, None, None),
        ("30-days-late", _("Últimos 30 dias com O.S. atrasada"), opened_30_days_order_late, _columns,
         WITH_ORDER_30_DAYS, order_late_q),
        ("30-days-address", _("Últimos 30 dias em O.S. por endereço"), opened_30_days_with_order, _address_columns,
         WITH_ORDER_30_DAYS, None),
    ),
    start=1,
):
    register(
        GridView(
            slug=slug, tab=SERVICE_ORDERS.slug, title=title, order=order * 10, tools=TOOLS,
            columns=cols(), rule=rule, default_sort="-opened_at", family=family, family_q=family_q,
        )
    )
