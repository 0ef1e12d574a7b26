"""Tabs and views of the "Painel de atendimento", and where they are registered.

A view is any ``PanelView``: a ``GridView`` (the list grids) or another
kind a later module adds (the Processo x Subprocesso tree, the pivot); each
answers its own requests through ``respond`` and shares the page (tabs, view
pills, toolbar) through ``dashboards.views.panel_context``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse


@dataclass(frozen=True)
class Tab:
    slug: str
    title: str
    order: int
    # The view whose row count the tab's badge shows ("" = no badge).
    count_view: str = ""


# The tools of the manual, one definition each.
TOOL_NEW = "new"
TOOL_EDIT = "edit"
TOOL_MODIFY_SLA = "modify_sla"
TOOL_REFRESH = "refresh"
TOOL_RESEND_EVALUATION = "resend_evaluation"
TOOL_EXPORT = "export"


@dataclass
class PanelView:
    """One view (pill) of a tab."""

    slug: str
    tab: str
    title: str
    order: int
    tools: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The stable id of the view (preferences, tests): ``"<tab>/<view>"``."""
        return f"{self.tab}/{self.slug}"

    def respond(self, request: HttpRequest) -> HttpResponse:  # pragma: no cover - abstract
        raise NotImplementedError

    def count(self, user: AbstractBaseUser, now: datetime) -> int | None:
        """Rows of the view for the tab/pill badges; ``None``: the view has no count."""
        return None


_tabs: dict[str, Tab] = {}
_views: dict[tuple[str, str], PanelView] = {}


def register_tab(tab: Tab) -> Tab:
    _tabs[tab.slug] = tab
    return tab


def register(view: PanelView) -> PanelView:
    if view.tab not in _tabs:
        raise LookupError(f"unknown tab {view.tab!r} for view {view.slug!r}")
    _views[(view.tab, view.slug)] = view
    return view


def tabs() -> list[Tab]:
    _load()
    return sorted(_tabs.values(), key=lambda t: t.order)


def views_of(tab: str) -> list[PanelView]:
    _load()
    return sorted((v for (t, _s), v in _views.items() if t == tab), key=lambda v: v.order)


def all_views() -> list[PanelView]:
    _load()
    order = {t.slug: t.order for t in _tabs.values()}
    return sorted(_views.values(), key=lambda v: (order[v.tab], v.order))


def get_tab(slug: str) -> Tab:
    _load()
    try:
        return _tabs[slug]
    except KeyError as exc:
        raise Http404 from exc


def get_view(tab: str, slug: str) -> PanelView:
    _load()
    try:
        return _views[(tab, slug)]
    except KeyError as exc:
        raise Http404 from exc


def _load() -> None:
    # The definitions register themselves on import.
    import dashboards.panels  # noqa: F401


MembershipRule = Callable[[AbstractBaseUser, datetime], QuerySet]
__all__: Iterable[str] = (
    "MembershipRule",
    "PanelView",
    "Tab",
    "all_views",
    "get_tab",
    "get_view",
    "register",
    "register_tab",
    "tabs",
    "views_of",
)
