"""Every panel view answers in a fixed number of SQL queries, whatever the page size.

The grids: a page of 50 rows runs no more queries than a page of 10 (no query
per row, per cell or per related object). The views that are not grids (the
Processo x Subprocesso tree, the pivot) have no page size: ten times more
tickets must not add queries either. The data gives every view more than 10
rows: open and finalized tickets, late stages, breached SLA clocks, service
orders, events, watchers and tickets of a team the supervisor does not
supervise.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards.grids.grid import GridView
from dashboards.grids.registry import all_views
from dashboards.grids.tree import TreeView
from sla.models import ClockState
from tests.dashboards.conftest import HTMX, add_service_order, set_stage_due, view_url
from tickets.events import record
from tickets.models import EventKind, Origin

VIEWS = [v.key for v in all_views()]
GRIDS = {v.key for v in all_views() if isinstance(v, GridView)}
ROWS = 14  # of each kind: more than the small page (10), fewer than the big one (50)


def _seed(make_ticket, make_clock, agent, teammate, classifications, *, n: int, start_code: int) -> None:
    now = timezone.now()
    origins = [Origin.PHONE, Origin.WHATSAPP]
    for i in range(n):
        opened = make_ticket(
            # Seconds ago, so "abertos hoje" has them too (except in the first minutes of a day).
            opened_at=now - timedelta(seconds=60 + i),
            assignee=agent if i % 3 else None,
            origin=origins[i % 2],
            opening_classification=classifications["opening"],
            city="Campinas",
            neighbourhood="Centro",
            street="Rua A",
        )
        make_clock(opened, due_at=now - timedelta(hours=1), breached_at=now - timedelta(hours=1), state=ClockState.BREACHED)
        set_stage_due(opened, now - timedelta(hours=1 + i % 5))
        add_service_order(opened, code=start_code + i, due_at=now - timedelta(minutes=30))
        if i % 4 == 0:
            opened.watchers.add(teammate)
        for m in (5, 10):
            record(ticket=opened, kind=EventKind.COMMENT_ADDED, actor=agent, at=now - timedelta(minutes=m))
        closed = make_ticket(
            opened_at=now - timedelta(hours=30 + i),
            closed_at=now - timedelta(seconds=30 + i),
            assignee=teammate,
            closed_by=agent,
            closing_classification=classifications["closing"],
            origin=origins[i % 2],
        )
        make_clock(
            closed, due_at=now - timedelta(hours=2), breached_at=now - timedelta(hours=2), state=ClockState.BREACHED
        )
        add_service_order(closed, code=start_code + 1000 + i, status="completed", due_at=now - timedelta(hours=3),
                          completed_at=now - timedelta(hours=1))


@pytest.fixture
def seed(make_ticket, make_clock, agent, teammate, classifications, subprocesses, other_team, outsider):
    def _seed_more(n: int, start_code: int) -> None:
        _seed(make_ticket, make_clock, agent, teammate, classifications, n=n, start_code=start_code)
        # Rows the supervisor may not see still cost nothing per row.
        make_ticket(team=other_team, assignee=outsider, opened_at=timezone.now() - timedelta(hours=3))

    return _seed_more


def _leaf_params(client, key: str) -> dict[str, str]:
    """A tree's rows are one leaf group's page (``?node=``); other grids need nothing."""
    view = next(v for v in all_views() if v.key == key)
    if not isinstance(view, TreeView):
        return {}
    response = client.get(view_url(key, all=1))
    nodes = response.context["tree"]["nodes"]
    node = max(nodes, key=lambda n: n.count)
    while node.children:
        node = max(node.children, key=lambda n: n.count)
    return {"node": node.token}


def _queries(client, url: str, **headers) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("key", sorted(GRIDS))
@pytest.mark.parametrize("partial", [False, True], ids=["page", "htmx"])
def test_grid_query_count_does_not_grow_with_page_size(client, supervisor, seed, django_assert_max_num_queries, key, partial):
    seed(ROWS, 5000)
    client.force_login(supervisor)
    headers = HTMX if partial else {}
    leaf = _leaf_params(client, key)
    small, small_response = _queries(client, view_url(key, all=1, per_page=10, **leaf), **headers)
    assert len(small_response.context["rows"]) == 10, "the data must fill the small page"
    with django_assert_max_num_queries(small):
        big = client.get(view_url(key, all=1, per_page=50, **leaf), headers=headers)
    assert big.status_code == 200
    assert len(big.context["rows"]) > 10


@pytest.mark.parametrize("key", sorted(GRIDS))
def test_grid_deep_sorted_page_query_count_matches_first_page(client, supervisor, seed, django_assert_max_num_queries, key):
    """Sorting by another column and paging forward cost the same queries as the first page."""
    seed(ROWS, 5000)
    client.force_login(supervisor)
    leaf = _leaf_params(client, key)
    first, response = _queries(client, view_url(key, all=1, per_page=10, **leaf), **HTMX)
    cursor = response.context["grid"].page.next_cursor
    with django_assert_max_num_queries(first):
        deep = client.get(view_url(key, all=1, per_page=10, after=cursor, **leaf), headers=HTMX)
    assert deep.status_code == 200
    assert deep.context["rows"], "the second page has rows"
    view = next(v for v in all_views() if v.key == key)
    other = next(c.key for c in view.columns if c.sortable and c.key != view.default_sort.lstrip("-"))
    with django_assert_max_num_queries(first):
        assert client.get(view_url(key, all=1, per_page=50, o=f"-{other}", **leaf), headers=HTMX).status_code == 200


@pytest.mark.parametrize("key", sorted(set(VIEWS) - GRIDS))
def test_other_views_query_count_does_not_grow_with_rows(client, supervisor, seed, django_assert_max_num_queries, key):
    seed(3, 5000)
    client.force_login(supervisor)
    few, _response = _queries(client, view_url(key))
    seed(30, 7000)
    with django_assert_max_num_queries(few):
        assert client.get(view_url(key)).status_code == 200
