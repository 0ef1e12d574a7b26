"""Facebook Messenger and Instagram Direct adapter against a fake Graph API on 127.0.0.1.

Every test runs for both channels (the ``meta_account`` fixture is parametrized)."""

import json
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from omnichannel import services
from omnichannel.models import (
    Channel,
    ChannelAccount,
    ChannelContact,
    Conversation,
    ConversationStatus,
    InboundEvent,
    Message,
    MessageKind,
    MessageState,
)
from omnichannel.outbound import send_message
from omnichannel.providers.base import sign_hub
from tests.omnichannel.conftest import go_online, make_queue
from tests.providers.fake_meta import (
    IG_ID,
    PAGE_ID,
    delivery_event,
    entry,
    event,
    message_event,
    meta_fake,
    read_event,
)
from tests.providers.fake_telegram import multipart

PSID = "6543210987654321"
SECRET = "segredo-do-app-ç"


@pytest.fixture
def meta():
    fake = meta_fake()
    yield fake
    fake.stop()


@pytest.fixture(params=["facebook", "instagram"])
def channel(request):
    return request.param


@pytest.fixture
def meta_account(channel, team, company, process, meta):
    queue = make_queue(team, company, process, name=f"Suporte - {channel}", channel=channel, max_conversations=5)
    return ChannelAccount.objects.create(
        name=f"Página {channel}",
        channel=channel,
        external_id=PAGE_ID if channel == Channel.FACEBOOK else IG_ID,
        queue=queue,
        api_base_url=meta.url,
        access_token="EAAPage-token",
        app_secret=SECRET,
        verify_token="verifica-456",
    )


def url(account):
    return reverse("webhooks:receive", args=[account.channel, account.key])


def post(client, account, payload, *, secret=None, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {}
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    elif secret is not False:
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign_hub(body, secret or account.app_secret)
    return client.post(url(account), data=body, content_type="application/json", **headers)


def nothing_stored():
    return not (Message.objects.exists() or InboundEvent.objects.exists() or Conversation.objects.exists()
                or ChannelContact.objects.exists())


def customer_messages():
    return Message.objects.filter(kind=MessageKind.CUSTOMER)


# --- handshake and signatures ----------------------------------------------------------------


def test_verification_handshake(client, meta_account):
    good = client.get(url(meta_account), {"hub.mode": "subscribe", "hub.verify_token": "verifica-456", "hub.challenge": "8472"})
    assert good.status_code == 200 and good.content == b"8472"
    bad = client.get(url(meta_account), {"hub.mode": "subscribe", "hub.verify_token": "errado", "hub.challenge": "1"})
    assert bad.status_code == 403
    assert client.get(url(meta_account)).status_code == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", ""])
def test_bad_or_missing_signature_is_403_and_stores_nothing(client, meta_account, signature):
    body = json.dumps(entry(meta_account.channel, [message_event(PSID, "Olá, ção 😀 sem sinal", mid="m_A1")]),
                      ensure_ascii=False).encode()
    headers = {} if signature is None else {"HTTP_X_HUB_SIGNATURE_256": signature}
    assert client.post(url(meta_account), data=body, content_type="application/json", **headers).status_code == 403
    assert nothing_stored()


def test_signature_over_other_secret_is_403(client, meta_account):
    payload = entry(meta_account.channel, [message_event(PSID, "oi", mid="m_A2")])
    assert post(client, meta_account, payload, secret="outro").status_code == 403
    assert nothing_stored()


def test_signed_message_with_emoji_and_accents(client, meta_account, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    payload = entry(meta_account.channel, [message_event(PSID, "Olá! Açaí 🍧 não chega — sem conexão", mid="m_A3")])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, meta_account, payload)
    assert response.status_code == 200, response.content
    message = customer_messages().get()
    assert message.body == "Olá! Açaí 🍧 não chega — sem conexão" and message.external_id == "m_A3"
    conversation = message.conversation
    assert conversation.channel == meta_account.channel
    assert conversation.status == ConversationStatus.IN_PROGRESS and conversation.agent == agent
    assert ChannelContact.objects.get().external_id == PSID
    assert json.loads(InboundEvent.objects.get().body) == payload


# --- intake ------------------------------------------------------------------------------------


def test_new_contact_name_comes_from_the_profile_api(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    meta.profiles[PSID] = {"first_name": "José", "last_name": "Ñandú", "name": "José Ñandú", "username": "jose.nandu"}
    with django_capture_on_commit_callbacks(execute=True):
        post(client, meta_account, entry(meta_account.channel, [message_event(PSID, "um", mid="m_N1"),
                                                                message_event(PSID, "dois", mid="m_N2")]))
        post(client, meta_account, entry(meta_account.channel, [message_event(PSID, "três", mid="m_N3")]))
    assert Conversation.objects.get().contact_name == "José Ñandú"
    assert ChannelContact.objects.get().name == "José Ñandú"
    lookups = meta.requests_to(rf"/v21.0/{PSID}$", method="GET")
    assert len(lookups) == 1  # once per new contact, not per message
    expected = "first_name,last_name" if meta_account.channel == "facebook" else "name,username"
    assert lookups[0].query["fields"] == [expected] and lookups[0].headers["Authorization"] == "Bearer EAAPage-token"
    assert "José Ñandú" in meta.requests_to(r"/me/messages")[0].json()["message"]["text"]  # the protocol greeting


def test_profile_failure_does_not_stop_the_message(client, settings, meta_account, meta):
    settings.CHANNEL_HTTP_TIMEOUT = 0.5
    meta.fail_next(200, delay=1.0, body={"first_name": "Tarde"})  # the look-up times out
    assert post(client, meta_account, entry(meta_account.channel, [message_event(PSID, "oi", mid="m_N4")])).status_code == 200
    assert customer_messages().get().conversation.contact_name == PSID


def test_every_entry_and_every_event_is_processed(client, meta_account):
    channel = meta_account.channel
    payload = entry(channel, [message_event(PSID, "um", mid="m_B1"), message_event("111", "dois", mid="m_B2")])
    payload["entry"].append(entry(channel, [message_event(PSID, "três", mid="m_B3")])["entry"][0])
    response = post(client, meta_account, payload)
    assert response.status_code == 200 and response.json()["stored"] == 3
    assert sorted(customer_messages().values_list("body", flat=True)) == ["dois", "três", "um"]
    assert Conversation.objects.count() == 2 and ChannelContact.objects.count() == 2


def test_entry_of_another_page_is_skipped(client, meta_account):
    payload = entry(meta_account.channel, [message_event(PSID, "de outra página", mid="m_B4")], page_id="999")
    assert post(client, meta_account, payload).status_code == 200
    assert not Message.objects.exists()


def test_echo_of_the_page_own_message_is_ignored(client, meta_account):
    echo = message_event(PSID, "resposta da página", mid="m_ECHO", is_echo=True, app_id=1517776481860111)
    response = post(client, meta_account, entry(meta_account.channel, [echo]))
    assert response.status_code == 200 and response.json()["ignored"] == 1
    assert not Message.objects.exists() and not Conversation.objects.exists()


def test_redelivery_is_stored_once(client, meta_account, django_capture_on_commit_callbacks):
    payload = entry(meta_account.channel, [message_event(PSID, "uma vez", mid="m_C1")])
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, meta_account, payload).status_code == 200
        assert post(client, meta_account, payload).status_code == 200
    assert customer_messages().count() == 1 and Conversation.objects.count() == 1
    assert InboundEvent.objects.count() == 2  # both deliveries kept for audit


def test_quick_reply_and_postback_become_text(client, meta_account):
    quick = message_event(PSID, "Segunda via", mid="m_Q1", quick_reply={"payload": "SEGUNDA_VIA"})
    quick_no_text = message_event(PSID, None, mid="m_Q2", quick_reply={"payload": "FALAR_COM_AGENTE"})
    postback = event(PSID, {"postback": {"title": "Começar", "payload": "GET_STARTED", "mid": "m_P1"}})
    assert post(client, meta_account, entry(meta_account.channel, [quick, quick_no_text, postback])).status_code == 200
    bodies = list(customer_messages().values_list("body", "data"))
    assert [b for b, _ in bodies] == ["Segunda via", "FALAR_COM_AGENTE", "Começar"]
    assert bodies[0][1]["quick_reply"] == "SEGUNDA_VIA" and bodies[2][1]["payload"] == "GET_STARTED"


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"texto"', b"\xff\xfe"])
def test_malformed_json_is_400(client, meta_account, raw):
    assert post(client, meta_account, None, raw=raw).status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("bad", [
    {"entry": "x"},
    {"entry": [{"messaging": "x"}]},
    {"entry": [{"messaging": [{"sender": {"id": PSID}, "message": {"text": "sem mid"}}]}]},
    {"entry": [{"messaging": [{"message": {"mid": "m_X", "text": "sem remetente"}}]}]},
    {"entry": [{"messaging": [{"sender": {"id": PSID}, "message": {"mid": "m_X", "attachments": [{"type": "image", "payload": {}}]}}]}]},
    {"entry": [{"messaging": [{"sender": {"id": PSID}, "read": {"watermark": "ontem"}}]}]},
])
def test_malformed_payload_is_400_and_stores_nothing(client, meta_account, bad):
    # A good event before the bad one: nothing of the delivery is kept.
    good = message_event(PSID, "boa", mid="m_GOOD")
    payload = {"object": "page" if meta_account.channel == "facebook" else "instagram", **bad}
    if isinstance(payload["entry"], list) and isinstance(payload["entry"][0].get("messaging"), list):
        payload["entry"][0]["messaging"].insert(0, good)
    assert post(client, meta_account, payload).status_code == 400
    assert nothing_stored()


def test_unknown_event_types_are_200_and_ignored(client, meta_account):
    other_object = {"object": "instagram" if meta_account.channel == "facebook" else "page", "entry": []}
    assert post(client, meta_account, other_object).json() == {"ignored": True}
    feed = {"object": entry(meta_account.channel, [])["object"], "entry": [{"id": meta_account.external_id, "changes": [{"field": "feed", "value": {}}]}]}
    assert post(client, meta_account, feed).status_code == 200
    events = [event(PSID, {"reaction": {"mid": "m_1", "action": "react", "emoji": "❤️"}}),
              event(PSID, {"referral": {"ref": "anuncio", "source": "ADS"}}),
              event(PSID, {"optin": {"ref": "x"}})]
    response = post(client, meta_account, entry(meta_account.channel, events))
    assert response.status_code == 200 and response.json()["ignored"] == 3
    assert not Message.objects.exists()
    unknown_attachment = message_event(PSID, None, mid="m_U1", attachments=[{"type": "hologram", "payload": {}}])
    assert post(client, meta_account, entry(meta_account.channel, [unknown_attachment])).status_code == 200
    assert "não suportado" in customer_messages().get().body


def test_location_and_shared_link_become_message_parts(client, meta_account):
    location = {"type": "location", "title": "Loja Paulista",
                "payload": {"coordinates": {"lat": -23.55, "long": -46.63}}}
    share = {"type": "fallback", "title": "Plano 500 Mega", "url": "https://exemplo.com.br/planos"}
    payload = entry(meta_account.channel, [message_event(PSID, None, mid="m_L1", attachments=[location]),
                                           message_event(PSID, "veja", mid="m_L2", attachments=[share])])
    assert post(client, meta_account, payload).status_code == 200
    first, second = customer_messages()
    assert first.data["location"]["latitude"] == -23.55 and "Loja Paulista" in first.body
    assert second.body == "veja\nPlano 500 Mega https://exemplo.com.br/planos"


@pytest.mark.parametrize("kind,mime,name", [("image", "image/jpeg", "foto_n.jpg"), ("audio", "audio/mp4", "audioclip.mp4"),
                                            ("file", "application/pdf", "fatura.pdf"), ("video", "video/mp4", "v.mp4")])
def test_attachments_are_fetched_from_the_cdn(client, meta_account, meta, kind, mime, name, django_capture_on_commit_callbacks):
    meta.media[name] = (b"conteudo do anexo", mime)
    attachment = {"type": kind, "payload": {"url": f"{meta.url}/cdn/{name}?_nc_sig=abc&oe=123"}}
    with django_capture_on_commit_callbacks(execute=True):
        payload = entry(meta_account.channel, [message_event(PSID, None, mid="m_M1", attachments=[attachment])])
        assert post(client, meta_account, payload).status_code == 200
    message = customer_messages().get()
    stored = message.attachments.get()
    assert (stored.name, stored.content_type, stored.size) == (name, mime, len(b"conteudo do anexo"))
    assert message.data["media"][0]["done"] is True and message.data["type"] == kind
    # The page token never goes to the CDN.
    assert "Authorization" not in meta.requests_to(r"/cdn/", method="GET")[0].headers


def test_attachment_over_the_limit_is_refused(client, settings, meta_account, meta, django_capture_on_commit_callbacks):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 10
    meta.media["grande.pdf"] = (b"x" * 100, "application/pdf")
    attachment = {"type": "file", "payload": {"url": f"{meta.url}/cdn/grande.pdf"}}
    with django_capture_on_commit_callbacks(execute=True):
        payload = entry(meta_account.channel, [message_event(PSID, "segue", mid="m_M2", attachments=[attachment])])
        assert post(client, meta_account, payload).status_code == 200
    message = customer_messages().get()
    assert not message.attachments.exists() and message.data["media"][0]["refused"] is True


# --- receipts ------------------------------------------------------------------------------------


def _conversation(client, account, agent, captured, mid="m_R0"):
    go_online(agent)
    with captured(execute=True):
        post(client, account, entry(account.channel, [message_event(PSID, "oi", mid=mid)]))
    return Conversation.objects.get()


def test_delivery_and_read_receipts(client, meta_account, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.conversation_reply(actor=agent, conversation=conversation, body="Primeira")
        second = services.conversation_reply(actor=agent, conversation=conversation, body="Segunda")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == second.state == MessageState.SENT and first.external_id.startswith("m_FAKE")
    assert post(client, meta_account, entry(meta_account.channel, [delivery_event(PSID, [first.external_id])])).json()["receipts"] == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (MessageState.DELIVERED, MessageState.SENT)
    # Read up to a watermark: every message sent before it, not the ones after.
    watermark = int(time.time() * 1000) + 1000
    with django_capture_on_commit_callbacks(execute=True):
        later = services.conversation_reply(actor=agent, conversation=conversation, body="Depois")
    Message.objects.filter(pk=later.pk).update(created_at=later.created_at.replace(year=later.created_at.year + 1))
    response = post(client, meta_account, entry(meta_account.channel, [read_event(PSID, watermark)]))
    assert response.status_code == 200
    states = dict(Message.objects.filter(kind=MessageKind.AGENT).values_list("body", "state"))
    assert states == {"Primeira": "read", "Segunda": "read", "Depois": "sent"}
    # The protocol message (system) was read too; a late "delivered" does not move it back.
    assert Message.objects.get(kind=MessageKind.SYSTEM).state == MessageState.READ
    post(client, meta_account, entry(meta_account.channel, [delivery_event(PSID, [first.external_id])]))
    first.refresh_from_db()
    assert first.state == MessageState.READ


def test_read_naming_the_mid_instagram_style(client, meta_account, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Visto?")
    reply.refresh_from_db()
    post(client, meta_account, entry(meta_account.channel, [event(PSID, {"read": {"mid": reply.external_id}})]))
    reply.refresh_from_db()
    assert reply.state == MessageState.READ


def test_receipt_of_another_contact_changes_nothing(client, meta_account, agent, django_capture_on_commit_callbacks):
    _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    post(client, meta_account, entry(meta_account.channel, [read_event("outra-pessoa", int(time.time() * 1000) + 5000)]))
    assert Message.objects.get(kind=MessageKind.SYSTEM).state == MessageState.SENT


# --- outbound ---------------------------------------------------------------------------------


def test_reply_goes_out_in_the_send_api_shape(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    protocol = meta.requests_to(r"/v21.0/me/messages")[0]
    assert protocol.headers["Authorization"] == "Bearer EAAPage-token"
    assert conversation.protocol in protocol.json()["message"]["text"]
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Olá! Já verifico 👍")
    assert meta.requests_to(r"/me/messages")[-1].json() == {
        "recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Olá! Já verifico 👍"}}


def test_agent_attachment_is_a_multipart_upload(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    upload = SimpleUploadedFile("tela.png", b"\x89PNG fake", content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Segue a tela", files=[upload])
    fields = multipart(meta.requests_to(r"/me/messages")[-1])
    assert json.loads(fields["recipient"]) == {"id": PSID} and fields["messaging_type"] == "RESPONSE"
    assert json.loads(fields["message"]) == {"attachment": {"type": "image", "payload": {"is_reusable": False}}}
    assert fields["filedata"] == ("tela.png", b"\x89PNG fake", "image/png")
    assert Message.objects.get(kind=MessageKind.AGENT).state == MessageState.SENT


def test_reply_retried_after_500_is_sent_once(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    before = len(meta.requests_to("/me/messages"))
    meta.fail_next(500)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Resposta após falha")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2
    texts = [r.json()["message"]["text"] for r in meta.requests_to("/me/messages")[before:]]
    assert texts == ["Resposta após falha", "Resposta após falha"]
    send_message.apply(args=[reply.pk])
    assert len(meta.requests_to("/me/messages")) == before + 2


def test_reply_retried_after_timeout(client, settings, meta_account, meta, agent, django_capture_on_commit_callbacks):
    settings.CHANNEL_HTTP_TIMEOUT = 0.5
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    meta.fail_next(200, delay=1.0, body={"recipient_id": PSID, "message_id": "m_LATE"})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Depois do timeout")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2 and reply.external_id != "m_LATE"


def test_graph_rate_limit_is_retried(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    meta.fail_next(400, body={"error": {"message": "(#613) Calls to this api have exceeded the rate limit.", "code": 613}})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2


def test_outside_the_window_is_failed_not_retried(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    meta.fail_next(400, body={"error": {"message": "(#10) This message is sent outside of allowed window.",
                                        "code": 10, "error_subcode": 2018278}})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.FAILED and reply.attempts == 1 and "allowed window" in reply.error


def test_retries_run_out_then_failed(client, settings, meta_account, meta, agent, django_capture_on_commit_callbacks):
    settings.CHANNEL_SEND_MAX_RETRIES = 2
    conversation = _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    meta.fail_next(503, times=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.FAILED and reply.attempts == 3


def test_without_token_messages_are_not_sent(client, meta_account, meta, agent, django_capture_on_commit_callbacks):
    meta_account.access_token = ""
    meta_account.save()
    _conversation(client, meta_account, agent, django_capture_on_commit_callbacks)
    assert Message.objects.get(kind=MessageKind.SYSTEM).state == MessageState.NOT_SENT
    assert not meta.received


def test_long_text_is_split_within_the_channel_limit(meta_account):
    from omnichannel.providers.base import split_text
    from omnichannel.providers.meta import TEXT_LIMITS

    limit, measure = TEXT_LIMITS[meta_account.channel]
    text = ("ação 😀 " * 600).strip()
    pieces = split_text(text, limit, measure)
    assert len(pieces) > 1 and all(measure(p) <= limit for p in pieces)
    assert " ".join(pieces).split() == text.split()


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chan", ["facebook", "instagram"])
def test_concurrent_duplicate_deliveries_store_once(live_server, team, company, process, chan):
    from tests.providers.fake import post_webhook

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    queue = make_queue(team, company, process, name="Meta concorrência", channel=chan)
    account = ChannelAccount.objects.create(name="Meta", channel=chan, queue=queue, app_secret="s3cr3t", verify_token="v")
    target = live_server.url + url(account)
    same = json.dumps(entry(chan, [message_event(PSID, "mesma", mid="m_X1")])).encode()
    bodies = [same] * 6 + [json.dumps(entry(chan, [message_event(PSID, f"outra {i}", mid=f"m_X{i + 2}")])).encode()
                           for i in range(4)]
    results = []

    def deliver(body):
        results.append(post_webhook(target, body, {"X-Hub-Signature-256": sign_hub(body, "s3cr3t")}).status_code)

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 10
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 5
    assert Conversation.objects.count() == 1 and ChannelContact.objects.count() == 1
