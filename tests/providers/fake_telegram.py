"""A fake Telegram Bot API on 127.0.0.1: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``,
answering in the Bot API's shapes (``{"ok": true, "result": ...}`` / ``{"ok": false,
"error_code": ..., "description": ...}``)."""

import email
import email.policy
import time

from tests.providers.fake import FakeProvider, Received, Reply

TOKEN = "123456789:AAE-fake-bot-token"
SECRET = "segredo_do_webhook-123"


def multipart(received: Received) -> dict:
    """The fields of a multipart/form-data request: name → str, or (filename, bytes, type) for a file."""
    head = f"Content-Type: {received.headers.get('Content-Type')}\r\n\r\n".encode()
    parsed = email.message_from_bytes(head + received.body, policy=email.policy.HTTP)
    fields = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        content = part.get_payload(decode=True)
        if filename is not None:
            fields[name] = (filename, content, part.get_content_type())
        else:
            fields[name] = content.decode()
    return fields


def error(code: int, description: str, **parameters) -> Reply:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(code, body)


def telegram_fake(token: str = TOKEN) -> FakeProvider:
    fake = FakeProvider()
    counter = iter(range(500, 1_000_000))
    files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
    fake.files = files

    def sent(chat_id, **extra) -> Reply:
        return Reply(200, {"ok": True, "result": {"message_id": next(counter), "date": int(time.time()),
                                                  "chat": {"id": int(chat_id), "type": "private"}, **extra}})

    @fake.route("POST", r"/bot(?P<bot>[^/]+)/sendMessage")
    def send_message(req, bot):
        if bot != token:
            return error(401, "Unauthorized")
        data = req.json()
        if not data.get("text"):
            return error(400, "Bad Request: message text is empty")
        return sent(data["chat_id"], text=data["text"])

    @fake.route("POST", r"/bot(?P<bot>[^/]+)/(?P<method>sendDocument|sendPhoto)")
    def send_file(req, bot, method):
        if bot != token:
            return error(401, "Unauthorized")
        fields = multipart(req)
        field = "photo" if method == "sendPhoto" else "document"
        if not isinstance(fields.get(field), tuple):
            return error(400, f"Bad Request: there is no {field} in the request")
        return sent(fields["chat_id"], **{field: {"file_id": f"up-{next(counter)}", "file_name": fields[field][0]}})

    @fake.route("POST", r"/bot(?P<bot>[^/]+)/getFile")
    def get_file(req, bot):
        if bot != token:
            return error(401, "Unauthorized")
        file_id = req.json().get("file_id")
        if file_id not in files:
            return error(400, "Bad Request: invalid file_id")
        path, content = files[file_id]
        return Reply(200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": f"u{file_id}",
                                                  "file_size": len(content), "file_path": path}})

    @fake.route("GET", r"/file/bot(?P<bot>[^/]+)/(?P<path>.+)")
    def download(req, bot, path):
        for file_path, content in files.values():
            if bot == token and file_path == path:
                return Reply(200, content, content_type="application/octet-stream")
        return error(404, "Not Found")

    return fake.start()


def telegram_update(update_id: int, chat_id: int, text: str | None = "Olá", *, message_id: int = 1,
                    first_name: str = "Cliente", last_name: str = "", username: str = "", extra: dict | None = None,
                    kind: str = "message", chat_type: str = "private") -> dict:
    sender = {"id": chat_id if chat_id > 0 else 4242, "is_bot": False, "first_name": first_name, "language_code": "pt-br"}
    if last_name:
        sender["last_name"] = last_name
    if username:
        sender["username"] = username
    chat = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = first_name
    else:
        chat["title"] = "Grupo de clientes"
    message = {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time())}
    if text is not None:
        message["text"] = text
    message.update(extra or {})
    return {"update_id": update_id, kind: message}
