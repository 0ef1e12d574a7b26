import os
from datetime import timedelta

import pytest
from django.utils import timezone

from servicedesk.celery import app
from servicedesk.scheduler import run_due

# run_due closes stale DB connections around each task, as the real loop does.
pytestmark = pytest.mark.django_db

calls: list[int] = []


@app.task(name="tests.scheduler_probe")
def scheduler_probe(value: int) -> None:
    calls.append(value)


def test_due_entry_runs_in_process_and_not_again_until_due():
    calls.clear()
    entries = {"probe": {"task": "tests.scheduler_probe", "schedule": 60.0, "args": (7,)}}
    now = timezone.now()
    last_run = {"probe": now - timedelta(seconds=61)}

    assert run_due(entries, last_run, now) == ["probe"]
    assert calls == [7]
    assert run_due(entries, last_run, now + timedelta(seconds=30)) == []
    assert calls == [7]


def test_unregistered_task_is_skipped_without_crashing():
    entries = {"ghost": {"task": "tests.no_such_task", "schedule": 1.0}}
    now = timezone.now()
    assert run_due(entries, {"ghost": now - timedelta(seconds=5)}, now) == []


def test_every_scheduled_task_is_registered_once_the_tasks_are_loaded():
    """In a fresh web process (daphne), nothing imports the apps' tasks modules but load_tasks."""
    import subprocess
    import sys

    code = (
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'servicedesk.settings');"
        "import django; django.setup();"
        "from django.conf import settings; from servicedesk.celery import app;"
        "from servicedesk.scheduler import load_tasks;"
        "names = [e['task'] for e in settings.CELERY_BEAT_SCHEDULE.values()];"
        "print(sum(n in app.tasks for n in names), end=' ');"
        "load_tasks(); print(sum(n in app.tasks for n in names), len(names))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    out = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    before, after, total = map(int, out.split())
    assert before < total  # lazy autodiscovery: the bug this guards against
    assert after == total
