"""Celery entry point of the e-mail channel: read every active mailbox by IMAP, every minute.

Registered in ``CELERY_BEAT_SCHEDULE`` (``omni-poll-mailboxes``; in the embedded default
``servicedesk.scheduler`` drives it in-process) and imported through ``CELERY_IMPORTS``. A
cache lock keeps two runs from overlapping; one failing mailbox (wrong password, server down)
is logged and the others are still read. Re-reading is harmless: the Message-ID is unique per
account, so an e-mail read twice is stored once.
"""

import logging

from celery import shared_task

from omnichannel.models import Channel, ChannelAccount
from omnichannel.providers.email import poll_mailbox
from omnichannel.tasks import single_run

logger = logging.getLogger(__name__)


@shared_task(name="omnichannel.poll_mailboxes", acks_late=True)
def poll_mailboxes() -> dict:
    with single_run("poll_mailboxes", seconds=600) as acquired:
        if not acquired:
            return {"skipped": True}
        accounts = list(
            ChannelAccount.objects.filter(channel=Channel.EMAIL, active=True)
            .exclude(imap_host="")
            .select_related("queue", "entry_menu")
            .order_by("pk")
        )
        result: dict = {"accounts": len(accounts), "stored": 0, "failed": []}
        for account in accounts:
            try:
                result["stored"] += poll_mailbox(account)["stored"]
            except Exception:  # one mailbox must not stop the others
                logger.exception("poll_mailboxes: mailbox of account %s failed", account.pk)
                result["failed"].append(account.pk)
        return result
