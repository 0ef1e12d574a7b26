"""What a live screen receives when tickets change: rendered per viewer, from the database.

The websocket consumer (``dashboards.consumers``) calls these synchronous
functions in a worker thread. Each one renders with the same template
partials the page itself uses and under the viewer's own permissions (the
grid's membership rule is built on ``tickets.selectors.visible_tickets``), so
a viewer never receives a row it could not see by reloading the page.

A grid subscription is the view and the query string the page shows (sort,
filters, page, page size). ``grid_state`` runs that page again; the consumer
compares it with what the browser has and sends only the difference: a changed
row in place, the body when rows entered, left or moved, the row count, and on
a deep page a "N novos" notice instead of moving the user's rows under them.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, QueryDict
from django.template.loader import render_to_string
from django.utils import timezone

from dashboards.grids.grid import GridView
from dashboards.grids.registry import get_tab, get_view, tabs, views_of
from tickets.publish import ALL_TICKETS_GROUP, team_group, ticket_group, user_group
from tickets.roles import is_admin
from tickets.selectors import supervised_team_ids, user_team_ids

TEMPLATE = "dashboards/panel.html"
DEEP_PAGE_PARAMS = ("after", "before", "last")


def audience_groups(user: AbstractBaseUser) -> list[str]:
    """The channel-layer groups whose changes this viewer may need to see.

    A group only says "something you may see changed": what is sent is always
    rendered again under the viewer's permissions.
    """
    groups = [user_group(user.pk)]
    if is_admin(user):
        groups.append(ALL_TICKETS_GROUP)
    teams = set(user_team_ids(user)) | set(supervised_team_ids(user))
    groups += [team_group(t) for t in sorted(teams)]
    return groups


def ticket_audience(user: AbstractBaseUser, ticket_id: int) -> str:
    """The ticket page's group, after checking the viewer may see the ticket (404 otherwise)."""
    from tickets.selectors import access_ticket

    access_ticket(user, ticket_id)
    return ticket_group(ticket_id)


def _request(user: AbstractBaseUser, query: str) -> HttpRequest:
    request = HttpRequest()
    request.method = "GET"
    request.user = user
    request.GET = QueryDict(query, mutable=False)
    request.htmx = False
    return request


def resolve_view(key: str):
    """``"tab/view"`` → the registered view, or ``Http404``."""
    tab, _sep, slug = (key or "").partition("/")
    if not tab or not slug:
        raise Http404
    return get_view(tab, slug)


@dataclass
class GridState:
    """One rendering of a grid page: its rows in order, as HTML, and the total."""

    view_key: str
    rows: list[tuple[int, int, str]] = field(default_factory=list)  # (row pk, ticket id, <tr> html)
    total: int | None = None
    empty_html: str = ""
    deep: bool = False
    grid: bool = True

    @property
    def pks(self) -> list[int]:
        return [pk for pk, _tid, _html in self.rows]

    def body_html(self, highlight: set[int] = frozenset()) -> str:
        if not self.rows:
            return self.empty_html
        return "".join(_highlighted(html) if tid in highlight else html for _pk, tid, html in self.rows)


def _highlighted(html: str) -> str:
    return html.replace("<tr ", '<tr data-live-changed="1" ', 1)


def grid_state(user: AbstractBaseUser, view_key: str, query: str, now: datetime | None = None) -> GridState:
    view = resolve_view(view_key)
    if not isinstance(view, GridView):
        return GridState(view_key=view_key, grid=False)
    now = now or timezone.now()
    request = _request(user, query)
    columns = view.visible_columns(user)
    result = view.page(request, columns=columns, now=now)
    context = {
        "grid": result,
        "view": view,
        "can_edit": _can_edit(user, view),
    }
    rows = []
    for row in result.rows():
        html = render_to_string(f"{TEMPLATE}#row", {**context, "row": row}).strip()
        rows.append((row["pk"], row["ticket_id"], html))
    empty = "" if rows else render_to_string(f"{TEMPLATE}#empty_row", context).strip()
    deep = any(request.GET.get(p) for p in DEEP_PAGE_PARAMS)
    return GridState(view_key=view_key, rows=rows, total=result.total, empty_html=empty, deep=deep)


def _can_edit(user: AbstractBaseUser, view: GridView) -> bool:
    from dashboards.grids.registry import TOOL_EDIT
    from dashboards.views import TOOL_PERMISSIONS

    return TOOL_EDIT in view.tools and user.has_perm(TOOL_PERMISSIONS[TOOL_EDIT])


def counts_html(user: AbstractBaseUser, active_tab: str, now: datetime | None = None) -> str:
    """The tab and view badges, as out-of-band swaps (the same partial and counting as the page)."""
    from dashboards.grids.counting import view_counts

    now = now or timezone.now()
    badges = [(tab, get_view(tab.slug, tab.count_view)) for tab in tabs() if tab.count_view]
    try:
        shown = list(views_of(get_tab(active_tab).slug)) if active_tab else []
    except Http404:
        shown = []
    wanted = {view.key: view for view in [*(view for _tab, view in badges), *shown]}
    values = view_counts(list(wanted.values()), user, now)
    tab_counts = [(tab, values[view.key]) for tab, view in badges]
    shown_counts = [(view, values[view.key]) for view in shown if values[view.key] is not None]
    return render_to_string("dashboards/_counts.html", {"tab_counts": tab_counts, "view_counts": shown_counts})


def grid_diff(before: GridState | None, after: GridState, changed: set[int], unseen_new: int) -> str:
    """The out-of-band fragments that turn the browser's page ``before`` into ``after``.

    ``changed`` are the ticket ids that changed; ``unseen_new`` the rows that
    entered the view but not this (deep) page since the user last moved.
    """
    if not after.grid:
        return ""
    parts: list[str] = []
    if before is None or before.pks != after.pks:
        # A first rendering (subscription, resync) flags nothing: nothing "changed" for the user.
        entered = set(after.pks) - set(before.pks) if before is not None else set()
        flagged = {tid for pk, tid, _h in after.rows if tid in changed or pk in entered}
        parts.append(f'<tbody id="grid-body" hx-swap-oob="innerHTML">{after.body_html(flagged)}</tbody>')
    else:
        old = {pk: html for pk, _tid, html in before.rows}
        for pk, _tid, html in after.rows:
            if old.get(pk) != html:
                parts.append(_oob_row(_highlighted(html)))
    if before is None or before.total != after.total:
        parts.append(render_to_string(f"{TEMPLATE}#row_count", {"grid": after}).strip())
    if after.deep:
        parts.append(render_to_string(f"{TEMPLATE}#live_notice", {"unseen_new": unseen_new}).strip())
    return "".join(parts)


def _oob_row(html: str) -> str:
    return html.replace("<tr ", '<tr hx-swap-oob="outerHTML" ', 1)


_CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def ticket_regions(user: AbstractBaseUser, ticket_id: int, csrf_secret: str = "") -> dict[str, str]:
    """The live regions of the ticket page for this viewer, or a "no longer visible" notice."""
    from tickets.views.pages import live_regions

    try:
        return live_regions(user, ticket_id, csrf_secret)
    except Http404:
        return {"gone": render_to_string("dashboards/_ticket_gone.html", {}).strip()}


def regions_diff(before: dict[str, str] | None, after: dict[str, str]) -> str:
    """The regions whose content changed (a form's fresh CSRF mask is not a change)."""
    if before is None:
        return "".join(after.values())
    return "".join(
        html
        for name, html in after.items()
        if _CSRF_VALUE.sub("", html) != _CSRF_VALUE.sub("", before.get(name, ""))
    )
