"""Aba "Busca": "Pesquisa avançada" (manual 001, "Buscar Atendimento").

Every visible ticket, finalized or not, listed only after a search ("modo
pesquisa"). The manual's criteria map to the grid's filters, shown as a form
above the grid: período (Abertura de/até), protocolo, código, cliente,
operador (Resgate), operador de abertura, cidade, endereço (logradouro),
condomínio, origem and "finalizadas no período" (Fechamento de/até).
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from dashboards.grids.grid import GridView
from dashboards.grids.registry import TOOL_EXPORT, register
from dashboards.panels import columns as c
from dashboards.panels.common import SEARCH
from tickets.selectors import visible_tickets


def every_ticket(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Pesquisa avançada: every visible ticket; the search narrows it."""
    return visible_tickets(user)


register(
    GridView(
        slug="advanced", tab=SEARCH.slug, title=_("Pesquisa avançada"), order=20, tools=(TOOL_EXPORT,),
        search_mode=True, extra={"filters_above": True},
        columns=[
            c.code(),
            c.customer(label=_("Cliente")),
            c.protocol(),
            c.opened_at(),
            c.closed_at(nullable=True),
            c.assignee(label=_("Operador")),
            c.opened_by(),
            c.process(),
            c.subprocess(),
            c.city(),
            c.neighbourhood(),
            c.street(),
            c.condominium(),
            c.origin(),
            c.sla(),
        ],
        rule=every_ticket, default_sort="-opened_at",
    )
)
