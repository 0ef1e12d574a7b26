"""What every provider adapter shares: signature checks, the Meta verification handshake,
HTTP calls that tell a retryable failure from a final one, and webhook answers."""

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class SendError(Exception):
    """The provider refused the message for good (4xx): the message is marked failed."""


class TransientSendError(Exception):
    """5xx, 429, timeout or connection error: the send is retried with backoff."""


class BadPayload(ValueError):
    """A malformed or unusable webhook body: answered 400, nothing stored."""


def obj(value: object) -> dict:
    """A JSON object field of a webhook body: absent is empty, any other type is malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(_("Campo com tipo inválido: objeto esperado."))
    return value


def items(value: object) -> list:
    """A JSON array field of a webhook body: absent is empty, any other type is malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(_("Campo com tipo inválido: lista esperada."))
    return value


def bad_request(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def forbidden() -> JsonResponse:
    return JsonResponse({"error": _("Assinatura inválida.")}, status=403)


def ok(payload: dict | None = None) -> JsonResponse:
    return JsonResponse(payload or {"ok": True})


def hub_signature_valid(raw: bytes, header: str | None, secret: str) -> bool:
    """Meta's ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``.

    Checked on the raw bytes, before any parsing, in constant time.
    """
    if not header or not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[len("sha256=") :].strip().lower().encode())


def sign_hub(raw: bytes, secret: str) -> str:
    """The header value a Meta webhook carries for ``raw`` (used by the fake providers and benches)."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def meta_handshake(request: HttpRequest, verify_token: str) -> HttpResponse:
    """The GET verification: echo ``hub.challenge`` when ``hub.verify_token`` matches."""
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if mode != "subscribe" or not verify_token or not hmac.compare_digest(token.encode(), verify_token.encode()):
        return HttpResponse(_("Token de verificação inválido."), status=403, content_type="text/plain; charset=utf-8")
    if not challenge or len(challenge) > 200:
        return HttpResponse(_("hub.challenge ausente."), status=400, content_type="text/plain; charset=utf-8")
    return HttpResponse(challenge, content_type="text/plain; charset=utf-8")


def parse_json(raw: bytes) -> dict:
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(_("JSON inválido.")) from exc
    if not isinstance(payload, dict):
        raise BadPayload(_("O corpo deve ser um objeto JSON."))
    return payload


def _client() -> httpx.Client:
    return httpx.Client(timeout=settings.CHANNEL_HTTP_TIMEOUT)


def _raise_for(response: httpx.Response) -> None:
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientSendError(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400:
        raise SendError(f"HTTP {response.status_code}: {response.text[:250]}")


def http_request(method: str, url: str, **kwargs) -> httpx.Response:
    """One provider call; 5xx/429/timeouts raise ``TransientSendError``, other 4xx ``SendError``."""
    try:
        with _client() as client:
            response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientSendError(f"timeout: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransientSendError(f"transport: {exc}") from exc
    _raise_for(response)
    return response


def http_json(method: str, url: str, **kwargs) -> dict:
    response = http_request(method, url, **kwargs)
    try:
        data = response.json()
    except ValueError as exc:
        raise SendError(_("Resposta inválida do provedor.")) from exc
    return data if isinstance(data, dict) else {"data": data}


def download(url: str, *, headers: dict | None = None, limit: int) -> tuple[bytes, str] | None:
    """Fetch a media file, stopping at ``limit`` bytes: None when it is bigger."""
    try:
        with _client() as client, client.stream("GET", url, headers=headers or {}, follow_redirects=True) as response:
            _raise_for(response)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                return None
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.TimeoutException as exc:
        raise TransientSendError(f"timeout: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransientSendError(f"transport: {exc}") from exc


# --- outbound messages in several parts ---------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    return len(text.encode())


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Split a long text at line or word breaks so each piece measures at most ``limit``."""
    pieces, rest = [], text
    while measure(rest) > limit:
        cut = max(1, limit // 4)  # at most 4 units per character: always fits
        while cut < len(rest) and measure(rest[: cut + 1]) <= limit:
            cut += 1
        brk = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
        cut = brk if brk > cut // 2 else cut
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest else pieces


def send_in_parts(message, parts: Iterable[tuple[str, Callable[[], str]]]) -> str:
    """Send a message that takes several provider calls (text pieces, then each file).

    Each part is sent once: what already went out is kept in ``message.data["sent_parts"]``
    (written at once, outside the task's transaction outcome), so a retry after a partial
    success sends only the rest. Returns the provider id of the first part.
    """
    from omnichannel.models import Message

    sent = dict(message.data.get("sent_parts") or {})
    for key, send_part in parts:
        if key in sent:
            continue
        sent[key] = send_part()
        message.data = {**message.data, "sent_parts": sent}
        Message.objects.filter(pk=message.pk).update(data=message.data)
    if not sent:
        raise SendError(_("Mensagem vazia."))
    return next(iter(sent.values()))


def read_attachment(attachment) -> tuple[bytes, str]:
    with attachment.file.open("rb") as fh:
        return fh.read(), attachment.content_type or "application/octet-stream"
