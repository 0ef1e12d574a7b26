"""WhatsApp end to end, in a real browser: the fake WhatsApp Cloud API (an HTTP server on
127.0.0.1) posts a signed customer message to the product's webhook over a real socket; the
Online agent receives it live in the workspace, answers in the browser; the fake receives the
reply in the Cloud API's shape, and its delivery receipt shows in the pane. Then the 24-hour
window closes and the workspace says only a template may go out."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from omnichannel.models import (
    Channel,
    ChannelAccount,
    ChannelContact,
    Conversation,
    Message,
    MessageKind,
)
from omnichannel.providers.base import sign_hub
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.browser.test_omni_workspace import in_worker
from tests.omnichannel.conftest import make_queue
from tests.providers.fake import post_webhook, whatsapp_fake, whatsapp_message, whatsapp_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WA_ID = "5511977776666"


@pytest.fixture
def wa(company, process):
    fake = whatsapp_fake()
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent])
    queue = make_queue(team, company, process, name="Suporte - WhatsApp", channel=Channel.WHATSAPP)
    account = ChannelAccount.objects.create(
        name="WhatsApp Suporte", channel=Channel.WHATSAPP, external_id="1000", queue=queue,
        api_base_url=fake.url, access_token="EAAG-e2e", app_secret="segredo-e2e", verify_token="v",
    )
    yield {"fake": fake, "agent": agent, "account": account}
    fake.stop()


def deliver(asgi_server, account, payload) -> int:
    body = json.dumps(payload, ensure_ascii=False).encode()
    url = f"{asgi_server.url}/webhooks/whatsapp/{account.key}/"
    return in_worker(lambda: post_webhook(url, body, {"X-Hub-Signature-256": sign_hub(body, account.app_secret)})).status_code


def test_whatsapp_customer_to_agent_and_back(wa, open_as, asgi_server, screenshot):
    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/")
    expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")
    page.locator("#omni-presence-toggle").click()
    page.get_by_role("button", name="Ficar Online (Aguardando)").click()
    expect(page.locator("#omni-presence-toggle")).to_have_attribute("aria-label", re.compile("Aguardando"))

    status = deliver(asgi_server, wa["account"], whatsapp_message(
        WA_ID, "Olá! Minha fibra está sem sinal 😟 <b>urgente</b>", msg_id="wamid.E2E1", name="João Açaí"))
    assert status == 200
    conversation = Conversation.objects.get()
    item = page.locator(f"#omni-item-{conversation.pk}")
    expect(item).to_contain_text("João Açaí", timeout=10_000)
    item.click()
    messages = page.locator(f"#omni-messages-{conversation.pk}")
    expect(messages).to_contain_text("Minha fibra está sem sinal 😟 <b>urgente</b>")  # escaped, shown as text
    # The protocol message went out through the fake Cloud API.
    expect(messages.locator(".omni-kind-system .omni-msg-state").first).to_contain_text("Enviada")

    body = page.locator("[data-omni-body]")
    body.fill("Oi, João! Já estou verificando sua conexão.")
    body.press("Enter")
    expect(messages).to_contain_text("Oi, João! Já estou verificando sua conexão.")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    sent = [r.json() for r in wa["fake"].requests_to(r"/v21.0/1000/messages")]
    assert {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID, "type": "text",
            "text": {"preview_url": False, "body": "Oi, João! Já estou verificando sua conexão."}} in sent
    agent_bubble = page.locator(f"#omni-msg-{reply.pk}")
    expect(agent_bubble.locator(".omni-msg-state")).to_contain_text("Enviada")

    # The receipts arrive: delivered, then read, shown live.
    reply.refresh_from_db()
    assert deliver(asgi_server, wa["account"], whatsapp_status(reply.external_id, "read", recipient=WA_ID)) == 200
    expect(agent_bubble.locator(".omni-msg-state")).to_contain_text("Lida", timeout=10_000)
    screenshot(page, "whatsapp-1-conversation")

    # 25 hours later the customer-service window is closed: the workspace says so.
    ChannelContact.objects.update(last_inbound_at=timezone.now() - timedelta(hours=25))
    page.reload()
    expect(page.locator("[data-omni-window-closed]")).to_contain_text("24 horas")
    page.get_by_role("button", name="Enviar modelo aprovado").click()
    page.locator("#omni-template-name").fill("retomar_atendimento")
    page.locator("#omni-template-form").get_by_role("button", name="Enviar modelo").click()
    expect(messages).to_contain_text("[Modelo retomar_atendimento]")
    templates = [r.json() for r in wa["fake"].requests_to(r"/messages") if r.json().get("type") == "template"]
    assert templates and templates[0]["template"]["name"] == "retomar_atendimento"
    screenshot(page, "whatsapp-2-window-closed")
