"""The periodic schedule, driven inside the web process in the embedded default.

With REDIS_URL set, Celery beat runs CELERY_BEAT_SCHEDULE and a worker runs the
tasks. Without it, there is no broker: this daemon thread reads the same
schedule and runs each due task in-process (``Task.apply``), so both modes run
the same task code on the same timetable.
"""

import logging
import threading
import time
from datetime import datetime

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)
_started = threading.Event()


def run_due(entries: dict[str, dict], last_run: dict[str, datetime], now: datetime) -> list[str]:
    """Run every entry whose schedule is due; return the names that ran."""
    from servicedesk.celery import app

    ran = []
    for name, entry in entries.items():
        schedule = maybe_schedule(entry["schedule"], app=app)
        previous = last_run.setdefault(name, now)
        due, _next = schedule.is_due(previous)
        if not due:
            continue
        last_run[name] = now
        task = app.tasks.get(entry["task"])
        if task is None:
            logger.error("scheduled task %s (%s) is not registered", name, entry["task"])
            continue
        try:
            close_old_connections()
            task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
            ran.append(name)
        except Exception:
            logger.exception("scheduled task %s failed", name)
        finally:
            close_old_connections()
    return ran


def load_tasks() -> None:
    """Import every app's ``tasks`` module, as a Celery worker does on start.

    Autodiscovery is lazy: in a web process nothing else imports them, and the
    schedule would name tasks that are not registered.
    """
    from servicedesk.celery import app

    app.loader.import_default_modules()


def _loop(interval: float) -> None:
    load_tasks()
    last_run: dict[str, datetime] = {}
    while True:
        run_due(dict(settings.CELERY_BEAT_SCHEDULE), last_run, timezone.now())
        time.sleep(interval)


def start_inprocess_scheduler(interval: float = 5.0) -> bool:
    """Start the scheduler thread once per process, when the embedded mode asks for it."""
    if not settings.INPROCESS_SCHEDULER or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_loop, args=(interval,), name="inprocess-beat", daemon=True).start()
    logger.info("in-process periodic scheduler started (%d entries)", len(settings.CELERY_BEAT_SCHEDULE))
    return True
