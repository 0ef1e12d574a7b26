"""A fake Graph API (Messenger Platform Send API) and CDN on 127.0.0.1, and builders of
Messenger / Instagram webhook payloads."""

import json
import time

from tests.providers.fake import FakeProvider, Reply
from tests.providers.fake_telegram import multipart

PAGE_ID = "1122334455"
IG_ID = "17841400000000000"
OBJECTS = {"facebook": "page", "instagram": "instagram"}


def meta_fake(version: str = "v21.0") -> FakeProvider:
    fake = FakeProvider()
    counter = iter(range(1, 1_000_000))
    media: dict[str, tuple[bytes, str]] = {}
    fake.media = media
    fake.sent = []  # (recipient id, message dict, file or None) of every accepted send
    profiles: dict[str, dict] = {}  # PSID/IGSID -> {"first_name", "last_name", "name", "username"}
    fake.profiles = profiles

    @fake.route("POST", rf"/{version}/me/messages")
    def send(req):
        if not req.headers.get("Authorization", "").startswith("Bearer "):
            return Reply(400, {"error": {"message": "An access token is required", "type": "OAuthException", "code": 104}})
        if req.headers.get("Content-Type", "").startswith("multipart/"):
            fields = multipart(req)
            recipient, message, upload = json.loads(fields["recipient"]), json.loads(fields["message"]), fields.get("filedata")
        else:
            data = req.json()
            recipient, message, upload = data.get("recipient") or {}, data.get("message") or {}, None
        if not recipient.get("id"):
            return Reply(400, {"error": {"message": "(#100) The parameter recipient is required", "code": 100}})
        fake.sent.append((recipient["id"], message, upload))
        return Reply(200, {"recipient_id": recipient["id"], "message_id": f"m_FAKE{next(counter)}"})

    @fake.route("GET", rf"/{version}/(?P<user_id>\d+)")
    def profile(req, user_id):
        """User Profile API: only the fields asked for (Messenger: first/last name; Instagram: name, username)."""
        if user_id not in profiles or not req.headers.get("Authorization", "").startswith("Bearer "):
            return Reply(400, {"error": {"message": "(#100) No profile available for this user.", "code": 100}})
        fields = (req.query.get("fields") or [""])[0].split(",")
        return Reply(200, {"id": user_id, **{k: v for k, v in profiles[user_id].items() if k in fields}})

    @fake.route("GET", r"/cdn/(?P<name>[^/]+)")
    def cdn(req, name):
        if name not in media:
            return Reply(404, b"not found", content_type="text/plain")
        content, mime = media[name]
        return Reply(200, content, content_type=mime)

    return fake.start()


def entry(channel: str, events: list[dict], *, page_id: str | None = None) -> dict:
    page = page_id or (PAGE_ID if channel == "facebook" else IG_ID)
    return {"object": OBJECTS[channel], "entry": [{"id": page, "time": int(time.time() * 1000), "messaging": events}]}


def event(psid: str, body: dict, *, page_id: str = PAGE_ID) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": int(time.time() * 1000), **body}


def message_event(psid: str, text: str | None = "Olá", *, mid: str, attachments=None, **extra) -> dict:
    message = {"mid": mid, **extra}
    if text is not None:
        message["text"] = text
    if attachments is not None:
        message["attachments"] = attachments
    return event(psid, {"message": message})


def delivery_event(psid: str, mids: list[str]) -> dict:
    return event(psid, {"delivery": {"mids": mids, "watermark": int(time.time() * 1000)}})


def read_event(psid: str, watermark_ms: int) -> dict:
    return event(psid, {"read": {"watermark": watermark_ms}})
