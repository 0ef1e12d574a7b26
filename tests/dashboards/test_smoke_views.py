"""Every registered grid answers for a user with data in every column."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.grids.grid import GridView
from dashboards.grids.registry import all_views
from sla.models import ClockState
from tests.dashboards.conftest import HTMX, add_service_order, view_url

GRIDS = [v.key for v in all_views() if isinstance(v, GridView)]


@pytest.fixture
def busy(make_ticket, make_clock, agent, supervisor, classifications):
    now = timezone.now()
    opened = make_ticket(opened_at=now - timedelta(hours=30), assignee=agent)
    make_clock(opened, due_at=now - timedelta(hours=2), breached_at=now - timedelta(hours=2), state=ClockState.BREACHED)
    add_service_order(opened, code=77, due_at=now - timedelta(hours=1))
    closed = make_ticket(
        opened_at=now - timedelta(hours=5), closed_at=now - timedelta(minutes=5),
        closing_classification=classifications["closing"],
    )
    make_clock(closed, due_at=now - timedelta(hours=1), breached_at=now - timedelta(hours=1), state=ClockState.BREACHED)
    return opened, closed


@pytest.mark.parametrize("key", GRIDS)
def test_every_grid_renders_full_page_and_partial(client, supervisor, busy, key):
    client.force_login(supervisor)
    page = client.get(view_url(key, all=1))
    assert page.status_code == 200
    assert 'id="grid"' in page.content.decode()
    partial = client.get(view_url(key, all=1), headers=HTMX)
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
