"""E-mail: a mailbox per e-mail queue, read by IMAP polling or an inbound-parse webhook,
answered by SMTP.

Inbound, two ways, one parser and one intake:

* IMAP (``poll_mailbox``, run every minute by ``omnichannel.tasks_email.poll_mailboxes``):
  ``UID SEARCH UID <last+1>:*`` in the account's folder (read-only, nothing is marked or
  deleted), each message fetched whole and handed to the intake, then
  ``imap_last_uid`` advanced; a new ``UIDVALIDITY`` starts again from UID 1. Re-reading a
  message stores nothing twice: its Message-ID is unique per account.
* Inbound parse (``handle``, ``POST /webhooks/email/<key>/``) for a relay that turns mail
  into JSON. Authenticated by the header ``X-Inbound-Token`` equal to the account's
  ``webhook_secret`` (constant-time compare; 403 otherwise). The body is one JSON object::

      {
        "from": "Maria Souza <maria@example.com>",      # required
        "to": "suporte@provedor.com.br",                  # string or list, optional
        "subject": "Sem internet",
        "text": "plain-text body",                        # preferred over html
        "html": "<p>HTML body</p>",                       # used, as text, only without text
        "message_id": "<abc@mail.example.com>",          # without it, a hash of the body
        "in_reply_to": "<our-id@provedor.com.br>",
        "references": "<a@x> <b@y>",                      # string or list
        "attachments": [{"filename": "boleto.pdf", "content_type": "application/pdf",
                         "content": "<base64>"}]
      }

  A malformed body answers 400 and stores nothing; 200 ``{"stored": 0|1}`` otherwise.

Each e-mail becomes one customer message: the sender (lower-cased address) is the channel
contact, ``data`` keeps the subject and the threading headers, the text part is the body (an
HTML-only e-mail is reduced to its text; its markup is never kept nor rendered), attachments
are files within ``OMNICHANNEL_INBOUND_MAX_BYTES``. Threading: when In-Reply-To or
References names a message of this account (the customer's or ours), the e-mail joins that
message's conversation; when that conversation is already closed, the e-mail opens a new one
(new protocol; ``data["previous_conversation_id"]`` points back), because a closed
conversation has had its ticket and evaluation. An e-mail naming no known message opens a
new conversation, held in the queue's e-mail filter (status ``in_filter``) when the queue's
``email_filter`` is on.

Outbound (``send``): SMTP with the account's server, one e-mail per message, with
``In-Reply-To`` (the customer's last Message-ID) and ``References`` so the customer's mail
program shows one thread, and the protocol in the subject.
"""

import base64
import binascii
import contextlib
import hashlib
import hmac
import imaplib
import json
import logging
import mimetypes
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from omnichannel.intake import Inbound, InboundFile, inbound_max_bytes, intake_message, keep_raw
from omnichannel.models import (
    OPEN_STATUSES,
    ChannelAccount,
    Message,
    MessageKind,
)
from omnichannel.providers.base import (
    BadPayload,
    SendError,
    TransientSendError,
    bad_request,
    forbidden,
    ok,
    parse_json,
)

logger = logging.getLogger(__name__)

MSGID_RE = re.compile(r"<[^<>\s]+>")
# References kept on an outgoing e-mail (RFC 5322 suggests trimming long chains).
MAX_REFERENCES = 20
# The most messages one poll of one mailbox reads; the rest wait for the next minute.
POLL_BATCH = 200
PARSER = BytesParser(policy=policy.default)


# --- parsing -----------------------------------------------------------------------------------


@dataclass
class ParsedEmail:
    from_name: str
    from_address: str
    subject: str = ""
    text: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    date: str = ""
    files: list[InboundFile] = field(default_factory=list)
    oversized: bool = False


class _TextOf(HTMLParser):
    """The visible text of an HTML body: tags dropped, scripts and styles skipped, entities
    decoded, block elements on their own lines. Only text comes out; nothing is rendered."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOf()
    try:
        parser.feed(html or "")
        parser.close()
    except Exception:  # a broken document: what was read so far
        logger.debug("html_to_text: unparsable html", exc_info=True)
    lines = [re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def normalize_msgid(value: str) -> str:
    """``<id@host>``: angle brackets added when missing, whitespace dropped; "" when empty."""
    value = (value or "").strip()
    found = MSGID_RE.search(value)
    if found:
        return found.group(0)[:255]
    value = re.sub(r"\s+", "", value).strip("<>")
    return f"<{value}>"[:255] if value else ""


def msgids(value) -> list[str]:
    """Every Message-ID in a header value (a string, or a list of strings from the JSON)."""
    if isinstance(value, list | tuple):
        found: list[str] = []
        for item in value:
            found.extend(msgids(str(item)))
        return found
    value = str(value or "")
    ids = MSGID_RE.findall(value)
    if not ids and value.strip():
        ids = [normalize_msgid(part) for part in value.split()]
    return [i[:255] for i in ids if i]


def _sender(value: str) -> tuple[str, str]:
    name, address = parseaddr(value or "")
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise BadPayload(_("Remetente do e-mail inválido.")) from exc
    return name.strip()[:200], address


def _safe_header(message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a header the policy cannot parse: better without it than no e-mail
        return ""


def _part_bytes(part) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _body_text(message) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, UnicodeError):
        content = _part_bytes(body).decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if body.get_content_subtype() == "html" else content.strip()


def parse_bytes(raw: bytes, *, oversized: bool = False) -> ParsedEmail:
    """One RFC 5322 message (what IMAP gives). ``oversized``: only its header was fetched."""
    message = PARSER.parsebytes(raw)
    name, address = _sender(_safe_header(message, "From"))
    files = []
    if not oversized:
        for part in message.iter_attachments():
            filename = part.get_filename() or ""
            content_type = part.get_content_type()
            if not filename:
                filename = "anexo" + (mimetypes.guess_extension(content_type) or "")
            files.append(InboundFile(name=filename[:200], content=_part_bytes(part), content_type=content_type[:100]))
    date = ""
    try:
        if message.get("Date"):
            date = parsedate_to_datetime(str(message["Date"])).isoformat()
    except (TypeError, ValueError, IndexError):
        date = ""
    return ParsedEmail(
        from_name=name,
        from_address=address,
        subject=_safe_header(message, "Subject").strip()[:500],
        text="" if oversized else _body_text(message),
        message_id=normalize_msgid(_safe_header(message, "Message-ID"))
        or "<" + hashlib.sha256(raw).hexdigest() + "@sem-message-id>",
        in_reply_to=msgids(_safe_header(message, "In-Reply-To")),
        references=msgids(_safe_header(message, "References")),
        to=[a.lower() for _n, a in getaddresses([_safe_header(message, "To")]) if a][:20],
        date=date,
        files=files,
        oversized=oversized,
    )


def parse_inbound_json(payload: dict, raw: bytes) -> ParsedEmail:
    """The inbound-parse JSON (shape in the module docstring)."""
    for key in ("from", "subject", "text", "html", "message_id", "in_reply_to"):
        if key in payload and payload[key] is not None and not isinstance(payload[key], str):
            raise BadPayload(_("Campo %(field)s deve ser texto.") % {"field": key})
    if not payload.get("from"):
        raise BadPayload(_("Campo from ausente."))
    name, address = _sender(payload["from"])
    references = payload.get("references") or []
    if not isinstance(references, str | list):
        raise BadPayload(_("Campo references inválido."))
    to = payload.get("to") or []
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list):
        raise BadPayload(_("Campo to inválido."))
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list):
        raise BadPayload(_("Campo attachments deve ser uma lista."))
    files = []
    for item in attachments:
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise BadPayload(_("Anexo sem conteúdo."))
        try:
            content = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadPayload(_("Anexo com base64 inválido.")) from exc
        filename = str(item.get("filename") or "anexo")[:200]
        content_type = str(item.get("content_type") or mimetypes.guess_type(filename)[0] or "")[:100]
        files.append(InboundFile(name=filename, content=content, content_type=content_type))
    text = (payload.get("text") or "").strip()
    if not text and payload.get("html"):
        text = html_to_text(payload["html"])
    return ParsedEmail(
        from_name=name,
        from_address=address,
        subject=(payload.get("subject") or "").strip()[:500],
        text=text,
        message_id=normalize_msgid(payload.get("message_id") or "")
        or "<" + hashlib.sha256(raw).hexdigest() + "@sem-message-id>",
        in_reply_to=msgids(payload.get("in_reply_to") or ""),
        references=msgids(references),
        to=[parseaddr(str(t))[1].lower() for t in to if parseaddr(str(t))[1]][:20],
        files=files,
    )


# --- intake ------------------------------------------------------------------------------------


def _thread_of(account: ChannelAccount, parsed: ParsedEmail) -> Message | None:
    """The newest message of this account that the e-mail replies to (In-Reply-To first)."""
    for ids in (parsed.in_reply_to, parsed.references):
        if not ids:
            continue
        found = (
            Message.objects.filter(account=account, external_id__in=ids[-50:])
            .select_related("conversation")
            .order_by("-created_at", "-id")
            .first()
        )
        if found is not None:
            return found
    return None


def to_inbound(account: ChannelAccount, parsed: ParsedEmail) -> Inbound:
    data = {
        "subject": parsed.subject,
        "from": parsed.from_address,
        "to": parsed.to,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to[:5],
        "references": parsed.references[-MAX_REFERENCES:],
    }
    if parsed.date:
        data["date"] = parsed.date
    body = parsed.text
    if parsed.oversized:
        data["oversized"] = True
        body = _("[E-mail grande demais para ser lido (limite de %(mb)s MB): veja-o na caixa postal.]") % {
            "mb": inbound_max_bytes() // (1024 * 1024)
        }
    elif not body and not parsed.files:
        body = _("[E-mail sem texto]")
    conversation_id = None
    parent = _thread_of(account, parsed)
    if parent is not None:
        if parent.conversation.status in OPEN_STATUSES:
            conversation_id = parent.conversation_id
        else:
            data["previous_conversation_id"] = parent.conversation_id
    queue = account.queue
    return Inbound(
        contact_id=parsed.from_address,
        external_id=parsed.message_id,
        body=body,
        contact_name=parsed.from_name,
        email=parsed.from_address,
        files=parsed.files,
        data=data,
        conversation_id=conversation_id,
        hold_in_filter=bool(queue is not None and queue.email_filter),
        own_thread=True,
    )


def intake_email(account: ChannelAccount, parsed: ParsedEmail) -> Message | None:
    """Store one e-mail (idempotent by Message-ID); None for a re-delivery or our own mail."""
    if account.email_address and parsed.from_address == account.email_address.lower():
        return None  # our own reply coming back (a copy in the mailbox): never a customer message
    return intake_message(account, to_inbound(account, parsed))


def _dedupe_key(message_id: str) -> str:
    return "email:" + hashlib.sha1(message_id.encode(), usedforsecurity=False).hexdigest()


# --- inbound parse (webhook) ---------------------------------------------------------------


def handle(request: HttpRequest, account: ChannelAccount) -> HttpResponse:
    if request.method != "POST":
        return bad_request(_("Método não permitido."), status=405)
    token = request.headers.get("X-Inbound-Token", "")
    secret = account.webhook_secret or ""
    if not secret or not token or not hmac.compare_digest(token.encode(), secret.encode()):
        return forbidden()
    raw = request.body
    payload = parse_json(raw)
    parsed = parse_inbound_json(payload, raw)
    # Everything but the attachments' contents, which are kept once, as the message's files.
    audit = {k: v for k, v in payload.items() if k != "attachments"}
    audit["attachments"] = [{"filename": f.name, "size": len(f.content)} for f in parsed.files]
    if not keep_raw(account, json.dumps(audit, ensure_ascii=False), kind="email-parse",
                    dedupe_key=_dedupe_key(parsed.message_id)):
        return ok({"stored": 0, "duplicate": True})
    message = intake_email(account, parsed)
    return ok({"stored": int(message is not None)})


# --- IMAP polling ------------------------------------------------------------------------------


class MailboxError(Exception):
    """The mailbox could not be read (login, folder, connection): nothing advanced."""


def _imap_ok(result: tuple, what: str) -> list:
    typ, data = result
    if typ != "OK":
        raise MailboxError(f"IMAP {what}: {typ} {data!r}"[:300])
    return data


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(conn, uid: int, item: str) -> bytes:
    data = _imap_ok(conn.uid("FETCH", str(uid), f"({item})"), "FETCH")
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            return part[1]
    return b""


def _size(conn, uid: int) -> int:
    data = _imap_ok(conn.uid("FETCH", str(uid), "(RFC822.SIZE)"), "FETCH SIZE")
    for part in data:
        text = part.decode() if isinstance(part, bytes) else ""
        found = re.search(r"RFC822\.SIZE (\d+)", text)
        if found:
            return int(found.group(1))
    return 0


def max_email_bytes() -> int:
    """The largest e-mail read whole: room for the files the intake accepts, base64-encoded."""
    return inbound_max_bytes() * 2


# The audit copy of an e-mail is its whole source up to this size, else its header only
# (the body and attachments are kept anyway, as the message and its files).
RAW_AUDIT_MAX_BYTES = 256 * 1024


def _store_one(account: ChannelAccount, uid: int, raw: bytes, *, oversized: bool) -> bool:
    header = raw if len(raw) <= RAW_AUDIT_MAX_BYTES else raw.split(b"\r\n\r\n", 1)[0][:20_000]
    try:
        parsed = parse_bytes(raw, oversized=oversized)
    except BadPayload:
        keep_raw(account, header, kind="email-rejected")
        logger.warning("mailbox %s: UID %s has no valid sender; skipped", account.pk, uid)
        return False
    try:
        with transaction.atomic():
            if not keep_raw(account, header, kind="email-imap", dedupe_key=_dedupe_key(parsed.message_id)):
                return False
            return intake_email(account, parsed) is not None
    except ValidationError as exc:  # e.g. the queue is inactive: logged, the mailbox still moves on
        logger.warning("mailbox %s: UID %s refused: %s", account.pk, uid, "; ".join(exc.messages))
        return False


def poll_mailbox(account: ChannelAccount) -> dict:
    """Read the account's new e-mails by IMAP; returns ``{"read": n, "stored": n}``.

    The last UID is advanced after each message, in its own transaction, so a crash half-way
    re-reads at most one message (which the Message-ID then stores once).
    """
    if not account.imap_host:
        return {"read": 0, "stored": 0}
    timeout = settings.CHANNEL_HTTP_TIMEOUT
    try:
        if account.imap_ssl:
            conn = imaplib.IMAP4_SSL(
                account.imap_host, account.imap_port, ssl_context=ssl.create_default_context(), timeout=timeout
            )
        else:
            conn = imaplib.IMAP4(account.imap_host, account.imap_port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP connect {account.imap_host}:{account.imap_port}: {exc}") from exc
    read = stored = 0
    try:
        _imap_ok(conn.login(account.imap_user or account.email_address, account.imap_password), "LOGIN")
        _imap_ok(conn.select(_quote(account.imap_folder or "INBOX"), readonly=True), "SELECT")
        _typ, values = conn.response("UIDVALIDITY")
        uidvalidity = int(values[0]) if values and values[0] else 0
        last = account.imap_last_uid if uidvalidity == account.imap_uidvalidity else 0
        if uidvalidity != account.imap_uidvalidity:
            ChannelAccount.objects.filter(pk=account.pk).update(imap_uidvalidity=uidvalidity, imap_last_uid=0)
            account.imap_uidvalidity, account.imap_last_uid = uidvalidity, 0
        data = _imap_ok(conn.uid("SEARCH", None, f"UID {last + 1}:*"), "SEARCH")
        # "n:*" always names the newest message, even below n: filter again.
        uids = sorted({int(u) for u in (data[0] or b"").split() if u.isdigit() and int(u) > last})
        for uid in uids[:POLL_BATCH]:
            oversized = _size(conn, uid) > max_email_bytes()
            raw = _fetch(conn, uid, "BODY.PEEK[HEADER]" if oversized else "BODY.PEEK[]")
            read += 1
            if _store_one(account, uid, raw, oversized=oversized):
                stored += 1
            ChannelAccount.objects.filter(pk=account.pk, imap_uidvalidity=uidvalidity).update(imap_last_uid=uid)
            account.imap_last_uid = uid
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP {account.imap_host}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return {"read": read, "stored": stored}


# --- outbound (SMTP) -----------------------------------------------------------------------------


def configured(account: ChannelAccount) -> bool:
    return bool(account.smtp_host and account.email_address)


def _domain(account: ChannelAccount) -> str:
    return account.email_address.rpartition("@")[2] or "localhost"


def outgoing_msgid(account: ChannelAccount, message: Message) -> str:
    """Stable for a message, so a retried send carries the same Message-ID (a receiving server
    may drop the duplicate) and the customer's reply names it in In-Reply-To."""
    return f"<omni.{message.pk}.{account.key.hex[:12]}@{_domain(account)}>"


def _thread_headers(message: Message) -> tuple[str, list[str], str]:
    """(In-Reply-To, References, subject) from the conversation's e-mails before ``message``."""
    rows = list(
        Message.objects.filter(conversation_id=message.conversation_id, created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .exclude(external_id="")
        .order_by("created_at", "id")
        .values_list("kind", "external_id", "data")
    )
    customer = [(ext, data or {}) for kind, ext, data in rows if kind == MessageKind.CUSTOMER]
    subject = next((d.get("subject") for _e, d in customer if d.get("subject")), "")
    if customer:
        last_id, last_data = customer[-1]
        references = [*last_data.get("references", []), last_id]
        in_reply_to = last_id
    else:
        references = [ext for _k, ext, _d in rows]
        in_reply_to = references[-1] if references else ""
    seen, chain = set(), []
    for ref in references:
        if ref.startswith("<") and ref not in seen:
            seen.add(ref)
            chain.append(ref)
    return in_reply_to, chain[-MAX_REFERENCES:], subject


def _subject(subject: str, protocol: str) -> str:
    subject = re.sub(r"[\r\n]+", " ", subject or "").strip()
    if not subject:
        return _("Atendimento [%(protocol)s]") % {"protocol": protocol}
    if not re.match(r"(?i)^(re|res|enc|fw|fwd)\s*:", subject):
        subject = f"Re: {subject}"
    if protocol not in subject:
        subject = f"{subject} [{protocol}]"
    return subject


def build_message(account: ChannelAccount, message: Message) -> tuple[EmailMessage, str]:
    conversation = message.conversation
    contact = conversation.contact
    to = contact.external_id if contact is not None else conversation.contact_email
    if not to or "@" not in to:
        raise SendError(_("A conversa não tem o endereço de e-mail do cliente."))
    in_reply_to, references, subject = _thread_headers(message)
    # 7bit: non-ASCII bodies go quoted-printable/base64, accepted by servers without 8BITMIME.
    email = EmailMessage(policy=policy.SMTP.clone(cte_type="7bit"))
    email["From"] = formataddr((account.name, account.email_address))
    try:
        email["To"] = Address(display_name=conversation.contact_name or "", addr_spec=to)
    except (ValueError, IndexError):
        email["To"] = to
    email["Subject"] = _subject(subject, conversation.protocol)
    email["Message-ID"] = outgoing_msgid(account, message)
    email["Date"] = message.created_at
    if in_reply_to:
        email["In-Reply-To"] = in_reply_to
    if references:
        email["References"] = " ".join(references)
    if message.kind == MessageKind.SYSTEM:
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders must not answer it
    email.set_content(message.body or "")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as fh:
            content = fh.read()
        maintype, _sep, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        email.add_attachment(content, maintype=maintype or "application", subtype=subtype or "octet-stream",
                             filename=attachment.name)
    return email, to


def _smtp(account: ChannelAccount) -> smtplib.SMTP:
    timeout = settings.CHANNEL_HTTP_TIMEOUT
    if account.smtp_security == "ssl":
        return smtplib.SMTP_SSL(account.smtp_host, account.smtp_port, timeout=timeout,
                                context=ssl.create_default_context())
    client = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=timeout)
    if account.smtp_security == "starttls":
        client.starttls(context=ssl.create_default_context())
    return client


def send(account: ChannelAccount, message: Message) -> str:
    """Send one message as an e-mail; returns its Message-ID. 4xx, a dropped connection or a
    timeout raise ``TransientSendError`` (retried); 5xx ``SendError`` (failed)."""
    email, to = build_message(account, message)
    try:
        with _smtp(account) as client:
            if account.smtp_user:
                client.login(account.smtp_user, account.smtp_password)
            client.send_message(email, from_addr=account.email_address, to_addrs=[to])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        detail = "; ".join(f"{code} {msg!r}" for code, msg in exc.recipients.values())
        if codes and all(400 <= code < 500 for code in codes):
            raise TransientSendError(f"SMTP {detail}"[:300]) from exc
        raise SendError(f"SMTP {detail}"[:300]) from exc
    except smtplib.SMTPResponseException as exc:
        text = f"SMTP {exc.smtp_code} {exc.smtp_error!r}"[:300]
        if 400 <= exc.smtp_code < 500:
            raise TransientSendError(text) from exc
        raise SendError(text) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientSendError(f"SMTP desconectado: {exc}"[:300]) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"SMTP: {exc}"[:300]) from exc
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        raise TransientSendError(f"SMTP {type(exc).__name__}: {exc}"[:300]) from exc
    return str(email["Message-ID"])
