"""WhatsApp Cloud API.

Webhook: GET verification handshake (hub.mode / hub.verify_token / hub.challenge); POSTs
signed with ``X-Hub-Signature-256`` (checked on the raw body before parsing); messages in
``entry[].changes[].value.messages[]`` with names in ``value.contacts[]``; delivery receipts
in ``value.statuses[]``. Send: ``POST /{version}/{phone-number-id}/messages`` with the
account's access token; media uploaded to ``/{phone-number-id}/media`` first.
"""

from functools import partial

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from omnichannel.intake import (
    Inbound,
    InboundFile,
    inbound_max_bytes,
    intake_message,
    intake_receipt,
    keep_raw,
)
from omnichannel.models import ChannelAccount, Message, MessageState
from omnichannel.providers.base import (
    BadPayload,
    SendError,
    download,
    forbidden,
    http_json,
    hub_signature_valid,
    items,
    meta_handshake,
    obj,
    ok,
    parse_json,
    read_attachment,
    send_in_parts,
)

DEFAULT_BASE = "https://graph.facebook.com"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker", "voice")
RECEIPT_STATES = {
    "sent": MessageState.SENT,
    "delivered": MessageState.DELIVERED,
    "read": MessageState.READ,
    "failed": MessageState.FAILED,
}


def _base(account: ChannelAccount) -> str:
    return f"{(account.api_base_url or DEFAULT_BASE).rstrip('/')}/{settings.WHATSAPP_GRAPH_VERSION}"


def configured(account: ChannelAccount) -> bool:
    return bool(account.access_token and account.external_id)


# --- inbound -------------------------------------------------------------------------------


def _text_of(msg: dict) -> tuple[str, dict]:
    """The text and non-text parts of one message of ``value.messages[]``."""
    kind = str(msg.get("type", ""))[:50]
    data: dict = {"type": kind}
    if kind == "text":
        return str(obj(msg.get("text")).get("body", "")), data
    if kind in MEDIA_TYPES:
        media = obj(msg.get(kind))
        if not media.get("id"):
            raise BadPayload(_("Mídia sem id."))
        data["media"] = [
            {
                "id": str(media["id"]),
                "mime_type": str(media.get("mime_type", ""))[:100],
                "filename": str(media.get("filename", ""))[:200],
                "kind": kind,
            }
        ]
        return str(media.get("caption", "")), data
    if kind == "location":
        loc = obj(msg.get("location"))
        try:
            lat, lng = float(loc["latitude"]), float(loc["longitude"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(_("Localização inválida.")) from exc
        data["location"] = {"latitude": lat, "longitude": lng, "name": str(loc.get("name", ""))[:200],
                            "address": str(loc.get("address", ""))[:300]}
        label = " - ".join(x for x in (data["location"]["name"], data["location"]["address"]) if x)
        return (_("Localização: %(lat)s, %(lng)s") % {"lat": lat, "lng": lng}) + (f" ({label})" if label else ""), data
    if kind == "interactive":
        inter = obj(msg.get("interactive"))
        reply = obj(inter.get("button_reply") or inter.get("list_reply"))
        return str(reply.get("title", "")), data
    if kind == "button":
        return str(obj(msg.get("button")).get("text", "")), data
    if kind == "contacts":
        names = [str(obj(obj(c).get("name")).get("formatted_name", "")) for c in items(msg.get("contacts"))]
        return _("Contato compartilhado: %(names)s") % {"names": ", ".join(n for n in names if n)}, data
    return "", {**data, "unsupported": True}


def _process(account: ChannelAccount, value: dict) -> tuple[int, int]:
    stored = receipts = 0
    names = {}
    for contact in items(value.get("contacts")):
        if isinstance(contact, dict) and contact.get("wa_id"):
            names[str(contact["wa_id"])] = str(obj(contact.get("profile")).get("name", ""))
    for msg in items(value.get("messages")):
        if not isinstance(msg, dict) or not msg.get("id") or not msg.get("from"):
            raise BadPayload(_("Mensagem sem id ou remetente."))
        body, data = _text_of(msg)
        if data.get("unsupported") and not body:
            body = _("[Mensagem do tipo %(kind)s não suportada]") % {"kind": data.get("type") or "?"}
        wa_id = str(msg["from"])[:255]
        message = intake_message(
            account,
            Inbound(
                contact_id=wa_id,
                external_id=str(msg["id"]),
                body=body,
                contact_name=names.get(wa_id, ""),
                phone=wa_id[:20],
                data=data,
            ),
        )
        if message is not None:
            stored += 1
            if data.get("media"):
                from omnichannel.outbound import fetch_after_commit

                fetch_after_commit(message.pk)
    for status in items(value.get("statuses")):
        if not isinstance(status, dict):
            continue
        state = RECEIPT_STATES.get(str(status.get("status", "")))
        if state is None:
            continue
        error = ""
        errors = status.get("errors")
        if errors and isinstance(errors, list) and isinstance(errors[0], dict):
            error = str(errors[0].get("title") or errors[0].get("message") or "")
        if intake_receipt(account, str(status.get("id", "")), state, error=error):
            receipts += 1
    return stored, receipts


def handle(request: HttpRequest, account: ChannelAccount) -> HttpResponse:
    if request.method == "GET":
        return meta_handshake(request, account.verify_token)
    raw = request.body
    if not hub_signature_valid(raw, request.headers.get("X-Hub-Signature-256"), account.app_secret):
        return forbidden()
    payload = parse_json(raw)
    if payload.get("object") != "whatsapp_business_account":
        return ok({"ignored": True})
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise BadPayload(_("Campo entry ausente."))
    values = []
    for entry in entries:
        for change in items(obj(entry).get("changes")):
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                raise BadPayload(_("Campo value inválido."))
            phone_id = str(obj(value.get("metadata")).get("phone_number_id", ""))
            if account.external_id and phone_id and phone_id != account.external_id:
                continue  # another number of the same app
            values.append(value)
    keep_raw(account, raw, kind="whatsapp")
    stored = receipts = 0
    for value in values:
        s, r = _process(account, value)
        stored += s
        receipts += r
    return ok({"stored": stored, "receipts": receipts})


# --- outbound -------------------------------------------------------------------------------


def _headers(account: ChannelAccount) -> dict:
    return {"Authorization": f"Bearer {account.access_token}"}


def _upload(account: ChannelAccount, attachment) -> str:
    content, _mime = read_attachment(attachment)
    data = http_json(
        "POST",
        f"{_base(account)}/{account.external_id}/media",
        headers=_headers(account),
        data={"messaging_product": "whatsapp", "type": attachment.content_type or "application/octet-stream"},
        files={"file": (attachment.name, content, attachment.content_type or "application/octet-stream")},
    )
    if not data.get("id"):
        raise SendError(_("Upload de mídia sem id."))
    return str(data["id"])


def _media_kind(content_type: str) -> str:
    major = (content_type or "").split("/")[0]
    return {"image": "image", "audio": "audio", "video": "video"}.get(major, "document")


def send(account: ChannelAccount, message: Message) -> str:
    """Send one message (a template; or the text, then each file); returns the first ``wamid``
    (the id receipts will name)."""
    url = f"{_base(account)}/{account.external_id}/messages"
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.conversation.contact.external_id}

    def post(payload: dict) -> str:
        answer = http_json("POST", url, headers=_headers(account), json={**base, **payload})
        try:
            return str(answer["messages"][0]["id"])
        except (IndexError, KeyError, TypeError) as exc:
            raise SendError(_("Resposta do WhatsApp sem id de mensagem.")) from exc

    def upload(attachment) -> str:
        kind = _media_kind(attachment.content_type)
        part = {"id": _upload(account, attachment)}
        if kind == "document":
            part["filename"] = attachment.name
        return post({"type": kind, kind: part})

    template = message.data.get("template")
    if not template:
        from omnichannel.services import within_service_window

        # Every free-form message, the automatic ones too (inactivity warning, evaluation
        # request or its re-send a day later): WhatsApp refuses them outside the window.
        if not within_service_window(message.conversation):
            raise SendError(
                _("Fora da janela de 24 horas do WhatsApp: só um modelo aprovado pode ser enviado.")
            )
    if template:
        language = {"code": template.get("language", "pt_BR")}
        parts = [("template", partial(post, {"type": "template", "template": {"name": template["name"], "language": language}}))]
    else:
        parts = [("text:0", partial(post, {"type": "text", "text": {"preview_url": False, "body": message.body}}))] if message.body else []
        parts += [(f"file:{a.pk}", partial(upload, a)) for a in message.attachments.all()]
    return send_in_parts(message, parts)


def fetch_media(account: ChannelAccount, ref: dict) -> InboundFile | None:
    info = http_json("GET", f"{_base(account)}/{ref['id']}", headers=_headers(account))
    url = info.get("url")
    if not url:
        return None
    limit = inbound_max_bytes()
    if str(info.get("file_size", "0")).isdigit() and int(info.get("file_size", 0)) > limit:
        return None
    got = download(url, headers=_headers(account), limit=limit)
    if got is None:
        return None
    content, content_type = got
    mime = ref.get("mime_type") or info.get("mime_type") or content_type
    name = ref.get("filename") or f"{ref.get('kind', 'arquivo')}-{ref['id']}{_extension(mime)}"
    return InboundFile(name=name, content=content, content_type=mime)


def _extension(mime: str) -> str:
    import mimetypes

    return mimetypes.guess_extension((mime or "").split(";")[0].strip()) or ""
