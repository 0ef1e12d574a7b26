"""Outbound provider messages through a real Celery worker: retried with backoff, sent once.

The worker of ``test_sla_celery`` (``celery worker --pool=solo`` on the test database
and Redis) with ``CHANNEL_SEND_RETRY_BASE_SECONDS=1``; the WhatsApp fake (a real HTTP
server on 127.0.0.1) answers 503 twice. The eager path of the embedded mode retries at
once; this is the path of the full mode, where each retry waits base × 2^n seconds.
"""

import json

import pytest
from django.urls import reverse

from omnichannel import services
from omnichannel.models import (
    Channel,
    ChannelAccount,
    Conversation,
    Message,
    MessageKind,
    MessageState,
)
from omnichannel.outbound import send_message
from omnichannel.providers.base import sign_hub
from tests.integration.test_omni_celery import queue  # noqa: F401 - fixture (omnichannel.* → the worker)
from tests.integration.test_sla_celery import wait_for, worker  # noqa: F401 - fixture
from tests.omnichannel.conftest import go_online, make_queue
from tests.providers.fake import whatsapp_fake, whatsapp_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WA_ID = "5511977776666"


@pytest.fixture
def fast_retries(monkeypatch):
    # Read by the worker subprocess at start (the worker fixture copies os.environ).
    monkeypatch.setenv("CHANNEL_SEND_RETRY_BASE_SECONDS", "1")
    monkeypatch.setenv("CHANNEL_SEND_MAX_RETRIES", "4")


@pytest.fixture
def retrying_worker(fast_retries, request):
    return request.getfixturevalue("worker")  # started after the environment is set


@pytest.fixture
def fake():
    provider = whatsapp_fake()
    yield provider
    provider.stop()


def _texts(fake, text):
    return [r for r in fake.requests_to("/messages") if r.json().get("text", {}).get("body") == text]


def test_reply_after_two_503s_is_retried_with_growing_waits_and_sent_once(
    retrying_worker, fake, client, team, company, process, agent
):
    wa_queue = make_queue(team, company, process, name="Suporte - WhatsApp", channel=Channel.WHATSAPP)
    account = ChannelAccount.objects.create(
        name="WhatsApp Suporte", channel=Channel.WHATSAPP, external_id="1000", queue=wa_queue,
        api_base_url=fake.url, access_token="EAAG-test-token", app_secret="segredo", verify_token="v",
    )
    go_online(agent)
    body = json.dumps(whatsapp_message(WA_ID, "sem internet", msg_id="wamid.IT1")).encode()
    response = client.post(
        reverse("webhooks:receive", args=["whatsapp", account.key]), data=body,
        content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign_hub(body, account.app_secret),
    )
    assert response.status_code == 200, response.content
    conversation = Conversation.objects.get()
    # The protocol message goes out through the worker first.
    wait_for(lambda: not Message.objects.filter(state=MessageState.PENDING).exists(), 30, "the protocol message")

    fake.fail_next(503, times=2)
    reply = services.conversation_reply(actor=agent, conversation=conversation, body="Vamos verificar.")
    wait_for(
        lambda: Message.objects.get(pk=reply.pk).state != MessageState.PENDING, 40, "the reply to be sent"
    )
    reply.refresh_from_db()
    assert reply.kind == MessageKind.AGENT
    assert reply.state == MessageState.SENT, (reply.state, reply.error)
    assert reply.attempts == 3
    tries = _texts(fake, "Vamos verificar.")
    assert len(tries) == 3
    first_wait, second_wait = tries[1].at - tries[0].at, tries[2].at - tries[1].at
    assert first_wait >= 0.9, first_wait  # base × 2^0
    assert second_wait >= 1.9, second_wait  # base × 2^1
    assert second_wait > first_wait

    # The same task delivered again after the success (a redelivery) sends nothing more.
    result = send_message.apply_async(args=[reply.pk])
    log = retrying_worker.log_path
    wait_for(lambda: f"{result.id}] succeeded".encode() in log.read_bytes(), 20, "the repeated task")
    assert len(_texts(fake, "Vamos verificar.")) == 3
