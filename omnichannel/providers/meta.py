"""Facebook Messenger and Instagram Direct (Messenger Platform), one adapter for both.

Webhook: the same GET verification handshake and ``X-Hub-Signature-256`` POST signature as
WhatsApp (the app's secret, checked on the raw body before parsing). ``object`` is ``page``
for Messenger and ``instagram`` for Instagram; every ``entry[]`` and every
``entry[].messaging[]`` event is processed: ``message`` (text, quick replies, attachments),
``postback``, ``delivery`` (``mids[]``) and ``read`` (``watermark``: everything we sent to
that person up to that time; Instagram names the ``mid``). Echoes of the page's own
messages (``message.is_echo``) are ignored, as are reactions, referrals, hand-overs and any
other event kind. The contact is the PSID (Messenger) or IGSID (Instagram); a new contact's
name comes from the User Profile API (a short call; the PSID stands in when it fails).

Send: ``POST /{version}/me/messages`` with the page access token, ``messaging_type``
``RESPONSE``; a file goes as a multipart upload (``filedata``) in the same call.
"""

import json
import mimetypes
import posixpath
import re
from datetime import UTC, datetime
from functools import partial
from urllib.parse import urlsplit

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
from omnichannel.models import (
    MESSAGE_STATE_RANK,
    ChannelAccount,
    ChannelContact,
    Message,
    MessageKind,
    MessageState,
)
from omnichannel.providers.base import (
    BadPayload,
    SendError,
    TransientSendError,
    download,
    forbidden,
    http_json,
    hub_signature_valid,
    meta_handshake,
    ok,
    parse_json,
    read_attachment,
    send_in_parts,
    split_text,
    utf8_len,
)

DEFAULT_BASE = "https://graph.facebook.com"
OBJECTS = {"facebook": "page", "instagram": "instagram"}
MEDIA_TYPES = ("image", "audio", "video", "file")
LINK_TYPES = ("fallback", "share", "template", "ig_reel", "reel", "story_mention")
# Messenger counts characters (2,000); Instagram bytes of UTF-8 (1,000).
TEXT_LIMITS = {"facebook": (2000, len), "instagram": (1000, utf8_len)}
# The profile look-up of a new contact happens inside the webhook: kept short.
PROFILE_TIMEOUT = 5
PROFILE_FIELDS = {"facebook": "first_name,last_name", "instagram": "name,username"}
# Graph API errors that say "try again later" (rate limits, temporary failures).
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613}


def _base(account: ChannelAccount) -> str:
    return f"{(account.api_base_url or DEFAULT_BASE).rstrip('/')}/{settings.WHATSAPP_GRAPH_VERSION}"


def configured(account: ChannelAccount) -> bool:
    return bool(account.access_token)


# --- inbound -------------------------------------------------------------------------------


def _url(value) -> str:
    url = str(value or "")
    if not url.startswith(("https://", "http://")):
        raise BadPayload(_("Anexo sem url."))
    return url[:2000]


def _attachments(mid: str, items) -> tuple[list[str], dict]:
    """Lines of text and data parts (media refs, location) of ``message.attachments``."""
    if not isinstance(items, list):
        raise BadPayload(_("Anexos inválidos."))
    lines: list[str] = []
    data: dict = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadPayload(_("Anexo inválido."))
        kind = str(item.get("type", ""))
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        if kind in MEDIA_TYPES:
            data.setdefault("media", []).append({"id": f"{mid}:{index}", "kind": kind, "url": _url(payload.get("url"))})
        elif kind == "location":
            coords = payload.get("coordinates") or {}
            try:
                lat, lng = float(coords["lat"]), float(coords["long"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadPayload(_("Localização inválida.")) from exc
            title = str(item.get("title") or payload.get("title") or "")[:200]
            data["location"] = {"latitude": lat, "longitude": lng, "name": title, "address": ""}
            lines.append((_("Localização: %(lat)s, %(lng)s") % {"lat": lat, "lng": lng}) + (f" ({title})" if title else ""))
        elif kind in LINK_TYPES:
            url = str(item.get("url") or payload.get("url") or "")[:2000]
            title = str(item.get("title") or payload.get("title") or "")[:300]
            lines.append(" ".join(x for x in (title, url) if x) or _("[Conteúdo compartilhado]"))
        else:
            lines.append(_("[Anexo do tipo %(kind)s não suportado]") % {"kind": kind or "?"})
    return lines, data


def _sender(event: dict) -> str:
    sender = event.get("sender")
    psid = str(sender.get("id", "")) if isinstance(sender, dict) else ""
    if not psid:
        raise BadPayload(_("Evento sem remetente."))
    return psid[:255]


def _message_inbound(event: dict) -> Inbound | None:
    msg = event["message"]
    if not isinstance(msg, dict):
        raise BadPayload(_("Mensagem inválida."))
    if msg.get("is_echo") or msg.get("is_deleted"):
        return None  # the page's own message (sent by us or from the inbox), or an unsent one
    psid = _sender(event)
    mid = str(msg.get("mid", ""))
    if not mid:
        raise BadPayload(_("Mensagem sem mid."))
    text = msg.get("text", "")
    if not isinstance(text, str):
        raise BadPayload(_("Texto inválido."))
    data: dict = {"type": "text"}
    quick = msg.get("quick_reply")
    if isinstance(quick, dict) and quick.get("payload"):
        data["quick_reply"] = str(quick["payload"])[:1000]
        text = text or data["quick_reply"]
        data["type"] = "quick_reply"
    lines, parts = _attachments(mid, msg.get("attachments", []))
    data.update(parts)
    if parts.get("media"):
        data["type"] = parts["media"][0]["kind"]
    elif "location" in parts:
        data["type"] = "location"
    body = "\n".join(x for x in (text, *lines) if x)
    if not body and not parts.get("media"):
        body = _("[Mensagem não suportada]")
        data["unsupported"] = True
    return Inbound(contact_id=psid, external_id=mid, body=body, data=data)


def _postback_inbound(event: dict) -> Inbound:
    postback = event["postback"]
    if not isinstance(postback, dict):
        raise BadPayload(_("Postback inválido."))
    psid = _sender(event)
    title = str(postback.get("title") or postback.get("payload") or "")
    mid = str(postback.get("mid") or f"postback:{psid}:{event.get('timestamp', '')}")
    return Inbound(contact_id=psid, external_id=mid, body=title,
                   data={"type": "postback", "payload": str(postback.get("payload", ""))[:1000]})


def _watermark(value) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadPayload(_("watermark inválido."))
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _mark_up_to(account: ChannelAccount, psid: str, until: datetime, state: str) -> int:
    """A watermark receipt: everything we sent to ``psid`` up to ``until`` reached ``state``."""
    below = [s for s, rank in MESSAGE_STATE_RANK.items()
             if rank < MESSAGE_STATE_RANK[state] and s not in (MessageState.PENDING, MessageState.FAILED,
                                                               MessageState.NOT_SENT)]
    ids = list(
        Message.objects.filter(
            account=account,
            conversation__contact__account=account,
            conversation__contact__external_id=psid,
            kind__in=(MessageKind.AGENT, MessageKind.SYSTEM),
            state__in=below,
            created_at__lte=until,
        )
        .exclude(external_id="")
        .order_by("created_at")
        .values_list("external_id", flat=True)[:500]
    )
    return sum(intake_receipt(account, external_id, state) for external_id in ids)


def _receipt(account: ChannelAccount, event: dict) -> int:
    if "delivery" in event:
        delivery = event["delivery"]
        if not isinstance(delivery, dict):
            raise BadPayload(_("Recibo inválido."))
        mids = delivery.get("mids") or []
        if mids:
            return sum(intake_receipt(account, str(mid), MessageState.DELIVERED) for mid in mids if mid)
        if "watermark" in delivery:
            return _mark_up_to(account, _sender(event), _watermark(delivery["watermark"]), MessageState.DELIVERED)
        return 0
    read = event["read"]
    if not isinstance(read, dict):
        raise BadPayload(_("Recibo inválido."))
    if "watermark" in read:
        return _mark_up_to(account, _sender(event), _watermark(read["watermark"]), MessageState.READ)
    if read.get("mid"):  # Instagram: the last message seen
        seen = Message.objects.filter(account=account, external_id=str(read["mid"])[:255]).first()
        if seen is not None:
            return _mark_up_to(account, _sender(event), seen.created_at, MessageState.READ)
    return 0


def _events(account: ChannelAccount, payload: dict) -> list[dict]:
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise BadPayload(_("Campo entry ausente."))
    events = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadPayload(_("Entrada inválida."))
        if account.external_id and entry.get("id") and str(entry["id"]) != account.external_id:
            continue  # another page of the same app
        messaging = entry.get("messaging")
        if messaging is None:
            continue  # "changes" (feed, comments) or "standby": not handled here
        if not isinstance(messaging, list) or not all(isinstance(e, dict) for e in messaging):
            raise BadPayload(_("Campo messaging inválido."))
        events.extend(messaging)
    return events


def _profile_name(account: ChannelAccount, psid: str) -> str:
    """The name of a new contact, from the User Profile API (the webhook carries only the
    PSID/IGSID); empty when the contact is known already or the look-up fails."""
    if not configured(account) or ChannelContact.objects.filter(account=account, external_id=psid).exclude(name="").exists():
        return ""
    try:
        profile = http_json(
            "GET",
            f"{_base(account)}/{psid}",
            params={"fields": PROFILE_FIELDS.get(account.channel, "name")},
            headers={"Authorization": f"Bearer {account.access_token}"},
            timeout=min(PROFILE_TIMEOUT, settings.CHANNEL_HTTP_TIMEOUT),
        )
    except (SendError, TransientSendError):
        return ""
    name = " ".join(str(profile.get(k) or "") for k in ("first_name", "last_name")).strip()
    return (name or str(profile.get("name") or "") or str(profile.get("username") or ""))[:200]


def handle(request: HttpRequest, account: ChannelAccount) -> HttpResponse:
    if request.method == "GET":
        return meta_handshake(request, account.verify_token)
    raw = request.body
    if not hub_signature_valid(raw, request.headers.get("X-Hub-Signature-256"), account.app_secret):
        return forbidden()
    payload = parse_json(raw)
    if payload.get("object") != OBJECTS.get(account.channel):
        return ok({"ignored": True})
    events = _events(account, payload)
    # Everything is read (and a malformed event refused) before anything is stored.
    parsed: list[tuple[Inbound | None, dict | None]] = []
    for event in events:
        if "message" in event:
            parsed.append((_message_inbound(event), None))
        elif "postback" in event:
            parsed.append((_postback_inbound(event), None))
        elif "delivery" in event or "read" in event:
            parsed.append((None, event))
        else:
            parsed.append((None, None))  # reactions, referrals, opt-ins, hand-overs...
    names: dict[str, str] = {}
    for inbound, _receipt_event in parsed:
        if inbound is not None and inbound.contact_id not in names:
            names[inbound.contact_id] = _profile_name(account, inbound.contact_id)
    keep_raw(account, raw, kind=account.channel)
    stored = receipts = ignored = 0
    for inbound, receipt in parsed:
        if receipt is not None:
            receipts += _receipt(account, receipt)
            continue
        if inbound is None:
            ignored += 1  # echoes and the event kinds not handled
            continue
        inbound.contact_name = names[inbound.contact_id]
        message = intake_message(account, inbound)
        if message is not None:
            stored += 1
            if inbound.data.get("media"):
                from omnichannel.outbound import fetch_after_commit

                fetch_after_commit(message.pk)
    return ok({"stored": stored, "receipts": receipts, "ignored": ignored})


# --- outbound -------------------------------------------------------------------------------


def _post(account: ChannelAccount, **kwargs) -> str:
    """One Send API call; the ``message_id``. Graph's "temporary" errors come as a 400 with
    ``is_transient`` or a rate-limit code: those are retried too."""
    try:
        answer = http_json("POST", f"{_base(account)}/me/messages",
                           headers={"Authorization": f"Bearer {account.access_token}"}, **kwargs)
    except SendError as exc:
        text = str(exc)
        code = re.search(r'"code"\s*:\s*(\d+)', text)
        if re.search(r'"is_transient"\s*:\s*true', text) or (code and int(code.group(1)) in TRANSIENT_CODES):
            raise TransientSendError(text) from exc
        raise
    if not answer.get("message_id"):
        raise SendError(_("Resposta do Messenger sem id de mensagem."))
    return str(answer["message_id"])


def _attachment_type(content_type: str) -> str:
    major = (content_type or "").split("/")[0]
    return major if major in ("image", "audio", "video") else "file"


def send(account: ChannelAccount, message: Message) -> str:
    """Send one message (text, then each attachment); returns the first ``message_id``."""
    recipient = {"id": message.conversation.contact.external_id}
    limit, measure = TEXT_LIMITS.get(account.channel, TEXT_LIMITS["facebook"])

    def text(chunk: str) -> str:
        return _post(account, json={"recipient": recipient, "messaging_type": "RESPONSE", "message": {"text": chunk}})

    def upload(attachment) -> str:
        content, mime = read_attachment(attachment)
        body = {"attachment": {"type": _attachment_type(mime), "payload": {"is_reusable": False}}}
        return _post(
            account,
            data={"recipient": json.dumps(recipient), "messaging_type": "RESPONSE", "message": json.dumps(body)},
            files={"filedata": (attachment.name, content, mime)},
        )

    parts = [(f"text:{i}", partial(text, chunk)) for i, chunk in enumerate(split_text(message.body or "", limit, measure))]
    parts += [(f"file:{a.pk}", partial(upload, a)) for a in message.attachments.all()]
    return send_in_parts(message, parts)


def fetch_media(account: ChannelAccount, ref: dict) -> InboundFile | None:
    """Download an attachment from the URL the webhook carried (Meta's CDN: no token is sent
    there), within the inbound size limit."""
    url = ref.get("url")
    if not url:
        return None
    got = download(url, limit=inbound_max_bytes())
    if got is None:
        return None
    content, content_type = got
    base = posixpath.basename(urlsplit(url).path)
    mime = content_type or mimetypes.guess_type(base)[0] or "application/octet-stream"
    if not base or "." not in base:
        base = f"{ref.get('kind', 'arquivo')}-{ref['id'].rsplit(':', 1)[-1]}{mimetypes.guess_extension(mime) or ''}"
    return InboundFile(name=base[:200], content=content, content_type=mime)
