"""Avaliação SAC Plus pages.

``answer``: the customer's public page (no login), reached from the link the
evaluation request sent; shows nothing of the staff (no agent name, no ticket
data). Every request counts against the client's IP, and links that fail (expired,
answered, tampered, unknown) count again, so guessing is slowed down on top of the
signature. ``resend``: the "Reenviar avaliação para o SAC Plus" tool of the
Finalizados panel (signed-in staff).
"""

import hashlib
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from omnichannel import evaluations
from tickets.selectors import visible_tickets

# (requests, seconds) per client IP: every request, and the ones with a bad link.
RATE_LIMITS: dict[str, tuple[int, int]] = {"page": (60, 600), "bad": (10, 600)}

STATUS = {
    evaluations.EXPIRED: 410,
    evaluations.USED: 409,
    evaluations.TAMPERED: 400,
    evaluations.UNKNOWN: 404,
}


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(scope: str, ident: str) -> str:
    seconds = RATE_LIMITS[scope][1]
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"omni.evaluation.rl.{scope}.{digest}.{int(time.time() // seconds)}"


def _count(scope: str, ident: str) -> int:
    """Count one hit of ``ident`` in ``scope``'s current fixed window (Django's cache)."""
    key, seconds = _key(scope, ident), RATE_LIMITS[scope][1]
    if cache.add(key, 1, seconds + 5):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, seconds + 5)
        return 1


def _over(scope: str, ident: str) -> bool:
    return (cache.get(_key(scope, ident)) or 0) >= RATE_LIMITS[scope][0]


def _private(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "same-origin"  # the token is in the address; no-referrer would send "Origin: null" and fail CSRF
    response["X-Robots-Tag"] = "noindex"
    return response


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return _private(render(request, f"omnichannel/evaluation/{template}", context, status=status))


def _refused(request: HttpRequest, error: ValidationError) -> HttpResponse:
    _count("bad", _client_ip(request))
    return _page(request, "closed.html", {"code": error.code, "message": error.messages[0]}, STATUS[error.code])


@login_not_required
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    ip = _client_ip(request)
    if _count("page", ip) > RATE_LIMITS["page"][0] or _over("bad", ip):
        response = _page(
            request, "closed.html",
            {"code": "rate", "message": _("Muitas tentativas em pouco tempo. Aguarde alguns minutos e tente novamente.")},
            429,
        )
        response["Retry-After"] = str(RATE_LIMITS["page"][1])
        return response
    try:
        evaluations.evaluation_for_token(token)
    except ValidationError as exc:
        return _refused(request, exc)
    context: dict = {"scores": range(1, 6), "score": "", "comment": "", "errors": {}}
    if request.method == "POST":
        score, comment = request.POST.get("score", ""), request.POST.get("comment", "")
        try:
            evaluations.evaluation_answer(token, score, comment)
        except ValidationError as exc:
            if getattr(exc, "code", None) in STATUS:  # answered or expired meanwhile
                return _refused(request, exc)
            context.update(score=score, comment=comment, errors=exc.message_dict)
            return _page(request, "form.html", context, 400)
        return _page(request, "thanks.html", {})
    return _page(request, "form.html", context)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("dashboards:view", args=["finalized", "today"])


@require_POST
def resend(request: HttpRequest) -> HttpResponse:
    """"Reenviar avaliação para o SAC Plus": the panel posts the selected ticket."""
    status, level = 200, "success"
    try:
        ticket_id = int(request.POST.get("ticket", ""))
    except ValueError:
        ticket_id = None
    ticket = visible_tickets(request.user).filter(pk=ticket_id).first() if ticket_id else None
    if ticket is None:
        status, level, text = 400, "danger", _("Selecione um atendimento da grade.")
    else:
        try:
            evaluations.evaluation_resend(actor=request.user, ticket=ticket)
            text = _("Avaliação reenviada com sucesso para o cliente do atendimento %(code)s.") % {"code": ticket.code}
        except PermissionDenied as exc:
            status, level, text = 403, "danger", str(exc) or _("Você não tem permissão para reenviar avaliações.")
        except ValidationError as exc:
            status, level, text = 400, "danger", exc.messages[0]
    if request.htmx:
        return render(request, "omnichannel/evaluation/_resend_alert.html", {"level": level, "text": text}, status=status)
    (messages.success if level == "success" else messages.error)(request, text)
    return redirect(_back(request))
