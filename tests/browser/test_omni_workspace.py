"""The agent's omnichannel workspace in a real browser, served over ASGI so its websocket works.

The customer's side is driven through the services, as the live-chat widget
calls them (in a worker thread: Playwright's loop owns the main one). The agent
goes Online from the top bar, receives the routed conversation live, reads the
customer's new message live, replies, resolves with a contact reason and ends
the wrap-up.
"""

import re
import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from omnichannel.models import (
    Channel,
    ContactReason,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
    PauseReason,
)
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.omnichannel.conftest import make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(company, process):
    supervisor = f.SupervisorFactory(username="supervisor", first_name="Carla", last_name="Mendes", password=PASSWORD)
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=[supervisor])
    reason = ContactReason.objects.create(name="Sem conexão")
    ContactReason.objects.create(name="Lentidão")
    PauseReason.objects.create(name="Almoço")
    PauseReason.objects.create(name="Descanso")
    queue = make_queue(team, company, process, name="Suporte - Chat", wrap_up_seconds=120, max_conversations=3)
    make_queue(team, company, process, name="Financeiro - Chat")
    queue.contact_reasons.add(reason)
    return {"agent": agent, "supervisor": supervisor, "queue": queue, "reason": reason}


def in_worker(fn: Callable[[], object]) -> object:
    """Run a service call as the widget would, outside Playwright's event-loop thread."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn()))
    worker.start()
    worker.join(30)
    return result[0] if result else None


def test_agent_goes_online_receives_replies_and_resolves(desk, open_as, asgi_server, screenshot):
    from omnichannel import services

    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/")
    expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    expect(page.locator("#omni-presence")).to_contain_text("Offline")
    expect(page.locator("#omni-presence-toggle")).to_have_attribute("aria-label", re.compile("Offline"))

    # Alterar/Encerrar Omnichannel → Online (Aguardando).
    page.locator("#omni-presence-toggle").click()
    page.get_by_role("button", name="Ficar Online (Aguardando)").click()
    expect(page.locator("#omni-presence-toggle")).to_have_attribute("aria-label", re.compile("Aguardando"))
    page.locator("#omni-presence-toggle").click()
    expect(page.locator(".omni-presence-menu")).to_be_visible()
    screenshot(page, "omni-1-presence-online")
    page.keyboard.press("Escape")

    # A customer arrives on the live chat: routed to the only Online agent, shown without reload.
    page.evaluate("window.__noReload = 'yes'")
    conversation = in_worker(
        lambda: services.conversation_start(
            channel=Channel.LIVE_CHAT,
            contact_name="Maria Oliveira",
            contact_email="maria@example.com",
            contact_phone="11987654321",
            contact_document=f.make_cpf(7),
            queue=desk["queue"],
            first_message="Minha internet caiu desde cedo.",
        )
    )
    item = page.locator(f"#omni-item-{conversation.pk}")
    expect(item).to_contain_text("Maria Oliveira", timeout=5_000)
    expect(item.locator("[data-omni-unread]")).to_have_text("1")
    screenshot(page, "omni-2-conversation-arrived")

    item.click()
    expect(page).to_have_url(re.compile(rf"/omni/atendimento/{conversation.pk}/$"))
    messages = page.locator(f"#omni-messages-{conversation.pk}")
    expect(messages).to_contain_text("Minha internet caiu desde cedo.")
    expect(page.locator("#omni-customer")).to_contain_text("Maria Oliveira")
    expect(page.locator("#omni-customer")).to_contain_text("Atendimentos em aberto")

    # The customer writes again: it appears in the open pane, live.
    in_worker(lambda: services.conversation_customer_message(
        conversation=Conversation.objects.get(pk=conversation.pk), body="Já reiniciei o modem <duas vezes>."
    ))
    expect(messages).to_contain_text("Já reiniciei o modem <duas vezes>.", timeout=5_000)

    # The agent replies with Enter: over the agent's socket, no HTTP request; the box empties.
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/enviar/" in r.url else None)
    body = page.locator("[data-omni-body]")
    body.fill("Olá, Maria! Vou verificar sua conexão agora.")
    body.press("Enter")
    expect(messages).to_contain_text("Olá, Maria! Vou verificar sua conexão agora.")
    expect(body).to_have_value("")
    expect(messages.locator(".omni-kind-agent")).to_have_count(1)
    assert posts == []
    assert Message.objects.filter(conversation_id=conversation.pk, kind=MessageKind.AGENT).count() == 1
    screenshot(page, "omni-3-conversation")

    # Resolver: qualificação + notas.
    page.locator("[data-omni-resolve]").click()
    form = page.locator("#omni-finish-form")
    expect(form).to_be_visible()
    form.locator("select[name=contact_reason]").select_option(label="Sem conexão")
    form.locator("textarea[name=notes]").fill("ONU reiniciada remotamente; sinal normalizado.")
    screenshot(page, "omni-4-resolve")
    form.get_by_role("button", name="Concluir atendimento").click()
    expect(page.locator("#omni-pane-head")).to_contain_text("Concluído")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CONCLUDED
    assert conversation.contact_reason == desk["reason"]

    # Pós-atendimento: the queue's wrap-up time, or until "Concluir pós-atendimento".
    wrap_up = page.locator("#omni-wrap-up")
    expect(wrap_up).to_contain_text("pós-atendimento")
    expect(page.locator(f"#omni-item-{conversation.pk}")).to_have_count(0)
    screenshot(page, "omni-5-wrap-up")
    wrap_up.get_by_role("button", name="Concluir pós-atendimento").click()
    expect(wrap_up.locator(".alert")).to_have_count(0)
    assert page.evaluate("window.__noReload") == "yes"


def test_supervisor_allocates_a_waiting_conversation(desk, open_as, asgi_server, screenshot):
    from omnichannel import services

    conversation = in_worker(
        lambda: services.conversation_start(
            channel=Channel.LIVE_CHAT, contact_name="João Pereira", contact_email="joao@example.com",
            queue=desk["queue"], first_message="Quero mudar meu plano.",
        )
    )
    page = open_as("supervisor")
    page.goto(f"{asgi_server.url}/omni/atendimento/")
    queued = page.locator("#omni-queued")
    expect(queued).to_contain_text("João Pereira")
    queued.get_by_text("João Pereira").click()
    page.get_by_role("button", name="Alocar responsável").click()
    form = page.locator("#omni-allocate-form")
    form.locator("select[name=agent]").select_option(label="Ana Souza")
    form.get_by_role("button", name="Alocar").click()
    expect(page.locator("#omni-pane-head")).to_contain_text("alocada para Ana Souza")
    screenshot(page, "omni-6-supervisor-allocated")
    conversation.refresh_from_db()
    assert conversation.reserved_for_id == desk["agent"].pk


def test_a_message_on_another_conversation_updates_its_line_live(desk, open_as, asgi_server, screenshot):
    """The socket swaps only the line of the conversation that got a message: badge and clock."""
    from omnichannel import services

    agent = desk["agent"]
    in_worker(lambda: services.agent_queue_login(actor=agent, agent=agent))

    def start(name: str, email: str, text: str) -> Conversation:
        return services.conversation_start(
            channel=Channel.LIVE_CHAT, contact_name=name, contact_email=email, queue=desk["queue"], first_message=text
        )

    first = in_worker(lambda: start("Maria Oliveira", "maria@example.com", "Sem internet."))
    second = in_worker(lambda: start("João Pereira", "joao@example.com", "Boleto em atraso."))
    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/{first.pk}/")
    expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    line = page.locator(f"#omni-item-{second.pk}")
    expect(line.locator("[data-omni-unread]")).to_have_text("1")
    page.evaluate("window.__noReload = 'yes'")

    in_worker(lambda: services.conversation_customer_message(
        conversation=Conversation.objects.get(pk=second.pk), body="<b>Alguém aí?</b>"
    ))
    expect(line.locator("[data-omni-unread]")).to_have_text("2", timeout=5_000)
    expect(line).to_contain_text("Aguardando você há")
    expect(page.locator(f"#omni-item-{first.pk}")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#omni-list .omni-item")).to_have_count(2)
    screenshot(page, "omni-6-line-updated-live")

    # The agent answers the open conversation: its line says the customer owes the next message.
    body = page.locator("[data-omni-body]")
    body.fill("Vou verificar, Maria.")
    body.press("Enter")
    expect(page.locator(f"#omni-item-{first.pk}")).to_contain_text("Aguardando o cliente há", timeout=5_000)
    expect(page.locator(f"#omni-item-{first.pk} [data-omni-unread]")).to_have_count(0)
    assert page.evaluate("window.__noReload") == "yes"
