"""The "Modificar SLA" wizard, "Retomar SLA" and the "Histórico" grid, by ticket id.

The views are small: load the ticket through ``access_ticket`` (404 for one
the user may not see), check the tool permission (403), call the operation,
render. The wizard is one template of partials, so the ticket page and the
grid panels open the same wizard for a ticket in a Bootstrap modal via htmx;
without JavaScript every step is a page of its own. A refused step comes back
with its pt-BR message and HTTP 400 (403 for a missing permission), nothing
changed.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from sla import selectors, services
from sla.forms import INCREMENT, PAUSE, ActionForm, IncrementForm, PauseForm, ResumeForm
from tickets.models import Ticket
from tickets.selectors import access_ticket

WIZARD = "sla/wizard.html"
HISTORY = "sla/history.html"
PAGE = "sla/page.html"


def _require_tool(request: HttpRequest) -> None:
    if not request.user.has_perm(services.PERMISSION):
        raise PermissionDenied(_("Você não tem permissão para modificar o SLA."))


def _next_url(request: HttpRequest, ticket: Ticket) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("tickets:detail", args=[ticket.pk])


def _render(request: HttpRequest, template: str, partial: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """The partial for htmx; a page around it otherwise (the no-JavaScript fallback)."""
    if request.htmx:
        return render(request, f"{template}#{partial}", context, status=status)
    return render(request, PAGE, {**context, "inner": f"{template}#{partial}"}, status=status)


def _wizard_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    clock = selectors.ticket_clock(ticket)
    view = selectors.clock_view(clock) if clock is not None else None
    blocked = ""
    if ticket.closed_at is not None:
        blocked = _("O atendimento %(code)s está finalizado: o SLA não pode ser modificado.") % {"code": ticket.code}
    elif view is None:
        blocked = _("Este atendimento não tem contagem de SLA.")
    elif view.paused:
        blocked = _("O SLA deste atendimento está pausado: use “Retomar SLA”.")
    elif not view.counting:
        blocked = _("A contagem de SLA deste atendimento já foi encerrada.")
    return {
        "ticket": ticket,
        "clock": view,
        "blocked": blocked,
        "next": _next_url(request, ticket),
        "urls": {
            "modify": reverse("sla:modify", args=[ticket.pk]),
            "preview": reverse("sla:preview", args=[ticket.pk]),
        },
        **extra,
    }


def _step_form(step: str, context: dict[str, Any], **kwargs: Any) -> IncrementForm | PauseForm:
    if step == INCREMENT:
        return IncrementForm(preview_url=context["urls"]["preview"], **kwargs)
    return PauseForm(**kwargs)


def _done(request: HttpRequest, message: str, url: str) -> HttpResponse:
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_http_methods(["GET", "POST"])
def modify(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1 (choose), then step 2 (increment or pause), then the operation."""
    ticket = access_ticket(request.user, pk)
    _require_tool(request)
    data = request.POST if request.method == "POST" else request.GET
    step = data.get("step", "1")
    context = _wizard_context(request, ticket)
    if context["blocked"]:
        view = context["clock"]
        if view is not None and view.paused and request.method == "GET":
            # A paused clock offers "Retomar SLA" right in the wizard (the grids open it too).
            form = ResumeForm(initial={"version": view.clock.version})
            return _render(request, WIZARD, "paused", {**context, "form": form})
        return _render(request, WIZARD, "step1", {**context, "form": ActionForm()}, status=400)
    version = context["clock"].clock.version
    if step not in (INCREMENT, PAUSE):
        if request.method != "POST":
            return _render(request, WIZARD, "step1", {**context, "form": ActionForm(initial={"action": data.get("action")})})
        form = ActionForm(request.POST)
        if not form.is_valid():
            return _render(request, WIZARD, "step1", {**context, "form": form}, status=400)
        step = form.cleaned_data["action"]
        return _render(request, WIZARD, step, {**context, "form": _step_form(step, context, initial={"version": version})})

    if request.method != "POST":
        return _render(request, WIZARD, step, {**context, "form": _step_form(step, context, initial={"version": version})})
    form = _step_form(step, context, data=request.POST)
    if not form.is_valid():
        return _render(request, WIZARD, step, {**context, "form": form}, status=400)
    cleaned = form.cleaned_data
    try:
        if step == INCREMENT:
            intervention = services.sla_increment(
                actor=request.user, ticket=ticket, reason=cleaned["reason"], unit=cleaned["unit"],
                quantity=cleaned["quantity"], notes=cleaned["notes"], expected_version=cleaned["version"],
            )
            message = _("SLA incrementado. Novo prazo: %(due)s.") % {"due": _local(intervention.due_after)}
        else:
            services.sla_pause(
                actor=request.user, ticket=ticket, reason=cleaned["reason"], notes=cleaned["notes"],
                expected_version=cleaned["version"],
            )
            message = _("A contagem do SLA foi pausada.")
    except ValidationError as exc:
        form.add_validation_error(exc)
        return _render(request, WIZARD, step, {**context, "form": form}, status=400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return _render(request, WIZARD, step, {**context, "form": form}, status=403)
    return _done(request, message, context["next"])


def _local(moment: Any) -> str:
    from django.utils import timezone
    from django.utils.formats import date_format

    return date_format(timezone.localtime(moment), "d/m/Y H:i")


@require_http_methods(["GET"])
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """"Novo prazo" for the unit and quantity typed so far (nothing is written)."""
    ticket = access_ticket(request.user, pk)
    _require_tool(request)
    context: dict[str, Any] = {"ticket": ticket, "new_due": None, "error": ""}
    status = 200
    quantity = request.GET.get("quantity", "").strip()
    if not quantity:
        # Nothing typed yet (or erased): an empty "Novo prazo", no error.
        return render(request, f"{WIZARD}#new_due", context)
    try:
        context["new_due"] = services.preview_increment(
            ticket=ticket, unit=request.GET.get("unit", ""), quantity=quantity[:50]
        )
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        status = 400
    return render(request, f"{WIZARD}#new_due", context, status=status)


@require_http_methods(["GET", "POST"])
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """"Retomar SLA"."""
    ticket = access_ticket(request.user, pk)
    _require_tool(request)
    clock = selectors.ticket_clock(ticket)
    context = {"ticket": ticket, "next": _next_url(request, ticket)}
    if request.method != "POST":
        form = ResumeForm(initial={"version": clock.version if clock else None})
        return render(request, PAGE, {**context, "form": form, "inner": f"{WIZARD}#resume"})
    form = ResumeForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.sla_resume(
                actor=request.user, ticket=ticket, notes=form.cleaned_data["notes"],
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            form.add_validation_error(exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            return _done(request, _("A contagem do SLA foi retomada."), context["next"])
    if request.htmx and request.POST.get("from") == "wizard":
        wizard = _wizard_context(request, ticket)
        if wizard["clock"] is not None and wizard["clock"].paused:
            return render(request, f"{WIZARD}#paused", {**wizard, "form": form}, status=status)
        # Resumed (or stopped) by someone else meanwhile: the wizard says why, in place.
        response = render(request, f"{WIZARD}#alert", {**context, "form": form}, status=status)
        response["HX-Retarget"] = "#sla-wizard"
        response["HX-Reswap"] = "innerHTML"
        return response
    if request.htmx:
        response = render(request, f"{WIZARD}#alert", {**context, "form": form}, status=status)
        response["HX-Retarget"] = "#ticket-alerts"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, PAGE, {**context, "form": form, "inner": f"{WIZARD}#resume"}, status=status)


@require_http_methods(["GET"])
def history(request: HttpRequest, pk: int) -> HttpResponse:
    """"Histórico": the ticket's interventions, newest first."""
    ticket = access_ticket(request.user, pk)
    rows = list(selectors.ticket_interventions(ticket))
    return _render(request, HISTORY, "grid", {"ticket": ticket, "rows": rows})


@require_http_methods(["GET"])
def intervention_detail(request: HttpRequest, pk: int, intervention_pk: int) -> HttpResponse:
    ticket = access_ticket(request.user, pk)
    row = selectors.ticket_interventions(ticket).filter(pk=intervention_pk).first()
    if row is None:
        raise Http404
    return _render(request, HISTORY, "detail", {"ticket": ticket, "row": row})


@require_http_methods(["GET"])
def box(request: HttpRequest, pk: int) -> HttpResponse:
    """The SLA box of the ticket page, re-rendered (live updates swap it)."""
    ticket = access_ticket(request.user, pk)
    context = selectors.detail_context(request=request, ticket=ticket, stages=[])
    return render(request, "sla/_box.html#box", {"ticket": ticket, **context})
