"""Telegram Bot API.

Webhook (``setWebhook`` with ``secret_token``): POST only; every update carries the
``X-Telegram-Bot-Api-Secret-Token`` header, compared in constant time with the account's
``webhook_secret`` (an account without one accepts nothing). Telegram re-delivers an update
until it gets a 2xx, so ``update_id`` is de-duplicated through the raw-payload audit
(``InboundEvent.dedupe_key``). Only ``message`` updates are taken; edits, channel posts,
callback queries and the other update kinds are answered 200 and ignored.

The contact is the chat: ``chat.id`` is a signed 64-bit integer (negative for groups),
kept in ``ChannelContact.chat_id``; a message id is only unique within its chat, so the
message's external id is ``"<chat_id>:<message_id>"``.

Send: ``POST /bot<token>/sendMessage`` (JSON) and ``sendPhoto``/``sendDocument``
(multipart) with the bot token kept in ``access_token``. Telegram has no delivery or read
receipts for bots: ``sent`` is a Telegram message's final state.
"""

import hmac
import mimetypes
import posixpath
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from omnichannel.intake import Inbound, InboundFile, inbound_max_bytes, intake_message, keep_raw
from omnichannel.models import ChannelAccount, Message
from omnichannel.providers.base import (
    BadPayload,
    SendError,
    bad_request,
    download,
    forbidden,
    http_json,
    ok,
    parse_json,
    read_attachment,
    send_in_parts,
    split_text,
    utf16_len,
)

DEFAULT_BASE = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Telegram counts a message's length in UTF-16 code units.
TEXT_LIMIT = 4096
MEDIA_KINDS = ("document", "audio", "voice", "video", "video_note", "animation", "sticker")
PHOTO_TYPES = ("image/jpeg", "image/png")
INT64 = (-(2**63), 2**63 - 1)
# Keys of a Message that are not its content.
META_KEYS = {
    "message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count", "sender_business_bot",
    "date", "business_connection_id", "chat", "forward_origin", "is_topic_message", "is_automatic_forward",
    "reply_to_message", "external_reply", "quote", "reply_to_story", "via_bot", "edit_date",
    "has_protected_content", "is_from_offline", "media_group_id", "author_signature", "entities",
    "caption_entities", "link_preview_options", "reply_markup", "has_media_spoiler",
    "show_caption_above_media", "effect_id", "text", "caption",
}
# Service messages of groups (someone joined, the title changed...): not a customer's words.
SERVICE_KEYS = {
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
    "group_chat_created", "supergroup_chat_created", "channel_chat_created", "migrate_to_chat_id",
    "migrate_from_chat_id", "pinned_message", "message_auto_delete_timer_changed", "forum_topic_created",
    "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened", "video_chat_started",
    "video_chat_ended", "video_chat_scheduled", "video_chat_participants_invited", "users_shared",
    "chat_shared", "write_access_allowed", "proximity_alert_triggered", "boost_added", "chat_background_set",
}


def _root(account: ChannelAccount) -> str:
    return (account.api_base_url or DEFAULT_BASE).rstrip("/")


def _bot(account: ChannelAccount) -> str:
    return f"{_root(account)}/bot{account.access_token}"


def configured(account: ChannelAccount) -> bool:
    return bool(account.access_token)


# --- inbound -------------------------------------------------------------------------------


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not INT64[0] <= value <= INT64[1]:
        raise BadPayload(_("Campo %(field)s ausente ou inválido.") % {"field": what})
    return value


def _media_ref(kind: str, media: dict) -> dict:
    if not isinstance(media, dict) or not media.get("file_id"):
        raise BadPayload(_("Mídia sem file_id."))
    size = media.get("file_size")
    return {
        "id": str(media["file_id"])[:300],
        "kind": kind,
        "mime_type": str(media.get("mime_type", "") or ("image/jpeg" if kind == "photo" else ""))[:100],
        "filename": str(media.get("file_name", ""))[:200],
        "file_size": size if isinstance(size, int) and not isinstance(size, bool) else None,
    }


def _location(loc, venue=None) -> tuple[str, dict]:
    try:
        lat, lng = float(loc["latitude"]), float(loc["longitude"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPayload(_("Localização inválida.")) from exc
    venue = venue if isinstance(venue, dict) else {}
    part = {"latitude": lat, "longitude": lng, "name": str(venue.get("title", ""))[:200],
            "address": str(venue.get("address", ""))[:300]}
    label = " - ".join(x for x in (part["name"], part["address"]) if x)
    return (_("Localização: %(lat)s, %(lng)s") % {"lat": lat, "lng": lng}) + (f" ({label})" if label else ""), part


def _content(msg: dict) -> tuple[str, dict] | None:
    """The text and the non-text parts of a Message; None for a group's service message."""
    text = msg.get("text") if "text" in msg else msg.get("caption", "")
    if not isinstance(text, str):
        raise BadPayload(_("Texto inválido."))
    data: dict = {"type": "text"}
    media = []
    if "photo" in msg:
        sizes = msg["photo"]
        if not isinstance(sizes, list) or not sizes or not all(isinstance(s, dict) for s in sizes):
            raise BadPayload(_("Foto inválida."))
        largest = max(sizes, key=lambda s: (s.get("file_size") or 0, (s.get("width") or 0) * (s.get("height") or 0)))
        media.append(_media_ref("photo", largest))
        data["type"] = "photo"
    for kind in MEDIA_KINDS:
        if kind in msg:
            media.append(_media_ref(kind, msg[kind]))
            data["type"] = kind
    if media:
        data["media"] = media
    if "location" in msg:
        line, data["location"] = _location(msg["location"], msg.get("venue"))
        data["type"] = "location"
        text = f"{text}\n{line}".strip()
    if "contact" in msg:
        contact = msg["contact"] if isinstance(msg["contact"], dict) else {}
        name = " ".join(str(contact.get(k, "")) for k in ("first_name", "last_name")).strip()
        phone = str(contact.get("phone_number", ""))[:40]
        data["type"] = "contact"
        data["contact"] = {"name": name[:200], "phone": phone}
        shared = _("Contato compartilhado: %(names)s") % {"names": " ".join(x for x in (name, phone) if x)}
        text = f"{text}\n{shared}".strip()
    if text or media or data["type"] != "text":
        return text, data
    if SERVICE_KEYS & msg.keys():
        return None
    kind = next((k for k in msg if k not in META_KEYS), "?")
    return _("[Mensagem do tipo %(kind)s não suportada]") % {"kind": kind}, {"type": kind, "unsupported": True}


def _inbound(msg) -> Inbound | None:
    if not isinstance(msg, dict):
        raise BadPayload(_("Mensagem inválida."))
    chat = msg.get("chat")
    if not isinstance(chat, dict):
        raise BadPayload(_("Mensagem sem chat."))
    chat_id = _int(chat.get("id"), "chat.id")
    message_id = _int(msg.get("message_id"), "message_id")
    content = _content(msg)
    if content is None:
        return None
    body, data = content
    sender = msg.get("from") if isinstance(msg.get("from"), dict) else {}
    name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip()
    name = name or str(sender.get("username") or "") or str(chat.get("title") or "")
    if sender.get("username"):
        data["username"] = str(sender["username"])[:100]
    return Inbound(
        contact_id=str(chat_id),
        chat_id=chat_id,
        external_id=f"{chat_id}:{message_id}",
        body=body,
        contact_name=name[:200],
        data=data,
    )


def handle(request: HttpRequest, account: ChannelAccount) -> HttpResponse:
    if request.method != "POST":
        return bad_request(_("Método não permitido."), status=405)
    given = request.headers.get(SECRET_HEADER, "")
    secret = account.webhook_secret
    if not secret or not given or not hmac.compare_digest(given.encode(), secret.encode()):
        return forbidden()
    raw = request.body
    payload = parse_json(raw)
    update_id = _int(payload.get("update_id"), "update_id")
    kind = next((k for k in payload if k != "update_id"), "")
    inbound = _inbound(payload["message"]) if kind == "message" else None
    if not keep_raw(account, raw, kind=f"telegram:{kind}"[:40], dedupe_key=f"update:{update_id}"):
        return ok({"duplicate": True})
    if inbound is None:
        return ok({"ignored": True})
    message = intake_message(account, inbound)
    if message is not None and inbound.data.get("media"):
        from omnichannel.outbound import fetch_after_commit

        fetch_after_commit(message.pk)
    return ok({"stored": int(message is not None)})


# --- outbound -------------------------------------------------------------------------------


def _call(account: ChannelAccount, method: str, **kwargs) -> dict:
    """One Bot API method; its ``result``. 429 (``parameters.retry_after``) and 5xx are
    retried by the outbound task; other errors (blocked by the user, chat not found) are final."""
    answer = http_json("POST", f"{_bot(account)}/{method}", **kwargs)
    if not answer.get("ok"):
        raise SendError(str(answer.get("description") or _("Resposta inválida do Telegram."))[:250])
    result = answer.get("result")
    if not isinstance(result, dict) or "message_id" not in result:
        raise SendError(_("Resposta do Telegram sem id de mensagem."))
    return result


def send(account: ChannelAccount, message: Message) -> str:
    """Send one message (text, then each attachment); returns ``"<chat_id>:<message_id>"``."""
    contact = message.conversation.contact
    chat_id = contact.chat_id if contact.chat_id is not None else int(contact.external_id)

    def text(chunk: str) -> str:
        return f"{chat_id}:{_call(account, 'sendMessage', json={'chat_id': chat_id, 'text': chunk})['message_id']}"

    def upload(attachment) -> str:
        content, mime = read_attachment(attachment)
        method, field = ("sendPhoto", "photo") if mime in PHOTO_TYPES else ("sendDocument", "document")
        result = _call(account, method, data={"chat_id": str(chat_id)}, files={field: (attachment.name, content, mime)})
        return f"{chat_id}:{result['message_id']}"

    parts = [(f"text:{i}", partial(text, c)) for i, c in enumerate(split_text(message.body or "", TEXT_LIMIT, utf16_len))]
    parts += [(f"file:{a.pk}", partial(upload, a)) for a in message.attachments.all()]
    return send_in_parts(message, parts)


def fetch_media(account: ChannelAccount, ref: dict) -> InboundFile | None:
    """``getFile`` then ``/file/bot<token>/<file_path>``, within the inbound size limit (the
    Bot API itself refuses files over 20 MB: that answer is a refusal, not an error)."""
    limit = inbound_max_bytes()
    if isinstance(ref.get("file_size"), int) and ref["file_size"] > limit:
        return None
    answer = http_json("POST", f"{_bot(account)}/getFile", json={"file_id": ref["id"]})
    result = answer.get("result") if answer.get("ok") else None
    if not isinstance(result, dict) or not result.get("file_path"):
        return None
    size = result.get("file_size")
    if isinstance(size, int) and size > limit:
        return None
    path = str(result["file_path"])
    got = download(f"{_root(account)}/file/bot{account.access_token}/{path}", limit=limit)
    if got is None:
        return None
    content, content_type = got
    base = posixpath.basename(path)
    mime = ref.get("mime_type") or mimetypes.guess_type(base)[0] or content_type or "application/octet-stream"
    name = ref.get("filename") or f"{ref.get('kind', 'arquivo')}-{base or ref['id'][:20]}"
    if "." not in name:
        name += mimetypes.guess_extension(mime) or ""
    return InboundFile(name=name[:200], content=content, content_type=mime)
