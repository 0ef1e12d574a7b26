"""Live screens in real browsers: two Chromium contexts (an agent and a supervisor) on an ASGI server.

pytest-django's ``live_server`` speaks plain WSGI, without websockets, so these
tests serve the product's own ASGI application (HTTP + the /ws/live/ socket)
with uvicorn in a thread of this process: same test database, same in-memory
channel layer. Every change is made through the browser, as a user makes it.
"""

import re
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.conftest import PASSWORD
from tickets.models import Origin, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk():
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes", password=PASSWORD)
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    now = timezone.now()
    tickets = [
        f.TicketFactory(
            team=team, customer=f.CustomerFactory(name=name), origin=Origin.WHATSAPP,
            opened_at=now - timedelta(minutes=30 * (i + 1)),
        )
        for i, name in enumerate(["Maria Oliveira", "João Pereira", "Fernanda Costa"])
    ]
    return {"agent": agent, "supervisor": supervisor, "team": team, "tickets": tickets}


def live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_attribute("data-state", "online")


def mark_page(page: Page) -> None:
    """A marker only this page load has: still there later means no reload happened."""
    page.evaluate("window.__noReload = 'yes'")


def not_reloaded(page: Page) -> bool:
    return page.evaluate("window.__noReload") == "yes"


def test_the_agent_claims_and_the_supervisors_row_changes_without_reload(desk, open_as, asgi_server, screenshot):
    ticket = desk["tickets"][0]
    supervisor = open_as("supervisor")
    supervisor.goto(f"{asgi_server.url}/panel/open/all/?all=1")
    row = supervisor.locator(f"#row-{ticket.pk}")
    expect(row).to_contain_text("Sem resgate")
    live(supervisor)
    mark_page(supervisor)

    agent = open_as("agente")
    agent.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    live(agent)
    agent.get_by_role("button", name="Resgatar").click()
    expect(agent.locator("#ticket-head")).to_contain_text("Ana Souza")

    expect(row).to_contain_text("Ana Souza", timeout=5_000)
    expect(row).to_have_class(re.compile(r"live-flash"))
    assert not_reloaded(supervisor)
    screenshot(supervisor, "live-supervisor-row-claimed")

    # A new ticket opened by someone else appears in the supervisor's grid and the tab counter follows.
    before = supervisor.locator("#tab-count-open").inner_text()
    agent.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    live(agent)
    agent.get_by_role("button", name="Liberar").click()
    expect(row).to_contain_text("Sem resgate", timeout=5_000)
    assert supervisor.locator("#tab-count-open").inner_text() == before
    assert not_reloaded(supervisor)


def test_the_page_recovers_after_a_server_restart_and_misses_nothing(desk, open_as, asgi_server, screenshot):
    ticket = desk["tickets"][1]
    supervisor = open_as("supervisor")
    supervisor.goto(f"{asgi_server.url}/panel/open/all/?all=1")
    live(supervisor)
    mark_page(supervisor)
    row = supervisor.locator(f"#row-{ticket.pk}")
    expect(row).to_contain_text("Sem resgate")

    asgi_server.stop()
    expect(supervisor.locator("#live-status")).to_have_attribute("data-state", re.compile("reconnecting|connecting"), timeout=10_000)
    screenshot(supervisor, "live-reconnecting")

    # While the server is down the ticket is claimed (another process, say a worker).
    def claim() -> None:
        from tickets import services

        services.ticket_claim(actor=desk["agent"], ticket=Ticket.objects.get(pk=ticket.pk))

    worker = threading.Thread(target=claim)
    worker.start()
    worker.join()

    asgi_server.start()
    live_timeout = 20_000  # the extension's reconnect backoff
    expect(supervisor.locator("#live-status")).to_have_attribute("data-state", "online", timeout=live_timeout)
    expect(row).to_contain_text("Ana Souza", timeout=5_000)
    assert not_reloaded(supervisor)
    screenshot(supervisor, "live-recovered")


def test_a_supervisor_pauses_the_sla_and_the_agents_ticket_page_shows_it(open_as, asgi_server, screenshot):
    from datetime import time as clock_time
    from decimal import Decimal

    from sla.models import BusinessCalendar, ProcessPolicy, SlaPolicy, SlaReason, WorkingInterval
    from tickets import services

    supervisor_user = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes")
    agent_user = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza")
    team = f.TeamFactory(name="Suporte N1", members=[agent_user], supervisors=[supervisor_user])
    calendar = BusinessCalendar.objects.create(name="Plantão", national_holidays=False)
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=calendar, weekday=day, start=clock_time(0), end=clock_time(0)) for day in range(7)
    )
    process = f.process_with_subprocesses(name="Suporte técnico")
    policy = SlaPolicy.objects.create(name="Suporte 8h", calendar=calendar, resolution_amount=Decimal(8))
    ProcessPolicy.objects.create(process=process, policy=policy)
    SlaReason.objects.create(name="Falta de acesso ao local", kind=SlaReason.Kind.PAUSE)
    ticket = services.ticket_open(
        actor=agent_user, team=team, process=process, origin=Origin.PHONE,
        customer=f.CustomerFactory(name="Maria Oliveira"), company=f.CompanyFactory(name="NetRápido Campinas"),
        customer_report="Sem internet.", assignee=agent_user,
    )

    agent = open_as("agente")
    agent.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    live(agent)
    mark_page(agent)
    expect(agent.locator("#sla-state")).to_have_text("Em andamento")

    supervisor = open_as("supervisor")
    supervisor.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    # The page's scripts (htmx, the modal) are up once its socket is: a click before that
    # found no handler and loaded nothing (a flaky CI run).
    live(supervisor)
    supervisor.locator("#sla-modify").click()
    modal = supervisor.locator("#sla-modal")
    expect(modal.locator("#sla-wizard")).to_be_visible()
    modal.get_by_label("Pausar SLA").check()
    modal.get_by_role("button", name="Avançar").click()
    modal.get_by_label("Motivo").select_option(label="Falta de acesso ao local")
    modal.get_by_label("Observações").fill("Técnico sem acesso ao condomínio.")
    modal.get_by_label("Tem certeza que deseja executar este processo agora?").check()
    modal.get_by_role("button", name="Finalizar").click()
    expect(supervisor.locator("#sla-state")).to_have_text("Pausado")

    # The agent's page follows without a reload: SLA box and timeline.
    expect(agent.locator("#sla-state")).to_have_text("Pausado", timeout=5_000)
    expect(agent.locator("#ticket-timeline")).to_contain_text("SLA", timeout=5_000)
    assert not_reloaded(agent)
    screenshot(agent, "live-agent-sla-paused")


def test_tools_rendered_live_on_the_ticket_page_work(desk, open_as, asgi_server):
    """The head is re-rendered over the socket with its forms: their CSRF token is valid for this browser."""
    ticket = desk["tickets"][2]
    supervisor = open_as("supervisor")
    supervisor.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    live(supervisor)
    mark_page(supervisor)
    expect(supervisor.locator("#ticket-head")).to_contain_text("Sem resgate")

    agent = open_as("agente")
    agent.goto(f"{asgi_server.url}/tickets/{ticket.pk}/")
    agent.get_by_role("button", name="Resgatar").click()
    expect(agent.locator("#ticket-head")).to_contain_text("Ana Souza")

    head = supervisor.locator("#ticket-head")
    expect(head).to_contain_text("Ana Souza", timeout=5_000)
    assert not_reloaded(supervisor)
    head.get_by_role("button", name="Liberar").click()  # a form that arrived over the socket
    expect(head).to_contain_text("Sem resgate", timeout=5_000)
    assert Ticket.objects.get(pk=ticket.pk).assignee_id is None
