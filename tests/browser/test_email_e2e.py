"""The e-mail channel end to end: a customer's e-mail arrives through the inbound-parse
endpoint of the ASGI server, the agent answers it in the workspace, and the SMTP server
(aiosmtpd on 127.0.0.1) receives the reply threaded on the customer's e-mail."""

import json
import threading
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
from tests import factories as f
from tests.browser.conftest import PASSWORD
from tests.omnichannel.conftest import make_queue
from tests.providers.mailservers import SmtpServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKEN = "inbound-e2e-token"


def in_worker(fn: Callable[[], object]) -> object:
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn()))
    worker.start()
    worker.join(30)
    return result[0] if result else None


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def desk(company, process, smtp_server):
    agent = f.AgentFactory(username="agente", first_name="Ana", last_name="Souza", password=PASSWORD)
    team = f.TeamFactory(name="Suporte N1", members=[agent])
    queue = make_queue(team, company, process, name="Suporte - E-mail", channel=Channel.EMAIL)
    account = ChannelAccount.objects.create(
        name="Suporte NetRápido", channel=Channel.EMAIL, queue=queue, email_address="suporte@provedor.test",
        webhook_secret=TOKEN, smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none",
    )
    return {"agent": agent, "account": account}


def test_customer_email_answered_in_the_browser_reaches_smtp_threaded(desk, open_as, asgi_server, smtp_server,
                                                                       screenshot):
    agent = desk["agent"]
    in_worker(lambda: services.agent_set_state(actor=agent, agent=agent, state=AgentState.ONLINE))
    page = open_as("agente")
    page.goto(f"{asgi_server.url}/omni/atendimento/")
    expect(page.locator("#omni-socket")).to_have_attribute("data-state", "online")

    payload = {
        "from": "Maria Souza <maria@example.com>",
        "to": "suporte@provedor.test",
        "subject": "Internet lenta à noite",
        "text": "Boa noite, a internet fica lenta depois das 20h.",
        "message_id": "<cliente-001@example.com>",
        "references": "<anterior@example.com>",
    }
    response = httpx.post(
        f"{asgi_server.url}/webhooks/email/{desk['account'].key}/",
        content=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Inbound-Token": TOKEN},
        timeout=15,
    )
    assert response.status_code == 200 and response.json() == {"stored": 1}
    conversation = in_worker(lambda: Conversation.objects.get())
    assert conversation.agent_id == agent.pk
    # The automatic protocol message went out by SMTP first.
    assert len(smtp_server.wait_for(1)) == 1

    item = page.locator(f"#omni-item-{conversation.pk}")
    expect(item).to_contain_text("Maria Souza", timeout=5_000)
    item.click()
    messages = page.locator(f"#omni-messages-{conversation.pk}")
    expect(messages).to_contain_text("a internet fica lenta depois das 20h")
    body = page.locator("[data-omni-body]")
    body.fill("Olá, Maria! Ajustamos o canal do seu roteador.")
    body.press("Enter")
    expect(messages).to_contain_text("Olá, Maria! Ajustamos o canal do seu roteador.")
    screenshot(page, "email-e2e-reply")

    received = smtp_server.wait_for(2)
    assert len(received) == 2
    email = received[1].message
    assert received[1].rcpt_tos == ["maria@example.com"]
    assert email["In-Reply-To"] == "<cliente-001@example.com>"
    assert email["References"].split() == ["<anterior@example.com>", "<cliente-001@example.com>"]
    assert email["Subject"] == f"Re: Internet lenta à noite [{conversation.protocol}]"
    assert "Ajustamos o canal do seu roteador." in email.get_content()
    reply = in_worker(lambda: Message.objects.get(conversation=conversation, kind=MessageKind.AGENT))
    assert reply.state == "sent" and reply.external_id == email["Message-ID"]
