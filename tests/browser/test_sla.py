"""Modificar SLA in a real browser: increment with the live "Novo prazo", pause, resume,
and the "Histórico" grid whose rows open their details on double-click.

The calendar is open all day, every day, so the deadlines are plain
wall-clock arithmetic from the moment the ticket is opened: 8 hours, then 2
more after the increment. Screenshots go to test-artifacts/screenshots/sla-*.png.
"""

import re
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from sla.models import (
    BusinessCalendar,
    ProcessPolicy,
    SlaClock,
    SlaPolicy,
    SlaReason,
    WorkingInterval,
)
from tests import factories as f
from tickets import services
from tickets.models import Origin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


@pytest.fixture
def ticket():
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes")
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza")
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    calendar = BusinessCalendar.objects.create(name="Plantão (todos os dias)", national_holidays=False)
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=calendar, weekday=day, start=time(0), end=time(0)) for day in range(7)
    )
    process = f.process_with_subprocesses(name="Suporte técnico")
    policy = SlaPolicy.objects.create(name="Suporte 8h", calendar=calendar, resolution_amount=Decimal(8))
    ProcessPolicy.objects.create(process=process, policy=policy)
    SlaReason.objects.create(name="Aguardando cliente", kind=SlaReason.Kind.INCREMENT)
    SlaReason.objects.create(name="Falta de acesso ao local", kind=SlaReason.Kind.PAUSE)
    return services.ticket_open(
        actor=agent, team=team, process=process, origin=Origin.PHONE,
        customer=f.CustomerFactory(name="Maria Oliveira"), company=f.CompanyFactory(name="NetRápido Campinas"),
        customer_report="Sem internet desde ontem à noite.",
    )


def open_wizard(page: Page) -> None:
    page.locator("#sla-modify").click()
    expect(page.locator("#sla-modal")).to_be_visible()
    expect(page.locator("#sla-wizard")).to_be_visible()


def test_supervisor_increments_pauses_resumes_and_reads_the_history(page, live_server, login, screenshot, ticket):
    clock = SlaClock.objects.get(pk=ticket.pk)
    due = clock.due_at
    login(page, "supervisor")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    box = page.locator("#sla-box")
    expect(box.locator("#sla-due")).to_have_text(local(due))
    expect(box.locator("#sla-state")).to_have_text("Em andamento")
    screenshot(page, "sla-1-ticket")

    # --- Incrementar SLA, with the live "Novo prazo" ---
    open_wizard(page)
    modal = page.locator("#sla-modal")
    expect(modal.get_by_text("1. Escolha")).to_be_visible()
    modal.get_by_label("Incrementar SLA").check()
    screenshot(page, "sla-2-step1")
    modal.get_by_role("button", name="Avançar").click()
    expect(modal.locator("#sla-wizard[data-step=increment]")).to_be_visible()
    modal.get_by_label("Motivo").select_option(label="Aguardando cliente")
    modal.get_by_label("Observações").fill("Cliente pediu retorno mais tarde.")
    modal.get_by_label("Tipo de incremento").select_option("hours")
    modal.get_by_label("Quantidade").fill("2")
    new_due = modal.locator("#sla-new-due-value")
    expect(new_due).to_have_value(local(due + timedelta(hours=2)))
    expect(new_due).to_have_attribute("readonly", "")
    # Typing more recomputes it; a bad value is explained in place.
    modal.get_by_label("Quantidade").fill("3")
    expect(new_due).to_have_value(local(due + timedelta(hours=3)))
    modal.get_by_label("Quantidade").fill("-1")
    expect(modal.get_by_text("A quantidade precisa ser maior que zero.")).to_be_visible()
    modal.get_by_label("Quantidade").fill("2")
    expect(new_due).to_have_value(local(due + timedelta(hours=2)))
    screenshot(page, "sla-3-increment")

    # Finalizar without the confirmation is refused, with the message in the wizard.
    modal.get_by_role("button", name="Finalizar").click()
    expect(modal.get_by_text("Marque “Tem certeza que deseja executar este processo agora?” para finalizar.")).to_be_visible()
    modal.get_by_label("Tem certeza que deseja executar este processo agora?").check()
    modal.get_by_role("button", name="Finalizar").click()
    expect(page.get_by_text(re.compile(r"SLA incrementado\. Novo prazo:"))).to_be_visible()
    expect(page.locator("#sla-due")).to_have_text(local(due + timedelta(hours=2)))
    screenshot(page, "sla-4-incremented")

    # --- Pausar SLA ---
    open_wizard(page)
    modal.get_by_label("Pausar SLA").check()
    modal.get_by_role("button", name="Avançar").click()
    expect(modal.locator("#sla-wizard[data-step=pause]")).to_be_visible()
    modal.get_by_label("Motivo").select_option(label="Falta de acesso ao local")
    modal.get_by_label("Observações").fill("Técnico sem acesso ao condomínio.")
    modal.get_by_label("Tem certeza que deseja executar este processo agora?").check()
    screenshot(page, "sla-5-pause")
    modal.get_by_role("button", name="Finalizar").click()
    expect(page.get_by_text("A contagem do SLA foi pausada.")).to_be_visible()
    expect(page.locator("#sla-state")).to_have_text("Pausado")
    expect(page.locator("#sla-modify")).to_have_count(0)
    screenshot(page, "sla-6-paused")

    # --- Retomar SLA (confirmed in the browser's dialog) ---
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#sla-resume").click()
    expect(page.get_by_text("A contagem do SLA foi retomada.")).to_be_visible()
    expect(page.locator("#sla-state")).to_have_text("Em andamento")
    assert SlaClock.objects.get(pk=ticket.pk).state == "running"

    # --- Histórico, and a row's details on double-click ---
    page.locator("#sla-history").click()
    grid = page.locator("#sla-history-grid")
    expect(grid).to_be_visible()
    rows = grid.locator("tr.sla-history-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Retomada")
    expect(rows.nth(1)).to_contain_text("Pausa")
    expect(rows.nth(2)).to_contain_text("Incremento")
    screenshot(page, "sla-7-history")
    rows.nth(2).dblclick()
    detail = page.locator(".sla-intervention-detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("Cliente pediu retorno mais tarde.")
    expect(detail).to_contain_text("Aguardando cliente")
    expect(detail).to_contain_text(local(due + timedelta(hours=2)))
    screenshot(page, "sla-8-history-detail")
    detail.get_by_role("link", name="Voltar ao histórico").click()
    expect(page.locator("#sla-history-grid tr.sla-history-row")).to_have_count(3)

    # The ticket's timeline has the events.
    page.locator("#sla-history-modal .btn-close").click()
    page.reload()
    expect(page.locator(".timeline").get_by_text(re.compile(r"Alteração de SLA em"))).to_have_count(3)
