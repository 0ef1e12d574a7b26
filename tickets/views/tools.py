"""The tools of the detail page: one small view each, all calling an operation.

Every view loads the ticket through ``access_ticket`` (404 for a ticket the
user may not see) and hands the operation to ``run_tool``, which turns its
errors into 400/403 responses and its success into a redirect.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tickets import services
from tickets.forms import (
    AttachmentForm,
    CommentForm,
    EmptyForm,
    FinalizeForm,
    ForwardForm,
    ReopenForm,
    ServiceOrderEditForm,
    ServiceOrderForm,
    SubprocessStartForm,
    TransferForm,
    UnwatchForm,
    WatcherForm,
    user_label,
)
from tickets.models import Attachment, ServiceOrder, Ticket
from tickets.selectors import access_attachment, access_ticket, can_see_ticket
from tickets.views.common import Tool, detail_url, form_kwargs, run_tool

GET_POST = ["GET", "POST"]


# --- builders: the same Tool serves the detail page (unbound) and the tool's view (bound) ---


def claim_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="claim", title=_("Resgatar"), icon="bi-hand-index", style="primary", button_only=True,
        action=reverse("tickets:claim", args=[ticket.pk]), form=EmptyForm(**form_kwargs(request, "claim")),
        submit_label=_("Resgatar"), help_text=_("Assumir a responsabilidade por este atendimento."),
    )


def release_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="release", title=_("Liberar"), icon="bi-box-arrow-up", button_only=True,
        action=reverse("tickets:release", args=[ticket.pk]), form=EmptyForm(**form_kwargs(request, "release")),
        submit_label=_("Liberar"), confirm=_("Liberar este atendimento para a fila da equipe?"),
        help_text=_("Devolver o atendimento para a fila da equipe."),
    )


def transfer_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="transfer", title=_("Transferir"), icon="bi-arrow-left-right",
        action=reverse("tickets:transfer", args=[ticket.pk]),
        form=TransferForm(**form_kwargs(request, "transfer")), submit_label=_("Transferir"),
        help_text=_("Escolha o operador e/ou a equipe de destino."),
    )


def comment_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="comment", title=_("Comentar"), icon="bi-chat-left-text",
        action=reverse("tickets:comment", args=[ticket.pk]),
        form=CommentForm(**form_kwargs(request, "comment")), submit_label=_("Comentar"), inline=True,
    )


def attach_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="attach", title=_("Anexar arquivo"), icon="bi-paperclip", multipart=True, inline=True,
        action=reverse("tickets:attach", args=[ticket.pk]),
        form=AttachmentForm(**form_kwargs(request, "attach")), submit_label=_("Anexar"),
    )


def watch_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="watch", title=_("Acompanhar"), icon="bi-eye",
        action=reverse("tickets:watch", args=[ticket.pk]),
        form=WatcherForm(**form_kwargs(request, "watch", initial={"user": request.user.pk})),
        submit_label=_("Incluir operador visualizador"),
        help_text=_("O operador visualizador passa a ver e acompanhar este atendimento."),
    )


def unwatch_tool(request: HttpRequest, ticket: Ticket, user_id: int | None = None, label: str = "") -> Tool:
    user_id = user_id or request.user.pk
    mine = user_id == request.user.pk
    return Tool(
        name=f"unwatch-{user_id}", title=_("Deixar de acompanhar") if mine else _("Remover"),
        icon="bi-eye-slash", button_only=True, style="outline-secondary",
        action=reverse("tickets:unwatch", args=[ticket.pk]),
        form=UnwatchForm(**form_kwargs(request, f"unwatch{user_id}", initial={"user": user_id})),
        submit_label=_("Deixar de acompanhar") if mine else _("Remover"),
        confirm="" if mine else _("Remover %(name)s dos operadores visualizadores?") % {"name": label},
    )


def subprocess_finish_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="subprocess_finish", title=_("Avançar subprocesso"), icon="bi-skip-forward", button_only=True,
        action=reverse("tickets:subprocess_finish", args=[ticket.pk]),
        form=EmptyForm(**form_kwargs(request, "subprocess_finish")), submit_label=_("Avançar subprocesso"),
        confirm=_("Encerrar o subprocesso atual e iniciar o próximo?"),
    )


def subprocess_start_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="subprocess_start", title=_("Iniciar subprocesso"), icon="bi-signpost-split",
        action=reverse("tickets:subprocess_start", args=[ticket.pk]),
        form=SubprocessStartForm(**form_kwargs(request, "subprocess_start"), ticket=ticket),
        submit_label=_("Iniciar subprocesso"),
        help_text=_("Encerra o subprocesso atual e inicia o escolhido."),
    )


def forward_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="forward", title=_("Encaminhar para processo"), icon="bi-diagram-3",
        action=reverse("tickets:forward", args=[ticket.pk]),
        form=ForwardForm(**form_kwargs(request, "forward"), ticket=ticket), submit_label=_("Encaminhar"),
    )


def so_create_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="so_create", title=_("Nova O.S."), icon="bi-tools",
        action=reverse("tickets:so_create", args=[ticket.pk]),
        form=ServiceOrderForm(**form_kwargs(request, "so_create")), submit_label=_("Criar O.S."),
    )


def so_edit_tool(request: HttpRequest, ticket: Ticket, order: ServiceOrder) -> Tool:
    return Tool(
        name=f"so_edit-{order.pk}", title=_("Editar O.S. %(code)s") % {"code": order.code}, icon="bi-pencil",
        button_label=_("Editar"), style="outline-secondary",
        action=reverse("tickets:so_edit", args=[ticket.pk, order.pk]),
        form=ServiceOrderEditForm(
            **form_kwargs(request, f"so_edit{order.pk}", initial=ServiceOrderEditForm.initial_for(order))
        ),
        submit_label=_("Salvar O.S."),
    )


def so_complete_tool(request: HttpRequest, ticket: Ticket, order: ServiceOrder) -> Tool:
    return Tool(
        name=f"so_complete-{order.pk}", title=_("Concluir"), icon="bi-check2-circle", button_only=True,
        style="outline-success", action=reverse("tickets:so_complete", args=[ticket.pk, order.pk]),
        form=EmptyForm(**form_kwargs(request, f"so_complete{order.pk}")), submit_label=_("Concluir O.S."),
        confirm=_("Concluir a O.S. %(code)s?") % {"code": order.code},
    )


def attachment_delete_tool(request: HttpRequest, ticket: Ticket, attachment: Attachment) -> Tool:
    return Tool(
        name=f"attachment_delete-{attachment.pk}", title=_("Excluir"), icon="bi-trash", button_only=True,
        style="outline-danger", action=reverse("tickets:attachment_delete", args=[attachment.pk]),
        form=EmptyForm(**form_kwargs(request, f"attachment_delete{attachment.pk}")),
        submit_label=_("Excluir anexo"),
        confirm=_("Excluir o anexo %(name)s?") % {"name": attachment.original_name},
    )


def finalize_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="finalize", title=_("Finalizar"), icon="bi-check2-square", style="success",
        action=reverse("tickets:finalize", args=[ticket.pk]),
        form=FinalizeForm(**form_kwargs(request, "finalize")), submit_label=_("Finalizar atendimento"),
    )


def reopen_tool(request: HttpRequest, ticket: Ticket) -> Tool:
    return Tool(
        name="reopen", title=_("Reabrir"), icon="bi-arrow-counterclockwise", style="warning",
        action=reverse("tickets:reopen", args=[ticket.pk]),
        form=ReopenForm(**form_kwargs(request, "reopen")), submit_label=_("Reabrir atendimento"),
    )


# --- views -------------------------------------------------------------------------------


@require_http_methods(GET_POST)
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_claim(actor=request.user, ticket=ticket)
        return _("Atendimento resgatado.")

    return run_tool(request, ticket, claim_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def release(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_release(actor=request.user, ticket=ticket)
        return _("Atendimento liberado para a fila da equipe.")

    # After a release the user may no longer see the ticket: go home, not to a 404.
    return run_tool(request, ticket, release_tool(request, ticket), operation, success_url=_after_leaving(request, ticket))


@require_http_methods(GET_POST)
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_transfer(
            actor=request.user, ticket=ticket, to_user=data["to_user"], to_team=data["to_team"],
            comment=data["comment"],
        )
        return _("Atendimento transferido.")

    return run_tool(request, ticket, transfer_tool(request, ticket), operation, success_url=_after_leaving(request, ticket))


@require_http_methods(GET_POST)
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_comment_add(actor=request.user, ticket=ticket, body=data["body"])
        return _("Comentário incluído.")

    return run_tool(request, ticket, comment_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.attachment_add(
            actor=request.user, ticket=ticket, uploaded=data["file"], description=data["description"]
        )
        return _("Anexo incluído.")

    return run_tool(request, ticket, attach_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def attachment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = access_attachment(request.user, pk)
    ticket = attachment.ticket

    def operation(data: dict[str, Any]) -> str:
        services.attachment_delete(actor=request.user, attachment=attachment)
        return _("Anexo excluído.")

    return run_tool(request, ticket, attachment_delete_tool(request, ticket, attachment), operation)


@require_http_methods(GET_POST)
def watch(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_watcher_add(actor=request.user, ticket=ticket, user=data["user"])
        return _("%(name)s passou a acompanhar o atendimento.") % {"name": user_label(data["user"])}

    return run_tool(request, ticket, watch_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def unwatch(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)
    user_id = _posted_user_id(request)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_watcher_remove(actor=request.user, ticket=ticket, user=data["user"])
        if data["user"].pk == request.user.pk:
            return _("Você deixou de acompanhar o atendimento.")
        return _("%(name)s deixou de acompanhar o atendimento.") % {"name": user_label(data["user"])}

    tool = unwatch_tool(request, ticket, user_id)
    return run_tool(request, ticket, tool, operation, success_url=_after_leaving(request, ticket))


@require_http_methods(GET_POST)
def subprocess_finish(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        stage = services.subprocess_finish(actor=request.user, ticket=ticket)
        if stage is None:
            return _("Subprocesso encerrado; o processo não tem próximo subprocesso.")
        return _("Subprocesso %(name)s iniciado.") % {"name": stage.subprocess.name}

    return run_tool(request, ticket, subprocess_finish_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def subprocess_start(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.subprocess_start(actor=request.user, ticket=ticket, subprocess=data["subprocess"])
        return _("Subprocesso %(name)s iniciado.") % {"name": data["subprocess"].name}

    return run_tool(request, ticket, subprocess_start_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def forward(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_forward(actor=request.user, ticket=ticket, process=data["process"], comment=data["comment"])
        return _("Atendimento encaminhado para o processo %(name)s.") % {"name": data["process"].name}

    return run_tool(request, ticket, forward_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def so_create(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        order = services.service_order_create(
            actor=request.user, ticket=ticket, description=data["description"],
            scheduled_for=data["scheduled_for"], due_at=data["due_at"],
        )
        return _("O.S. %(code)s criada.") % {"code": order.code}

    return run_tool(request, ticket, so_create_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def so_edit(request: HttpRequest, pk: int, so_pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)
    order = get_object_or_404(ServiceOrder, pk=so_pk, ticket=ticket)

    def operation(data: dict[str, Any]) -> str:
        services.service_order_edit(
            actor=request.user, service_order=order, description=data["description"],
            scheduled_for=data["scheduled_for"], due_at=data["due_at"], clear_schedule=data["clear_schedule"],
        )
        return _("O.S. %(code)s alterada.") % {"code": order.code}

    return run_tool(request, ticket, so_edit_tool(request, ticket, order), operation)


@require_http_methods(GET_POST)
def so_complete(request: HttpRequest, pk: int, so_pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)
    order = get_object_or_404(ServiceOrder, pk=so_pk, ticket=ticket)

    def operation(data: dict[str, Any]) -> str:
        services.service_order_complete(actor=request.user, service_order=order)
        return _("O.S. %(code)s concluída.") % {"code": order.code}

    return run_tool(request, ticket, so_complete_tool(request, ticket, order), operation)


@require_http_methods(GET_POST)
def finalize(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_finalize(
            actor=request.user, ticket=ticket, closing_classification=data["closing_classification"],
            comment=data["comment"],
        )
        return _("Atendimento finalizado.")

    return run_tool(request, ticket, finalize_tool(request, ticket), operation)


@require_http_methods(GET_POST)
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)

    def operation(data: dict[str, Any]) -> str:
        services.ticket_reopen(actor=request.user, ticket=ticket, reason=data["reason"])
        return _("Atendimento reaberto.")

    return run_tool(request, ticket, reopen_tool(request, ticket), operation)


# --- helpers ---------------------------------------------------------------------------------


def _after_leaving(request: HttpRequest, ticket: Ticket) -> Callable[[], str]:
    """Release, transfer and unwatch can take the ticket out of what the user sees.

    The detail page would then answer 404, so the redirect is decided after
    the operation ran: back to the ticket if still visible, else home.
    """

    def url() -> str:
        return detail_url(ticket) if can_see_ticket(request.user, ticket) else reverse("home")

    return url


def _posted_user_id(request: HttpRequest) -> int | None:
    raw = request.POST.get("user") if request.method == "POST" else request.GET.get("user")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None
