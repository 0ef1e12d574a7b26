"""A worker knows every task the code defines.

Celery's autodiscovery imports each app's ``tasks`` module only; a task defined in
another module and not imported from there is unknown to a fresh worker, which
discards its messages ("Received unregistered task"). Checked in a new interpreter,
as a worker starts, since this test process has imported everything already.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("tickets", "sla", "omnichannel", "history", "dashboards", "servicedesk")


def _defined_task_names() -> set[str]:
    names = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            names.update(re.findall(r"@shared_task\([^)]*\bname=\"([^\"]+)\"", text, flags=re.S))
    return names


def test_a_fresh_worker_registers_every_task_the_code_defines():
    defined = _defined_task_names()
    assert {"omnichannel.send_message", "omnichannel.fetch_media", "sla.scan_clocks"} <= defined
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'servicedesk.settings'); "
        "django.setup(); from servicedesk.celery import app; app.loader.import_default_modules(); "
        "print('\\n'.join(sorted(app.tasks)))"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert defined - set(out) == set()
