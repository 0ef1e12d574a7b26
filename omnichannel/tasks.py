"""Celery entry points of the omnichannel timers: thin, idempotent, never overlapping.

Each runs every minute (``CELERY_BEAT_SCHEDULE``; in the embedded default
``servicedesk.scheduler`` drives the same schedule in-process). A cache lock
keeps two runs of one task from overlapping; each conversation is then handled
in its own transaction by a service that re-checks, under a skip-locked row
lock, that it is still due, so a retried or concurrent run changes nothing twice.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from omnichannel import services, widget
from omnichannel.models import AgentPresence, AgentState, Channel, Conversation, ConversationStatus

logger = logging.getLogger(__name__)
BATCH = 500


@contextmanager
def single_run(name: str, seconds: int = 300) -> Iterator[bool]:
    key = f"omnichannel.lock.{name}"
    acquired = cache.add(key, "1", seconds)
    try:
        yield acquired
    finally:
        if acquired:
            cache.delete(key)


def _each(ids: list[int], fn: Callable[[int], object]) -> list[object]:
    results = []
    for pk in ids:
        try:
            results.append(fn(pk))
        except Exception:  # one bad conversation must not stop the sweep
            logger.exception("omnichannel timer failed for %s", pk)
    return results


@shared_task(name="omnichannel.reroute_unanswered", acks_late=True)
def reroute_unanswered() -> dict:
    with single_run("reroute") as ok:
        if not ok:
            return {"skipped": True}
        now = timezone.now()
        # Timeouts differ per queue: read the oldest unanswered assignments and compare here.
        due = (
            Conversation.objects.filter(
                status=ConversationStatus.IN_PROGRESS,
                assignment_answered_at__isnull=True,
                queue__answer_timeout__gt=0,
                assigned_at__lte=now,
            )
            .order_by("assigned_at")
            .values_list("pk", "assigned_at", "queue__answer_timeout")[:BATCH]
        )
        ids = [pk for pk, assigned, timeout in due if assigned + timedelta(seconds=timeout) <= now]
        results = _each(ids, lambda pk: services.conversation_reroute_unanswered(conversation_id=pk, at=now))
        return {"checked": len(ids), "rerouted": sum(1 for r in results if r)}


@shared_task(name="omnichannel.close_inactive", acks_late=True)
def close_inactive() -> dict:
    with single_run("inactivity") as ok:
        if not ok:
            return {"skipped": True}
        now = timezone.now()
        shortest = min(settings.OMNICHANNEL_BOT_INACTIVITY_SECONDS, settings.OMNICHANNEL_INACTIVITY_GRACE_SECONDS, 60)
        ids = list(
            Conversation.objects.filter(
                status__in=(ConversationStatus.IN_PROGRESS, ConversationStatus.BOT),
                last_message_at__lte=now - timedelta(seconds=shortest),
            )
            .order_by("last_message_at")
            .values_list("pk", flat=True)[:BATCH]
        )
        results = _each(ids, lambda pk: services.conversation_check_inactivity(conversation_id=pk, at=now))
        return {"warned": results.count("warned"), "closed": results.count("closed")}


@shared_task(name="omnichannel.dispatch_waiting", acks_late=True)
def dispatch_waiting() -> dict:
    with single_run("dispatch") as ok:
        if not ok:
            return {"skipped": True}
        return {"routed": services.dispatch_waiting()}


@shared_task(name="omnichannel.presence_sweep", acks_late=True)
def presence_sweep() -> dict:
    """Agents whose tabs stopped sending heartbeats: out of routing ("Perda de conexão")."""
    with single_run("presence") as ok:
        if not ok:
            return {"skipped": True}
        now = timezone.now()
        limit = now - timedelta(seconds=settings.OMNICHANNEL_PRESENCE_GRACE_SECONDS)
        ids = list(
            AgentPresence.objects.exclude(state=AgentState.OFFLINE)
            .filter(last_seen__isnull=False, last_seen__lt=limit)
            .values_list("pk", flat=True)[:BATCH]
        )
        results = _each(ids, lambda pk: services.agent_connection_lost(agent_id=pk, at=now, seen_before=limit))
        return {"disconnected": sum(1 for r in results if r)}


def _abandon_if_still_gone(conversation_id: int) -> bool:
    """Under the row lock (skip-locked): still waiting and its customer still gone → Abandono."""
    with transaction.atomic():
        locked = (
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=conversation_id, status__in=widget.WAITING_STATUSES)
            .first()
        )
        if locked is None or not widget.customers_gone([conversation_id]):
            return False
        try:
            services.conversation_abandon(conversation=locked)
        except ValidationError:  # closed meanwhile
            return False
        return True


@shared_task(name="omnichannel.close_abandoned", acks_late=True)
def close_abandoned() -> dict:
    """Widget conversations still in the bot or the queue whose customer has had no socket alive for
    ``OMNICHANNEL_WIDGET_ABANDON_SECONDS``: Abandono. The socket's own close does this at once; this
    sweep covers a web process that died with its sockets (see ``widget.socket_alive``)."""
    with single_run("abandoned") as ok:
        if not ok:
            return {"skipped": True}
        ids = list(
            Conversation.objects.filter(status__in=widget.WAITING_STATUSES, channel=Channel.LIVE_CHAT)
            .exclude(access_token_hash="")
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        gone = widget.customers_gone(ids)
        results = _each(gone, _abandon_if_still_gone)
        return {"checked": len(ids), "abandoned": sum(1 for r in results if r)}
