"""Small endpoints behind the forms: customer search and creation, category cascade, downloads."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tickets import selectors, services
from tickets.forms import CustomerForm, TicketForm
from tickets.models import Category
from tickets.views.pages import matrices_of

FORM_TEMPLATE = "tickets/ticket_form.html"


@require_GET
def customer_search(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()[:100]
    customers = list(selectors.customer_search(term))
    return render(request, f"{FORM_TEMPLATE}#customer_results", {"customers": customers, "term": term})


@require_POST
def customer_create(request: HttpRequest) -> HttpResponse:
    """"Cadastrar novo cliente": htmx swaps the sub-form; without JS, back to the new-ticket form."""
    form = CustomerForm(request.POST)
    status = 400
    created = None
    if form.is_valid():
        try:
            created = services.customer_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_validation_error(exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
    if created is not None:
        if not request.htmx:
            return redirect(f"{reverse('tickets:new')}?customer={created.pk}")
        context = {"customer_form": CustomerForm(), "created": created, "can_create_customer": True}
        return render(request, f"{FORM_TEMPLATE}#new_customer", context)
    if request.htmx:
        return render(
            request, f"{FORM_TEMPLATE}#new_customer",
            {"customer_form": form, "can_create_customer": True, "open": True}, status=status,
        )
    # Without JS: show the new-ticket page again, the sub-form open with its errors.
    from tickets.views.pages import _render_ticket_form

    ticket_form = TicketForm(user=request.user)
    return _render_ticket_form(request, ticket_form, customer_form=form, status=status)


@require_GET
def category_children(request: HttpRequest) -> HttpResponse:
    """The next select of the cascade for ``?parent=<id>`` plus that category's matrices."""
    raw = request.GET.get("parent", "")
    parent = None
    if raw:
        if not raw.isdigit():
            raise Http404
        parent = Category.objects.filter(pk=int(raw), active=True).first()
        if parent is None:
            raise Http404
    children = list(selectors.category_children(parent.pk)) if parent is not None else []
    # The level of the select that changed: its next level is replaced, deeper ones cleared.
    from_level = parent.level if parent is not None else (_level_param(request) or 1)
    context = {
        "parent": parent,
        "children": children,
        "next_level": {"level": from_level + 1, "options": children, "selected": None},
        "cleared_levels": range(from_level + 2, 7),
        "category_chosen": parent is not None,
        "matrices": matrices_of(parent),
        "selected_matrix_id": None,
    }
    return render(request, f"{FORM_TEMPLATE}#category_children", context)


def _level_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("level", "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 5 else None


@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = selectors.access_attachment(request.user, pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    services.attachment_download_record(actor=request.user, attachment=attachment)
    return FileResponse(handle, as_attachment=True, filename=attachment.original_name)

