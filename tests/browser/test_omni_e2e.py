"""End to end in two browsers: a customer on the public live-chat page, an agent in the workspace.

Nothing is driven through the services: the agent goes Online from the top bar
(logging in to her queue), the customer starts from the widget's form and answers
the bot's menu, is routed to her, both write live over their websockets, the
customer sends a file (and has a wrong one refused) that the agent downloads, the
agent resolves with a qualificação and notes, and the ticket the conversation
opened shows the conversation on its page.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from omnichannel.models import (
    BotMenu,
    BotOption,
    ContactReason,
    Conversation,
    ConversationStatus,
    MessageAttachment,
    MessageKind,
)
from tests import factories as f
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, LOCALE, PASSWORD, TIMEZONE, VIEWPORT
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4 foto do modem"


@pytest.fixture
def desk(company, process):
    agent = f.AgentFactory(
        username="agente", first_name="Ana", last_name="Souza", password=PASSWORD
    )
    team = f.TeamFactory(name="Suporte N1", members=[agent])
    queue = make_queue(team, company, process, name="Suporte - Chat", max_conversations=3)
    reason = ContactReason.objects.create(name="Sem conexão")
    queue.contact_reasons.add(reason, ContactReason.objects.create(name="Lentidão"))
    root = BotMenu.objects.create(
        name="Site - menu inicial",
        entry_point="site",
        greeting="Olá! Bem-vindo(a) ao atendimento da Fibra Viva. Escolha uma opção:",
    )
    BotOption.objects.create(menu=root, number=1, label="Suporte técnico", queue=queue)
    BotOption.objects.create(menu=root, number=2, label="Financeiro", queue=queue)
    return {"agent": agent, "queue": queue, "reason": reason}


def test_a_widget_customer_and_an_agent_talk_live_and_the_ticket_shows_the_conversation(
    desk, browser, open_as, asgi_server, screenshot, tmp_path
):
    # The agent: Online (Aguardando) from the top bar, logged in to her queue.
    agent_page = open_as("agente")
    agent_page.goto(f"{asgi_server.url}/omni/atendimento/")
    expect(agent_page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    agent_page.locator("#omni-presence-toggle").click()
    agent_page.get_by_role("button", name="Ficar Online (Aguardando)").click()
    toggle = agent_page.locator("#omni-presence-toggle")
    expect(toggle).to_have_attribute("aria-label", re.compile("Aguardando"))
    toggle.click()
    queues = agent_page.locator(".omni-queue-list")
    expect(queues.locator("li", has_text="Suporte - Chat")).to_contain_text("Logado")
    screenshot(agent_page, "e2e-1-agent-online")
    agent_page.keyboard.press("Escape")
    agent_page.evaluate("window.__noReload = 'yes'")

    # The customer: the public page, name and e-mail (and CPF, so the contact is a customer).
    customer_context = browser.new_context(
        viewport=VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE, accept_downloads=True
    )
    customer_context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    chat = customer_context.new_page()
    chat.goto(f"{asgi_server.url}/chat/site/")
    chat.get_by_label("Nome").fill("Maria Oliveira")
    chat.get_by_label("E-mail").fill("maria@example.com")
    chat.get_by_label("CPF ou CNPJ (opcional)").fill("529.982.247-25")
    chat.get_by_role("button", name="Iniciar conversa").click()
    expect(chat.locator("#widget-connection")).to_have_attribute("data-state", "online")
    conversation = Conversation.objects.get()
    expect(chat.locator("#widget-messages")).to_contain_text(
        f"O protocolo deste atendimento é {conversation.protocol}"
    )
    expect(chat.locator("#widget-quick")).to_contain_text("1 - Suporte técnico")
    expect(chat.locator("#widget-upload")).to_have_count(0)  # no files for the bot
    screenshot(chat, "e2e-2-customer-bot")

    # The bot's menu, answered by typing the option; the Online agent takes it at once.
    box = chat.get_by_label("Mensagem")
    box.fill("1")
    box.press("Enter")
    expect(chat.locator("#widget-status")).to_contain_text("Ana está atendendo você")
    expect(chat.locator("#widget-banner")).to_contain_text("Você está falando com Ana.")
    item = agent_page.locator(f"#omni-item-{conversation.pk}")
    expect(item).to_contain_text("Maria Oliveira")
    item.click()
    expect(agent_page).to_have_url(re.compile(rf"/omni/atendimento/{conversation.pk}/$"))
    pane = agent_page.locator(f"#omni-messages-{conversation.pk}")

    # Live both ways.
    box.fill("Minha internet caiu desde cedo <modem piscando>.")
    box.press("Enter")
    expect(pane).to_contain_text("Minha internet caiu desde cedo <modem piscando>.")
    reply = agent_page.locator("[data-omni-body]")
    reply.fill("Olá, Maria! Pode me mandar uma foto das luzes do modem?")
    reply.press("Enter")
    expect(chat.locator(".widget-msg-agent").last).to_contain_text(
        "Pode me mandar uma foto das luzes do modem?"
    )

    # A file: a wrong type is refused in Portuguese, nothing stored; a PDF goes to the agent.
    wrong = tmp_path / "instalador.exe"
    wrong.write_bytes(b"MZ")
    chat.locator("#widget-files").set_input_files(str(wrong))
    expect(chat.locator("#widget-alert")).to_have_text(
        "Tipo de arquivo não permitido: instalador.exe."
    )
    screenshot(chat, "e2e-3-customer-file-refused")
    assert not MessageAttachment.objects.exists()
    photo = tmp_path / "luzes-do-modem.pdf"
    photo.write_bytes(PDF)
    chat.locator("#widget-files").set_input_files(str(photo))
    expect(chat.locator(".widget-msg-customer .widget-file").last).to_contain_text(
        "luzes-do-modem.pdf"
    )
    expect(chat.locator("#widget-alert")).not_to_be_visible()
    screenshot(chat, "e2e-4-customer-file-sent")
    file_link = pane.get_by_role("link", name=re.compile("luzes-do-modem.pdf"))
    expect(file_link).to_be_visible()
    screenshot(agent_page, "e2e-5-agent-sees-the-file")
    with agent_page.expect_download() as download:
        file_link.click()
    assert Path(download.value.path()).read_bytes() == PDF
    assert download.value.suggested_filename == "luzes-do-modem.pdf"
    assert (
        conversation.messages.filter(kind=MessageKind.CUSTOMER, attachments__isnull=False).count()
        == 1
    )

    reply.fill("Obrigada! A ONU estava sem sinal; já normalizei por aqui.")
    reply.press("Enter")
    expect(chat.locator(".widget-msg-agent").last).to_contain_text("já normalizei por aqui")
    screenshot(chat, "e2e-6-customer-chatting")

    # Resolver: qualificação + notas do atendimento.
    agent_page.locator("[data-omni-resolve]").click()
    expect(agent_page.locator("#omni-finish")).to_have_class(re.compile(r"\bshow\b"))  # opened
    form = agent_page.locator("#omni-finish-form")
    form.locator("select[name=contact_reason]").select_option(label="Sem conexão")
    form.locator("textarea[name=notes]").fill("ONU sem sinal; reprovisionada remotamente.")
    screenshot(agent_page, "e2e-7-agent-resolves")
    form.get_by_role("button", name="Concluir atendimento").click()
    expect(agent_page.locator("#omni-pane-head")).to_contain_text("Concluído")
    expect(chat.locator("#widget-banner")).to_contain_text("Atendimento encerrado: Concluído")
    expect(chat.locator("#widget-composer form")).to_have_count(0)
    screenshot(chat, "e2e-8-customer-closed")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CONCLUDED
    assert conversation.contact_reason == desk["reason"]
    assert conversation.notes == "ONU sem sinal; reprovisionada remotamente."
    assert agent_page.evaluate("window.__noReload") == "yes"

    # The ticket the conversation opened shows it.
    assert conversation.ticket_id is not None
    agent_page.goto(f"{asgi_server.url}/tickets/{conversation.ticket_id}/")
    expect(agent_page.locator("body")).to_contain_text(conversation.protocol)
    expect(agent_page.locator("body")).to_contain_text("Sem conexão")  # its qualificação
    screenshot(agent_page, "e2e-9-ticket-shows-the-conversation")
    customer_context.close()
