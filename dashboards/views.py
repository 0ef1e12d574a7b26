"""The "Painel de atendimento" pages: tabs, views, the grid partial, column choice, counts, export.

Every view needs a signed-in user (``LoginRequiredMiddleware``); the rows are
always the view's membership rule, which is built on
``tickets.selectors.visible_tickets``, so an agent's grid, count and export
hold only what the agent may see.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from dashboards.grids import export as grid_export
from dashboards.grids.grid import PER_PAGE_CHOICES, GridView
from dashboards.grids.registry import (
    TOOL_EDIT,
    TOOL_EXPORT,
    TOOL_MODIFY_SLA,
    TOOL_NEW,
    PanelView,
    get_tab,
    get_view,
    tabs,
    views_of,
)
from dashboards.models import GridPreference

TEMPLATE = "dashboards/panel.html"

TOOL_PERMISSIONS = {
    TOOL_NEW: "tickets.tool_new",
    TOOL_EDIT: "tickets.tool_edit",
    TOOL_MODIFY_SLA: "tickets.tool_modify_sla",
    TOOL_EXPORT: "tickets.tool_export",
}


def sla_wizard_url_name() -> str | None:
    """The SLA wizard's URL name, when the SLA app provides it (``sla:modify``)."""
    try:
        reverse("sla:modify", args=[0])
    except NoReverseMatch:
        return None
    return "sla:modify"


def allowed_tools(user: Any, view: PanelView) -> list[str]:
    """The view's tools the user may use; "Modificar SLA" only once the SLA wizard exists."""
    tools = []
    for key in view.tools:
        perm = TOOL_PERMISSIONS.get(key)
        if perm and not user.has_perm(perm):
            continue
        if key == TOOL_MODIFY_SLA and sla_wizard_url_name() is None:
            continue
        tools.append(key)
    return tools


def panel_context(request: HttpRequest, view: PanelView) -> dict[str, Any]:
    """What every panel page shares: the tabs, the active tab's views, the toolbar."""
    tab = get_tab(view.tab)
    tools = allowed_tools(request.user, view)
    return {
        "tabs": [{"tab": t, "first": views_of(t.slug)[0]} for t in tabs() if views_of(t.slug)],
        "tab": tab,
        "views": views_of(tab.slug),
        "view": view,
        "tools": tools,
        "sla_wizard_url": reverse("sla:modify", args=[0]) if TOOL_MODIFY_SLA in tools else "",
    }


def _is_partial(request: HttpRequest) -> bool:
    return bool(request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request)


def render_grid(request: HttpRequest, view: GridView, *, status: int = 200) -> HttpResponse:
    columns = view.visible_columns(request.user)
    result = view.page(request, columns=columns)
    context = {
        "grid": result,
        "view": view,
        "rows": result.rows(),
        "per_page_choices": PER_PAGE_CHOICES,
        "export_allowed": request.user.has_perm(TOOL_PERMISSIONS[TOOL_EXPORT]) and TOOL_EXPORT in view.tools,
        "can_edit": TOOL_EDIT in view.tools and request.user.has_perm(TOOL_PERMISSIONS[TOOL_EDIT]),
    }
    if _is_partial(request) and request.htmx.target in ("grid", None):
        return render(request, f"{TEMPLATE}#grid", context, status=status)
    context.update(panel_context(request, view))
    context["all_columns"] = view.columns
    context["visible_keys"] = [c.key for c in columns]
    return render(request, TEMPLATE, context, status=status)


@require_GET
def panel_home(request: HttpRequest) -> HttpResponse:
    first = tabs()[0]
    return redirect("dashboards:view", tab=first.slug, view=views_of(first.slug)[0].slug)


@require_GET
def tab_home(request: HttpRequest, tab: str) -> HttpResponse:
    get_tab(tab)
    return redirect("dashboards:view", tab=tab, view=views_of(tab)[0].slug)


@require_GET
def panel_view(request: HttpRequest, tab: str, view: str) -> HttpResponse:
    return get_view(tab, view).respond(request)


def _grid_view(tab: str, view: str) -> GridView:
    found = get_view(tab, view)
    if not isinstance(found, GridView):
        from django.http import Http404

        raise Http404
    return found


@require_http_methods(["POST"])
def columns_save(request: HttpRequest, tab: str, view: str) -> HttpResponse:
    """Save the user's visible columns and their order ("Visualização de colunas"); reset = all."""
    grid = _grid_view(tab, view)
    if request.POST.get("reset"):
        GridPreference.objects.filter(user=request.user, view_slug=grid.key).delete()
    else:
        keys = [k for k in request.POST.getlist("columns") if k in grid.column_map]
        keys = list(dict.fromkeys(keys))
        if not keys:
            messages.error(request, _("Escolha ao menos uma coluna."))
        else:
            GridPreference.objects.update_or_create(user=request.user, view_slug=grid.key, defaults={"columns": keys})
    url = reverse("dashboards:view", kwargs={"tab": tab, "view": view})
    query = request.POST.get("query", "")
    if query and not query.startswith(("/", "http")):
        url = f"{url}?{query}"
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_GET
def counts(request: HttpRequest) -> HttpResponse:
    """The badges: each tab's count and the active tab's view counts (loaded after the page)."""
    now = timezone.now()
    active = request.GET.get("tab", "")
    tab_counts = []
    for tab in tabs():
        if not tab.count_view:
            continue
        view = get_view(tab.slug, tab.count_view)
        tab_counts.append((tab, view.count(request.user, now)))
    view_counts = []
    if active:
        get_tab(active)
        for view in views_of(active):
            value = view.count(request.user, now)
            if value is not None:
                view_counts.append((view, value))
    return render(request, "dashboards/_counts.html", {"tab_counts": tab_counts, "view_counts": view_counts})


def _export(request: HttpRequest, tab: str, view: str, fmt: str) -> HttpResponse:
    grid = _grid_view(tab, view)
    if TOOL_EXPORT not in grid.tools or not request.user.has_perm(TOOL_PERMISSIONS[TOOL_EXPORT]):
        raise PermissionDenied(_("Você não tem permissão para exportar esta grade."))
    now: datetime = timezone.now()
    columns = grid.visible_columns(request.user)
    qs = grid.export_queryset(request.user, request.GET, columns, now)
    total = qs.count()
    if total > grid_export.MAX_ROWS:
        messages.error(
            request,
            _("A exportação está limitada a %(max)s linhas e a grade tem %(total)s. Refine os filtros.")
            % {"max": f"{grid_export.MAX_ROWS:n}", "total": f"{total:n}"},
        )
        url = reverse("dashboards:view", kwargs={"tab": tab, "view": view})
        return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)
    name = f"painel-{grid.tab}-{grid.slug}-{timezone.localtime(now):%Y%m%d-%H%M}"
    if fmt == "csv":
        return grid_export.csv_response(qs, columns, name)
    return grid_export.xlsx_response(qs, columns, name, title=str(grid.title))


@require_GET
def export_csv(request: HttpRequest, tab: str, view: str) -> HttpResponse:
    return _export(request, tab, view, "csv")


@require_GET
def export_xlsx(request: HttpRequest, tab: str, view: str) -> HttpResponse:
    return _export(request, tab, view, "xlsx")
