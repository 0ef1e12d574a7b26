"""The pages: home ("Meus atendimentos"), ticket detail, new and edit forms."""

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tickets import hooks, selectors, services
from tickets.documents import normalize_document
from tickets.forms import CustomerForm, TicketForm, TicketSearchForm, ticket_initial, user_label
from tickets.models import Category, CategoryMatrix, Customer, Ticket
from tickets.views import tools
from tickets.views.common import Tool, abilities, detail_url

PAGE_SIZE = 25
DETAIL_TEMPLATE = "tickets/detail.html"
EVENTS_SHOWN = 300


# --- home --------------------------------------------------------------------------------


def _search(qs: QuerySet[Ticket], term: str, status: str) -> QuerySet[Ticket]:
    if status == "open":
        qs = qs.filter(closed_at__isnull=True)
    elif status == "closed":
        qs = qs.filter(closed_at__isnull=False)
    term = term.strip()
    if term:
        q = Q(protocol__icontains=term) | Q(customer__name__icontains=term)
        if term.isdigit():
            q |= Q(code=int(term))
        doc = normalize_document(term)
        if len(doc) >= 3 and doc.isalnum() and any(c.isdigit() for c in doc):
            q |= Q(customer__document__startswith=doc)
        qs = qs.filter(q)
    # Open first (no closing time), newest first within each group.
    return qs.order_by(F("closed_at").desc(nulls_first=True), "-opened_at", "-pk")


@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    form = TicketSearchForm(request.GET or None)
    term, status = "", "all"
    if form.is_valid():
        term = form.cleaned_data["q"]
        status = form.cleaned_data["status"] or "all"
    page = Paginator(_search(selectors.ticket_list(request.user), term, status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "term": term, "status": status}
    partial = request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request
    template = "tickets/home.html#results" if partial else "tickets/home.html"
    return render(request, template, context)


# --- detail ------------------------------------------------------------------------------


@require_http_methods(["GET"])
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, DETAIL_TEMPLATE, detail_context(request, pk))


def detail_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Everything the ticket page shows, for ``request.user`` (``Http404`` when not visible)."""
    ticket = selectors.ticket_detail(request.user, pk)
    user = request.user
    watchers = list(ticket.watchers.order_by("first_name", "username"))
    can = abilities(user, ticket, watcher_ids={w.pk for w in watchers})

    toolbar: list[Tool] = []
    if can.claim:
        toolbar.append(tools.claim_tool(request, ticket))
    if can.release:
        toolbar.append(tools.release_tool(request, ticket))
    if can.work:
        toolbar += [
            tools.transfer_tool(request, ticket),
            tools.subprocess_finish_tool(request, ticket),
            tools.subprocess_start_tool(request, ticket),
            tools.forward_tool(request, ticket),
            tools.so_create_tool(request, ticket),
            tools.watch_tool(request, ticket),
            tools.finalize_tool(request, ticket),
        ]
    if can.unwatch_self:
        toolbar.append(tools.unwatch_tool(request, ticket))
    if can.reopen:
        toolbar.append(tools.reopen_tool(request, ticket))

    orders = list(ticket.service_orders.all())
    order_rows = [
        {
            "order": order,
            "edit": tools.so_edit_tool(request, ticket, order) if can.work and order.status != "completed" else None,
            "complete": tools.so_complete_tool(request, ticket, order)
            if can.work and order.status != "completed"
            else None,
        }
        for order in orders
    ]
    attachments = [
        {
            "attachment": attachment,
            "delete": tools.attachment_delete_tool(request, ticket, attachment)
            if can.delete_attachment(attachment.uploaded_by_id)
            else None,
        }
        for attachment in selectors.ticket_attachments(ticket)
    ]
    watcher_rows = [
        {
            "user": watcher,
            "remove": tools.unwatch_tool(request, ticket, watcher.pk, user_label(watcher))
            if can.work and watcher.pk != user.pk
            else None,
        }
        for watcher in watchers
    ]
    stages = list(ticket.stages.select_related("subprocess").order_by("started_at", "id"))
    context: dict[str, Any] = {
        "ticket": ticket,
        "can": can,
        "toolbar": toolbar,
        "modal_tools": [t for t in toolbar if not t.button_only],
        "stages": stages,
        "order_rows": order_rows,
        "attachments": attachments,
        "comments": list(ticket.comments.select_related("author")),
        "events": list(selectors.ticket_events(ticket)[:EVENTS_SHOWN]),
        "watcher_rows": watcher_rows,
        "comment_tool": tools.comment_tool(request, ticket) if can.comment else None,
        "attach_tool": tools.attach_tool(request, ticket) if can.comment else None,
    }
    for extra in hooks.detail_context:
        context.update(extra(request=request, ticket=ticket, stages=stages))
    return context


# The parts of the ticket page a live update re-renders (partials of detail.html).
LIVE_REGIONS = ("head", "facts", "stages", "orders", "comments", "attachments", "watchers", "timeline", "modals")
_FIRST_TAG = re.compile(r"^\s*<([a-zA-Z]+)")


def _oob(html: str) -> str:
    return _FIRST_TAG.sub(lambda m: f'<{m.group(1)} hx-swap-oob="true"', html.strip(), count=1)


def live_regions(user: Any, ticket_id: int, csrf_secret: str = "") -> dict[str, str]:
    """The live regions of ticket ``ticket_id`` as ``user`` sees them now: region → out-of-band HTML.

    Rendered with the same partials as the page. ``csrf_secret`` is the
    browser's CSRF cookie, so the forms in the fragments stay valid for it.
    Raises ``Http404`` when the user may no longer see the ticket.
    """
    request = HttpRequest()
    request.method = "GET"
    request.user = user
    request.path = request.path_info = reverse("tickets:detail", args=[ticket_id])
    request.META["SERVER_NAME"], request.META["SERVER_PORT"] = "localhost", "80"
    if csrf_secret:
        request.META["CSRF_COOKIE"] = csrf_secret
    request.htmx = False
    context = detail_context(request, ticket_id)
    regions = {name: _oob(render_to_string(f"{DETAIL_TEMPLATE}#{name}", context, request=request)) for name in LIVE_REGIONS}
    sla = context.get("sla")
    if sla and getattr(sla, "get", None) and sla.get("template"):
        regions["sla"] = _oob(render_to_string(f"{sla['template']}#box", context, request=request))
    return regions


# --- new and edit ------------------------------------------------------------------------


def category_cascade(selected: Category | None) -> list[dict[str, Any]]:
    """The cascade of selects from the root to ``selected`` (and its children, if any)."""
    path: list[Category] = []
    node = selected
    while node is not None and len(path) < 5:
        path.insert(0, node)
        node = node.parent
    levels: list[dict[str, Any]] = []
    parent_id: int | None = None
    for depth in range(len(path) + 1):
        options = list(selectors.category_children(parent_id))
        if not options:
            break
        chosen = path[depth] if depth < len(path) else None
        levels.append({"level": depth + 1, "options": options, "selected": chosen.pk if chosen else None})
        if chosen is None:
            break
        parent_id = chosen.pk
    return levels


def matrices_of(category: Category | None) -> list[CategoryMatrix]:
    if category is None:
        return []
    return list(
        CategoryMatrix.objects.filter(category=category, active=True).select_related("request_type", "catalog_item")
    )


def _chosen_category(request: HttpRequest, form: TicketForm) -> Category | None:
    """The deepest category chosen: from the posted cascade, else the matrix's."""
    if request.method == "POST":
        for raw in reversed(request.POST.getlist("parent")):
            if raw.isdigit():
                category = Category.objects.filter(pk=int(raw), active=True).first()
                if category is not None:
                    return category
    matrix = form.selected_matrix()
    return matrix.category if matrix is not None else None


def _render_ticket_form(
    request: HttpRequest,
    form: TicketForm,
    *,
    ticket: Ticket | None = None,
    customer_form: CustomerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    category = _chosen_category(request, form)
    matrix = form.selected_matrix()
    cascade = category_cascade(category)
    context = {
        "form": form,
        "ticket": ticket,
        "customer_form": customer_form or CustomerForm(),
        "selected_customer": form.selected_customer(),
        "cascade": cascade,
        # Empty containers for the deeper levels (6 is a sink for the level-5 select).
        "cascade_empty": range(len(cascade) + 1, 7),
        "category_chosen": category is not None,
        "matrices": matrices_of(category),
        "selected_matrix_id": matrix.pk if matrix else None,
        "can_create_customer": request.user.has_perm("tickets.tool_new"),
    }
    return render(request, "tickets/ticket_form.html", context, status=status)


def _customer_initial(request: HttpRequest) -> dict[str, Any]:
    raw = request.GET.get("customer", "")
    customer = Customer.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if customer is None:
        return {}
    initial: dict[str, Any] = {"customer": customer}
    for name in Ticket.ADDRESS_FIELDS:
        initial[name] = getattr(customer, name)
    return initial


@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("tickets.tool_new"):
        raise PermissionDenied(_("Você não tem permissão para abrir atendimentos."))
    if request.method != "POST":
        form = TicketForm(user=request.user, initial=_customer_initial(request))
        return _render_ticket_form(request, form)
    form = TicketForm(request.POST, user=request.user)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_open(
                actor=request.user,
                customer=data["customer"],
                company=data["company"],
                team=data["team"],
                process=data["process"],
                origin=data["origin"],
                customer_report=data["customer_report"],
                category_matrix=data["category_matrix"],
                opening_classification=data["opening_classification"],
                address=form.address(),
                opening_comment=data["opening_comment"],
            )
        except ValidationError as exc:
            form.add_validation_error(exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(
                request, _("Atendimento %(code)s aberto (protocolo %(protocol)s).")
                % {"code": ticket.code, "protocol": ticket.protocol},
            )
            return redirect(detail_url(ticket))
    return _render_ticket_form(request, form, status=status)


@require_http_methods(["GET", "POST"])
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = selectors.ticket_detail(request.user, pk)
    if not request.user.has_perm("tickets.tool_edit"):
        raise PermissionDenied(_("Você não tem permissão para editar atendimentos."))
    if request.method != "POST":
        form = TicketForm(user=request.user, editing=True, initial=ticket_initial(ticket))
        return _render_ticket_form(request, form, ticket=ticket)
    form = TicketForm(request.POST, user=request.user, editing=True, initial=ticket_initial(ticket))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        changes = {
            name: data[name]
            for name in (
                "customer", "company", "origin", "category_matrix", "opening_classification", "customer_report",
                *Ticket.ADDRESS_FIELDS,
            )
        }
        try:
            services.ticket_edit(actor=request.user, ticket=ticket, changes=changes)
        except ValidationError as exc:
            form.add_validation_error(exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(request, _("Atendimento %(code)s alterado.") % {"code": ticket.code})
            return redirect(detail_url(ticket))
    return _render_ticket_form(request, form, ticket=ticket, status=status)
