"""Telegram Bot API adapter against a fake Bot API on 127.0.0.1."""

import json
import threading

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
from tests.omnichannel.conftest import go_online, make_queue
from tests.providers.fake import Reply
from tests.providers.fake_telegram import SECRET, TOKEN, multipart, telegram_fake, telegram_update

CHAT = 987654321
GROUP = -1001234567890123  # supergroups: negative, beyond 32 bits


@pytest.fixture
def tg_fake():
    fake = telegram_fake()
    yield fake
    fake.stop()


@pytest.fixture
def tg_account(team, company, process, tg_fake):
    queue = make_queue(team, company, process, name="Suporte - Telegram", channel=Channel.TELEGRAM, max_conversations=5)
    return ChannelAccount.objects.create(
        name="Bot de suporte",
        channel=Channel.TELEGRAM,
        external_id="123456789",
        queue=queue,
        api_base_url=tg_fake.url,
        access_token=TOKEN,
        webhook_secret=SECRET,
    )


def url(account):
    return reverse("webhooks:receive", args=["telegram", account.key])


def post(client, account, payload, *, secret=None, raw=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {} if secret is False else {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret or account.webhook_secret}
    return client.post(url(account), data=body, content_type="application/json", **headers)


def nothing_stored():
    return not (Message.objects.exists() or InboundEvent.objects.exists() or Conversation.objects.exists()
                or ChannelContact.objects.exists())


# --- secret token ------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [False, "errado", SECRET + "x", SECRET.upper()])
def test_bad_or_missing_secret_is_403_and_stores_nothing(client, tg_account, secret):
    payload = telegram_update(1, CHAT, "Olá, ção 😀 não tenho internet")
    response = post(client, tg_account, payload, secret=secret)
    assert response.status_code == 403
    assert nothing_stored()


def test_account_without_secret_accepts_nothing(client, tg_account):
    tg_account.webhook_secret = ""
    tg_account.save()
    assert post(client, tg_account, telegram_update(1, CHAT, "oi"), secret="").status_code == 403
    assert post(client, tg_account, telegram_update(1, CHAT, "oi"), secret=False).status_code == 403
    assert nothing_stored()


def test_get_is_405(client, tg_account):
    response = client.get(url(tg_account), HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=SECRET)
    assert response.status_code == 405 and "error" in response.json()


def test_good_secret_with_emoji_and_accents(client, tg_account, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    payload = telegram_update(10, CHAT, "Olá! Açaí 🍧 não chega — sem conexão", first_name="José", last_name="Ñandú")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, tg_account, payload)
    assert response.status_code == 200, response.content
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert message.body == "Olá! Açaí 🍧 não chega — sem conexão"
    assert message.external_id == f"{CHAT}:1"
    conversation = message.conversation
    assert conversation.channel == "telegram" and conversation.contact_name == "José Ñandú"
    assert conversation.status == ConversationStatus.IN_PROGRESS and conversation.agent == agent
    contact = ChannelContact.objects.get()
    assert contact.chat_id == CHAT and contact.external_id == str(CHAT)
    event = InboundEvent.objects.get()
    assert json.loads(event.body) == payload and event.dedupe_key == "update:10"


def test_group_chat_id_is_a_64_bit_integer(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, telegram_update(11, GROUP, "do grupo", chat_type="supergroup")).status_code == 200
    contact = ChannelContact.objects.get()
    assert contact.chat_id == GROUP and contact.external_id == str(GROUP)
    # The protocol message went to the negative 64-bit chat id, as an integer.
    assert tg_fake.requests_to(r"/sendMessage")[0].json()["chat_id"] == GROUP


def test_chat_id_beyond_64_bits_is_400(client, tg_account):
    assert post(client, tg_account, telegram_update(12, 2**63, "x")).status_code == 400
    assert nothing_stored()


# --- de-duplication ----------------------------------------------------------------------------


def test_redelivered_update_is_stored_once(client, tg_account, django_capture_on_commit_callbacks):
    payload = telegram_update(20, CHAT, "uma vez")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, payload).status_code == 200
        second = post(client, tg_account, payload)
    assert second.status_code == 200 and second.json() == {"duplicate": True}
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 1
    assert InboundEvent.objects.count() == 1


def test_same_message_in_a_new_update_is_stored_once(client, tg_account):
    """Two update_ids carrying the same chat message (a replayed webhook): the message id dedupes."""
    assert post(client, tg_account, telegram_update(21, CHAT, "mesma", message_id=7)).status_code == 200
    assert post(client, tg_account, telegram_update(22, CHAT, "mesma", message_id=7)).status_code == 200
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 1
    assert InboundEvent.objects.count() == 2


def test_two_messages_land_in_one_conversation(client, tg_account):
    post(client, tg_account, telegram_update(30, CHAT, "primeira", message_id=1))
    post(client, tg_account, telegram_update(31, CHAT, "segunda", message_id=2))
    conversation = Conversation.objects.get()
    bodies = conversation.messages.filter(kind=MessageKind.CUSTOMER).values_list("body", flat=True)
    assert list(bodies) == ["primeira", "segunda"]


# --- malformed and unknown -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"texto"', b"\xff\xfe", b"{}", b'{"update_id": "1"}',
                                 b'{"update_id": true, "message": {}}'])
def test_malformed_is_400(client, tg_account, raw):
    assert post(client, tg_account, None, raw=raw).status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("message", [{"text": "sem chat", "message_id": 1},
                                     {"chat": {"id": CHAT}, "text": "sem id"},
                                     {"chat": {"id": "abc"}, "message_id": 1, "text": "x"},
                                     {"chat": {"id": CHAT}, "message_id": 1, "photo": []},
                                     {"chat": {"id": CHAT}, "message_id": 1, "document": {"file_name": "x"}},
                                     "texto"])
def test_malformed_message_is_400(client, tg_account, message):
    assert post(client, tg_account, {"update_id": 40, "message": message}).status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("kind", ["edited_message", "channel_post", "edited_channel_post", "callback_query",
                                  "my_chat_member", "poll_answer"])
def test_other_update_kinds_are_200_and_ignored(client, tg_account, kind):
    response = post(client, tg_account, telegram_update(50, CHAT, "editado", kind=kind))
    assert response.status_code == 200 and response.json() == {"ignored": True}
    assert not Message.objects.exists() and not Conversation.objects.exists()
    assert InboundEvent.objects.get().kind == f"telegram:{kind}"  # still kept for audit


def test_group_service_message_is_ignored_and_unknown_content_is_marked(client, tg_account):
    joined = telegram_update(51, GROUP, None, chat_type="group", extra={"new_chat_members": [{"id": 1, "first_name": "X"}]})
    assert post(client, tg_account, joined).json() == {"ignored": True}
    assert not Message.objects.exists()
    dice = telegram_update(52, CHAT, None, extra={"dice": {"emoji": "🎲", "value": 4}})
    assert post(client, tg_account, dice).status_code == 200
    body = Message.objects.get(kind=MessageKind.CUSTOMER).body
    assert "dice" in body and "não suportada" in body


# --- message parts -------------------------------------------------------------------------------


def test_location_venue_and_contact_become_message_parts(client, tg_account):
    location = {"location": {"latitude": -23.55, "longitude": -46.63},
                "venue": {"location": {"latitude": -23.55, "longitude": -46.63}, "title": "Loja", "address": "Av. Paulista"}}
    post(client, tg_account, telegram_update(60, CHAT, None, message_id=1, extra=location))
    post(client, tg_account, telegram_update(61, CHAT, None, message_id=2, extra={
        "contact": {"phone_number": "+5511988887777", "first_name": "Maria", "last_name": "Souza"}}))
    first, second = Message.objects.filter(kind=MessageKind.CUSTOMER)
    assert first.data["location"] == {"latitude": -23.55, "longitude": -46.63, "name": "Loja", "address": "Av. Paulista"}
    assert "Av. Paulista" in first.body
    assert second.data["contact"] == {"name": "Maria Souza", "phone": "+5511988887777"}
    assert "Maria Souza" in second.body


def test_photo_largest_size_is_fetched_and_attached(client, tg_account, tg_fake, django_capture_on_commit_callbacks):
    tg_fake.files["BIG-PHOTO"] = ("photos/file_7.jpg", b"\xff\xd8\xff fake jpeg, the large one")
    photo = [{"file_id": "SMALL", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 900},
             {"file_id": "BIG-PHOTO", "file_unique_id": "b", "width": 1280, "height": 853, "file_size": 90_000}]
    payload = telegram_update(70, CHAT, None, extra={"photo": photo, "caption": "Foto do roteador 📷"})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, payload).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert message.body == "Foto do roteador 📷"
    attachment = message.attachments.get()
    assert attachment.content_type == "image/jpeg" and attachment.size == len(b"\xff\xd8\xff fake jpeg, the large one")
    assert attachment.name == "photo-file_7.jpg"
    assert message.data["media"][0]["done"] is True
    get_file = tg_fake.requests_to(rf"/bot{TOKEN}/getFile")
    assert [r.json() for r in get_file] == [{"file_id": "BIG-PHOTO"}]


@pytest.mark.parametrize("kind", ["document", "audio", "voice", "video"])
def test_document_audio_voice_video_are_fetched(client, tg_account, tg_fake, kind, django_capture_on_commit_callbacks):
    tg_fake.files["F1"] = (f"{kind}s/file_1.bin", b"conteudo")
    media = {"file_id": "F1", "file_unique_id": "u", "file_size": 8, "mime_type": "application/pdf"}
    if kind == "document":
        media["file_name"] = "fatura março.pdf"
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, telegram_update(71, CHAT, None, extra={kind: media})).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    attachment = message.attachments.get()
    assert attachment.size == 8 and message.data["type"] == kind
    if kind == "document":
        assert attachment.name == "fatura março.pdf"


def test_media_over_the_limit_is_refused(client, settings, tg_account, tg_fake, django_capture_on_commit_callbacks):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 10
    tg_fake.files["BIG"] = ("documents/file_2.pdf", b"x" * 100)
    # The update does not say the size (Telegram may omit it): getFile's file_size refuses it.
    payload = telegram_update(72, CHAT, None, extra={"document": {"file_id": "BIG", "file_unique_id": "u",
                                                                  "file_name": "grande.pdf"}})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, payload).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert not message.attachments.exists() and message.data["media"][0]["refused"] is True
    assert not tg_fake.requests_to(r"/file/bot", method="GET")  # never downloaded


def test_declared_size_over_the_limit_is_refused_without_a_call(client, settings, tg_account, tg_fake,
                                                                django_capture_on_commit_callbacks):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 10
    tg_fake.files["BIG2"] = ("documents/file_3.pdf", b"x" * 100)
    document = {"file_id": "BIG2", "file_unique_id": "u", "file_name": "grande.pdf", "file_size": 100}
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, telegram_update(74, CHAT, None, extra={"document": document})).status_code == 200
    assert Message.objects.get(kind=MessageKind.CUSTOMER).data["media"][0]["refused"] is True
    assert not tg_fake.requests_to(r"/getFile")


def test_file_refused_by_telegram_is_marked_refused(client, tg_account, tg_fake, django_capture_on_commit_callbacks):
    """Bot API answers 400 "file is too big" for files over 20 MB: a refusal, not an error."""
    payload = telegram_update(73, CHAT, None, extra={"video": {"file_id": "UNKNOWN", "file_unique_id": "u"}})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, tg_account, payload).status_code == 200
    assert Message.objects.get(kind=MessageKind.CUSTOMER).data["media"][0]["refused"] is True


# --- outbound -------------------------------------------------------------------------------------


def _conversation(client, tg_account, agent, captured, update_id=80):
    go_online(agent)
    with captured(execute=True):
        post(client, tg_account, telegram_update(update_id, CHAT, "oi"))
    return Conversation.objects.get()


def test_protocol_and_reply_go_out_in_the_bot_api_shape(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    protocol = tg_fake.requests_to(rf"/bot{TOKEN}/sendMessage")[0].json()
    assert protocol["chat_id"] == CHAT and conversation.protocol in protocol["text"]
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Olá, José! Já verifico 👍")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    last = tg_fake.requests_to(r"/sendMessage")[-1].json()
    assert last == {"chat_id": CHAT, "text": "Olá, José! Já verifico 👍"}
    # No delivery receipts for bots: "sent" is final.
    assert reply.state == MessageState.SENT and reply.external_id.startswith(f"{CHAT}:")


def test_agent_attachments_go_as_photo_and_document(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    files = [SimpleUploadedFile("boleto.pdf", b"%PDF-1.4 fake", content_type="application/pdf"),
             SimpleUploadedFile("tela.png", b"\x89PNG fake", content_type="image/png")]
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Segue o boleto", files=files)
    document = multipart(tg_fake.requests_to(r"/sendDocument")[0])
    assert document["chat_id"] == str(CHAT) and document["document"] == ("boleto.pdf", b"%PDF-1.4 fake", "application/pdf")
    photo = multipart(tg_fake.requests_to(r"/sendPhoto")[0])
    assert photo["photo"][0] == "tela.png"
    assert Message.objects.get(kind=MessageKind.AGENT).state == MessageState.SENT


def test_reply_retried_after_500_is_sent_once(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    before = len(tg_fake.requests_to("/sendMessage"))
    tg_fake.fail_next(500, body={"ok": False, "error_code": 500, "description": "Internal Server Error"})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Resposta após falha")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2
    texts = [r.json()["text"] for r in tg_fake.requests_to("/sendMessage")[before:]]
    assert texts == ["Resposta após falha", "Resposta após falha"]
    send_message.apply(args=[reply.pk])  # a duplicate run after the success sends nothing
    assert len(tg_fake.requests_to("/sendMessage")) == before + 2


def test_reply_retried_after_timeout(client, settings, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    settings.CHANNEL_HTTP_TIMEOUT = 0.5
    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    tg_fake.fail_next(200, delay=1.0, body={"ok": True, "result": {"message_id": 99999}})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Depois do timeout")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2 and reply.external_id != f"{CHAT}:99999"


def test_429_retry_after_is_retried(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    tg_fake.fail_next(429, body={"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                 "parameters": {"retry_after": 1}})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2


def test_partial_success_is_not_repeated(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    """Text sent, then the file fails with a 500: the retry sends only the file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    before = len(tg_fake.requests_to("/sendMessage"))

    original = tg_fake._dispatch
    state = {"failed": False}

    def dispatch(received):  # the first sendDocument answers 502, everything else as usual
        if "/sendDocument" in received.path and not state["failed"]:
            state["failed"] = True
            tg_fake.received.append(received)
            return Reply(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        return original(received)

    tg_fake._dispatch = dispatch
    upload = SimpleUploadedFile("boleto.pdf", b"%PDF", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Segue", files=[upload])
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2
    assert [r.json()["text"] for r in tg_fake.requests_to("/sendMessage")[before:]] == ["Segue"]
    assert len(tg_fake.requests_to("/sendDocument")) == 2


def test_blocked_by_user_is_failed_not_retried(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    tg_fake.fail_next(403, body={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.FAILED and reply.attempts == 1 and "blocked" in reply.error


def test_retries_run_out_then_failed(client, settings, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    settings.CHANNEL_SEND_MAX_RETRIES = 2
    conversation = _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    tg_fake.fail_next(503, times=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.FAILED and reply.attempts == 3


def test_without_token_messages_are_not_sent(client, tg_account, tg_fake, agent, django_capture_on_commit_callbacks):
    tg_account.access_token = ""
    tg_account.save()
    _conversation(client, tg_account, agent, django_capture_on_commit_callbacks)
    assert Message.objects.filter(kind=MessageKind.SYSTEM).first().state == MessageState.NOT_SENT
    assert not tg_fake.received


def test_long_text_is_split_within_telegram_limit():
    from omnichannel.providers.base import split_text, utf16_len
    from omnichannel.providers.telegram import TEXT_LIMIT

    text = ("palavra 😀 " * 1200).strip()
    pieces = split_text(text, TEXT_LIMIT, utf16_len)
    assert len(pieces) > 1 and all(utf16_len(p) <= TEXT_LIMIT for p in pieces)
    assert " ".join(pieces).split() == text.split()


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_once(live_server, team, company, process):
    """The same update delivered by 6 threads at once and 4 other messages of the same chat,
    over real sockets: each stored once, one conversation, one contact."""
    from tests.providers.fake import post_webhook

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    queue = make_queue(team, company, process, name="TG concorrência", channel=Channel.TELEGRAM)
    account = ChannelAccount.objects.create(name="TG", channel=Channel.TELEGRAM, queue=queue, webhook_secret=SECRET)
    target = live_server.url + url(account)
    same = json.dumps(telegram_update(900, GROUP, "mesma", message_id=1, chat_type="supergroup")).encode()
    bodies = [same] * 6 + [
        json.dumps(telegram_update(901 + i, GROUP, f"outra {i}", message_id=2 + i, chat_type="supergroup")).encode()
        for i in range(4)
    ]
    results = []

    def deliver(body):
        response = post_webhook(target, body, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
        results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [200] * 10
    assert sum(1 for _, body in results if body == {"duplicate": True}) == 5
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 5
    assert Conversation.objects.count() == 1
    assert ChannelContact.objects.get().chat_id == GROUP
    assert InboundEvent.objects.count() == 5
