"""Outbound: what goes to a provider-channel customer (agent replies, the protocol message,
bot menus, inactivity warnings, evaluation requests) leaves through the channel's sender in
a Celery task, only after the message is committed.

A message is stored ``pending``; ``send_message`` sends it once and moves it to ``sent``
(then receipts move it to ``delivered``/``read``), to ``failed`` when the provider refuses
it or the retries run out, or to ``not_sent`` when the account has no credentials (the
embedded default): never silently dropped. The task re-reads the message under a row lock
and only acts on ``pending``, so a retry or a duplicate run after a success sends nothing.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from omnichannel.intake import InboundFile
from omnichannel.models import Message, MessageState
from omnichannel.providers import provider_module
from omnichannel.providers.base import SendError, TransientSendError
from omnichannel.publish import publish_message_state

logger = logging.getLogger(__name__)

def send_after_commit(message_id: int) -> None:
    transaction.on_commit(lambda: send_message.delay(message_id))


def _finish(message: Message, state: str, *, error: str = "", external_id: str | None = None) -> None:
    message.state = state
    message.state_changed_at = timezone.now()
    message.error = error[:300]
    fields = ["state", "state_changed_at", "error", "attempts"]
    if external_id:
        message.external_id = external_id[:255]
        fields.append("external_id")
    message.save(update_fields=fields)
    publish_message_state(message)


def deliver(message_id: int, *, final: bool = True) -> str:
    """Send one pending message; returns its state. Raises ``TransientSendError`` when a retry
    should follow (``final`` False), after recording the attempt."""
    transient: TransientSendError | None = None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("conversation", "conversation__contact", "account")
            .filter(pk=message_id)
            .first()
        )
        if message is None:
            return "missing"
        if message.state != MessageState.PENDING:
            return message.state
        account = message.account
        provider = provider_module(account.channel) if account is not None else None
        if provider is None or not account.active or not provider.configured(account):
            _finish(message, MessageState.NOT_SENT, error="sem credenciais do canal")
            return message.state
        message.attempts += 1
        try:
            external_id = provider.send(account, message)
        except SendError as exc:
            _finish(message, MessageState.FAILED, error=str(exc))
            return message.state
        except TransientSendError as exc:
            if final:
                _finish(message, MessageState.FAILED, error=str(exc))
                return message.state
            message.error = str(exc)[:300]
            message.save(update_fields=["attempts", "error"])
            transient = exc
        else:
            _finish(message, MessageState.SENT, external_id=external_id or "")
            return message.state
    raise transient


@shared_task(bind=True, name="omnichannel.send_message", acks_late=True)
def send_message(self, message_id: int) -> str:
    if self.request.is_eager:
        # The embedded default runs tasks in the request: retry here, without waiting
        # (Celery's eager retry would propagate instead of retrying).
        for attempt in range(settings.CHANNEL_SEND_MAX_RETRIES + 1):
            try:
                return deliver(message_id, final=attempt >= settings.CHANNEL_SEND_MAX_RETRIES)
            except TransientSendError:
                continue
    retries = self.request.retries or 0
    final = retries >= settings.CHANNEL_SEND_MAX_RETRIES
    try:
        return deliver(message_id, final=final)
    except TransientSendError as exc:
        countdown = settings.CHANNEL_SEND_RETRY_BASE_SECONDS * (2**retries)
        logger.warning("send_message %s: %s; retry %s in %ss", message_id, exc, retries + 1, countdown)
        raise self.retry(exc=exc, countdown=countdown, max_retries=settings.CHANNEL_SEND_MAX_RETRIES) from exc


def fetch_after_commit(message_id: int) -> None:
    transaction.on_commit(lambda: fetch_media.delay(message_id))


@shared_task(bind=True, name="omnichannel.fetch_media", acks_late=True)
def fetch_media(self, message_id: int) -> int:
    """Download the media a provider announced with a customer's message (``data["media"]``:
    the provider's references) and attach it, within ``OMNICHANNEL_INBOUND_MAX_BYTES``."""
    from omnichannel.services import _store_inbound_files

    message = Message.objects.select_related("account", "conversation").filter(pk=message_id).first()
    if message is None or message.account is None:
        return 0
    provider = provider_module(message.account.channel)
    pending = [ref for ref in message.data.get("media", []) if not ref.get("done")]
    if provider is None or not pending or not provider.configured(message.account):
        return 0
    stored = 0
    refs = list(message.data.get("media", []))
    for ref in refs:
        if ref.get("done"):
            continue
        try:
            got: InboundFile | None = provider.fetch_media(message.account, ref)
        except TransientSendError as exc:
            if not self.request.is_eager and (self.request.retries or 0) < settings.CHANNEL_SEND_MAX_RETRIES:
                raise self.retry(exc=exc, countdown=settings.CHANNEL_SEND_RETRY_BASE_SECONDS) from exc
            got = None
        except SendError:
            got = None
        with transaction.atomic():
            locked = Message.objects.select_for_update().get(pk=message.pk)
            current = list(locked.data.get("media", []))
            for item in current:
                if item.get("id") == ref.get("id") and not item.get("done"):
                    item["done"] = True
                    if got is None:
                        item["refused"] = True
                    else:
                        _store_inbound_files(locked, [(got.name, got.content, got.content_type)])
                        stored += 1
            locked.data = {**locked.data, "media": current}
            locked.save(update_fields=["data"])
            publish_message_state(locked)
    return stored
