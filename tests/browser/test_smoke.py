"""Smoke test in a real browser: each role signs in, sees the pt-BR home page
and opens a ticket's detail page.

The data is made with plain ORM calls and the real ``ticket_open`` operation.
The tests are transactional (the live server runs in another thread, so the
data must be committed), and the flush after each test also removes the role
groups that migration 0002 creates, so ``role_group`` makes them again with the
migration's own permission lists.
"""

import importlib
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import Page, expect

from tickets import roles, services
from tickets.models import Company, Customer, Origin, Process, Subprocess, Team, Ticket

from .conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ROLE_OF = {"admin": roles.ADMIN, "supervisor": roles.SUPERVISOR, "agente": roles.AGENT}
_roles_migration = importlib.import_module("tickets.migrations.0002_roles")


def role_group(name: str) -> Group:
    group, created = Group.objects.get_or_create(name=name)
    if created:
        if name == roles.ADMIN:
            group.permissions.set(Permission.objects.all())
        else:
            codenames = {
                roles.AGENT: _roles_migration.AGENT,
                roles.SUPERVISOR: _roles_migration.SUPERVISOR,
            }
            group.permissions.set(
                Permission.objects.filter(
                    content_type__app_label="tickets", codename__in=codenames[name]
                )
            )
    return group


@pytest.fixture
def ticket() -> Ticket:
    """Three users, one per role; a team; a ticket opened by the agent, unassigned."""
    User = get_user_model()
    users = {}
    for username, group_name in ROLE_OF.items():
        user = User.objects.create_user(
            username=username, password=PASSWORD, first_name=username.title()
        )
        user.groups.add(role_group(group_name))
        users[username] = user
    team = Team.objects.create(name="Suporte N1")
    team.members.add(users["agente"])
    team.supervisors.add(users["supervisor"])
    customer = Customer.objects.create(
        name="Maria Oliveira", document="52998224725", city="Campinas", state="SP"
    )
    company = Company.objects.create(name="NetRápido Campinas", cnpj="11222333000181")
    process = Process.objects.create(name="Suporte técnico")
    Subprocess.objects.create(process=process, name="Triagem", expected_hours=4, order=1)
    return services.ticket_open(
        actor=users["agente"],
        customer=customer,
        company=company,
        team=team,
        process=process,
        origin=Origin.PHONE,
        customer_report="Sem internet desde ontem à noite.",
    )


def _expect_portuguese(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^pt", re.IGNORECASE))


def test_login_page_is_in_portuguese_and_rejects_a_wrong_password(
    page, live_server, ticket, screenshot
):
    page.goto(f"{live_server.url}/accounts/login/")
    _expect_portuguese(page)
    screenshot(page, "login")

    page.locator("input[name=username]").fill("agente")
    page.locator("input[name=password]").fill("senha-errada")
    page.locator("form:has(input[name=password]) [type=submit]").first.click()

    expect(page.get_by_text(re.compile(r"Por favor, entre com um"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_anonymous_visitor_is_sent_to_the_login_page(page, live_server, ticket):
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("input[name=password]")).to_be_visible()


@pytest.mark.parametrize("username", ["admin", "supervisor", "agente"])
def test_each_role_signs_in_sees_home_and_opens_the_ticket(
    page, live_server, login, screenshot, ticket, username
):
    login(page, username)

    expect(page).to_have_url(f"{live_server.url}/")
    _expect_portuguese(page)
    screenshot(page, f"home-{username}")

    response = page.goto(f"{live_server.url}/tickets/{ticket.pk}/")

    assert response is not None and response.status == 200
    expect(page.get_by_text(ticket.protocol).first).to_be_visible()
    screenshot(page, f"ticket-{username}")
