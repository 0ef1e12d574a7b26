"""The PBX's API (mounted at ``/api/voz/<key>/``): call reports and recording uploads.

Authenticated by ``Authorization: Bearer <chave da API>`` (the PBX account's
``webhook_secret``), compared in constant time. An unknown address, an inactive
account, a missing or a wrong key all get the same 401, so the API tells a prober
nothing about which accounts exist. Answers are JSON with pt-BR messages; bad
input is a 4xx and stores nothing.
"""

import hmac
import json
import os
import re
import uuid
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, SuspiciousOperation, ValidationError
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from omnichannel import voice
from omnichannel.models import CallRecord, Channel, ChannelAccount

MAX_REPORT_BYTES = 64 * 1024
# Room for the multipart boundaries and headers around the recording itself.
MULTIPART_OVERHEAD = 64 * 1024
CHUNK = 64 * 1024


def api_view(view):
    """No session, no CSRF (the PBX is not a browser), never cached, POST only."""
    return csrf_exempt(login_not_required(never_cache(require_POST(view))))


def _error(message: str, status: int, fields: dict | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="voz"'
    return response


def _unauthorized() -> JsonResponse:
    return _error(_("Chave da API ausente ou inválida."), 401)


def _validation_error(exc: ValidationError) -> JsonResponse:
    if hasattr(exc, "error_dict"):
        fields = {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        return _error(_("Dados inválidos."), 400, fields)
    return _error(" ".join(exc.messages), 400)


def authenticate(request: HttpRequest, key: uuid.UUID) -> ChannelAccount | None:
    """The active PBX account at ``key`` whose API key the request carries, else ``None``."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    account = ChannelAccount.objects.filter(key=key, channel=Channel.VOICE, active=True).first()
    secret = account.webhook_secret if account is not None else ""
    # Compared even when there is nothing to compare with, so timing says nothing either.
    matches = hmac.compare_digest(token.encode(), (secret or "-").encode())
    if account is None or not secret or not token or not matches:
        return None
    return account


def _declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


@api_view
def call_report(request: HttpRequest, key: uuid.UUID) -> JsonResponse:
    """POST a call report (JSON object); 201 when the call is new, 200 when it was updated."""
    account = authenticate(request, key)
    if account is None:
        return _unauthorized()
    if _declared_length(request) > MAX_REPORT_BYTES:
        return _error(_("Relatório grande demais (máximo de %(kb)s KB).") % {"kb": MAX_REPORT_BYTES // 1024}, 413)
    raw = request.read(MAX_REPORT_BYTES + 1)
    if len(raw) > MAX_REPORT_BYTES:
        return _error(_("Relatório grande demais (máximo de %(kb)s KB).") % {"kb": MAX_REPORT_BYTES // 1024}, 413)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (ValueError, RecursionError):
        return _error(_("O corpo não é um JSON válido (UTF-8)."), 400)
    try:
        call, created = voice.call_report(account=account, data=data, raw=text)
    except ValidationError as exc:
        return _validation_error(exc)
    return JsonResponse(
        {
            "id": call.external_id,
            "created": created,
            "outcome": call.outcome or None,
            "conversation": call.conversation.protocol if call.conversation_id else None,
        },
        status=201 if created else 200,
    )


def _content_type(request: HttpRequest) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


def _raw_upload(request: HttpRequest, limit: int) -> UploadedFile | None:
    """The body as a temporary file, or ``None`` when it passes ``limit``."""
    content_type = _content_type(request)
    name = os.path.basename(request.GET.get("name", "") or "gravacao")[:100]
    name = re.sub(r"[^\w.-]", "_", name) or "gravacao"
    upload = TemporaryUploadedFile(name, content_type, 0, None)
    size = 0
    while chunk := request.read(CHUNK):
        size += len(chunk)
        if size > limit:
            upload.close()
            return None
        upload.write(chunk)
    upload.size = size
    upload.seek(0)
    return upload


@api_view
def call_recording(request: HttpRequest, key: uuid.UUID, external_id: str) -> JsonResponse:
    """POST the call's recording: multipart (field ``recording`` or ``file``) or the raw audio
    with ``Content-Type: audio/…``. Replaces an earlier recording of the same call."""
    account = authenticate(request, key)
    if account is None:
        return _unauthorized()
    limit = voice.max_recording_bytes()
    too_big = _error(_("A gravação passa do limite de %(mb)s MB.") % {"mb": limit // (1024 * 1024)}, 413)
    if _declared_length(request) > limit + MULTIPART_OVERHEAD:
        return too_big
    if not CallRecord.objects.filter(account=account, external_id=external_id).exists():
        return _error(_("Ligação não encontrada: envie o relatório da ligação antes da gravação."), 404)
    content_type = _content_type(request)
    if content_type == "multipart/form-data":
        try:
            upload = request.FILES.get("recording") or request.FILES.get("file")
        except (MultiPartParserError, SuspiciousOperation, BadRequest, ValueError):
            return _error(_("Envio multipart inválido."), 400)
        if upload is None:
            return _error(_("Envie o arquivo no campo recording."), 400, {"recording": _("Envie a gravação.")})
    elif content_type.startswith("audio/") or content_type in ("application/ogg",):
        upload = _raw_upload(request, limit)
        if upload is None:
            return too_big
    else:
        return _error(_("Envie a gravação como multipart/form-data ou com Content-Type audio/*."), 415)
    try:
        call = voice.call_attach_recording(account=account, external_id=external_id, upload=upload)
    except voice.RecordingTooLarge:
        return too_big
    except ValidationError as exc:
        return _validation_error(exc)
    except CallRecord.DoesNotExist:
        return _error(_("Ligação não encontrada: envie o relatório da ligação antes da gravação."), 404)
    finally:
        upload.close()
    return JsonResponse({"id": call.external_id, "recording_type": call.recording_type, "size": call.recording.size})
