"""The "Painel de atendimento" in a real browser, as a supervisor: every tab and view opens,
a header filter narrows a grid, a double-click (or Enter) opens the ticket, the grid exports,
the Processo x Subprocesso tree opens and closes, and the pivot is configured by drag and drop.

Screenshots of every view are saved under ``test-artifacts/screenshots/panel-*.png``.
"""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from dashboards.grids.registry import all_views
from sla.models import BusinessCalendar, ClockState, SlaClock, SlaPolicy
from tests import factories as f
from tickets.events import record
from tickets.models import (
    Classification,
    EventKind,
    Origin,
    ServiceOrder,
    ServiceOrderStatus,
    Ticket,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWS = [v.key for v in all_views()]


@pytest.fixture
def desk():
    """A supervisor and an agent of "Suporte N1", and tickets for every tab."""
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes")
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza")
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    support = f.process_with_subprocesses(name="Suporte técnico")
    finance = f.process_with_subprocesses(("Análise financeira", "Estorno"), (24, 8), name="Financeiro")
    company = f.CompanyFactory(name="NetRápido Campinas")
    opening = f.ClassificationFactory(name="Sem conexão", kind=Classification.Kind.OPENING)
    closing = f.ClassificationFactory(name="Resolvido remotamente", kind=Classification.Kind.CLOSING)
    calendar = BusinessCalendar.objects.create(name="24x7", always_open=True)
    policy = SlaPolicy.objects.create(name="Padrão", calendar=calendar, resolution_amount=8)
    now = timezone.now()
    people = ["Maria Oliveira", "João Pereira", "Fernanda Costa", "Ricardo Alves", "Patrícia Gomes", "Lucas Martins"]
    cities = [("Campinas", "Centro"), ("Valinhos", "Jardim Europa"), ("Campinas", "Cambuí")]
    origins = [Origin.PHONE, Origin.WHATSAPP, Origin.EMAIL, Origin.SITE]
    tickets = []
    for i, name in enumerate(people * 2):
        process = support if i % 3 else finance
        city, hood = cities[i % 3]
        opened = now - timedelta(hours=2 + i * 7)
        closed = now - timedelta(hours=1) if i in (4, 9) else None
        ticket = f.TicketFactory(
            customer=f.CustomerFactory(name=name), company=company, team=team, process=process,
            current_subprocess=process.subprocesses.order_by("order")[i % 2], origin=origins[i % 4],
            opened_at=opened, closed_at=closed, closed_by=agent if closed else None,
            closing_classification=closing if closed else None, opening_classification=opening,
            assignee=agent if i % 2 else None, opened_by=agent, city=city, neighbourhood=hood,
            street="Rua das Flores", number=str(100 + i),
        )
        late = i % 4 == 0
        SlaClock.objects.create(
            ticket=ticket, policy=policy, calendar=calendar, started_at=opened,
            due_at=now - timedelta(hours=1) if late else now + timedelta(hours=6),
            state=ClockState.BREACHED if late else ClockState.RUNNING,
            breached_at=now - timedelta(hours=1) if late else None,
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            sla_breached_at=now - timedelta(hours=1) if late else None,
            sla_due_at=now - timedelta(hours=1) if late else now + timedelta(hours=6),
        )
        record(ticket=ticket, kind=EventKind.CREATED, actor=agent, at=opened)
        if i % 5 == 1:
            ServiceOrder.objects.create(
                ticket=ticket, code=5000 + i, due_at=now - timedelta(hours=1), created_by=agent, description="Visita"
            )
            Ticket.objects.filter(pk=ticket.pk).update(
                service_order_status=ServiceOrderStatus.UNSCHEDULED, service_order_code=5000 + i,
                service_order_due_at=now - timedelta(hours=1),
            )
        tickets.append(ticket)
    return {"supervisor": supervisor, "agent": agent, "tickets": tickets}


def view_path(key: str) -> str:
    tab, view = key.split("/")
    return reverse("dashboards:view", kwargs={"tab": tab, "view": view})


def open_configuration(page: Page) -> None:
    page.locator("[data-pivot-configure]").click()
    # Wait for the end of Bootstrap's collapse animation: chips must not move under the mouse.
    expect(page.locator("#pivot-config")).to_have_class(re.compile(r"\bcollapse show\b"))


def grid_rows(page: Page):
    return page.locator("#grid tbody tr[data-row]")


def test_every_tab_and_view_opens_with_counts(page, live_server, login, screenshot, desk):
    login(page, "supervisor")
    for key in VIEWS:
        response = page.goto(live_server.url + view_path(key))
        assert response is not None and response.status == 200, key
        expect(page.locator(".panel-views .nav-link.active")).to_be_visible()
        # The tab badges are loaded after the page: a number, not the placeholder.
        expect(page.locator("#tab-count-open")).to_have_text(re.compile(r"^\d+$"))
        if page.locator("[data-list-all]").count():
            page.locator("[data-list-all]").click()
            expect(page.locator(".row-count")).to_be_visible()
        screenshot(page, "panel-" + key.replace("/", "-"))
    assert page.locator("#tab-count-open").inner_text() == "10"


def test_filter_a_column_then_double_click_opens_the_ticket(page, live_server, login, screenshot, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/week"))
    total = grid_rows(page).count()
    assert total >= 5
    wanted = desk["tickets"][1]
    page.locator("#grid input[name=protocol]").fill(wanted.protocol)
    page.locator("#grid input[name=protocol]").press("Enter")
    expect(grid_rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"protocol="))
    expect(page.locator(".row-count")).to_contain_text("1 atendimento")
    screenshot(page, "panel-filtered")
    grid_rows(page).first.dblclick()
    expect(page).to_have_url(re.compile(rf"/tickets/{wanted.pk}/$"))
    expect(page.get_by_text(wanted.protocol).first).to_be_visible()


def test_select_filter_sort_and_enter_opens_the_ticket(page, live_server, login, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/week"))
    page.locator("#grid select[name=origin]").select_option(Origin.WHATSAPP)
    expect(page).to_have_url(re.compile(r"origin=whatsapp"))
    rows = grid_rows(page)
    expect(rows.first).to_be_visible()
    for i in range(rows.count()):
        expect(rows.nth(i)).to_contain_text("WhatsApp")
    page.locator("#grid a[data-sort-key=code]").click()
    expect(page).to_have_url(re.compile(r"o=code"))
    codes = [int(t) for t in page.locator("#grid tbody tr[data-row] td:first-child").all_inner_texts()]
    assert codes == sorted(codes)
    row = grid_rows(page).first
    ticket_id = row.get_attribute("data-ticket-id")
    row.focus()
    expect(page.locator("[data-row-tool=edit]")).to_be_enabled()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}/$"))


def test_export_csv_of_the_filtered_grid(page, live_server, login, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/week"))
    page.locator("#grid select[name=origin]").select_option(Origin.PHONE)
    expect(page).to_have_url(re.compile(r"origin=phone"))
    shown = grid_rows(page).count()
    with page.expect_download() as info:
        page.locator("a[data-export]", has_text="CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as handle:
        content = handle.read()
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert rows[0][:3] == ["Código", "Nome/Documento", "Protocolo"]
    assert len(rows) - 1 == shown
    assert all("Telefônico" in r for r in rows[1:])


def test_process_subprocess_tree_opens_and_closes(page, live_server, login, screenshot, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/process-subprocess"))
    process = page.locator("#grid tr.tree-level-0", has_text="Suporte técnico")
    expect(process).to_be_visible()
    sub = page.locator("#grid tr.tree-level-1", has_text="Triagem")
    expect(sub.first).to_be_hidden()
    process.locator("[data-tree-toggle]").click()
    expect(process).to_have_attribute("aria-expanded", "true")
    expect(sub.first).to_be_visible()
    sub.first.locator("[data-tree-toggle]").click()
    leaves = page.locator("#grid tr.tree-leaf[data-row]")
    expect(leaves.first).to_be_visible()
    expected = int(sub.first.locator("td[data-count]").get_attribute("data-count"))
    expect(leaves).to_have_count(expected)
    screenshot(page, "panel-tree-open")
    # − closes the process and everything under it.
    process.locator("[data-tree-toggle]").click()
    expect(sub.first).to_be_hidden()
    expect(leaves.first).to_be_hidden()
    process.locator("[data-tree-toggle]").click()
    sub.first.locator("[data-tree-toggle]").click()
    ticket_id = leaves.first.get_attribute("data-ticket-id")
    leaves.first.dblclick()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}/$"))


def test_pivot_is_configured_by_drag_and_drop_and_remembered(page, live_server, login, screenshot, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/synthetic-chart"))
    expect(page.locator("[data-pivot-table]")).to_be_visible()
    expect(page.locator("#pivot-chart")).to_be_visible()
    screenshot(page, "panel-pivot-default")
    open_configuration(page)
    city = page.locator('.pivot-chip[data-dim="city"]')
    city.drag_to(page.locator('[data-zone="rows"] .zone-body'))
    expect(page.locator('[data-zone="rows"] .pivot-chip[data-dim="city"]')).to_be_visible()
    # Origem leaves the columns for the filters, and only WhatsApp is kept.
    page.locator('.pivot-chip[data-dim="origin"]').drag_to(page.locator('[data-zone="filters"] .zone-body'))
    chip = page.locator('[data-zone="filters"] .pivot-chip[data-dim="origin"]')
    chip.locator(".dropdown-toggle").click()
    option = chip.get_by_label("WhatsApp")
    expect(option).to_be_visible()
    option.check()
    screenshot(page, "panel-pivot-configuring")
    page.locator("[data-pivot-apply]").click()
    table = page.locator("[data-pivot-table]")
    expect(table.locator("thead")).to_contain_text("Cidade")
    expect(table.locator("thead")).to_contain_text("Processo")
    # 3 open WhatsApp tickets of the 10 open ones (i = 1, 5 and 9, minus the finalized 9; plus none else).
    whatsapp = sum(1 for i in range(12) if i % 4 == 1 and i not in (4, 9))
    expect(page.locator("[data-grand-total]")).to_have_text(str(whatsapp))
    page.reload()
    expect(page.locator("[data-pivot-table] thead")).to_contain_text("Cidade")
    has_chart = page.evaluate("() => Boolean(window.Chart && Chart.getChart(document.getElementById('pivot-chart')))")
    assert has_chart
    screenshot(page, "panel-pivot-configured")


def test_pivot_keyboard_moves_a_dimension(page, live_server, login, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/synthetic-chart"))
    open_configuration(page)
    chip = page.locator('.pivot-chip[data-dim="company"]')
    chip.focus()
    page.keyboard.press("ArrowRight")  # available → rows
    page.keyboard.press("ArrowRight")  # rows → columns
    expect(page.locator('[data-zone="cols"] .pivot-chip[data-dim="company"]')).to_be_visible()
    page.locator("[data-pivot-apply]").click()
    expect(page.locator("[data-pivot-table] thead")).to_contain_text("NetRápido Campinas")


def test_synthetic_search_applies_the_period(page, live_server, login, screenshot, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("search/synthetic"))
    expect(page.get_by_text("Informe os dados da pesquisa")).to_be_visible()
    page.locator(".pivot-search button[type=submit]").click()
    expect(page.locator("[data-grand-total]")).to_have_text("12")
    screenshot(page, "panel-synthetic-applied")


def test_columns_chosen_are_remembered(page, live_server, login, desk):
    login(page, "supervisor")
    page.goto(live_server.url + view_path("open/week"))
    page.get_by_role("button", name="Colunas").click()
    modal = page.locator("#columns-modal")
    expect(modal).to_be_visible()
    modal.locator("#col-company").uncheck()
    modal.get_by_role("button", name="Aplicar").click()
    expect(page.locator("#grid thead")).not_to_contain_text("Empresa")
    page.reload()
    expect(page.locator("#grid thead")).not_to_contain_text("Empresa")
    expect(page.locator("#grid thead")).to_contain_text("Protocolo")
