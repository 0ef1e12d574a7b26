"""SLA fixtures: a commercial calendar, an 8-hour policy for the ``process`` fixture,
reasons of both kinds, and a ticket opened (through ``ticket_open``) at a frozen NOW.

NOW is Monday 02/03/2026 10:00 in São Paulo. On the calendar (Mon-Fri
08-12 + 13-18, no holidays) 8 business hours from NOW end on Tuesday 03/03
at 09:00: Monday 10-12 (2 h) + 13-18 (5 h) + Tuesday 08-09 (1 h).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from servicedesk.celery import app as celery_app
from sla.calendars import clear_cache
from sla.models import SlaClock, SlaReason

from .factories import CalendarFactory, PolicyFactory, ProcessPolicyFactory, ReasonFactory

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SP)


def sp(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SP)


@pytest.fixture(autouse=True)
def _eager_celery_and_fresh_calendars():
    """Tasks run in the test process even when REDIS_URL is set; no calendar cached across tests."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    clear_cache()
    yield
    celery_app.conf.task_always_eager = previous
    clear_cache()


@pytest.fixture
def frozen(time_machine):
    """Time stands still at NOW; ``frozen.move_to(...)`` moves it."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def calendar(db):
    return CalendarFactory(name="Comercial (seg-sex 08-18)")


@pytest.fixture
def policy(calendar):
    return PolicyFactory(name="Suporte 8h úteis", calendar=calendar)


@pytest.fixture
def process_policy(process, policy):
    return ProcessPolicyFactory(process=process, policy=policy)


@pytest.fixture
def increment_reason(db):
    return ReasonFactory(name="Aguardando cliente", kind=SlaReason.Kind.INCREMENT)


@pytest.fixture
def pause_reason(db):
    return ReasonFactory(name="Falta de acesso ao local", kind=SlaReason.Kind.PAUSE)


@pytest.fixture
def sla_ticket(frozen, process_policy, open_ticket):
    """``open_ticket``, opened at NOW with the 8-hour policy: due Tuesday 03/03 09:00."""
    return open_ticket


@pytest.fixture
def clock(sla_ticket):
    return SlaClock.objects.get(pk=sla_ticket.pk)
