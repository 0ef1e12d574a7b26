"""The agent's omnichannel screens: the presence control of the top bar and the workspace.

Typed function views: parse the form, ``access_conversation``, call the
operation, render. An htmx error answers 400/403 with the form and its pt-BR
message, swapped in place; a success re-renders the part that changed (the
conversation pane, the presence control). Live changes reach the other tabs
and the other people through ``omnichannel.consumers``.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from omnichannel import forms, services
from omnichannel.forms import apply_service_errors as _apply_errors
from omnichannel.models import Conversation, MessageAttachment
from omnichannel.views_live import (
    PRESENCE,
    WORKSPACE,
    access_conversation,
    agents_context,
    can_use_workspace,
    composer_context,
    is_omni_agent,
    list_context,
    pane_context,
    presence_context,
    send_composer_message,
)


def _status(exc: Exception | None) -> int:
    return 403 if isinstance(exc, PermissionDenied) else 400


def _require_workspace(user: AbstractBaseUser) -> None:
    if not can_use_workspace(user):
        raise PermissionDenied(_("Você não é agente omnichannel nem supervisor."))


# --- presence (top bar) --------------------------------------------------------------------------


def _presence_response(request: HttpRequest, *, error_form: Form | None = None, status: int = 200) -> HttpResponse:
    context = {**presence_context(request.user), "presence_error_form": error_form}
    if not request.htmx:
        back = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure())
        return redirect(back if back and safe else "omnichannel:workspace")
    response = HttpResponse(render_to_string(f"{PRESENCE}#bar", context, request=request), status=status)
    return reswap(retarget(response, "#omni-presence"), "outerHTML")


def _require_agent(user: AbstractBaseUser) -> None:
    if not is_omni_agent(user):
        raise PermissionDenied(_("Você não está atribuído a nenhuma fila omnichannel."))


@require_POST
def presence_state(request: HttpRequest) -> HttpResponse:
    """Alterar/Encerrar Omnichannel: Online (Aguardando), Ausente (Pausado, with a reason), Offline."""
    _require_agent(request.user)
    form = forms.PresenceForm(request.POST)
    if form.is_valid():
        try:
            services.agent_set_state(
                actor=request.user,
                agent=request.user,
                state=form.cleaned_data["state"],
                pause_reason=form.cleaned_data["pause_reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _presence_response(request, error_form=form, status=_status(exc))
        return _presence_response(request)
    return _presence_response(request, error_form=form, status=400)


@require_POST
def presence_queues(request: HttpRequest) -> HttpResponse:
    """Efetuar login em filas / sair: every assigned queue, or one."""
    _require_agent(request.user)
    form = forms.QueueLoginForm(request.POST, agent=request.user)
    if form.is_valid():
        queue = form.cleaned_data["queue"]
        queues = [queue] if queue else None
        operation = services.agent_queue_login if form.cleaned_data["action"] == "login" else services.agent_queue_logout
        try:
            operation(actor=request.user, agent=request.user, queues=queues)
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _presence_response(request, error_form=form, status=_status(exc))
        return _presence_response(request)
    return _presence_response(request, error_form=form, status=400)


@require_POST
def wrap_up_finish(request: HttpRequest) -> HttpResponse:
    """Concluir pós-atendimento."""
    _require_agent(request.user)
    form = Form(request.POST)
    try:
        services.agent_wrap_up_finish(actor=request.user, agent=request.user)
    except (ValidationError, PermissionDenied) as exc:
        _apply_errors(form, exc)
        return _presence_response(request, error_form=form, status=_status(exc))
    if request.htmx and request.POST.get("from") == "workspace":
        html = render_to_string(f"{WORKSPACE}#wrap_up", presence_context(request.user), request=request)
        return reswap(retarget(HttpResponse(html), "#omni-wrap-up"), "outerHTML")
    return _presence_response(request)


# --- the workspace -----------------------------------------------------------------------------------


@require_GET
def workspace(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Atendimento omnichannel: my conversations, the open one, the customer's panel."""
    _require_workspace(request.user)
    conversation = access_conversation(request.user, pk) if pk is not None else None
    if conversation is not None:
        services.conversation_mark_read(actor=request.user, conversation=conversation)
    context: dict[str, Any] = {
        **list_context(request.user, conversation.pk if conversation else None),
        **presence_context(request.user),
        "pane": pane_context(request.user, conversation) if conversation else None,
    }
    if conversation is not None and request.htmx and not request.htmx.history_restore_request:
        html = render_to_string(f"{WORKSPACE}#pane", context, request=request)
        html += _sidebar_oob(request, conversation.pk)
        return HttpResponse(html)
    context["my_indicators"] = _my_indicators(request.user)
    context.update(agents_context(request.user))  # a supervisor's "Agentes" card
    return render(request, WORKSPACE, context)


def _my_indicators(user: AbstractBaseUser) -> dict[str, Any] | None:
    """The agent's own indicators (000 "Dashboard Atendente"): "Média de avaliação
    omnichannel" over the last 30 days (SAC Plus) and "Ligações recebidas" today."""
    if not is_omni_agent(user):
        return None
    from datetime import timedelta

    from django.utils import timezone

    from omnichannel.evaluations import omnichannel_average
    from omnichannel.voice import received_calls_count

    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "rating": omnichannel_average(user, now - timedelta(days=30), now),
        "calls_today": received_calls_count(agent=user, start=today, end=now),
    }


def _sidebar_oob(request: HttpRequest, active_id: int | None) -> str:
    html = render_to_string(f"{WORKSPACE}#sidebar", list_context(request.user, active_id), request=request).strip()
    return html.replace(">", ' hx-swap-oob="outerHTML">', 1)


def _pane_response(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    """After an action: the pane again (as the user may now see it) and the list."""
    if not request.htmx:
        return redirect("omnichannel:conversation", pk=conversation.pk)
    conversation = Conversation.objects.select_related(
        "queue", "customer", "agent", "reserved_for", "contact_reason", "ticket"
    ).get(pk=conversation.pk)
    context = {"pane": pane_context(request.user, conversation), **presence_context(request.user)}
    html = render_to_string(f"{WORKSPACE}#pane", context, request=request)
    html += _sidebar_oob(request, conversation.pk)
    wrap_up = render_to_string(f"{WORKSPACE}#wrap_up", context, request=request).strip()
    html += wrap_up.replace(">", ' hx-swap-oob="outerHTML">', 1)
    return reswap(retarget(HttpResponse(html), "#omni-pane"), "outerHTML")


def _form_error(request: HttpRequest, partial: str, conversation: Conversation, form: Form, status: int) -> HttpResponse:
    context = {"pane": {**pane_context(request.user, conversation), partial.removesuffix("_block") + "_form": form}}
    if partial == "composer":
        context["pane"]["message_form"] = form
    return render(request, f"{WORKSPACE}#{partial}", context, status=status)


@require_POST
def conversation_send(request: HttpRequest, pk: int) -> HttpResponse:
    """A reply to the customer (text and/or files), or an internal note (staff only, text only)."""
    conversation = access_conversation(request.user, pk, related=())
    form = forms.MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message = send_composer_message(request.user, conversation, form, request.FILES.getlist("files"))
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _form_error(request, "composer", conversation, form, _status(exc))
        if not request.htmx:
            return redirect("omnichannel:conversation", pk=conversation.pk)
        context = {
            "pane": {
                **composer_context(request.user, conversation),
                "message_form": forms.MessageForm(initial={"note": form.cleaned_data["note"]}),
            }
        }
        html = render_to_string(f"{WORKSPACE}#composer", context, request=request)
        if message.account_id is not None:
            # A provider's message: its delivery state may have moved on (the sender runs after commit).
            message.refresh_from_db(fields=["state", "state_changed_at", "error", "external_id"])
        if not request.FILES:  # known to have no files: the partial need not ask the database
            message._prefetched_objects_cache = {"attachments": MessageAttachment.objects.none()}
        item = render_to_string(f"{WORKSPACE}#message", {"message": message}, request=request)
        html += f'<div id="omni-messages-{conversation.pk}" hx-swap-oob="beforeend">{item}</div>'
        return HttpResponse(html)
    return _form_error(request, "composer", conversation, form, 400)


@require_POST
def conversation_finish(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolver: qualificação + notas do atendimento; the agent enters wrap-up."""
    conversation = access_conversation(request.user, pk)
    form = forms.FinishForm(request.POST, conversation=conversation)
    if form.is_valid():
        try:
            services.conversation_finish(
                actor=request.user,
                conversation=conversation,
                contact_reason=form.cleaned_data["contact_reason"],
                notes=form.cleaned_data["notes"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _form_error(request, "finish_block", conversation, form, _status(exc))
        return _pane_response(request, conversation)
    return _form_error(request, "finish_block", conversation, form, 400)


@require_POST
def conversation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = access_conversation(request.user, pk)
    form = forms.CancelForm(request.POST)
    if form.is_valid():
        try:
            services.conversation_cancel(actor=request.user, conversation=conversation, notes=form.cleaned_data["notes"])
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _form_error(request, "cancel_block", conversation, form, _status(exc))
        return _pane_response(request, conversation)
    return _form_error(request, "cancel_block", conversation, form, 400)


@require_POST
def conversation_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Transferir para agente ou fila, com observação."""
    conversation = access_conversation(request.user, pk)
    form = forms.TransferForm(request.POST, conversation=conversation)
    if form.is_valid():
        try:
            services.conversation_transfer(
                actor=request.user,
                conversation=conversation,
                to_agent=form.cleaned_data["to_agent"],
                to_queue=form.cleaned_data["to_queue"],
                note=form.cleaned_data["note"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _form_error(request, "transfer_block", conversation, form, _status(exc))
        return _after_handover(request, conversation)
    return _form_error(request, "transfer_block", conversation, form, 400)


def _after_handover(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    """The conversation left the user: back to the workspace unless they may still see it."""
    try:
        access_conversation(request.user, conversation.pk)
    except Http404:  # no longer theirs
        if request.htmx:
            context = {**list_context(request.user, None), **presence_context(request.user), "pane": None}
            html = render_to_string(f"{WORKSPACE}#pane", context, request=request)
            html += _sidebar_oob(request, None)
            response = reswap(retarget(HttpResponse(html), "#omni-pane"), "outerHTML")
            response["HX-Push-Url"] = reverse("omnichannel:workspace")
            return response
        return redirect("omnichannel:workspace")
    return _pane_response(request, conversation)


@require_POST
def conversation_return(request: HttpRequest, pk: int) -> HttpResponse:
    """Retornar para grupo do serviço (the agent unassigns; a supervisor takes an allocation back)."""
    conversation = access_conversation(request.user, pk)
    form = Form(request.POST)
    try:
        services.conversation_return_to_queue(actor=request.user, conversation=conversation)
    except (ValidationError, PermissionDenied) as exc:
        _apply_errors(form, exc)
        return _form_error(request, "return_block", conversation, form, _status(exc))
    return _after_handover(request, conversation)


@require_POST
def conversation_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    """Alocar responsável (supervisor): a queued conversation kept for a named agent."""
    conversation = access_conversation(request.user, pk)
    form = forms.AllocateForm(request.POST, conversation=conversation)
    if form.is_valid():
        try:
            services.conversation_allocate(actor=request.user, conversation=conversation, agent=form.cleaned_data["agent"])
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            return _form_error(request, "allocate_block", conversation, form, _status(exc))
        return _pane_response(request, conversation)
    return _form_error(request, "allocate_block", conversation, form, 400)

