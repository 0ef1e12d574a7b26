"""Each view's membership rule at the edges of its period, in America/Sao_Paulo local time.

"Now" is Wednesday 11/03/2026 10:00 local (13:00 UTC). Local midnight today is
11/03 00:00; "na semana" starts 05/03 00:00 (6 days before); "30 dias"
starts 10/02 00:00 (29 days before); "15 dias" starts 25/02 00:00.
"""

from datetime import timedelta

import pytest
import time_machine

from sla.models import ClockState
from tests.dashboards.conftest import (
    HTMX,
    add_service_order,
    local,
    row_ids,
    set_stage_due,
    view_url,
)
from tickets.events import record
from tickets.models import EventKind, Origin

NOW = local(2026, 3, 11, 10, 0, 0)
ONE_SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def grid(client, supervisor):
    client.force_login(supervisor)

    def _ids(key: str, **params) -> set[int]:
        response = client.get(view_url(key, all=1, per_page=100, **params))
        assert response.status_code == 200
        return set(row_ids(response))

    return _ids


# --- Abertos ------------------------------------------------------------------------------


def test_opened_today_starts_at_local_midnight(grid, make_ticket):
    midnight = make_ticket(opened_at=local(2026, 3, 11, 0, 0, 0))
    yesterday = make_ticket(opened_at=local(2026, 3, 10, 23, 59, 59))
    closed = make_ticket(opened_at=local(2026, 3, 11, 8, 0), closed_at=local(2026, 3, 11, 9, 0))
    ids = grid("open/today")
    assert midnight.pk in ids
    assert yesterday.pk not in ids
    assert closed.pk not in ids


def test_opened_this_week_is_seven_calendar_days_with_today(grid, make_ticket):
    first_day = make_ticket(opened_at=local(2026, 3, 5, 0, 0, 0))
    before = make_ticket(opened_at=local(2026, 3, 4, 23, 59, 59))
    today = make_ticket(opened_at=local(2026, 3, 11, 9, 0))
    ids = grid("open/week")
    assert {first_day.pk, today.pk} <= ids
    assert before.pk not in ids


def test_all_open_lists_every_open_ticket_and_no_finalized(grid, make_ticket):
    old = make_ticket(opened_at=local(2025, 1, 1, 8, 0))
    closed = make_ticket(opened_at=local(2026, 3, 1, 8, 0), closed_at=local(2026, 3, 2, 8, 0))
    ids = grid("open/all")
    assert old.pk in ids
    assert closed.pk not in ids


def test_open_sla_late_is_breached_or_running_past_deadline_but_never_paused(grid, make_ticket, make_clock):
    breached = make_ticket(opened_at=local(2026, 3, 9, 8, 0))
    make_clock(breached, due_at=NOW - timedelta(hours=3), state=ClockState.BREACHED, breached_at=NOW - timedelta(hours=3))
    overdue = make_ticket(opened_at=local(2026, 3, 9, 8, 0))
    make_clock(overdue, due_at=NOW - ONE_SECOND, state=ClockState.AT_RISK)
    on_time = make_ticket(opened_at=local(2026, 3, 9, 8, 0))
    make_clock(on_time, due_at=NOW + ONE_SECOND)
    paused = make_ticket(opened_at=local(2026, 3, 9, 8, 0))
    make_clock(paused, due_at=NOW - timedelta(hours=5), state=ClockState.PAUSED)
    closed = make_ticket(opened_at=local(2026, 3, 9, 8, 0), closed_at=local(2026, 3, 10, 8, 0))
    make_clock(closed, due_at=NOW - timedelta(days=1), state=ClockState.BREACHED, breached_at=NOW - timedelta(days=1))
    assert grid("open/sla-late") == {breached.pk, overdue.pk}


def test_interactions_are_the_events_of_open_tickets_one_row_each(client, supervisor, make_ticket):
    open_ticket = make_ticket(opened_at=local(2026, 3, 10, 8, 0))
    closed = make_ticket(opened_at=local(2026, 3, 10, 8, 0), closed_at=local(2026, 3, 10, 9, 0))
    for ticket in (open_ticket, open_ticket, closed):
        record(ticket=ticket, kind=EventKind.COMMENT_ADDED, actor=None, at=local(2026, 3, 10, 8, 30))
    client.force_login(supervisor)
    response = client.get(view_url("open/interactions"))
    assert row_ids(response) == [open_ticket.pk, open_ticket.pk]
    # The total (the open tickets' event counts added up) is the rows' count, and so is a
    # filtered one (counted on the events).
    assert response.context["grid"].total == 2
    filtered = client.get(view_url("open/interactions", code=str(open_ticket.code)))
    assert filtered.context["grid"].total == 2 and row_ids(filtered) == [open_ticket.pk, open_ticket.pk]
    assert "Novo comentário em 10/03/2026 08:30:00" in response.content.decode()


def test_subprocess_deadlines_lists_the_unfinished_stage_of_open_tickets(grid, make_ticket):
    late = make_ticket(opened_at=local(2026, 3, 1, 8, 0))
    set_stage_due(late, NOW - timedelta(days=3))
    on_time = make_ticket(opened_at=local(2026, 3, 11, 8, 0))
    closed = make_ticket(opened_at=local(2026, 3, 1, 8, 0), closed_at=local(2026, 3, 2, 8, 0))
    assert grid("open/subprocess-deadlines") == {late.pk, on_time.pk}
    assert closed.pk not in grid("open/subprocess-deadlines")


@pytest.mark.parametrize("key", ["open/subprocess-deadlines", "late-subprocesses/all"])
def test_stage_views_filtered_by_the_tickets_origin_keep_only_visible_open_tickets(
    client, supervisor, make_ticket, other_team, key
):
    wanted = make_ticket(opened_at=local(2026, 3, 1, 8, 0), origin=Origin.WHATSAPP)
    other_origin = make_ticket(opened_at=local(2026, 3, 1, 8, 0), origin=Origin.PHONE)
    not_visible = make_ticket(opened_at=local(2026, 3, 1, 8, 0), origin=Origin.WHATSAPP, team=other_team)
    closed = make_ticket(
        opened_at=local(2026, 3, 1, 8, 0), closed_at=local(2026, 3, 2, 8, 0), origin=Origin.WHATSAPP
    )
    for ticket in (wanted, other_origin, not_visible):
        set_stage_due(ticket, NOW - timedelta(days=3))
    client.force_login(supervisor)
    response = client.get(view_url(key, origin=Origin.WHATSAPP, per_page=100), headers=HTMX)
    assert row_ids(response) == [wanted.pk]
    assert response.context["grid"].total == 1
    assert closed.pk not in row_ids(response)


# --- Subprocessos atrasados ------------------------------------------------------------------------


def test_late_subprocesses_windows_by_when_the_stage_became_late(grid, make_ticket):
    def with_due(due):
        ticket = make_ticket(opened_at=local(2026, 1, 5, 8, 0))
        set_stage_due(ticket, due)
        return ticket

    week_edge = with_due(local(2026, 3, 5, 0, 0, 0))
    before_week = with_due(local(2026, 3, 4, 23, 59, 59))
    fortnight_edge = with_due(local(2026, 2, 25, 0, 0, 0))
    before_fortnight = with_due(local(2026, 2, 24, 23, 59, 59))
    just_late = with_due(NOW - ONE_SECOND)
    not_late = with_due(NOW + ONE_SECOND)

    assert grid("late-subprocesses/7-days") == {week_edge.pk, just_late.pk}
    assert grid("late-subprocesses/15-days") == {week_edge.pk, before_week.pk, fortnight_edge.pk, just_late.pk}
    everything_late = {week_edge.pk, before_week.pk, fortnight_edge.pk, before_fortnight.pk, just_late.pk}
    assert grid("late-subprocesses/all") == everything_late
    assert not_late.pk not in grid("late-subprocesses/all")


# --- Finalizados -------------------------------------------------------------------------------------


def test_finalized_periods_start_at_local_midnights(grid, make_ticket):
    def closed(at):
        return make_ticket(opened_at=at - timedelta(hours=1), closed_at=at)

    today = closed(local(2026, 3, 11, 0, 0, 0))
    yesterday = closed(local(2026, 3, 10, 23, 59, 59))
    week_edge = closed(local(2026, 3, 5, 0, 0, 0))
    before_week = closed(local(2026, 3, 4, 23, 59, 59))
    month_edge = closed(local(2026, 2, 10, 0, 0, 0))
    before_month = closed(local(2026, 2, 9, 23, 59, 59))
    still_open = make_ticket(opened_at=local(2026, 3, 11, 1, 0))

    assert grid("finalized/today") == {today.pk}
    assert grid("finalized/week") == {today.pk, yesterday.pk, week_edge.pk}
    month = {today.pk, yesterday.pk, week_edge.pk, before_week.pk, month_edge.pk}
    assert grid("finalized/30-days") == month
    assert grid("finalized/30-days-address") == month
    assert before_month.pk not in grid("finalized/30-days")
    assert still_open.pk not in grid("finalized/30-days")


def test_finalized_late_needs_a_breached_clock_within_30_days(grid, make_ticket, make_clock):
    late = make_ticket(opened_at=local(2026, 3, 1, 8, 0), closed_at=local(2026, 3, 3, 8, 0))
    make_clock(late, due_at=local(2026, 3, 2, 8, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 2, 8, 0))
    met = make_ticket(opened_at=local(2026, 3, 1, 8, 0), closed_at=local(2026, 3, 3, 8, 0))
    make_clock(met, due_at=local(2026, 3, 4, 8, 0), state=ClockState.MET)
    old_late = make_ticket(opened_at=local(2026, 2, 1, 8, 0), closed_at=local(2026, 2, 9, 23, 59, 59))
    make_clock(old_late, due_at=local(2026, 2, 2, 8, 0), state=ClockState.BREACHED, breached_at=local(2026, 2, 2, 8, 0))
    assert grid("finalized/30-days-late") == {late.pk}


# --- Em O.S. -------------------------------------------------------------------------------------------


def test_service_order_views(grid, make_ticket):
    edge = make_ticket(opened_at=local(2026, 2, 10, 0, 0, 0))
    add_service_order(edge, code=1, due_at=NOW - ONE_SECOND)
    before = make_ticket(opened_at=local(2026, 2, 9, 23, 59, 59))
    add_service_order(before, code=2, status="scheduled", due_at=NOW - timedelta(days=20))
    no_order = make_ticket(opened_at=local(2026, 3, 10, 8, 0))
    completed_late = make_ticket(opened_at=local(2026, 3, 1, 8, 0))
    add_service_order(
        completed_late, code=3, status="completed", due_at=local(2026, 3, 2, 8, 0), completed_at=local(2026, 3, 2, 8, 0, 1)
    )
    completed_on_time = make_ticket(opened_at=local(2026, 3, 1, 8, 0))
    add_service_order(
        completed_on_time, code=4, status="completed", due_at=local(2026, 3, 2, 8, 0), completed_at=local(2026, 3, 2, 8, 0)
    )
    not_due = make_ticket(opened_at=local(2026, 3, 1, 8, 0))
    add_service_order(not_due, code=5, due_at=NOW + ONE_SECOND)

    month = {edge.pk, completed_late.pk, completed_on_time.pk, not_due.pk}
    assert grid("service-orders/30-days") == month
    assert grid("service-orders/30-days-address") == month
    assert no_order.pk not in grid("service-orders/30-days")
    assert grid("service-orders/open-orders") == {edge.pk, before.pk, not_due.pk}
    assert grid("service-orders/30-days-late") == {edge.pk, completed_late.pk}


def test_linked_service_order_shows_the_latest_code(client, supervisor, make_ticket):
    ticket = make_ticket(opened_at=local(2026, 3, 10, 8, 0))
    add_service_order(ticket, code=4711)
    client.force_login(supervisor)
    response = client.get(view_url("service-orders/30-days"))
    cells = {c.key: html for c, html in response.context["rows"][0]["cells"]}
    assert cells["service_order_code"] == "4711"


# --- Atrasados ---------------------------------------------------------------------------------------------


def test_late_views_by_breach_time(grid, make_ticket, make_clock):
    def breached(at, **fields):
        ticket = make_ticket(opened_at=at - timedelta(days=1), **fields)
        make_clock(ticket, due_at=at, state=ClockState.BREACHED, breached_at=at)
        return ticket

    day_edge = breached(NOW - timedelta(hours=24))
    before_day = breached(NOW - timedelta(hours=24) - ONE_SECOND)
    week_edge = breached(local(2026, 3, 5, 0, 0, 0))
    before_week = breached(local(2026, 3, 4, 23, 59, 59))
    month_edge = breached(local(2026, 2, 10, 0, 0, 0), closed_at=local(2026, 2, 11, 0, 0))
    before_month = breached(local(2026, 2, 9, 23, 59, 59))
    never = make_ticket(opened_at=local(2026, 3, 10, 8, 0))
    make_clock(never, due_at=NOW + timedelta(hours=1))

    assert grid("late/24-hours") == {day_edge.pk}
    assert grid("late/week") == {day_edge.pk, before_day.pk, week_edge.pk}
    assert grid("late/30-days") == {day_edge.pk, before_day.pk, week_edge.pk, before_week.pk, month_edge.pk}
    assert grid("late/all") == {day_edge.pk, before_day.pk, week_edge.pk, before_week.pk, month_edge.pk, before_month.pk}


def test_late_hours_and_finalized_flag(client, supervisor, make_ticket, make_clock):
    finalized = make_ticket(opened_at=local(2026, 3, 9, 8, 0), closed_at=local(2026, 3, 10, 14, 30))
    make_clock(finalized, due_at=local(2026, 3, 10, 8, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 10, 8, 0))
    still_open = make_ticket(opened_at=local(2026, 3, 9, 8, 0))
    make_clock(still_open, due_at=local(2026, 3, 10, 22, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 10, 22, 0))
    client.force_login(supervisor)
    response = client.get(view_url("late/week"))
    cells = {row["ticket_id"]: {c.key: html for c, html in row["cells"]} for row in response.context["rows"]}
    # closed 14:30 - due 08:00 = 6.5 h; open: now 10:00 - due 22:00 yesterday = 12 h.
    assert cells[finalized.pk]["late_hours"] == "6,5"
    assert cells[finalized.pk]["finalized"] == "SIM"
    assert cells[still_open.pk]["late_hours"] == "12,0"
    assert cells[still_open.pk]["finalized"] == "NÃO"


@pytest.mark.parametrize("who", ["supervisor", "agent"])
def test_interactions_sorted_by_sla_are_the_same_rows_in_deadline_order(
    request, client, make_ticket, make_clock, other_team, agent, who
):
    """Sorted by "SLA" the page reads the events joined to their tickets (``sort_rules``): the
    same rows as the view's rule, in the tickets' deadline order (no clock last), page by page."""
    viewer = request.getfixturevalue(who)
    due = [NOW + timedelta(hours=h) for h in (5, -2, 9, 1)]
    tickets = [make_ticket(opened_at=local(2026, 3, 10, 8, i), assignee=agent if i % 2 else None) for i in range(4)]
    for ticket, at in zip(tickets, due, strict=True):
        make_clock(ticket, due_at=at)
    no_clock = make_ticket(opened_at=local(2026, 3, 10, 9, 0))
    hidden = make_ticket(opened_at=local(2026, 3, 10, 9, 0), team=other_team)
    make_clock(hidden, due_at=NOW - timedelta(days=9))
    closed = make_ticket(opened_at=local(2026, 3, 10, 8, 0), closed_at=local(2026, 3, 10, 9, 0))
    make_clock(closed, due_at=NOW - timedelta(days=8))
    for ticket in [*tickets, no_clock, hidden, closed]:
        for minute in (1, 2):
            record(ticket=ticket, kind=EventKind.COMMENT_ADDED, actor=None, at=local(2026, 3, 10, 10, minute))
    client.force_login(viewer)
    default = client.get(view_url("open/interactions", per_page=100))
    ids = [row["pk"] for row in default.context["rows"]]

    def walk(sort: str) -> list[int]:
        seen, params = [], {"o": sort, "per_page": 3}
        for _ in range(10):
            page = client.get(view_url("open/interactions", **params))
            assert page.status_code == 200
            seen += [(row["ticket_id"], row["pk"]) for row in page.context["rows"]]
            cursor = page.context["grid"].page.next_cursor if page.context["grid"].page.has_next else None
            if not cursor:
                return seen
            params["after"] = cursor
        raise AssertionError("too many pages")

    ascending = walk("sla")
    assert sorted(pk for _t, pk in ascending) == sorted(ids)
    by_due = sorted((t for t in tickets if t.pk in {tk for tk, _ in ascending}), key=lambda t: t.sla_due_at)
    expected_order = [t.pk for t in by_due] + ([no_clock.pk] if no_clock.pk in {tk for tk, _ in ascending} else [])
    assert list(dict.fromkeys(tk for tk, _ in ascending)) == expected_order
    assert hidden.pk not in {tk for tk, _ in ascending} and closed.pk not in {tk for tk, _ in ascending}
    descending = walk("-sla")
    assert sorted(pk for _t, pk in descending) == sorted(ids)
