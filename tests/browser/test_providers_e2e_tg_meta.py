"""Telegram, Facebook Messenger and Instagram Direct end to end: the fake provider (a real
HTTP server on 127.0.0.1) posts an authenticated customer message to the ASGI server's
webhook, the agent answers it in the workspace, and the fake provider receives the reply in
its own API's shape."""

import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect

from omnichannel import services
from omnichannel.models import (
    AgentState,
    Channel,
    ChannelAccount,
    Conversation,
    Message,
    MessageKind,
)
from omnichannel.providers.base import sign_hub
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.omnichannel.conftest import make_queue
from tests.providers.fake_meta import PAGE_ID, entry, message_event, meta_fake
from tests.providers.fake_telegram import SECRET, TOKEN, telegram_fake, telegram_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHAT = 987654321
PSID = "6543210987654321"
APP_SECRET = "segredo-do-app-ç"


def in_worker(fn: Callable[[], object]) -> object:
    """ORM and service calls outside Playwright's event-loop thread."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn()))
    worker.start()
    worker.join(30)
    return result[0] if result else None


def wait_for(fn: Callable[[], list], count: int, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _telegram(account_kwargs):
    fake = telegram_fake()
    account = ChannelAccount.objects.create(channel=Channel.TELEGRAM, api_base_url=fake.url, access_token=TOKEN,
                                            webhook_secret=SECRET, **account_kwargs)
    body = json.dumps(telegram_update(1001, CHAT, "Boa noite! A internet caiu 😟", first_name="José",
                                      last_name="Ñandú"), ensure_ascii=False).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    def sent() -> list[dict]:
        return [r.json() for r in fake.requests_to(rf"/bot{TOKEN}/sendMessage")]

    return fake, account, body, headers, sent


def _meta(channel):
    def build(account_kwargs):
        fake = meta_fake()
        fake.profiles[PSID] = {"first_name": "Maria", "last_name": "Conceição", "name": "Maria Conceição"}
        account = ChannelAccount.objects.create(channel=channel, api_base_url=fake.url, access_token="EAAPage-token",
                                                app_secret=APP_SECRET, verify_token="v", external_id=PAGE_ID,
                                                **account_kwargs)
        payload = entry(channel, [message_event(PSID, "Boa noite! A internet caiu 😟", mid="m_E2E1")], page_id=PAGE_ID)
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"X-Hub-Signature-256": sign_hub(body, APP_SECRET)}

        def sent() -> list[dict]:
            return [r.json() for r in fake.requests_to(r"/v21.0/me/messages")]

        return fake, account, body, headers, sent

    return build


PROVIDERS = {"telegram": _telegram, "facebook": _meta(Channel.FACEBOOK), "instagram": _meta(Channel.INSTAGRAM)}


@pytest.mark.parametrize("channel", list(PROVIDERS))
def test_customer_message_answered_in_the_browser_reaches_the_provider(channel, company, process, open_as,
                                                                       asgi_server, screenshot):
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent])
    queue = make_queue(team, company, process, name=f"Suporte - {channel}", channel=channel)
    fake, account, body, headers, sent = PROVIDERS[channel]({"name": f"Conta {channel}", "queue": queue})
    try:
        in_worker(lambda: services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE))
        page = open_as("agente")
        page.goto(f"{asgi_server.url}/omni/atendimento/")
        expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")

        # The provider delivers the customer's message to the webhook, over HTTP.
        response = httpx.post(f"{asgi_server.url}/webhooks/{channel}/{account.key}/", content=body,
                              headers={"Content-Type": "application/json", **headers}, timeout=15)
        assert response.status_code == 200, response.text
        conversation = in_worker(lambda: Conversation.objects.get())
        assert conversation.agent_id == agent.pk and conversation.channel == channel
        # The automatic protocol message went out first, in the provider's shape.
        assert len(wait_for(sent, 1)) == 1

        name = "José Ñandú" if channel == "telegram" else "Maria Conceição"
        assert conversation.contact_name == name
        item = page.locator(f"#omni-item-{conversation.pk}")
        expect(item).to_contain_text(name, timeout=5_000)
        item.click()
        messages = page.locator(f"#omni-messages-{conversation.pk}")
        expect(messages).to_contain_text("Boa noite! A internet caiu 😟")
        reply_box = page.locator("[data-omni-body]")
        reply_box.fill("Olá! Já estou verificando sua conexão 👍")
        reply_box.press("Enter")
        expect(messages).to_contain_text("Olá! Já estou verificando sua conexão 👍")
        screenshot(page, f"providers-e2e-{channel}-reply")

        got = wait_for(sent, 2)
        assert len(got) == 2
        if channel == "telegram":
            assert got[1] == {"chat_id": CHAT, "text": "Olá! Já estou verificando sua conexão 👍"}
        else:
            assert got[1] == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                              "message": {"text": "Olá! Já estou verificando sua conexão 👍"}}
        reply = in_worker(lambda: Message.objects.get(conversation=conversation, kind=MessageKind.AGENT))
        assert reply.state == "sent" and reply.external_id
    finally:
        fake.stop()
