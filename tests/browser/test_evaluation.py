"""Avaliação SAC Plus in a real browser: the customer opens the link from the e-mail and
rates; a supervisor sees it on the ticket and uses "Reenviar avaliação para o SAC Plus"
on the Finalizados panel.

The data is made with factories and the real operations; the evaluation request goes
out through ``evaluation_send`` (by e-mail: the ticket has no conversation), and the
link the customer follows is the one in that e-mail.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from omnichannel import evaluations
from omnichannel.models import Evaluation
from tests import factories as f
from tickets.models import EventKind, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMENT = "Ótimo atendimento, técnico atencioso! <script>window.hacked = 1</script>"


@pytest.fixture
def finalized(live_server, settings):
    """A ticket of a team finalized by its supervisor, with the evaluation e-mailed."""
    settings.SITE_URL = live_server.url
    cache.clear()
    supervisor = f.SupervisorFactory(username="carla", first_name="Carla", last_name="Mendes")
    team = f.TeamFactory(name="Suporte N1", supervisors=[supervisor])
    ticket = f.TicketFactory(
        team=team, customer=f.CustomerFactory(name="João Araújo", email="joao@example.com"),
        opened_at=timezone.now() - timedelta(hours=2), closed_at=timezone.now() - timedelta(minutes=5),
        closed_by=supervisor,
    )
    evaluation = evaluations.evaluation_request(ticket=ticket)
    mail.outbox = []
    assert evaluations.evaluation_send(evaluation.pk)
    return ticket


def _link(text: str, base: str) -> str:
    found = re.search(rf"{re.escape(base)}/avaliacao/[^\s]+/", text)
    assert found, text
    return found.group(0)


def test_customer_rates_from_the_emailed_link(page: Page, browser, live_server, login, finalized, screenshot):
    link = _link(mail.outbox[0].body, live_server.url)
    page.goto(link)
    expect(page.get_by_role("heading", name="Como foi o seu atendimento?")).to_be_visible()
    page.locator("label[for=score-4]").click()
    page.get_by_label("Comentário (opcional)").fill(COMMENT)
    screenshot(page, "evaluation-form")
    page.get_by_role("button", name="Enviar avaliação").click()
    expect(page.get_by_role("heading", name="Obrigado pela sua avaliação!")).to_be_visible()
    screenshot(page, "evaluation-thanks")
    assert page.evaluate("window.hacked") is None

    evaluation = Evaluation.objects.get(ticket=finalized)
    assert (evaluation.score, evaluation.comment) == (4, COMMENT)
    event = TicketEvent.objects.get(ticket=finalized, kind=EventKind.EVALUATION_COMMENT)
    assert event.data["comment"] == COMMENT

    # The same link again: already answered, said plainly.
    page.goto(link)
    expect(page.get_by_role("alert")).to_have_text("Esta avaliação já foi respondida. Obrigado!")
    screenshot(page, "evaluation-used")

    # The supervisor sees score and comment (as text) on the ticket's timeline.
    staff = browser.new_context(viewport=page.viewport_size, locale="pt-BR")
    try:
        staff_page = login(staff.new_page(), "carla")
        staff_page.goto(f"{live_server.url}/tickets/{finalized.pk}/")
        line = staff_page.locator("[data-evaluation-event]")
        expect(line).to_have_text(f"Nota 4 de 5 · {COMMENT}")
        line.scroll_into_view_if_needed()
        screenshot(staff_page, "evaluation-timeline")
        assert staff_page.evaluate("window.hacked") is None
    finally:
        staff.close()


def test_supervisor_resends_from_the_finalized_panel(page: Page, live_server, login, finalized, screenshot):
    login(page, "carla")
    page.goto(f"{live_server.url}/panel/finalized/today/")
    row = page.locator(f"#grid tr[data-ticket-id='{finalized.pk}']")
    button = page.locator("[data-row-tool=resend]")
    expect(button).to_be_disabled()
    row.locator("td").first.click()
    expect(button).to_be_enabled()
    button.click()
    # Sent five minutes ago: the interval refuses, in pt-BR.
    expect(page.locator("#resend-result .alert-danger")).to_contain_text("A avaliação deste atendimento foi enviada às")
    Evaluation.objects.filter(ticket=finalized).update(last_sent_at=timezone.now() - timedelta(hours=2))
    mail.outbox = []
    button.click()
    expect(page.locator("#resend-result .alert-success")).to_have_text(
        re.compile(rf"Avaliação reenviada com sucesso para o cliente do atendimento {finalized.code}\.")
    )
    screenshot(page, "evaluation-resend")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["joao@example.com"]
    assert Evaluation.objects.get(ticket=finalized).send_count == 2
