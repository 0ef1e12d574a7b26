"""The live-chat widget in a real browser: a customer on a site that embeds it, an agent on the other side.

The product's ASGI application (HTTP + websockets) is served by uvicorn in a
thread, as in ``test_live.py``. The customer does everything through the
browser; the agent's side is driven through the operations the workspace calls
(``agent_set_state``, ``conversation_reply``, ``conversation_finish``), run on
the server's event loop (from a database thread of it, as a view would), so
their publications reach the customer's socket exactly as in production.
"""

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Browser, FrameLocator, Page, expect

from omnichannel import services
from omnichannel.models import (
    AgentQueue,
    AgentState,
    BotMenu,
    BotOption,
    ContactReason,
    Conversation,
    Queue,
)
from tests import factories as f
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, LOCALE, PASSWORD, TIMEZONE, VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP_PAGE = """<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Fibra Viva</title></head>
<body style="margin:0;font-family:system-ui,sans-serif;background:#f7f9fc;color:#1f2937">
<header style="background:#0b5; padding:18px 32px; color:#fff; font-weight:700; font-size:20px">Fibra Viva Internet</header>
<main style="padding:32px; max-width:760px">
<h1 style="font-size:28px">Planos de fibra óptica</h1>
<p>Internet de 500 Mega a 1 Giga, Wi-Fi 6 incluso e suporte 24 horas.</p>
<p>Precisa de ajuda? Clique no botão de chat no canto da tela.</p></main>
<script src="%(url)s/static/js/widget.js" data-entry-point="site" async></script>
</body></html>"""


class AsgiServer:
    """uvicorn serving the product's ASGI application in a thread; remembers its event loop."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        import uvicorn
        from channels.routing import ProtocolTypeRouter

        from servicedesk.asgi import application

        inner = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(get_asgi_application()),
                "websocket": application.application_mapping["websocket"],
            }
        )

        async def app(scope, receive, send):
            self.loop = asyncio.get_running_loop()
            await inner(scope, receive, send)

        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(15)

    def call(self, fn, **kwargs):
        """Run an operation in a database thread of the server's loop (where a view would run it)."""
        assert self.loop is not None, "no request reached the server yet"
        future = asyncio.run_coroutine_threadsafe(database_sync_to_async(fn)(**kwargs), self.loop)
        return future.result(15)


@pytest.fixture
def asgi_server() -> Iterator[AsgiServer]:
    cache.clear()
    server = AsgiServer()
    server.start()
    yield server
    server.stop()
    cache.clear()


@pytest.fixture
def desk():
    agent = f.AgentFactory(
        username="agente", first_name="Ana", last_name="Souza", password=PASSWORD
    )
    team = f.TeamFactory(name="Suporte N1", members=[agent])
    company = f.CompanyFactory(name="Fibra Viva")
    process = f.process_with_subprocesses(name="Suporte técnico")
    queue = Queue.objects.create(
        name="Suporte - Chat", channel="live_chat", team=team, company=company, process=process
    )
    finance = Queue.objects.create(
        name="Financeiro - Chat", channel="live_chat", team=team, company=company, process=process
    )
    reason = ContactReason.objects.create(name="Sem conexão")
    queue.contact_reasons.add(reason)
    AgentQueue.objects.create(agent=agent, queue=queue)
    root = BotMenu.objects.create(
        name="Site - menu inicial",
        entry_point="site",
        greeting="Olá! Bem-vindo(a) ao atendimento da Fibra Viva. Escolha uma opção:",
    )
    money = BotMenu.objects.create(
        name="Site - financeiro", greeting="Financeiro: escolha uma opção:"
    )
    BotOption.objects.create(menu=root, number=1, label="Suporte técnico", queue=queue)
    BotOption.objects.create(menu=root, number=2, label="Financeiro", submenu=money)
    BotOption.objects.create(menu=money, number=1, label="Segunda via de boleto", queue=finance)
    return {"agent": agent, "queue": queue, "reason": reason}


def shop(browser: Browser, server: AsgiServer, **context) -> Page:
    """A page of the provider's site (same site as the widget) with the loader snippet."""
    ctx = browser.new_context(locale=LOCALE, timezone_id=TIMEZONE, accept_downloads=True, **context)
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = ctx.new_page()
    page.route(
        f"{server.url}/loja/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body=SHOP_PAGE % {"url": server.url},
        ),
    )
    page.goto(f"{server.url}/loja/")
    return page


def open_widget(page: Page) -> FrameLocator:
    page.locator("#omni-widget-button").click()
    chat = page.frame_locator("#omni-widget-panel iframe")
    expect(chat.get_by_role("button", name="Iniciar conversa")).to_be_visible()
    return chat


def start(chat: FrameLocator, name: str, email: str) -> None:
    chat.get_by_label("Nome").fill(name)
    chat.get_by_label("E-mail").fill(email)
    chat.get_by_label("CPF ou CNPJ (opcional)").fill("529.982.247-25")
    chat.get_by_role("button", name="Iniciar conversa").click()
    expect(chat.locator("#widget-connection")).to_have_attribute("data-state", "online")


def test_a_customer_goes_through_the_bot_queue_and_chat_then_downloads_the_transcript(
    browser: Browser, asgi_server: AsgiServer, desk, screenshot
):
    page = shop(browser, asgi_server, viewport=VIEWPORT)
    screenshot(page, "widget-1-site-with-launcher")
    chat = open_widget(page)

    # Bad input first: a clear message, nothing started.
    chat.get_by_label("Nome").fill("Maria Oliveira")
    chat.get_by_role("button", name="Iniciar conversa").click()
    expect(chat.get_by_text("Informe o e-mail ou o telefone.")).to_be_visible()
    screenshot(page, "widget-2-start-form-error")
    assert not Conversation.objects.exists()

    start(chat, "Maria Oliveira", "maria@example.com")
    conversation = Conversation.objects.get()
    expect(chat.locator("#widget-messages")).to_contain_text(
        f"O protocolo deste atendimento é {conversation.protocol}"
    )
    expect(chat.locator("#widget-status")).to_contain_text("Assistente virtual")
    screenshot(page, "widget-3-bot-menu")

    chat.get_by_role("button", name="1 - Suporte técnico").click()
    expect(chat.locator("#widget-banner")).to_contain_text("Você é o 1º da fila")
    screenshot(page, "widget-4-queued")

    agent = desk["agent"]
    asgi_server.call(services.agent_set_state, actor=agent, agent=agent, state=AgentState.ONLINE)
    expect(chat.locator("#widget-status")).to_contain_text("Ana está atendendo você")
    expect(chat.locator("#widget-banner")).to_contain_text("Você está falando com Ana.")

    asgi_server.call(
        services.conversation_reply,
        actor=agent,
        conversation=conversation,
        body="Olá, Maria! Sou a Ana, do suporte. Vejo que sua ONU ficou offline às 9h. Pode reiniciá-la?",
    )
    expect(chat.locator(".widget-msg-agent").last).to_contain_text("Sou a Ana, do suporte")
    box = chat.get_by_label("Mensagem")
    box.fill("Reiniciei agora e voltou! <script>alert('oi')</script>")
    box.press("Enter")
    expect(chat.locator(".widget-msg-customer").last).to_contain_text(
        "<script>alert('oi')</script>"
    )
    expect(box).to_have_value("")
    asgi_server.call(
        services.conversation_reply,
        actor=agent,
        conversation=conversation,
        body="Perfeito! Posso ajudar em algo mais?",
    )
    expect(chat.locator(".widget-msg-agent").last).to_contain_text("Posso ajudar em algo mais?")
    asgi_server.call(
        services.conversation_reply,
        actor=agent,
        conversation=conversation,
        body="Segue também a segunda via do boleto de maio.",
        files=[
            SimpleUploadedFile(
                "boleto-maio-2026.pdf", b"%PDF-1.4 boleto", content_type="application/pdf"
            )
        ],
    )
    file_link = chat.get_by_role("link", name=re.compile("boleto-maio-2026.pdf"))
    expect(file_link).to_be_visible()
    screenshot(page, "widget-5-chatting")
    with page.expect_download() as pdf:
        file_link.click()
    assert Path(pdf.value.path()).read_bytes() == b"%PDF-1.4 boleto"
    assert pdf.value.suggested_filename == "boleto-maio-2026.pdf"
    assert conversation.messages.filter(kind="customer", body__contains="<script>").exists()

    asgi_server.call(
        services.conversation_finish,
        actor=agent,
        conversation=conversation,
        contact_reason=desk["reason"],
        notes="ONU reiniciada pelo cliente.",
    )
    expect(chat.locator("#widget-banner")).to_contain_text("Atendimento encerrado: Concluído")
    expect(chat.locator("#widget-composer form")).to_have_count(0)
    screenshot(page, "widget-6-closed")

    with page.expect_download() as download:
        chat.get_by_role("link", name="Baixar transcrição").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"Transcrição do atendimento {conversation.protocol}" in text
    assert "Ana: Olá, Maria! Sou a Ana, do suporte." in text
    assert "Maria Oliveira: Reiniciei agora e voltou! <script>alert('oi')</script>" in text
    assert "Souza" not in text and "ONU reiniciada pelo cliente." not in text
    assert download.value.suggested_filename.startswith("atendimento-C")

    page.locator("#omni-widget-button").click()  # closes the panel; the chat stays as it was
    expect(page.locator("#omni-widget-panel")).to_be_hidden()
    page.locator("#omni-widget-button").click()
    chat.get_by_role("button", name="Nova conversa").click()
    expect(chat.get_by_role("button", name="Iniciar conversa")).to_be_visible()
    page.context.close()


def test_on_a_phone_the_widget_takes_the_whole_screen(
    browser: Browser, asgi_server: AsgiServer, desk, screenshot
):
    page = shop(
        browser,
        asgi_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    chat = open_widget(page)
    page.frames[-1].wait_for_load_state()
    page.wait_for_timeout(300)  # let the framed page paint before the capture
    screenshot(page, "widget-mobile-1-start")
    panel = page.locator("#omni-widget-panel").bounding_box()
    assert (panel["width"], panel["height"]) == (390, 844)

    start(chat, "João Pereira", "joao@example.com")
    chat.get_by_role("button", name="2 - Financeiro").click()
    expect(chat.locator("#widget-quick")).to_contain_text("1 - Segunda via de boleto")
    screenshot(page, "widget-mobile-2-bot")
    chat.get_by_role("button", name="1 - Segunda via de boleto").click()
    expect(chat.locator("#widget-banner")).to_contain_text("Você é o 1º da fila")
    screenshot(page, "widget-mobile-3-queued")

    chat.get_by_role("button", name="Sair da fila").click()
    expect(chat.locator("#widget-banner")).to_contain_text("Atendimento encerrado: Abandono")
    assert Conversation.objects.get().status == "abandoned"
    page.locator("#omni-widget-button").click()  # closes the panel
    expect(page.locator("#omni-widget-panel")).to_be_hidden()
    page.context.close()


def test_opened_directly_the_chat_is_a_card_and_a_forged_socket_gets_nothing(
    browser: Browser, asgi_server: AsgiServer, desk, screenshot
):
    context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{asgi_server.url}/chat/site/")
    expect(page.get_by_role("button", name="Iniciar conversa")).to_be_visible()
    screenshot(page, "widget-standalone-start")
    opened = page.evaluate(
        """url => new Promise(resolve => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve("open");
            ws.onclose = () => resolve("closed");
        })""",
        asgi_server.url.replace("http", "ws") + "/ws/chat/forjado:abc:def/",
    )
    assert opened == "closed"
    page.goto(f"{asgi_server.url}/chat/nao-existe/")
    expect(page.get_by_role("alert")).to_have_text(
        "Este canal de atendimento não existe ou está desativado."
    )
    context.close()
