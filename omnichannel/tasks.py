"""Celery entry points of the omnichannel timers: thin, idempotent, never overlapping.

Each runs every minute (``CELERY_BEAT_SCHEDULE``; in the embedded default
``servicedesk.scheduler`` drives the same schedule in-process). A cache lock
keeps two runs of one task from overlapping; each conversation is then handled
in its own transaction by a service that re-checks, under a skip-locked row
lock, that it is still due, so a retried or concurrent run changes nothing twice.
``end_wrap_up`` is the exception: enqueued when an agent's wrap-up starts, to run when it ends.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
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
    """The agent's side timers: an assignment not answered in time goes to another agent; an
    answered conversation the agent stopped answering is closed as Inativa PA."""
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
        # Inativa PA: answered once, then the customer wrote and the agent went silent for longer
        # than the queue's inactivity timeout, counted from the first unanswered customer message.
        silent = (
            Conversation.objects.filter(
                status=ConversationStatus.IN_PROGRESS,
                assignment_answered_at__isnull=False,
                queue__inactivity_timeout__gt=0,
                last_customer_message_at__gt=F("last_agent_message_at"),
            )
            .annotate(
                owed_since=Subquery(
                    services.first_unanswered_customer_message(OuterRef("pk"), OuterRef("last_agent_message_at"))[:1]
                )
            )
            .order_by("last_agent_message_at")
            .values_list("pk", "owed_since", "queue__inactivity_timeout")[:BATCH]
        )
        inactive = [pk for pk, since, timeout in silent if since and since + timedelta(seconds=timeout) <= now]
        closed = _each(inactive, lambda pk: services.conversation_close_agent_inactive(conversation_id=pk, at=now))
        return {
            "checked": len(ids),
            "rerouted": sum(1 for r in results if r),
            "agent_inactive": sum(1 for r in closed if r),
        }


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


@shared_task(name="omnichannel.end_wrap_up", bind=True, acks_late=True)
def end_wrap_up(self, *, agent_id: int, until: str) -> dict:
    """Pós-atendimento over: end that wrap-up and give the agent the oldest waiting conversation.

    Enqueued when the wrap-up starts, to run when it ends (``end_wrap_up_on_commit``), so the
    next conversation arrives on time instead of at the next ``dispatch_waiting`` beat, which
    stays the safety net for a lost message. The service acts only on the same wrap-up.
    """
    deadline = datetime.fromisoformat(until)
    remaining = (deadline - timezone.now()).total_seconds()
    if remaining > 0:
        # Delivered early (another host's clock, or eager mode, which ignores the countdown):
        # a worker waits again; in-process, the beat sweep takes over.
        if not (self.request.is_eager or self.app.conf.task_always_eager):
            self.apply_async(kwargs={"agent_id": agent_id, "until": until}, countdown=remaining)
        return {"ended": False, "early": True}
    taken = services.agent_wrap_up_expire(agent_id=agent_id, until=deadline)
    return {"ended": taken is not None, "routed": len(taken or [])}


def end_wrap_up_on_commit(*, agent_id: int, until: datetime) -> None:
    """After the commit that started a wrap-up ending at ``until``, schedule ``end_wrap_up`` for then.

    ``robust``: a broker that cannot take it must not undo the resolution; the beat covers it.
    """

    def enqueue() -> None:
        countdown = max(0.0, (until - timezone.now()).total_seconds())
        end_wrap_up.apply_async(kwargs={"agent_id": agent_id, "until": until.isoformat()}, countdown=countdown)

    transaction.on_commit(enqueue, robust=True)


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


# Celery's autodiscovery imports only this module of the app: the tasks of outbound.py,
# tasks_email.py and tasks_evaluations.py register through this import (a worker without
# them discards their messages as "unregistered"). Last, as tasks_email imports from here.
from omnichannel import outbound, tasks_email, tasks_evaluations  # noqa: E402, F401, I001
