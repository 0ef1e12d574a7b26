"""Fake providers: real HTTP servers on 127.0.0.1 speaking the providers' shapes.

The adapters under test talk to them over real sockets (``ChannelAccount.api_base_url``
points here); nothing of the project's own code is mocked. Each fake records every
request it received and can be told to fail the next calls (a status, or a delay longer
than the client's timeout).
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (retry spacing)

    def json(self):
        return json.loads(self.body.decode())


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | list | str = b""
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class FakeProvider:
    routes: list = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    failures: list[Reply] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, pattern: str):
        def register(fn):
            self.routes.append((method, re.compile(pattern + r"\Z"), fn))
            return fn

        return register

    def fail_next(self, status: int = 500, *, times: int = 1, delay: float = 0.0, body=None) -> None:
        for _ in range(times):
            self.failures.append(Reply(status=status, body=body if body is not None else {"error": {"message": "fake failure"}}, delay=delay))

    def requests_to(self, pattern: str, method: str = "POST") -> list[Received]:
        rx = re.compile(pattern)
        return [r for r in self.received if r.method == method and rx.search(r.path)]

    def _dispatch(self, received: Received) -> Reply:
        self.received.append(received)
        if self.failures:
            return self.failures.pop(0)
        for method, rx, fn in self.routes:
            match = rx.match(received.path)
            if method == received.method and match:
                return fn(received, **match.groupdict())
        return Reply(404, {"error": {"message": "not found"}})

    def start(self) -> "FakeProvider":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                reply = fake._dispatch(
                    Received(self.command, split.path, parse_qs(split.query), dict(self.headers.items()), body)
                )
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                elif isinstance(payload, str):
                    payload = payload.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def post_webhook(url: str, body: bytes, headers: dict) -> httpx.Response:
    """The provider's side of a webhook delivery, over a real socket."""
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


# --- WhatsApp Cloud API -------------------------------------------------------------------


def whatsapp_fake(version: str = "v21.0") -> FakeProvider:
    fake = FakeProvider()
    counter = iter(range(1, 1_000_000))
    media: dict[str, tuple[bytes, str]] = {}
    fake.media = media

    @fake.route("POST", rf"/{version}/(?P<phone>[^/]+)/messages")
    def send(req, phone):
        data = req.json()
        return Reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": data.get("to"), "wa_id": data.get("to")}],
                           "messages": [{"id": f"wamid.FAKE{next(counter)}"}]})

    @fake.route("POST", rf"/{version}/(?P<phone>[^/]+)/media")
    def upload(req, phone):
        return Reply(200, {"id": f"media-up-{next(counter)}"})

    @fake.route("GET", rf"/{version}/(?P<media_id>[^/]+)")
    def media_info(req, media_id):
        if media_id not in media:
            return Reply(404, {"error": {"message": "unknown media"}})
        content, mime = media[media_id]
        return Reply(200, {"url": f"{fake.url}/files/{media_id}", "mime_type": mime, "file_size": len(content), "id": media_id})

    @fake.route("GET", r"/files/(?P<media_id>[^/]+)")
    def media_file(req, media_id):
        content, mime = media[media_id]
        return Reply(200, content, content_type=mime)

    return fake.start()


def whatsapp_message(wa_id: str, text: str, *, msg_id: str, name: str = "Cliente", phone_id: str = "1000", extra=None) -> dict:
    message = {"from": wa_id, "id": msg_id, "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}
    if extra:
        message = {"from": wa_id, "id": msg_id, "timestamp": str(int(time.time())), **extra}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511999990000", "phone_number_id": phone_id},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [message],
        }}]}],
    }


def whatsapp_status(wamid: str, status: str, *, phone_id: str = "1000", recipient: str = "5511988887777") -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511999990000", "phone_number_id": phone_id},
            "statuses": [{"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": recipient}],
        }}]}],
    }
