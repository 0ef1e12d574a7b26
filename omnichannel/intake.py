"""Intake of provider messages: every channel adapter (webhook, IMAP poll, inbound parse)
ends here, in the same conversations, routing and workspace as the live chat.

``intake_message`` is idempotent: the provider's message id is unique per account
(``message_external_unique``), and the contact's row is locked while its message is
stored, so a re-delivered or concurrently delivered message is stored once and two
messages of one contact arriving a few hundred milliseconds apart land in one
conversation.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omnichannel import services
from omnichannel.models import (
    MESSAGE_STATE_RANK,
    OPEN_STATUSES,
    ChannelAccount,
    ChannelContact,
    Conversation,
    InboundEvent,
    Message,
    MessageState,
)
from omnichannel.publish import publish_message_state

TRUNCATED = "…"


@dataclass
class InboundFile:
    name: str
    content: bytes
    content_type: str = ""


@dataclass
class Inbound:
    """One customer message as a provider delivered it, already authenticated."""

    contact_id: str
    external_id: str
    body: str = ""
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    chat_id: int | None = None
    files: list[InboundFile] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    # E-mail threading: an existing conversation this message replies to.
    conversation_id: int | None = None
    # E-mail filter: a new conversation waits for a supervisor (status in_filter).
    hold_in_filter: bool = False
    # E-mail: a message that threads to no open conversation starts its own (no fallback to
    # the sender's other open conversation).
    own_thread: bool = False


def inbound_max_bytes() -> int:
    return settings.OMNICHANNEL_INBOUND_MAX_BYTES


def keep_raw(account: ChannelAccount, body: bytes | str, *, kind: str = "", dedupe_key: str = "") -> bool:
    """Keep the raw payload of an accepted delivery for audit; False when ``dedupe_key`` was seen."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        with transaction.atomic():
            InboundEvent.objects.create(account=account, kind=kind[:40], dedupe_key=dedupe_key, body=text)
    except IntegrityError:
        return False
    return True


def _contact(account: ChannelAccount, inbound: Inbound, at: datetime) -> ChannelContact:
    """Get or create the contact (race-safe), then lock its row for the rest of the intake."""
    external_id = inbound.contact_id[:255]
    found = ChannelContact.objects.select_for_update().filter(account=account, external_id=external_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            ChannelContact.objects.create(
                account=account,
                external_id=inbound.contact_id[:255],
                chat_id=inbound.chat_id,
                name=inbound.contact_name[:200],
                created_at=at,
            )
    except IntegrityError:
        pass  # created by a concurrent delivery; the lock below waits for it
    return ChannelContact.objects.select_for_update().get(account=account, external_id=inbound.contact_id[:255])


def _split_files(files: Sequence[InboundFile]) -> tuple[list[tuple[str, bytes, str]], list[dict]]:
    limit = inbound_max_bytes()
    kept, refused = [], []
    for f in files[: services.MAX_FILES_PER_MESSAGE * 2]:
        if len(f.content) > limit or not f.content:
            refused.append({"name": f.name[:200], "size": len(f.content), "content_type": f.content_type[:100]})
        else:
            kept.append((f.name, f.content, f.content_type))
    return kept, refused


def intake_message(account: ChannelAccount, inbound: Inbound, *, at: datetime | None = None) -> Message | None:
    """Store one customer message; None when it was already stored (a re-delivery)."""
    now = at or timezone.now()
    body = (inbound.body or "").strip()
    data = dict(inbound.data)
    if len(body) > services.MAX_MESSAGE_LENGTH:
        data["full_text"] = body
        body = body[: services.MAX_MESSAGE_LENGTH - 1] + TRUNCATED
    files, refused = _split_files(inbound.files)
    if refused:
        data["refused_files"] = refused
        note = _("Arquivo recusado (passa do limite de %(mb)s MB ou está vazio): %(names)s") % {
            "mb": inbound_max_bytes() // (1024 * 1024),
            "names": ", ".join(r["name"] for r in refused),
        }
        body = f"{body}\n{note}".strip()
    external_id = inbound.external_id[:255]
    with transaction.atomic():
        contact = _contact(account, inbound, now)
        if external_id and Message.objects.filter(account=account, external_id=external_id).exists():
            return None
        changed = []
        if inbound.contact_name and contact.name != inbound.contact_name[:200]:
            contact.name = inbound.contact_name[:200]
            changed.append("name")
        if inbound.chat_id is not None and contact.chat_id != inbound.chat_id:
            contact.chat_id = inbound.chat_id
            changed.append("chat_id")
        contact.last_inbound_at = max(contact.last_inbound_at or now, now)
        contact.save(update_fields=[*changed, "last_inbound_at"])

        conversation = None
        if inbound.conversation_id is not None:
            conversation = Conversation.objects.filter(
                pk=inbound.conversation_id, account=account, status__in=OPEN_STATUSES
            ).first()
        if conversation is None and not inbound.own_thread:
            conversation = (
                Conversation.objects.filter(contact=contact, status__in=OPEN_STATUSES).order_by("-created_at").first()
            )
        if conversation is not None:
            return services.conversation_customer_message(
                conversation=conversation, body=body, external_id=external_id, data=data, files=files
            )
        name = inbound.contact_name or contact.name or inbound.phone or inbound.email or inbound.contact_id
        conversation = services.conversation_start(
            channel=account.channel,
            contact_name=name[:200],
            contact_email=inbound.email,
            contact_phone=inbound.phone[:20],
            queue=account.queue if account.entry_menu_id is None or not account.entry_menu.active else None,
            menu=account.entry_menu,
            account=account,
            contact=contact,
            first_message=body,
            first_external_id=external_id,
            first_data=data,
            first_files=files,
            hold_in_filter=inbound.hold_in_filter,
        )
        if contact.customer_id is None and conversation.customer_id is not None:
            contact.customer_id = conversation.customer_id
            contact.save(update_fields=["customer"])
        return conversation.messages.filter(external_id=external_id).first() if external_id else (
            conversation.messages.filter(kind="customer").first()
        )


def intake_receipt(account: ChannelAccount, external_id: str, state: str, *, error: str = "", at=None) -> bool:
    """A delivery receipt for a message we sent: sent → delivered → read, or failed.

    A receipt never moves a message back (a late "delivered" after "read" changes nothing).
    """
    if state not in MESSAGE_STATE_RANK or not external_id:
        return False
    now = at or timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(account=account, external_id=external_id[:255])
            .select_related("conversation")
            .first()
        )
        if message is None:
            return False
        if state != MessageState.FAILED and MESSAGE_STATE_RANK[state] <= MESSAGE_STATE_RANK[message.state]:
            return False
        if state == MessageState.FAILED and message.state == MessageState.READ:
            return False
        message.state = state
        message.state_changed_at = now
        message.error = error[:300]
        message.save(update_fields=["state", "state_changed_at", "error"])
        publish_message_state(message)
    return True
