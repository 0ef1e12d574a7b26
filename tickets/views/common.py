"""Shared pieces of the ticket views: the tools of the detail page and how a tool answers.

Which tools a page *shows* mirrors the rules of ``tickets.services`` so nobody
is offered a button that can only fail; the operations still enforce every
rule, and their ``ValidationError``/``PermissionDenied`` become 400/403 here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from tickets.forms import StyledForm
from tickets.models import Ticket
from tickets.selectors import user_team_ids
from tickets.services import supervises

DETAIL_TEMPLATE = "tickets/detail.html"
TOOL_PAGE_TEMPLATE = "tickets/tool_page.html"


@dataclass
class Tool:
    """One tool of the detail page: its button, its form and where the form posts."""

    name: str
    title: str
    icon: str
    action: str
    form: StyledForm
    submit_label: str
    style: str = "outline-primary"
    multipart: bool = False
    # Button-only tools post a form without visible fields (hidden ones allowed).
    button_only: bool = False
    confirm: str = ""
    help_text: str = ""
    # Shown inside a card of the page rather than in a modal.
    inline: bool = False
    # Text of the button that opens the tool, when shorter than its title.
    button_label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dom_id(self) -> str:
        return f"tool-{self.name}"


@dataclass(frozen=True)
class Abilities:
    """What ``user`` may do with ``ticket`` right now (display only)."""

    is_open: bool
    worker: bool
    member: bool
    supervisor: bool
    can_edit_perm: bool
    user_id: int
    watching: bool
    closed_by_me: bool
    assigned_to_me: bool
    assigned: bool

    @property
    def claim(self) -> bool:
        return self.is_open and not self.assigned and self.member

    @property
    def release(self) -> bool:
        return self.is_open and self.assigned and self.worker

    @property
    def work(self) -> bool:
        """Workflow changes: transfer, subprocesses, forward, service orders, finalize, watchers."""
        return self.is_open and self.worker

    @property
    def comment(self) -> bool:
        return self.is_open

    @property
    def unwatch_self(self) -> bool:
        return self.is_open and self.watching

    @property
    def edit(self) -> bool:
        return self.is_open and self.can_edit_perm

    @property
    def reopen(self) -> bool:
        return (
            not self.is_open
            and self.can_edit_perm
            and (self.closed_by_me or self.assigned_to_me or self.supervisor)
        )

    def delete_attachment(self, uploaded_by_id: int) -> bool:
        return self.is_open and (uploaded_by_id == self.user_id or self.supervisor)


def abilities(user: AbstractBaseUser, ticket: Ticket, *, watcher_ids: set[int]) -> Abilities:
    supervisor = supervises(user, ticket.team_id)
    return Abilities(
        is_open=ticket.closed_at is None,
        worker=ticket.assignee_id == user.pk or supervisor,
        member=supervisor or ticket.team_id in user_team_ids(user),
        supervisor=supervisor,
        can_edit_perm=user.has_perm("tickets.tool_edit"),
        user_id=user.pk,
        watching=user.pk in watcher_ids,
        closed_by_me=ticket.closed_by_id == user.pk,
        assigned_to_me=ticket.assignee_id == user.pk,
        assigned=ticket.assignee_id is not None,
    )


def detail_url(ticket: Ticket) -> str:
    return reverse("tickets:detail", args=[ticket.pk])


def _success(request: HttpRequest, message: str, url: str) -> HttpResponse:
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def tool_error(request: HttpRequest, ticket: Ticket, tool: Tool, status: int) -> HttpResponse:
    """Re-render the tool with its errors: the form in place, or an alert for a button."""
    context = {"ticket": ticket, "tool": tool, "form": tool.form}
    if request.htmx:
        if tool.button_only:
            response = render(request, f"{DETAIL_TEMPLATE}#tool_alert", context, status=status)
            response["HX-Retarget"] = "#ticket-alerts"
            response["HX-Reswap"] = "innerHTML"
            return response
        return render(request, f"{DETAIL_TEMPLATE}#tool_form", context, status=status)
    return render(request, TOOL_PAGE_TEMPLATE, context, status=status)


def run_tool(
    request: HttpRequest,
    ticket: Ticket,
    tool: Tool,
    operation: Callable[[dict[str, Any]], str],
    *,
    success_url: str | Callable[[], str] | None = None,
) -> HttpResponse:
    """GET: the tool on a page of its own (no-JS fallback). POST: run the operation.

    ``operation`` gets the form's cleaned data and returns the success message.
    """
    if request.method != "POST":
        return render(request, TOOL_PAGE_TEMPLATE, {"ticket": ticket, "tool": tool, "form": tool.form})
    form = tool.form
    if not form.is_valid():
        return tool_error(request, ticket, tool, 400)
    try:
        message = operation(form.cleaned_data)
    except ValidationError as exc:
        form.add_validation_error(exc)
        return tool_error(request, ticket, tool, 400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("Você não tem permissão para esta ação."))
        return tool_error(request, ticket, tool, 403)
    url = success_url() if callable(success_url) else success_url or detail_url(ticket)
    return _success(request, message, url)


def bind(request: HttpRequest) -> dict[str, Any]:
    """Form arguments: bound to the POST (and files) on a POST, unbound otherwise."""
    if request.method == "POST":
        return {"data": request.POST, "files": request.FILES}
    return {}


def form_kwargs(request: HttpRequest, name: str, **extra: Any) -> dict[str, Any]:
    return {**bind(request), "auto_id": f"id_{name}_%s", **extra}

