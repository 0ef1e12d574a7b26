"""Filtro de e-mail: the supervisor's screen of e-mails waiting to be accepted into a queue.

Typed function views: parse the request, call ``omnichannel.email_filter``, render. The list
is one template with a ``panel`` partial: htmx requests (Atualizar, Aceitar, Excluir) get
just the panel; plain requests the page (or a redirect after a POST). Supervisors and admins
only (403 for anyone else); the operations check each conversation's queue again.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from omnichannel import email_filter
from omnichannel.models import ConversationStatus, MessageKind, Queue

LIST = "omnichannel/email_filter/list.html"
DETAIL = "omnichannel/email_filter/detail.html"
COUNT = "omnichannel/email_filter/_count.html"
# "Qtd E-mail(s)": how many of the oldest waiting e-mails the list shows.
QUANTITIES = (10, 25, 50, 100, 200)
DEFAULT_QUANTITY = 50


def _require_supervisor(request: HttpRequest) -> None:
    if not email_filter.may_use_filter(request.user):
        raise PermissionDenied(_("Só supervisores usam o filtro de e-mail."))


def _queue_param(request: HttpRequest, queues, name: str) -> tuple[Queue | None, str]:
    """The chosen queue among ``queues`` (an id the user may not use is an error, not ignored)."""
    value = (request.POST if request.method == "POST" else request.GET).get(name, "").strip()
    if not value:
        return None, ""
    chosen = next((q for q in queues if str(q.pk) == value), None)
    if chosen is None:
        return None, _("Fila inválida.")
    return chosen, ""


def _quantity(request: HttpRequest) -> int:
    value = (request.POST if request.method == "POST" else request.GET).get("qtd", "")
    return int(value) if value.isdigit() and int(value) in QUANTITIES else DEFAULT_QUANTITY


def _list_url(queue: Queue | None, quantity: int) -> str:
    query = {"qtd": quantity, **({"fila": queue.pk} if queue else {})}
    return reverse("omnichannel:email_filter") + "?" + urlencode(query)


def _context(request: HttpRequest, *, queue: Queue | None, notice: str = "", level: str = "success") -> dict[str, Any]:
    queues = list(email_filter.target_queues(request.user))
    rows = email_filter.pending_filter(request.user, queue=queue)
    total = rows.count()
    quantity = _quantity(request)
    return {
        # htmx answers also refresh the side menu's badge (out-of-band swap).
        "pending_all": email_filter.pending_count(request.user) if request.htmx else None,
        "rows": list(rows[:quantity]),
        "total": total,
        "shown": min(total, quantity),
        "quantity": quantity,
        "quantities": QUANTITIES,
        "queues": queues,
        "selected_queue": queue,
        "notice": notice,
        "notice_level": level,
        "list_url": _list_url(queue, quantity),
    }


@require_GET
def filter_list(request: HttpRequest) -> HttpResponse:
    _require_supervisor(request)
    queues = list(email_filter.target_queues(request.user))
    queue, error = _queue_param(request, queues, "fila")
    context = _context(request, queue=queue, notice=error, level="danger")
    template = f"{LIST}#panel" if request.htmx else LIST
    return render(request, template, context, status=400 if error else 200)


def _act(request: HttpRequest, action: str) -> HttpResponse:
    _require_supervisor(request)
    queues = list(email_filter.target_queues(request.user))
    shown_queue, _error = _queue_param(request, queues, "fila")
    ids = request.POST.getlist("ids")
    status, level = 200, "success"
    try:
        if action == "accept":
            target, error = _queue_param(request, queues, "destino")
            if error:
                raise ValidationError({"queue": error})
            done = email_filter.filter_accept(actor=request.user, conversation_ids=ids, queue=target)
            notice = ngettext(
                "%(n)s e-mail aceito na fila.", "%(n)s e-mails aceitos na fila.", len(done)
            ) % {"n": len(done)}
        else:
            done = email_filter.filter_delete(actor=request.user, conversation_ids=ids)
            notice = ngettext("%(n)s e-mail excluído.", "%(n)s e-mails excluídos.", len(done)) % {"n": len(done)}
    except ValidationError as exc:
        notice, level, status = " ".join(exc.messages), "danger", 400
    except PermissionDenied as exc:
        notice, level, status = str(exc) or _("Você não tem permissão para esta ação."), "danger", 403
    if request.htmx:
        return render(request, f"{LIST}#panel", _context(request, queue=shown_queue, notice=notice, level=level),
                      status=status)
    (messages.success if status == 200 else messages.error)(request, notice)
    return redirect(_list_url(shown_queue, _quantity(request)))


@require_POST
def filter_accept(request: HttpRequest) -> HttpResponse:
    return _act(request, "accept")


@require_POST
def filter_delete(request: HttpRequest) -> HttpResponse:
    return _act(request, "delete")


@require_GET
def filter_count(request: HttpRequest) -> HttpResponse:
    """The menu's badge alone (pages render it with themselves; this answers a refresh)."""
    if not email_filter.may_use_filter(request.user):
        return HttpResponse(status=204)
    return render(request, COUNT, {"pending": email_filter.pending_count(request.user)})


@require_GET
def filter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One e-mail of the filter: subject, sender, date, text (escaped) and its files."""
    _require_supervisor(request)
    conversation = email_filter.visible_conversation(request.user, pk)
    if conversation is None:
        raise Http404
    emails = list(
        conversation.messages.filter(kind=MessageKind.CUSTOMER).prefetch_related("attachments").order_by("created_at", "id")
    )
    context = {
        "conversation": conversation,
        "emails": emails,
        "in_filter": conversation.status == ConversationStatus.IN_FILTER,
        "queues": list(email_filter.target_queues(request.user)),
    }
    return render(request, DETAIL, context)
