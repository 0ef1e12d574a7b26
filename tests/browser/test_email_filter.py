"""Filtro de e-mail in a real browser: the supervisor sees the count of waiting e-mails in the
menu, opens the screen and an e-mail, and accepts one into the queue."""

import re
import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from omnichannel.models import Channel, ChannelAccount, Conversation, ConversationStatus
from omnichannel.providers import email as provider
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.omnichannel.conftest import make_queue
from tests.providers.mailservers import raw_email

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_worker(fn: Callable[[], object]) -> object:
    """Run ORM work outside Playwright's event-loop thread."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn()))
    worker.start()
    worker.join(30)
    return result[0] if result else None


@pytest.fixture
def desk(company, process):
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes", password=PASSWORD)
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    queue = make_queue(team, company, process, name="Suporte - E-mail", channel=Channel.EMAIL, email_filter=True)
    make_queue(team, company, process, name="Financeiro - E-mail", channel=Channel.EMAIL)
    account = ChannelAccount.objects.create(
        name="Suporte", channel=Channel.EMAIL, queue=queue, email_address="suporte@provedor.test"
    )
    return {"supervisor": supervisor, "queue": queue, "account": account}


def arrive(account, **kwargs) -> Conversation:
    message = provider.intake_email(account, provider.parse_bytes(raw_email(**kwargs)))
    return message.conversation


def test_supervisor_sees_count_opens_and_accepts(desk, open_as, asgi_server, screenshot):
    first = in_worker(lambda: arrive(
        desk["account"], sender="Maria Souza <maria@example.com>", subject="Sem internet <urgente>",
        text="Minha conexão caiu.\n<b>Isto não é negrito</b>",
        attachments=[("print.png", b"\x89PNG imagem", "image/png")],
    ))
    second = in_worker(lambda: arrive(desk["account"], sender="João Lima <joao@example.com>", subject="Segunda via"))

    page = open_as("supervisor")
    nav = page.locator("#nav-email-filter")
    expect(nav).to_be_visible()
    expect(page.locator("#email-filter-count")).to_have_text("2")
    nav.click()
    expect(page).to_have_url(re.compile(r"/omni/filtro-email/$"))
    expect(page.locator("#email-filter-total")).to_contain_text("2 e-mails aguardando")
    expect(page.locator(f"#email-{first.pk}")).to_contain_text("Sem internet <urgente>")
    expect(page.locator(f"#email-{first.pk}")).to_contain_text("maria@example.com")
    screenshot(page, "email-filter-1-list")

    # Open the e-mail: text escaped, the attachment downloadable.
    page.locator(f"#email-{first.pk} a").first.click()
    expect(page.locator(".email-text")).to_contain_text("<b>Isto não é negrito</b>")
    expect(page.get_by_role("link", name="print.png")).to_be_visible()
    screenshot(page, "email-filter-2-detail")
    page.go_back()

    # Select all, then just one, and accept it into the queue of its e-mail.
    page.locator("#email-filter-all").check()
    expect(page.locator("#email-filter-selected")).to_contain_text("2 selecionado(s)")
    page.locator("#email-filter-all").uncheck()
    page.locator(f"#email-{first.pk} input[name=ids]").check()
    expect(page.locator("#email-filter-selected")).to_contain_text("1 selecionado(s)")
    page.locator("#email-filter-accept").click()
    expect(page.locator("#email-filter-notice")).to_have_text("1 e-mail aceito na fila.")
    expect(page.locator("#email-filter-total")).to_contain_text("1 e-mail aguardando")
    expect(page.locator(f"#email-{first.pk}")).to_have_count(0)
    expect(page.locator(f"#email-{second.pk}")).to_be_visible()
    expect(page.locator("#email-filter-count")).to_have_text("1")  # the menu's badge, swapped out of band
    screenshot(page, "email-filter-3-accepted")

    status = in_worker(lambda: Conversation.objects.get(pk=first.pk).status)
    assert status == ConversationStatus.QUEUED
    page.reload()
    expect(page.locator("#email-filter-count")).to_have_text("1")

    # The last one deleted (confirmed): the badge hides.
    page.locator(f"#email-{second.pk} input[name=ids]").check()
    page.locator("#email-filter-delete").click()
    expect(page.locator("#email-filter-notice")).to_have_text("1 e-mail excluído.")
    expect(page.locator("#email-filter-table")).to_contain_text("Nenhum e-mail aguardando no filtro.")
    expect(page.locator("#email-filter-count")).to_be_hidden()
    screenshot(page, "email-filter-4-empty")
