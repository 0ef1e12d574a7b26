"""The "Painel de atendimento" pages: tabs, views, the grid partial, column choice, counts, export.

Every view needs a signed-in user (``LoginRequiredMiddleware``); the rows are
always the view's membership rule, which is built on
``tickets.selectors.visible_tickets``, so an agent's grid, count and export
hold only what the agent may see.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from dashboards.grids import export as grid_export
from dashboards.grids import pivot as pv
from dashboards.grids.counting import view_counts
from dashboards.grids.grid import PER_PAGE_CHOICES, GridResult, GridView, _per_page
from dashboards.grids.registry import (
    TOOL_EDIT,
    TOOL_EXPORT,
    TOOL_MODIFY_SLA,
    TOOL_NEW,
    TOOL_RESEND_EVALUATION,
    PanelView,
    get_tab,
    get_view,
    tabs,
    views_of,
)
from dashboards.grids.tree import TreeView, node_query
from dashboards.models import GridPreference, PivotPreference

TEMPLATE = "dashboards/panel.html"

TOOL_PERMISSIONS = {
    TOOL_NEW: "tickets.tool_new",
    TOOL_EDIT: "tickets.tool_edit",
    TOOL_MODIFY_SLA: "tickets.tool_modify_sla",
    TOOL_EXPORT: "tickets.tool_export",
    TOOL_RESEND_EVALUATION: "tickets.tool_resend_evaluation",
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


def render_grid(
    request: HttpRequest,
    view: GridView,
    *,
    status: int = 200,
    extra: dict[str, Any] | None = None,
    columns: list | None = None,
) -> HttpResponse:
    columns = columns if columns is not None else view.visible_columns(request.user)
    if isinstance(view, TreeView):
        # The tree lists no page of its own: rows come per group (``render_tree``).
        result = GridResult(view, columns, *view_filterset(view, request), True, None, None)
    else:
        result = view.page(request, columns=columns)
    context = {
        **(extra or {}),
        "grid": result,
        "view": view,
        "rows": result.rows(),
        "per_page_choices": PER_PAGE_CHOICES,
        "export_allowed": request.user.has_perm(TOOL_PERMISSIONS[TOOL_EXPORT]) and TOOL_EXPORT in view.tools,
        "can_edit": TOOL_EDIT in view.tools and request.user.has_perm(TOOL_PERMISSIONS[TOOL_EDIT]),
    }
    if _is_partial(request) and request.htmx.target in ("grid", None):
        return render(request, f"{view.template}#grid", context, status=status)
    context.update(panel_context(request, view))
    context["all_columns"] = view.columns
    context["visible_keys"] = [c.key for c in columns]
    return render(request, view.template, context, status=status)


def render_tree(request: HttpRequest, view: TreeView) -> HttpResponse:
    """Processo x Subprocesso: the groups with their counts, or (``?node=``) one page of a group's rows."""
    now = timezone.now()
    columns = view.visible_columns(request.user)
    token = request.GET.get("node")
    if token is not None:
        result = view.leaves(request, columns, token, now)
        if result is None:
            return HttpResponseBadRequest(_("Grupo inválido."))
        context = {
            "grid": result,
            "view": view,
            "rows": result.rows(),
            "node": token,
            "query": node_query(request.GET),
            "can_edit": TOOL_EDIT in view.tools and request.user.has_perm(TOOL_PERMISSIONS[TOOL_EDIT]),
        }
        return render(request, f"{view.template}#leaves", context)
    return render_grid(request, view, extra={"tree": _tree_of(request, view, columns, now)}, columns=columns)


def _tree_of(request: HttpRequest, view: TreeView, columns: list, now: datetime) -> dict[str, Any]:
    qs, _filterset = view.filtered(view.base_queryset(request.user, now, columns), request.GET)
    nodes = view.tree(qs, now)
    return {"nodes": nodes, "total": sum(n.count for n in nodes), "query": node_query(request.GET)}


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


def view_filterset(view: GridView, request: HttpRequest) -> tuple[Any, Any, bool, int]:
    """``(filterset, sort column, descending, per page)`` of a grid request, without reading rows."""
    sort_column, descending = view.sort_of(request.GET)
    filterset = view.filterset_class(request.GET or None, queryset=view.rule(request.user, timezone.now()).none())
    return filterset, sort_column, descending, _per_page(request.GET.get("per_page"))


def _grid_view(tab: str, view: str) -> GridView:
    found = get_view(tab, view)
    if not isinstance(found, GridView):
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
    badges = [(tab, get_view(tab.slug, tab.count_view)) for tab in tabs() if tab.count_view]
    shown = list(views_of(get_tab(active).slug)) if active else []
    # Every number at once: a family's views share one pass over their rows.
    wanted = {view.key: view for view in [*(view for _tab, view in badges), *shown]}
    values = view_counts(list(wanted.values()), request.user, now)
    tab_counts = [(tab, values[view.key]) for tab, view in badges]
    shown_counts = [(view, values[view.key]) for view in shown if values[view.key] is not None]
    return render(request, "dashboards/_counts.html", {"tab_counts": tab_counts, "view_counts": shown_counts})


def _export(request: HttpRequest, tab: str, view: str, fmt: str) -> HttpResponse:
    grid = _grid_view(tab, view)
    if TOOL_EXPORT not in grid.tools or not request.user.has_perm(TOOL_PERMISSIONS[TOOL_EXPORT]):
        raise PermissionDenied(_("Você não tem permissão para exportar esta grade."))
    now: datetime = timezone.now()
    columns = grid.export_columns(request.user)
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


# --- pivots ("Gráfico sintético", "Informações sintéticas") ------------------------------------------


def render_pivot(
    request: HttpRequest, view: pv.PivotView, *, status: int = 200, error: str = ""
) -> HttpResponse:
    """The pivot page; ``?options=<dimension>`` answers the values a filter offers."""
    now = timezone.now()
    config = view.config_for(request.user)
    dims = view.dimension_map
    qs, form = view.base(request, now)
    if form is not None and form.is_bound and not form.is_valid():
        status = 400
    wanted = request.GET.get("options")
    if wanted is not None:
        dim = dims.get(wanted)
        if dim is None:
            return HttpResponseBadRequest(_("Dimensão desconhecida."))
        choices = pv.options(qs, dim) if qs is not None else []
        chosen = set(config.filters.get(dim.key, []))
        missing = sorted(chosen - {token for token, _name in choices})
        return render(
            request,
            f"{view.template}#options",
            {"dim": dim, "choices": choices, "chosen": chosen, "missing": missing, "searched": qs is not None},
            status=status,
        )
    table = None
    if qs is not None and status == 200:
        try:
            table = pv.aggregate(qs, config, dims, now)
        except ValidationError as exc:
            status, error = 400, exc.messages[0]
    def chips(keys: list[str]) -> list[dict[str, Any]]:
        return [{"dim": dims[k], "values": config.filters.get(k, [])} for k in keys]

    context = {
        **panel_context(request, view),
        "view": view,
        "config": config,
        "zones": [
            ("rows", _("Linhas"), [dims[k] for k in config.rows]),
            ("cols", _("Colunas"), [dims[k] for k in config.cols]),
            ("filters", _("Filtros"), [dims[k] for k in config.filters]),
        ],
        "zone_chips": [
            ("rows", _("Linhas"), chips(config.rows)),
            ("cols", _("Colunas"), chips(config.cols)),
            ("filters", _("Filtros"), chips(list(config.filters))),
        ],
        "available_chips": chips([d.key for d in view.dimensions if d.key not in config.used]),
        "measures": pv.MEASURES.items(),
        "charts": pv.CHARTS.items(),
        "form": form,
        "searched": qs is not None,
        "table": table,
        "chart": table.chart() if table is not None and not table.too_big else None,
        "error": error,
        "max_groups": pv.MAX_GROUPS,
    }
    return render(request, view.template, context, status=status)


def _pivot_view(tab: str, view: str) -> pv.PivotView:
    found = get_view(tab, view)
    if not isinstance(found, pv.PivotView):
        raise Http404
    return found


@require_http_methods(["POST"])
def pivot_save(request: HttpRequest, tab: str, view: str) -> HttpResponse:
    """Apply and remember the user's pivot ("Configurar" → "Aplicar"), or restore the default."""
    pivot = _pivot_view(tab, view)
    if request.POST.get("reset"):
        PivotPreference.objects.filter(user=request.user, view_slug=pivot.key).delete()
    else:
        try:
            config = pv.config_from_post(request.POST, pivot.dimension_map)
        except ValidationError as exc:
            return render_pivot(request, pivot, status=400, error=exc.messages[0])
        PivotPreference.objects.update_or_create(
            user=request.user, view_slug=pivot.key, defaults={"config": config.as_json()}
        )
    url = reverse("dashboards:view", kwargs={"tab": tab, "view": view})
    query = request.POST.get("query", "")
    if query and not query.startswith(("/", "http")) and "\n" not in query:
        url = f"{url}?{query}"
    return redirect(url)
