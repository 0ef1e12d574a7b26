"""Full mode, end to end: a breach found by a real Celery worker reaches a connected websocket.

PostgreSQL, Redis (the channels_redis layer and the Celery broker) and a worker
subprocess started by the test (the fixtures of ``test_sla_celery``). The
socket is the product's consumer in this process, fed by the Redis channel
layer: the worker publishes after its commit, this process renders the
ticket's SLA box for the connected supervisor and sends it.
"""

from datetime import time as clock_time
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from servicedesk.celery import app as celery_app
from sla import services
from sla.calendars import clear_cache
from sla.models import (
    BusinessCalendar,
    ClockState,
    ProcessPolicy,
    SlaClock,
    SlaPolicy,
    WorkingInterval,
)
from tests import factories as f
from tests.dashboards.test_live_consumer import communicator, session_cookie
from tests.integration.test_sla_celery import queue, worker  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_breach_found_by_the_worker_reaches_the_supervisors_socket(worker):  # noqa: F811
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis.")
    clear_cache()
    supervisor = f.SupervisorFactory(username="carla", first_name="Carla", last_name="Mendes")
    team = f.TeamFactory(name="Suporte N1", supervisors=[supervisor])
    calendar = BusinessCalendar.objects.create(name="Dia todo", national_holidays=False)
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=calendar, weekday=day, start=clock_time(0), end=clock_time(0)) for day in range(7)
    )
    policy = SlaPolicy.objects.create(name="8 horas", calendar=calendar, resolution_amount=Decimal(8))
    process = f.process_with_subprocesses(name="Suporte técnico")
    ProcessPolicy.objects.create(process=process, policy=policy)
    started = timezone.now() - timedelta(hours=9)
    ticket = f.TicketFactory(process=process, team=team, opened_at=started)
    with transaction.atomic():
        services.clock_start(ticket=ticket, at=started)
    assert SlaClock.objects.get(pk=ticket.pk).state == ClockState.RUNNING
    cookie = session_cookie(supervisor)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "ticket", "ticket": ticket.pk})
        first = await comm.receive_from(10)  # the page as it is (past due, not yet marked)
        assert 'id="sla-box"' in first and "Alteração de SLA" not in first
        # What beat sends every minute, taken by the worker process.
        celery_app.send_task(settings.CELERY_BEAT_SCHEDULE["sla-scan-clocks"]["task"])
        pushed = await comm.receive_from(60)
        await comm.disconnect()
        return pushed

    try:
        pushed = async_to_sync(scenario)()
    finally:
        async_to_sync(get_channel_layer().flush)()
    assert SlaClock.objects.get(pk=ticket.pk).state == ClockState.BREACHED
    # The worker's breach event reaches the page's timeline, rendered for this supervisor.
    assert 'id="ticket-timeline"' in pushed and "Alteração de SLA" in pushed
