"""Celery entry points of the SLA app: thin, idempotent, safe to retry.

``recompute_deadlines`` is enqueued on commit by ``sla.services`` when a
calendar, holiday or policy changes; ``scan_clocks`` runs every minute
(``CELERY_BEAT_SCHEDULE``; in the embedded default ``servicedesk.scheduler``
drives the same schedule in-process). Both call ``sla.batch``.
"""

import logging
import uuid

from celery import shared_task

from sla import batch

logger = logging.getLogger(__name__)


@shared_task(name="sla.recompute_deadlines", bind=True, acks_late=True, reject_on_worker_lost=True)
def recompute_deadlines(
    self, calendar_id: int | None = None, policy_id: int | None = None, job: str | None = None
) -> dict:
    # The job id is the task id: a redelivered task (worker killed) resumes from its checkpoint.
    job = job or (self.request.id if self.request.id else uuid.uuid4().hex)
    result = batch.recompute(calendar_id=calendar_id, policy_id=policy_id, job=job)
    logger.info(
        "sla recompute calendar=%s policy=%s: %d read, %d updated in %.2fs",
        calendar_id, policy_id, result.read, result.updated, result.seconds,
    )
    return {"read": result.read, "updated": result.updated, "batches": result.batches}


@shared_task(name="sla.scan_clocks", acks_late=True)
def scan_clocks() -> dict:
    result = batch.scan()
    if result.breached or result.at_risk:
        logger.info("sla scan: %d breached, %d at risk", result.breached, result.at_risk)
    return {"breached": result.breached, "at_risk": result.at_risk, "skipped": result.skipped}
