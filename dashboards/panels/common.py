"""Shared pieces of the tab modules: the tabs themselves and the visibility of related rows."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.grids.counting import visible
from dashboards.grids.registry import Tab, register_tab
from tickets.models import Ticket
from tickets.selectors import visibility_q

OPEN = register_tab(Tab("open", _("Abertos"), 10, count_view="all"))
LATE_SUBPROCESSES = register_tab(Tab("late-subprocesses", _("Subprocessos atrasados"), 20, count_view="all"))
FINALIZED = register_tab(Tab("finalized", _("Finalizados"), 30, count_view="today"))
SERVICE_ORDERS = register_tab(Tab("service-orders", _("Em O.S."), 40, count_view="open-orders"))
LATE = register_tab(Tab("late", _("Atrasados"), 50, count_view="24-hours"))
SEARCH = register_tab(Tab("search", _("Busca"), 60))


def open_tickets(user: AbstractBaseUser) -> QuerySet[Ticket]:
    """Visible tickets not finalized (``closed_at`` empty)."""
    return visible(user).filter(closed_at__isnull=True)


def of_visible_tickets(user: AbstractBaseUser, *, open_only: bool = False) -> Q:
    """For rows that hold a ticket (stages, events): the ticket is one ``user`` may see.

    One semi-join on the ids of the tickets wanted, with "not finalized" inside it, so
    PostgreSQL hashes the (few) visible open tickets once instead of re-checking the
    visibility rule for every stage or event.
    """
    tickets = visible(user)
    if open_only:
        tickets = tickets.filter(closed_at__isnull=True)
    elif visibility_q(user) is None:
        return Q()
    return Q(ticket__in=tickets.values("pk"))
