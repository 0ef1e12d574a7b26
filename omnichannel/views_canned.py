"""Mensagens pré-salvas: the page that lists and edits them, and the "/" suggestions of the composer.

Typed function views: parse the form, find the row the user may see (404
otherwise), call ``omnichannel.canned``, render. Agents and supervisors of the
omnichannel workspace use them; anyone else gets 403.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omnichannel import canned
from omnichannel.canned_forms import CannedFilterForm, CannedForm
from omnichannel.forms import apply_service_errors as _apply_errors
from omnichannel.models import CannedResponse
from omnichannel.views_live import can_use_workspace

LIST = "omnichannel/canned/list.html"
FORM = "omnichannel/canned/form.html"
SUGGESTIONS = "omnichannel/canned/_suggestions.html"
PER_PAGE = 25
QUERY_MAX = 80


def _require_workspace(user: AbstractBaseUser) -> None:
    if not can_use_workspace(user):
        raise PermissionDenied(_("Você não é agente omnichannel nem supervisor."))


def _get_canned_for_user(user: AbstractBaseUser, pk: int) -> CannedResponse:
    """A canned response the user sees (own or public), else 404; one they may not edit, 403."""
    row = canned.visible_canned_or_none(user, pk)
    if row is None:
        raise Http404
    if not canned.can_edit(user, row):
        raise PermissionDenied(_("Só supervisores alteram as mensagens pré-salvas públicas."))
    return row


@require_GET
def canned_list(request: HttpRequest) -> HttpResponse:
    """Mensagens pré-salvas: mine and the public ones, by category, type and search."""
    _require_workspace(request.user)
    filters = CannedFilterForm(request.GET or None)
    status = 200
    rows = canned.canned_list(request.user)
    if filters.is_bound:
        if filters.is_valid():
            rows = canned.canned_list(
                request.user,
                category=filters.cleaned_data["category"],
                search=filters.cleaned_data["q"],
                scope=filters.cleaned_data["scope"],
            )
        else:
            status = 400
            rows = rows.none()
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    items = [{"canned": row, "editable": canned.can_edit(request.user, row)} for row in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "filters": filters,
        "page": page,
        "items": items,
        "query": query.urlencode(),
        "can_write_public": canned.can_write_public(request.user),
    }
    return render(request, LIST, context, status=status)


def _form_page(request: HttpRequest, form: CannedForm, row: CannedResponse | None, status: int = 200) -> HttpResponse:
    return render(request, FORM, {"form": form, "canned": row}, status=status)


@require_http_methods(["GET", "POST"])
def canned_create(request: HttpRequest) -> HttpResponse:
    """Adicionar nova mensagem de texto pré-salva."""
    _require_workspace(request.user)
    if request.method == "GET":
        return _form_page(request, CannedForm(user=request.user), None)
    form = CannedForm(request.POST, user=request.user)
    if not form.is_valid():
        return _form_page(request, form, None, 400)
    data = form.cleaned_data
    try:
        canned.canned_create(
            request.user,
            category=data["category"],
            shortcut=data["shortcut"],
            title=data["title"],
            body=data["body"],
            public=bool(data.get("public")),
        )
    except (ValidationError, PermissionDenied) as exc:
        _apply_errors(form, exc)
        return _form_page(request, form, None, 403 if isinstance(exc, PermissionDenied) else 400)
    messages.success(request, _("Mensagem pré-salva criada."))
    return redirect("omnichannel:canned_list")


@require_http_methods(["GET", "POST"])
def canned_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Editar uma mensagem pré-salva (as próprias; as públicas, só supervisores)."""
    _require_workspace(request.user)
    row = _get_canned_for_user(request.user, pk)
    if request.method == "GET":
        initial = {
            "category": row.category_id,
            "shortcut": row.shortcut,
            "title": row.title,
            "body": row.body,
            "public": row.owner_id is None,
        }
        return _form_page(request, CannedForm(initial=initial, user=request.user), row)
    form = CannedForm(request.POST, user=request.user)
    if not form.is_valid():
        return _form_page(request, form, row, 400)
    data = form.cleaned_data
    try:
        canned.canned_update(
            request.user,
            canned=row,
            category=data["category"],
            shortcut=data["shortcut"],
            title=data["title"],
            body=data["body"],
            public=data["public"] if "public" in form.fields else None,
        )
    except (ValidationError, PermissionDenied) as exc:
        _apply_errors(form, exc)
        return _form_page(request, form, row, 403 if isinstance(exc, PermissionDenied) else 400)
    messages.success(request, _("Mensagem pré-salva alterada."))
    return redirect("omnichannel:canned_list")


@require_POST
def canned_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Excluir uma mensagem pré-salva."""
    _require_workspace(request.user)
    row = _get_canned_for_user(request.user, pk)
    canned.canned_delete(request.user, canned=row)
    messages.success(request, _("Mensagem pré-salva excluída."))
    return redirect("omnichannel:canned_list")


@require_GET
def canned_suggestions(request: HttpRequest) -> HttpResponse:
    """The "/" popup of the message box: an HTML fragment (a listbox) of what matches ``q``."""
    _require_workspace(request.user)
    query = request.GET.get("q", "")
    if len(query) > QUERY_MAX:
        return HttpResponse(_("Busca longa demais."), status=400, content_type="text/plain; charset=utf-8")
    rows = list(canned.canned_for(request.user, query)[: canned.SUGGESTIONS_SHOWN])
    response = render(request, SUGGESTIONS, {"rows": rows, "query": canned.normalize_shortcut(query)})
    response["Cache-Control"] = "private, no-store"
    return response
