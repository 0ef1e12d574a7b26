"""The public live-chat widget: a page per entry point, no login, embeddable in an iframe.

The page shows the start form until the browser holds a token for a
conversation of that entry point, then the chat (which talks over the socket of
``omnichannel.widget_consumers``). The token lives in an HttpOnly cookie of its
own, so no raw token is kept server-side, not even in the session table; it
also opens the transcript.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from omnichannel import services, widget
from omnichannel.models import Channel
from omnichannel.widget_forms import WidgetStartForm

COOKIE_PATH = "/chat/"


def cookie_name(entry_point: str) -> str:
    return f"omni_chat_{entry_point}"


# Any site may frame the widget (that is what it is for): its pages carry no staff
# authority, and the conversation token never reaches the parent page.
WIDGET_CSP = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


def embeddable(view):
    return login_not_required(xframe_options_exempt(csp_override(WIDGET_CSP)(view)))


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _private(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "same-origin"
    return response


def _error(
    request: HttpRequest, message: str, status: int, *, retry_after: int | None = None
) -> HttpResponse:
    response = render(request, "omnichannel/widget/error.html", {"message": message}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return _private(response)


def too_many(request: HttpRequest, scope: str) -> HttpResponse:
    return _error(
        request,
        _("Muitas tentativas em pouco tempo. Aguarde alguns minutos e tente novamente."),
        429,
        retry_after=widget.rate_limit(scope)[1],
    )


def _unknown_entry_point(request: HttpRequest) -> HttpResponse:
    return _error(request, _("Este canal de atendimento não existe ou está desativado."), 404)


def _current_conversation(request: HttpRequest, entry_point: str):
    token = request.COOKIES.get(cookie_name(entry_point), "")
    conversation = widget.conversation_for_token(token) if token else None
    return (conversation, token) if conversation is not None else (None, "")


@embeddable
@require_http_methods(["GET", "POST"])
def widget_page(request: HttpRequest, entry_point: str) -> HttpResponse:
    """GET: the chat (or the start form); POST: start a conversation from the form."""
    if not widget.rate_limit_hit("page_ip", client_ip(request)):
        return too_many(request, "page_ip")
    menu = widget.entry_menu(entry_point)
    if menu is None:
        return _unknown_entry_point(request)
    conversation, token = _current_conversation(request, entry_point)
    if request.method == "GET":
        if conversation is not None:
            return _chat(request, menu, conversation, token)
        return _private(
            render(
                request, "omnichannel/widget/start.html", {"menu": menu, "form": WidgetStartForm()}
            )
        )

    if conversation is not None and conversation.is_open:
        # A second submit (double click, back button): keep the open chat.
        return redirect(request.path)
    if not widget.rate_limit_hit("start_ip", client_ip(request)):
        return too_many(request, "start_ip")
    form = WidgetStartForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        secret, digest = widget.new_secret()
        try:
            started = services.conversation_start(
                channel=Channel.LIVE_CHAT,
                contact_name=data["name"],
                contact_email=data["email"],
                contact_phone=data["phone"],
                contact_document=data["document"],
                entry_point=entry_point,
                access_token_hash=digest,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            response = redirect(request.path)
            response.set_cookie(
                cookie_name(entry_point),
                widget.make_token(started.pk, secret),
                max_age=widget.TOKEN_MAX_AGE,
                path=COOKIE_PATH,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
            return response
    return _private(
        render(request, "omnichannel/widget/start.html", {"menu": menu, "form": form}, status=400)
    )


FIELD_OF = {
    "contact_name": "name",
    "contact_email": "email",
    "contact_phone": "phone",
    "contact_document": "document",
}


def _form_errors(form: WidgetStartForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(FIELD_OF.get(field), error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def _chat(request: HttpRequest, menu, conversation, token: str) -> HttpResponse:
    context = {"menu": menu, "token": token, **widget.chat_context(conversation.pk)}
    return _private(render(request, "omnichannel/widget/chat.html", context))


@embeddable
@require_POST
def widget_restart(request: HttpRequest, entry_point: str) -> HttpResponse:
    """The "Nova conversa" button: forget the finished conversation of this entry point."""
    conversation, _token = _current_conversation(request, entry_point)
    if getattr(request, "htmx", False):  # the button of a fragment pushed over the socket
        response = HttpResponseClientRedirect(
            reverse("widget:page", kwargs={"entry_point": entry_point})
        )
    else:
        response = redirect("widget:page", entry_point=entry_point)
    if conversation is not None and not conversation.is_open:
        response.delete_cookie(cookie_name(entry_point), path=COOKIE_PATH, samesite="Lax")
    return response


@embeddable
@require_GET
def widget_transcript(request: HttpRequest, token: str) -> HttpResponse:
    """The conversation as plain text, for whoever holds its token."""
    if not widget.rate_limit_hit("transcript_ip", client_ip(request)):
        return too_many(request, "transcript_ip")
    if not widget.rate_limit_hit("transcript_token", token[:300]):
        return too_many(request, "transcript_token")
    conversation = widget.conversation_for_token(token)
    if conversation is None:
        return _error(request, _("Conversa não encontrada ou link expirado."), 404)
    response = HttpResponse(
        widget.transcript_text(conversation), content_type="text/plain; charset=utf-8"
    )
    filename = f"atendimento-{conversation.protocol.replace('.', '-')}.txt"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return _private(response)


@embeddable
@require_GET
def widget_file(request: HttpRequest, token: str, file_id: int) -> HttpResponse:
    """A file the agent sent, for whoever holds the conversation's token; always a download."""
    if not widget.rate_limit_hit("file_ip", client_ip(request)):
        return too_many(request, "file_ip")
    if not widget.rate_limit_hit("file_token", token[:300]):
        return too_many(request, "file_token")
    conversation = widget.conversation_for_token(token)
    attachment = widget.customer_file(conversation, file_id) if conversation is not None else None
    if attachment is None:
        return _error(request, _("Arquivo não encontrado ou link expirado."), 404)
    try:
        with attachment.file.open("rb") as handle:
            content = handle.read()  # at most 2 MB (services.MAX_FILE_BYTES)
    except FileNotFoundError:
        return _error(request, _("Arquivo não encontrado ou link expirado."), 404)
    # Served as an opaque download, whatever the type the uploader claimed.
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    return _private(response)


# The largest multipart body worth parsing: five files of 2 MB plus the form's overhead.
MAX_UPLOAD_REQUEST_BYTES = services.MAX_FILES_PER_MESSAGE * services.MAX_FILE_BYTES + 256 * 1024


def _upload_answer(
    request: HttpRequest, message: str, status: int, *, retry_after: int | None = None
) -> HttpResponse:
    """The chat's alert line (htmx) or the widget's error page; ``message`` empty clears the alert."""
    if not getattr(request, "htmx", False):
        return _error(request, message, status, retry_after=retry_after)
    response = render(
        request, "omnichannel/widget/chat.html#alert", {"message": message}, status=status
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return _private(response)


@embeddable
@require_POST
def widget_upload(request: HttpRequest, token: str) -> HttpResponse:
    """Files the customer sends (multipart, for whoever holds the conversation's token).

    Same limits as the agent's (``services.validate_message_files``); the message reaches the
    agent's pane and the customer's own chat through the usual publication, not this answer.
    The CSRF check stays on: the chat page hands its token to htmx (``<body hx-headers>``).
    """
    for scope, ident in (("upload_ip", client_ip(request)), ("upload_token", token[:300])):
        if not widget.rate_limit_hit(scope, ident):
            return _upload_answer(
                request,
                _("Muitos envios em pouco tempo. Aguarde alguns instantes e tente de novo."),
                429,
                retry_after=widget.rate_limit(scope)[1],
            )
    conversation = widget.conversation_for_token(token)
    if conversation is None:
        return _upload_answer(request, _("Conversa não encontrada ou link expirado."), 404)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_UPLOAD_REQUEST_BYTES:  # refused before the body is parsed
        return _upload_answer(
            request,
            _("Envie no máximo %(n)s arquivos de até 2 MB cada.")
            % {"n": services.MAX_FILES_PER_MESSAGE},
            413,
        )
    try:
        services.conversation_customer_upload(
            conversation=conversation,
            files=request.FILES.getlist("files"),
            body=request.POST.get("body", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        message = " ".join(getattr(exc, "messages", None) or [str(exc)])
        return _upload_answer(request, message, 403 if isinstance(exc, PermissionDenied) else 400)
    if not getattr(request, "htmx", False):
        entry_point = conversation.entry_menu.entry_point if conversation.entry_menu_id else ""
        if entry_point:
            return redirect("widget:page", entry_point=entry_point)
        return _private(HttpResponse(status=204))
    return _upload_answer(request, "", 200)
