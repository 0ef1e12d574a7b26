"""The roles of migration 0002 and the helpers that read them."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission

from tests import factories as f
from tickets.roles import ADMIN, AGENT, SUPERVISOR, is_admin, is_supervisor, role_label

pytestmark = pytest.mark.django_db


def _codenames(name: str) -> set[str]:
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


def test_migration_creates_the_three_role_groups():
    assert set(Group.objects.filter(name__in=[AGENT, SUPERVISOR, ADMIN]).values_list("name", flat=True)) == {
        "Agente",
        "Supervisor",
        "Administrador",
    }


def test_agent_group_has_view_new_edit_and_export():
    assert _codenames(AGENT) == {"view_ticket", "tool_new", "tool_edit", "tool_export"}


def test_supervisor_group_adds_change_sla_and_evaluation_tools():
    assert _codenames(SUPERVISOR) == {
        "view_ticket",
        "change_ticket",
        "tool_new",
        "tool_edit",
        "tool_modify_sla",
        "tool_resend_evaluation",
        "tool_export",
    }


def test_administrator_group_has_every_permission():
    group = Group.objects.get(name=ADMIN)
    assert group.permissions.count() == Permission.objects.count()
    assert set(group.permissions.all()) == set(Permission.objects.all())


def test_role_tool_permissions_exist_on_ticket():
    codenames = set(Permission.objects.filter(content_type__app_label="tickets").values_list("codename", flat=True))
    assert {"tool_new", "tool_edit", "tool_modify_sla", "tool_resend_evaluation", "tool_export"} <= codenames


def test_agent_has_tool_new_but_not_modify_sla():
    agent = f.AgentFactory()
    assert agent.has_perm("tickets.tool_new")
    assert not agent.has_perm("tickets.tool_modify_sla")


def test_supervisor_may_modify_sla():
    assert f.SupervisorFactory().has_perm("tickets.tool_modify_sla")


def test_user_without_role_has_no_tool():
    assert not f.UserFactory().has_perm("tickets.tool_new")


@pytest.mark.parametrize(
    ("factory", "admin", "supervisor", "label"),
    [
        (f.AgentFactory, False, False, "Agente"),
        (f.SupervisorFactory, False, True, "Supervisor"),
        (f.AdminFactory, True, True, "Administrador"),
    ],
)
def test_role_helpers_follow_the_group(factory, admin, supervisor, label):
    user = factory()
    assert (is_admin(user), is_supervisor(user), role_label(user)) == (admin, supervisor, label)


def test_superuser_counts_as_admin_without_any_group():
    assert is_admin(f.UserFactory(is_superuser=True))


def test_anonymous_user_has_no_role():
    anonymous = AnonymousUser()
    assert not is_admin(anonymous)
    assert not is_supervisor(anonymous)


def test_factory_password_is_demo1234():
    assert f.AgentFactory().check_password("demo1234")
