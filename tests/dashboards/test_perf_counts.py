"""The cheap ways of counting give the same numbers as counting each view's rule.

The grids count a supervisor's rows one visibility branch at a time
(``counting.split_count``) and the badges count a family's views in one pass
(``counting.view_counts``); both must equal ``rule(user, now).count()`` for
every view and every kind of user, on data that exercises each branch of the
visibility rule: tickets of a supervised team (assigned, unassigned), of a
team the supervisor only belongs to, assigned to or watched by the user in a
team they do not supervise, and tickets nobody of them may see.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.grids.counting import split_count, view_counts, visibility_branches
from dashboards.grids.grid import GridView
from dashboards.grids.registry import all_views, tabs, views_of
from sla.models import ClockState
from tests.dashboards.conftest import add_service_order, set_stage_due
from tests.factories import TeamFactory
from tickets.events import record
from tickets.models import EventKind, Ticket
from tickets.selectors import visible_tickets

GRIDS = [v for v in all_views() if isinstance(v, GridView)]


@pytest.fixture
def data(make_ticket, make_clock, agent, teammate, supervisor, outsider, other_team):
    """Tickets in every visibility branch, open and finalized, late and not, with stages and events."""
    now = timezone.now()
    supervised_only = TeamFactory(name="Supervisionada")
    supervised_only.supervisors.add(supervisor)
    member_only = TeamFactory(name="Só membro")
    member_only.members.add(supervisor, agent)
    places = [
        {},  # the shared team: unassigned
        {"assignee": agent},
        {"team": supervised_only, "assignee": outsider},
        {"team": member_only},  # unassigned in a team the supervisor and the agent belong to
        {"team": member_only, "assignee": outsider},
        {"team": other_team, "assignee": supervisor},
        {"team": other_team, "assignee": agent},
        {"team": other_team, "assignee": outsider, "watch": True},
        {"team": other_team, "assignee": None},
        {"team": other_team, "assignee": outsider},
    ]
    code = 7000
    for i, place in enumerate(places):
        place = dict(place)
        watch = place.pop("watch", False)
        for closed in (False, True):
            opened_at = now - timedelta(hours=2 + i, days=3 if closed else 0)
            ticket = make_ticket(
                opened_at=opened_at,
                closed_at=now - timedelta(hours=1) if closed else None,
                **place,
            )
            late = i % 2 == 0
            make_clock(
                ticket,
                due_at=now - timedelta(hours=1) if late else now + timedelta(hours=3),
                state=ClockState.BREACHED if late else ClockState.RUNNING,
                breached_at=now - timedelta(hours=1) if late else None,
            )
            if not closed:
                set_stage_due(ticket, now - timedelta(hours=1) if late else now + timedelta(hours=1))
            code += 1
            add_service_order(ticket, code=code, due_at=now - timedelta(minutes=5))
            record(ticket=ticket, kind=EventKind.COMMENT_ADDED, actor=agent, at=now)
            if watch:
                ticket.watchers.add(supervisor, agent)
    assert Ticket.objects.count() == 2 * len(places)
    return now


@pytest.fixture(params=["agent", "teammate", "supervisor", "outsider", "admin_user"])
def user(request, data):
    return request.getfixturevalue(request.param)


def test_supervisor_visibility_splits_into_disjoint_branches(data, supervisor):
    branches = visibility_branches(supervisor)
    assert branches is not None and len(branches) >= 3
    seen: set[int] = set()
    for branch in branches:
        ids = set(Ticket.objects.filter(branch).values_list("pk", flat=True))
        assert not ids & seen, "a ticket counted in two branches"
        seen |= ids
    assert seen == set(visible_tickets(supervisor).values_list("pk", flat=True))


@pytest.mark.parametrize("view", GRIDS, ids=lambda v: v.key)
def test_split_count_equals_the_rule_count(view, user, data):
    expected = view.rule(user, data).count()
    assert split_count(user, lambda: view.rule(user, data)) == expected


def test_badge_counts_equal_each_views_own_count(user, data):
    views = [v for v in all_views() if v.count(user, data) is not None]
    assert view_counts(views, user, data) == {v.key: v.count(user, data) for v in views}
    # Some of them are not empty, or the comparison proves little.
    assert any(view_counts(views, user, data).values()) or user.username == "outsider"


def test_each_family_view_is_its_family_base_narrowed(supervisor, data):
    for view in GRIDS:
        if view.family is None:
            continue
        base = view.family.base(supervisor, data)
        if view.family_total is not None:
            # Counted as an aggregate of the base (the events of the open tickets: the sum of
            # their event counts), the rule's rows belong to the base's tickets.
            assert set(view.rule(supervisor, data).values_list(view.ticket_attr, flat=True)) <= set(
                base.values_list("pk", flat=True)
            ), view.key
            assert base.aggregate(n=view.family_total(data))["n"] == view.rule(supervisor, data).count(), view.key
            continue
        narrowed = base.filter(view.family_q(data)) if view.family_q is not None else base
        assert set(narrowed.values_list("pk", flat=True)) == set(view.rule(supervisor, data).values_list("pk", flat=True)), view.key


def test_counts_badges_cost_a_fixed_number_of_queries(client, supervisor, data, django_assert_max_num_queries):
    client.force_login(supervisor)
    for tab in tabs():
        if not views_of(tab.slug):
            continue
        # session, user, roles and teams, then one query per family or lone view of the tab.
        with django_assert_max_num_queries(16):
            response = client.get(reverse("dashboards:counts"), {"tab": tab.slug})
        assert response.status_code == 200
