"""Who sees which ticket (DOMAIN.md, "Who sees what"), and what the reads cost."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import FETCH_RAISE
from django.http import Http404
from django.utils import timezone

from tests import factories as f
from tickets import selectors, services
from tickets.models import EventKind, TicketEvent
from tickets.selectors import access_ticket, can_see_ticket, ticket_list, visible_tickets


@pytest.fixture
def world(agent, teammate, supervisor, outsider, team, other_team):
    """One ticket per visibility case, named by how ``agent`` relates to it."""
    return {
        "own": f.TicketFactory(team=team, assignee=agent),
        "team_unassigned": f.TicketFactory(team=team),
        "teammates": f.TicketFactory(team=team, assignee=teammate),
        "watched_elsewhere": f.TicketFactory(team=other_team, assignee=outsider, watchers=[agent]),
        "other_team_unassigned": f.TicketFactory(team=other_team),
        "other_team_assigned": f.TicketFactory(team=other_team, assignee=outsider),
        "own_closed": f.TicketFactory(team=team, assignee=agent, closed_at=timezone.now()),
    }


def _names(world, qs) -> set[str]:
    by_pk = {t.pk: name for name, t in world.items()}
    return {by_pk[pk] for pk in qs.values_list("pk", flat=True)}


def test_agent_sees_own_tickets_team_unassigned_and_watched(world, agent):
    assert _names(world, visible_tickets(agent)) == {"own", "own_closed", "team_unassigned", "watched_elsewhere"}


def test_agent_does_not_see_a_teammates_assigned_ticket(world, agent):
    assert not can_see_ticket(agent, world["teammates"])


def test_agent_does_not_see_another_teams_tickets(world, agent):
    assert not can_see_ticket(agent, world["other_team_unassigned"])
    assert not can_see_ticket(agent, world["other_team_assigned"])


def test_outsider_sees_only_their_own_team(world, outsider):
    assert _names(world, visible_tickets(outsider)) == {
        "watched_elsewhere",
        "other_team_unassigned",
        "other_team_assigned",
    }


def test_supervisor_sees_everything_of_the_supervised_team_and_nothing_else(world, supervisor):
    assert _names(world, visible_tickets(supervisor)) == {"own", "own_closed", "team_unassigned", "teammates"}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("agent", {"own", "own_closed", "team_unassigned", "watched_elsewhere"}),
        ("outsider", {"watched_elsewhere", "other_team_unassigned", "other_team_assigned"}),
        ("supervisor", {"own", "own_closed", "team_unassigned", "teammates"}),
    ],
)
def test_visibility_read_through_a_rows_ticket_keeps_the_rows_of_visible_tickets(world, who, expected, request):
    user = request.getfixturevalue(who)
    for ticket in world.values():
        TicketEvent.objects.create(ticket=ticket, kind=EventKind.COMMENT_ADDED, created_at=timezone.now())
    events = TicketEvent.objects.filter(selectors.visibility_q(user, via="ticket__"))
    by_pk = {t.pk: name for name, t in world.items()}
    assert sorted(by_pk[pk] for pk in events.values_list("ticket_id", flat=True)) == sorted(expected)


def test_supervisor_group_without_supervised_teams_sees_nothing(world):
    lonely = f.SupervisorFactory()
    assert _names(world, visible_tickets(lonely)) == set()


def test_listed_as_team_supervisor_without_the_role_sees_only_as_an_agent(world, team):
    # Visibility of a whole team comes with the Supervisor role, not the M2M alone.
    pseudo = f.AgentFactory()
    team.supervisors.add(pseudo)
    assert _names(world, visible_tickets(pseudo)) == set()


def test_admin_sees_everything(world, admin_user):
    assert _names(world, visible_tickets(admin_user)) == set(world)


def test_superuser_without_group_sees_everything(world):
    root = f.UserFactory(is_superuser=True)
    assert _names(world, visible_tickets(root)) == set(world)


def test_access_ticket_returns_a_visible_ticket(world, agent):
    assert access_ticket(agent, world["team_unassigned"].pk) == world["team_unassigned"]


@pytest.mark.parametrize("ticket_id", ["teammates", "other_team_assigned", 999_999, "abc", None])
def test_access_ticket_is_404_for_invisible_missing_or_malformed_ids(world, agent, ticket_id):
    pk = world[ticket_id].pk if ticket_id in world else ticket_id
    with pytest.raises(Http404):
        access_ticket(agent, pk)


def test_access_ticket_for_update_locks_only_the_ticket(world, agent, django_assert_num_queries):
    selectors.visibility_q(agent)  # warm the role and team caches
    with django_assert_num_queries(1) as ctx:
        access_ticket(agent, world["own"].pk, for_update=True)
    sql = ctx.captured_queries[0]["sql"]
    # SQLite ignores FOR UPDATE; on PostgreSQL it must lock the ticket row only.
    if ctx.connection.vendor == "postgresql":
        assert 'FOR UPDATE OF "tickets_ticket"' in sql


def test_ticket_detail_is_404_for_an_outsider(world, outsider):
    with pytest.raises(Http404):
        selectors.ticket_detail(outsider, world["own"].pk)


def test_access_attachment_is_404_for_an_outsider(world, agent, outsider):
    upload = SimpleUploadedFile("nota.txt", b"ok", content_type="text/plain")
    attachment = services.attachment_add(actor=agent, ticket=world["own"], uploaded=upload)
    assert selectors.access_attachment(agent, attachment.pk) == attachment
    with pytest.raises(Http404):
        selectors.access_attachment(outsider, attachment.pk)


# --- cost of the grid --------------------------------------------------------------------------------


def _render_rows(qs) -> list[tuple]:
    """The columns of the "Abertos" grid, touching every related row it shows."""
    return [
        (
            t.code,
            t.customer.name_document,
            t.protocol,
            t.assignee_display,
            t.process.name,
            t.current_subprocess.name,
            t.opening_classification.name if t.opening_classification_id else "",
            t.company.name,
            t.team.name,
        )
        for t in qs
    ]


@pytest.mark.parametrize("count", [3, 12])
def test_ticket_list_costs_the_same_few_queries_whatever_the_number_of_rows(
    agent, team, count, django_assert_max_num_queries
):
    for i in range(count):
        f.TicketFactory(team=team, assignee=agent if i % 2 else None)
    # Fresh user object: its role and team caches are empty, as on a new request.
    viewer = type(agent).objects.get(pk=agent.pk)
    # 1 groups (role) + 2 teams (member, supervised) + 1 tickets with their joins.
    with django_assert_max_num_queries(4):
        rows = _render_rows(ticket_list(viewer))
    assert len(rows) == count


def test_ticket_list_loads_every_grid_column_without_lazy_queries(agent, team, opening_classification):
    f.TicketFactory(team=team, assignee=agent, opening_classification=opening_classification)
    f.TicketFactory(team=team)
    rows = _render_rows(ticket_list(agent).fetch_mode(FETCH_RAISE))
    assert {r[3] for r in rows} == {"Sem resgate", "Ana Souza"}


def test_admin_ticket_list_costs_two_queries(admin_user, django_assert_max_num_queries):
    f.TicketFactory.create_batch(5)
    viewer = type(admin_user).objects.get(pk=admin_user.pk)
    with django_assert_max_num_queries(2):  # groups + tickets
        assert len(_render_rows(ticket_list(viewer))) == 5


# --- small reads -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_customer_search_finds_by_name_or_document_prefix_with_punctuation():
    maria = f.CustomerFactory(name="Maria Oliveira", document="52998224725")
    loja = f.CustomerFactory(name="Loja Nova", document="12ABC34501DE35")
    assert list(selectors.customer_search("olive")) == [maria]
    assert list(selectors.customer_search("529.982")) == [maria]
    assert list(selectors.customer_search("12.abc")) == [loja]
    assert list(selectors.customer_search("m")) == []


@pytest.mark.django_db
def test_category_children_lists_active_children_by_name():
    root = f.CategoryFactory(name="Internet")
    f.CategoryFactory(name="Sem conexão", parent=root)
    f.CategoryFactory(name="Lentidão", parent=root)
    f.CategoryFactory(name="Antiga", parent=root, active=False)
    assert [c.name for c in selectors.category_children(root.pk)] == ["Lentidão", "Sem conexão"]
    assert [c.name for c in selectors.category_children(None)] == ["Internet"]
