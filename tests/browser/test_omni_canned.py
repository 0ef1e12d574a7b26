"""The composer in a real browser: "/" + shortcut offers the mensagens pré-salvas, the agent picks
one with the keyboard (or the mouse) and sends it, then attaches a file and sends it too; the file
is downloadable from the message.
"""

import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from omnichannel.models import CannedCategory, Channel, Message, MessageAttachment, MessageKind
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOLETO = "A segunda via está na Central do Assinante, em Financeiro > Boletos."
BOM_DIA = "Bom dia! Aqui é a Ana, do suporte. <Em que posso ajudar?>"
PDF = b"%PDF-1.4\n% boleto de teste\n"


def in_worker(fn: Callable[[], object]) -> object:
    """Run a service call outside Playwright's event-loop thread (it publishes to the channel layer)."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn()))
    worker.start()
    worker.join(30)
    return result[0] if result else None


@pytest.fixture
def desk(company, process):
    from omnichannel import canned

    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes", password=PASSWORD)
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    queue = make_queue(team, company, process, name="Suporte - Chat", max_conversations=3)
    finance = CannedCategory.objects.create(name="Financeiro")
    greeting = CannedCategory.objects.create(name="Saudação")
    canned.canned_create(supervisor, category=finance, shortcut="boleto", title="Segunda via", body=BOLETO, public=True)
    canned.canned_create(agent, category=greeting, shortcut="bomdia", title="Bom dia", body=BOM_DIA)
    canned.canned_create(supervisor, category=greeting, shortcut="tchau", title="Despedida", body="Até logo!", public=True)
    return {"agent": agent, "queue": queue}


def test_agent_uses_a_canned_response_and_attaches_a_file(desk, open_as, asgi_server, screenshot):
    from omnichannel import services

    agent = desk["agent"]
    in_worker(lambda: services.agent_set_state(actor=agent, agent=agent, state="online"))
    conversation = in_worker(
        lambda: services.conversation_start(
            channel=Channel.LIVE_CHAT,
            contact_name="Maria Oliveira",
            contact_email="maria@example.com",
            queue=desk["queue"],
            first_message="Preciso da segunda via do boleto.",
        )
    )
    conversation.refresh_from_db()
    assert conversation.agent_id == agent.pk

    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/{conversation.pk}/")
    expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    messages = page.locator(f"#omni-messages-{conversation.pk}")
    expect(messages).to_contain_text("Preciso da segunda via do boleto.")

    body = page.locator("[data-omni-body]")
    popup = page.locator("#omni-canned-popup")
    options = popup.get_by_role("option")

    # "/" + the start of a shortcut: mine first, then the public one; not the one that does not match.
    body.click()
    body.press_sequentially("Olá, Maria! /bo", delay=30)
    expect(popup).to_be_visible()
    expect(popup.get_by_role("listbox")).to_be_visible()
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("/bomdia")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(options.nth(1)).to_contain_text("/boleto")
    expect(options.nth(0)).to_contain_text("<Em que posso ajudar?>")  # text, not markup

    # Arrow down to the public one; the screenshot shows the popup open.
    body.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(body).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    screenshot(page, "omni-canned-1-popup")

    # Enter inserts (it does not send): "/bo" becomes the text.
    body.press("Enter")
    expect(popup).to_be_hidden()
    expect(body).to_have_value(f"Olá, Maria! {BOLETO}")
    assert not Message.objects.filter(conversation_id=conversation.pk, kind=MessageKind.AGENT).exists()

    # Esc closes a popup without touching the text.
    body.press_sequentially(" /tc", delay=30)
    expect(options).to_have_count(1)
    body.press("Escape")
    expect(popup).to_be_hidden()
    expect(body).to_have_value(f"Olá, Maria! {BOLETO} /tc")
    body.fill(f"Olá, Maria! {BOLETO}")

    # Now Enter sends.
    body.press("Enter")
    expect(messages.locator(".omni-kind-agent")).to_have_count(1)
    expect(messages).to_contain_text(BOLETO)
    sent = Message.objects.get(conversation_id=conversation.pk, kind=MessageKind.AGENT)
    assert sent.body == f"Olá, Maria! {BOLETO}"

    # A click on an option inserts it too.
    body = page.locator("[data-omni-body]")
    body.click()
    body.press_sequentially("/bom", delay=30)
    expect(options).to_have_count(1)
    options.first.click()
    expect(body).to_have_value(BOM_DIA)
    body.fill("")

    # The paperclip: a file is chosen, its chip shows, and it goes with the reply.
    page.locator("#omni-files").set_input_files(
        files=[{"name": "boleto-maria.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    chips = page.locator("[data-omni-chips]")
    expect(chips).to_contain_text("boleto-maria.pdf")
    body.fill("Segue o boleto em anexo.")
    page.locator("[data-omni-send]").click()
    expect(messages.locator(".omni-kind-agent")).to_have_count(2)
    link = messages.get_by_role("link", name="boleto-maria.pdf")
    expect(link).to_be_visible()
    expect(page.locator("[data-omni-chips]")).to_be_empty()
    screenshot(page, "omni-canned-2-attachment-sent")

    attachment = MessageAttachment.objects.get()
    assert attachment.name == "boleto-maria.pdf"
    assert attachment.message.body == "Segue o boleto em anexo."

    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "boleto-maria.pdf"
    with open(download.value.path(), "rb") as handle:
        assert handle.read() == PDF


def test_a_forbidden_file_type_is_refused_in_the_composer(desk, open_as, asgi_server, screenshot):
    from omnichannel import services

    agent = desk["agent"]
    in_worker(lambda: services.agent_set_state(actor=agent, agent=agent, state="online"))
    conversation = in_worker(
        lambda: services.conversation_start(
            channel=Channel.LIVE_CHAT, contact_name="João", contact_email="joao@example.com",
            queue=desk["queue"], first_message="Oi",
        )
    )
    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/{conversation.pk}/")
    page.locator("#omni-files").set_input_files(
        files=[{"name": "programa.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}]
    )
    page.locator("[data-omni-body]").fill("Veja")
    page.locator("[data-omni-send]").click()
    expect(page.locator("#omni-composer")).to_contain_text("Tipo de arquivo não permitido: programa.exe.")
    screenshot(page, "omni-canned-3-file-refused")
    assert not MessageAttachment.objects.exists()
    assert not Message.objects.filter(conversation_id=conversation.pk, kind=MessageKind.AGENT).exists()


def test_supervisor_manages_public_ones_and_agent_sees_them_read_only(desk, open_as, asgi_server, screenshot):
    page = open_as("supervisor")
    page.goto(f"{asgi_server.url}/omni/mensagens-pre-salvas/")
    page.get_by_role("link", name="Adicionar nova mensagem de texto pré-salva").click()
    form = page.locator("#canned-form")
    form.get_by_label("Categoria").select_option(label="Saudação")
    form.get_by_label("Atalho").fill("/boasvindas")
    form.get_by_label("Título").fill("Boas-vindas")
    form.get_by_label("Texto").fill("Seja bem-vindo(a) à Fibra Viva!")
    form.get_by_label("Pública (visível para todos os agentes)").check()
    screenshot(page, "omni-canned-4-form")
    form.get_by_role("button", name="Salvar").click()
    expect(page.locator("#canned-table")).to_contain_text("/boasvindas")
    expect(page.locator(".alert-success")).to_contain_text("Mensagem pré-salva criada.")

    agent_page = open_as("agente")
    agent_page.goto(f"{asgi_server.url}/omni/mensagens-pre-salvas/")
    table = agent_page.locator("#canned-table")
    expect(table).to_contain_text("/boasvindas")
    expect(table).to_contain_text("/bomdia")
    row = table.locator("tr", has_text="/boasvindas")
    expect(row).to_contain_text("Somente leitura")
    expect(row.get_by_role("link", name="Editar")).to_have_count(0)
    expect(table.locator("tr", has_text="/bomdia").get_by_role("link", name="Editar")).to_have_count(1)
    agent_page.get_by_label("Buscar").fill("bo")
    agent_page.get_by_role("button", name="Filtrar").click()
    expect(table).not_to_contain_text("/tchau")
    screenshot(agent_page, "omni-canned-5-list-agent")
