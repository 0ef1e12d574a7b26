"""Celery entry point of the SAC Plus evaluation request: thin, idempotent, retried.

Enqueued after commit when a conversation is concluded (``services._close``) or a
ticket is finalized (``tickets.hooks.on_ticket_finalized``, connected in
``OmnichannelConfig.ready``). In the embedded default Celery runs tasks eagerly
(``CELERY_TASK_ALWAYS_EAGER``), so the request goes out in the web process right
after the commit; ``robust`` on-commit callbacks keep a failed send from breaking the
agent's request (it is logged; the panel's "Reenviar" asks again).
"""

import logging
import smtplib
from functools import partial
from typing import Any

from celery import shared_task
from django.db import OperationalError, transaction

from omnichannel import evaluations
from omnichannel.models import Conversation, ConversationStatus
from tickets.models import Ticket

logger = logging.getLogger(__name__)


@shared_task(
    name="omnichannel.request_evaluation",
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException, OperationalError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=6,
)
def request_evaluation(*, conversation_id: int | None = None, ticket_id: int | None = None) -> dict:
    if conversation_id is not None:
        conversation = Conversation.objects.filter(pk=conversation_id).first()
        evaluation = evaluations.evaluation_request(conversation=conversation) if conversation else None
    else:
        ticket = Ticket.objects.filter(pk=ticket_id).first()
        evaluation = evaluations.evaluation_request(ticket=ticket) if ticket else None
    if evaluation is None:
        return {"evaluation": None, "sent": False}
    return {"evaluation": evaluation.pk, "sent": evaluations.evaluation_send(evaluation.pk)}


def _enqueue(**ids: int) -> None:
    request_evaluation.delay(**ids)


def request_on_commit(**ids: int) -> None:
    """Enqueue ``request_evaluation`` once the current transaction commits."""
    transaction.on_commit(partial(_enqueue, **ids), robust=True)


def on_ticket_finalized(*, ticket: Ticket, actor: Any, at: Any, **_extra: Any) -> None:
    """``tickets.hooks.on_ticket_finalized``: ask for the evaluation after the commit."""
    request_on_commit(ticket_id=ticket.pk)


def on_conversation_closed(*, conversation: Conversation, status: str) -> None:
    """Called by ``services._close`` inside its transaction: a concluded conversation is rated."""
    if status == ConversationStatus.CONCLUDED:
        request_on_commit(conversation_id=conversation.pk)
