"""Shared pieces of the tab modules: the tabs themselves and the visibility of related rows."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.grids.counting import in_branch, visible
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


def of_visible_tickets(user: AbstractBaseUser, *, open_only: bool = False, semi_join: bool = False) -> Q:
    """For rows that hold a ticket (stages, events): the ticket is one ``user`` may see.

    By default the rule reads the row's own join to its ticket, the join the header
    filters on the ticket's columns (origin, customer, ...) reuse: one ticket per row,
    which PostgreSQL reads from the open tickets' covering index (visibility, origin) and
    hashes once. A semi-join on the visible tickets' ids instead made a filtered count join
    the ticket table twice, and read every ticket of the filtered value to do it.

    ``semi_join``: one semi-join on the ids of the tickets wanted, with "not finalized"
    inside it, for rows many to a ticket (events: ten million of them): PostgreSQL then
    probes the rows of the (few) visible open tickets, where with a join it may read every
    row first. Counted one visibility branch at a time (``counting.split_count``), the
    semi-join is on the branch's tickets.
    """
    if semi_join or in_branch():
        tickets = visible(user)
        if open_only:
            tickets = tickets.filter(closed_at__isnull=True)
        elif visibility_q(user) is None:
            return Q()
        return Q(ticket__in=tickets.values("pk"))
    q = visibility_q(user, via="ticket__")
    if open_only:
        still_open = Q(ticket__closed_at__isnull=True)
        return still_open if q is None else still_open & q
    return Q() if q is None else q
