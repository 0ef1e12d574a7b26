"""WhatsApp Cloud API adapter against a fake Graph API on 127.0.0.1."""

import json
import threading

import pytest
from django.db import connection
from django.urls import reverse

from omnichannel import services
from omnichannel.models import (
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
from tests.omnichannel.conftest import go_online
from tests.providers.fake import whatsapp_message, whatsapp_status

WA_ID = "5511988887777"


def url(account):
    return reverse("webhooks:receive", args=["whatsapp", account.key])


def post(client, account, payload, *, secret=None, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {}
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    elif secret is not False:
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign_hub(body, secret or account.app_secret)
    return client.post(url(account), data=body, content_type="application/json", **headers)


# --- handshake and signatures ----------------------------------------------------------------


def test_verification_handshake(client, wa_account):
    ok = client.get(url(wa_account), {"hub.mode": "subscribe", "hub.verify_token": "verifica-123", "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = client.get(url(wa_account), {"hub.mode": "subscribe", "hub.verify_token": "errado", "hub.challenge": "1"})
    assert bad.status_code == 403
    assert client.get(url(wa_account)).status_code == 403


def test_unknown_account_is_404(client, wa_account):
    wrong = reverse("webhooks:receive", args=["whatsapp", "6f1c1d1e-1111-4222-8333-944455556666"])
    assert client.post(wrong, data=b"{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", ""])
def test_bad_or_missing_signature_is_403_and_stores_nothing(client, wa_account, signature):
    payload = whatsapp_message(WA_ID, "Olá, ção 😀 não tenho internet", msg_id="wamid.A1")
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {} if signature is None else {"HTTP_X_HUB_SIGNATURE_256": signature}
    response = client.post(url(wa_account), data=body, content_type="application/json", **headers)
    assert response.status_code == 403
    assert not Message.objects.exists() and not InboundEvent.objects.exists() and not Conversation.objects.exists()


def test_signature_over_other_secret_is_403(client, wa_account):
    response = post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.A2"), secret="outro-segredo")
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_signature_is_checked_on_raw_bytes_with_emoji_and_accents(client, wa_account, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    payload = whatsapp_message(WA_ID, "Olá! Açaí 🍧 não chega — sem conexão", msg_id="wamid.A3", name="José Ñandú")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, wa_account, payload)
    assert response.status_code == 200, response.content
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert message.body == "Olá! Açaí 🍧 não chega — sem conexão"
    conversation = message.conversation
    assert conversation.channel == "whatsapp" and conversation.contact_name == "José Ñandú"
    assert conversation.status == ConversationStatus.IN_PROGRESS and conversation.agent == agent
    # An unknown number: no customer yet, so no ticket until the agent links the customer.
    assert conversation.customer is None and conversation.ticket is None
    # The raw payload is kept for audit, byte for byte.
    event = InboundEvent.objects.get()
    assert json.loads(event.body) == payload


# --- intake ------------------------------------------------------------------------------------


def test_known_customer_gets_a_ticket_with_the_protocol_event(client, wa_account, customer):
    from tickets.models import EventKind

    customer.mobile = WA_ID
    customer.save()
    assert post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.K1")).status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.customer == customer and conversation.ticket is not None
    event = conversation.ticket.events.get(kind=EventKind.CONVERSATION_STARTED, data__conversation_id=conversation.pk)
    assert event.data["protocol"] == conversation.protocol and event.data["channel"] == "whatsapp"


def test_protocol_message_goes_out_through_the_fake(client, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.B1"))
    conversation = Conversation.objects.get()
    sent = wa_fake.requests_to(r"/v21.0/1000/messages")
    assert sent, "the protocol message was sent"
    first = sent[0].json()
    assert first["to"] == WA_ID and first["type"] == "text" and conversation.protocol in first["text"]["body"]
    assert sent[0].headers["Authorization"] == "Bearer EAAG-test-token"
    system = conversation.messages.filter(kind=MessageKind.SYSTEM).first()
    assert system.state == MessageState.SENT and system.external_id.startswith("wamid.FAKE")


def test_redelivery_is_stored_once(client, wa_account, django_capture_on_commit_callbacks):
    payload = whatsapp_message(WA_ID, "uma vez", msg_id="wamid.C1")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, wa_account, payload).status_code == 200
        assert post(client, wa_account, payload).status_code == 200
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 1
    assert Conversation.objects.count() == 1
    assert InboundEvent.objects.count() == 2  # both deliveries are kept for audit


def test_two_messages_of_one_contact_land_in_one_conversation(client, wa_account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "primeira", msg_id="wamid.D1"))
        post(client, wa_account, whatsapp_message(WA_ID, "segunda", msg_id="wamid.D2"))
    conversation = Conversation.objects.get()
    assert list(conversation.messages.filter(kind=MessageKind.CUSTOMER).values_list("body", flat=True)) == ["primeira", "segunda"]
    assert ChannelContact.objects.get().external_id == WA_ID


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"\"texto\"", b"\xff\xfe"])
def test_malformed_json_is_400(client, wa_account, raw):
    response = post(client, wa_account, None, raw=raw)
    assert response.status_code == 400
    assert not Message.objects.exists() and not InboundEvent.objects.exists()


def test_malformed_message_is_400_and_stores_nothing(client, wa_account):
    payload = whatsapp_message(WA_ID, "x", msg_id="wamid.E1")
    payload["entry"][0]["changes"][0]["value"]["messages"].append({"type": "text", "text": {"body": "sem id"}})
    response = post(client, wa_account, payload)
    assert response.status_code == 400
    assert not Message.objects.exists() and not InboundEvent.objects.exists() and not Conversation.objects.exists()


def _value(payload):
    return payload["entry"][0]["changes"][0]["value"]


def _entry_is_number(p):
    p["entry"] = [5]


def _changes_is_number(p):
    p["entry"][0]["changes"] = 7


def _metadata_is_text(p):
    _value(p)["metadata"] = "x"


def _messages_is_object(p):
    _value(p)["messages"] = {"id": "wamid.T1"}


def _text_is_text(p):
    _value(p)["messages"][0]["text"] = "corpo solto"


def _contacts_profile_is_text(p):
    _value(p)["contacts"][0]["profile"] = "Maria"


def _interactive_is_text(p):
    _value(p)["messages"][0].update(type="interactive", interactive="sim")


def _statuses_is_text(p):
    _value(p)["statuses"] = "delivered"


@pytest.mark.parametrize(
    "damage",
    [
        _entry_is_number,
        _changes_is_number,
        _metadata_is_text,
        _messages_is_object,
        _text_is_text,
        _contacts_profile_is_text,
        _interactive_is_text,
        _statuses_is_text,
    ],
)
def test_signed_payload_with_wrong_field_types_is_400_and_stores_nothing(client, wa_account, damage):
    payload = whatsapp_message(WA_ID, "oi", msg_id="wamid.T0")
    damage(payload)
    response = post(client, wa_account, payload)
    assert response.status_code == 400, response.content
    assert "inválid" in response.json()["error"]
    assert not Message.objects.exists() and not InboundEvent.objects.exists() and not Conversation.objects.exists()


def test_receipt_with_errors_in_an_odd_shape_is_still_accepted(client, wa_account, agent, django_capture_on_commit_callbacks):
    payload = whatsapp_status("wamid.nenhum", "failed")
    _value(payload)["statuses"][0]["errors"] = ["texto em vez de objeto"]
    assert post(client, wa_account, payload).status_code == 200


def test_unknown_event_types_are_200_and_ignored(client, wa_account):
    assert post(client, wa_account, {"object": "page", "entry": []}).status_code == 200
    other_field = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {}}]}]}
    assert post(client, wa_account, other_field).status_code == 200
    unsupported = whatsapp_message(WA_ID, "", msg_id="wamid.U1", extra={"type": "reaction", "reaction": {"emoji": "👍"}})
    assert post(client, wa_account, unsupported).status_code == 200
    assert "não suportada" in Message.objects.get(kind=MessageKind.CUSTOMER).body


def test_location_becomes_a_message_part(client, wa_account):
    payload = whatsapp_message(WA_ID, "", msg_id="wamid.L1", extra={"type": "location", "location": {
        "latitude": -23.55, "longitude": -46.63, "name": "Loja", "address": "Av. Paulista"}})
    assert post(client, wa_account, payload).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert message.data["location"]["latitude"] == -23.55 and "Av. Paulista" in message.body


def test_image_is_fetched_and_attached(client, wa_account, wa_fake, django_capture_on_commit_callbacks):
    wa_fake.media["MID1"] = (b"\x89PNG fake image bytes", "image/png")
    payload = whatsapp_message(WA_ID, "", msg_id="wamid.M1", extra={"type": "image", "image": {
        "id": "MID1", "mime_type": "image/png", "sha256": "x", "caption": "Foto do roteador"}})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, wa_account, payload).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert message.body == "Foto do roteador"
    attachment = message.attachments.get()
    assert attachment.content_type == "image/png" and attachment.size == len(b"\x89PNG fake image bytes")
    assert message.data["media"][0]["done"] is True


def test_media_over_the_limit_is_refused(client, settings, wa_account, wa_fake, django_capture_on_commit_callbacks):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 10
    wa_fake.media["BIG"] = (b"x" * 100, "application/pdf")
    payload = whatsapp_message(WA_ID, "", msg_id="wamid.M2", extra={"type": "document", "document": {
        "id": "BIG", "mime_type": "application/pdf", "filename": "fatura.pdf"}})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, wa_account, payload).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert not message.attachments.exists()
    assert message.data["media"][0]["refused"] is True


# --- receipts ------------------------------------------------------------------------------------


def _sent_message(client, wa_account, agent, captured):
    go_online(agent)
    with captured(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.R0"))
    conversation = Conversation.objects.get()
    with captured(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Vou verificar.")
    return Message.objects.get(kind=MessageKind.AGENT)


def test_receipts_move_state_forward_only(client, wa_account, agent, django_capture_on_commit_callbacks):
    reply = _sent_message(client, wa_account, agent, django_capture_on_commit_callbacks)
    assert reply.state == MessageState.SENT and reply.external_id
    for status, expected in (("delivered", "delivered"), ("read", "read"), ("delivered", "read"), ("sent", "read")):
        assert post(client, wa_account, whatsapp_status(reply.external_id, status)).status_code == 200
        reply.refresh_from_db()
        assert reply.state == expected


def test_failed_receipt_marks_failed(client, wa_account, agent, django_capture_on_commit_callbacks):
    reply = _sent_message(client, wa_account, agent, django_capture_on_commit_callbacks)
    payload = whatsapp_status(reply.external_id, "failed")
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = [{"code": 131047, "title": "Re-engagement message"}]
    post(client, wa_account, payload)
    reply.refresh_from_db()
    assert reply.state == MessageState.FAILED and "Re-engagement" in reply.error


# --- outbound ---------------------------------------------------------------------------------


def test_reply_retried_after_500_is_sent_once(client, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.S0"))
    conversation = Conversation.objects.get()
    before = len(wa_fake.requests_to("/messages"))
    wa_fake.fail_next(500)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Resposta após falha")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2
    bodies = [r.json()["text"]["body"] for r in wa_fake.requests_to("/messages")[before:]]
    assert bodies == ["Resposta após falha", "Resposta após falha"]  # the failed try, then the success
    # A duplicate run of the task after the success sends nothing more.
    send_message.apply(args=[reply.pk])
    assert len(wa_fake.requests_to("/messages")) == before + 2


def test_reply_retried_after_timeout(client, settings, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    settings.CHANNEL_HTTP_TIMEOUT = 0.5
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.T0"))
    conversation = Conversation.objects.get()
    wa_fake.fail_next(200, delay=1.0, body={"messages": [{"id": "wamid.LATE"}]})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Depois do timeout")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.SENT and reply.attempts == 2 and reply.external_id != "wamid.LATE"


def test_refused_by_provider_is_failed_not_retried(client, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.F0"))
    conversation = Conversation.objects.get()
    wa_fake.fail_next(400, body={"error": {"message": "Invalid parameter"}})
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.FAILED and reply.attempts == 1 and "Invalid parameter" in reply.error


def test_retries_run_out_then_failed(client, settings, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    settings.CHANNEL_SEND_MAX_RETRIES = 2
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.G0"))
    conversation = Conversation.objects.get()
    wa_fake.fail_next(503, times=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="x")
    reply = Message.objects.get(kind=MessageKind.AGENT)
    assert reply.state == MessageState.FAILED and reply.attempts == 3


def test_without_credentials_messages_are_not_sent_and_kept(client, wa_account, agent, django_capture_on_commit_callbacks):
    wa_account.access_token = ""
    wa_account.save()
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.N0"))
    system = Message.objects.filter(kind=MessageKind.SYSTEM).first()
    assert system.state == MessageState.NOT_SENT


def test_agent_attachment_is_uploaded_then_sent(client, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.P0"))
    conversation = Conversation.objects.get()
    upload = SimpleUploadedFile("boleto.pdf", b"%PDF-1.4 fake", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Segue o boleto", files=[upload])
    assert wa_fake.requests_to(r"/1000/media")
    document = [r.json() for r in wa_fake.requests_to("/messages") if r.json().get("type") == "document"]
    assert document and document[0]["document"]["filename"] == "boleto.pdf"


# --- the 24-hour window ---------------------------------------------------------------------


def test_24_hour_window(client, wa_account, wa_fake, agent, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.W0"))
    conversation = Conversation.objects.get()
    ChannelContact.objects.update(last_inbound_at=timezone.now() - timedelta(hours=25))
    conversation.refresh_from_db()
    assert not services.within_service_window(conversation)
    with pytest.raises(ValidationError, match="24 horas"):
        services.conversation_reply(actor=agent, conversation=conversation, body="fora da janela")
    assert not Message.objects.filter(kind=MessageKind.AGENT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_send_template(actor=agent, conversation=conversation, template="retomar_contato")
    template = [r.json() for r in wa_fake.requests_to("/messages") if r.json().get("type") == "template"]
    assert template[0]["template"] == {"name": "retomar_contato", "language": {"code": "pt_BR"}}
    # The customer writes again: the window reopens.
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "voltei", msg_id="wamid.W1"))
    conversation.refresh_from_db()
    assert services.within_service_window(conversation)


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_once(live_server, team, company, process):
    """The same message delivered by 6 threads at once, over real sockets: stored once."""
    from omnichannel.models import Channel, ChannelAccount
    from tests.omnichannel.conftest import make_queue
    from tests.providers.fake import post_webhook

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    queue = make_queue(team, company, process, name="WA concorrência", channel=Channel.WHATSAPP)
    account = ChannelAccount.objects.create(name="WA", channel=Channel.WHATSAPP, external_id="1000", queue=queue,
                                            app_secret="s3cr3t", verify_token="v")
    target = live_server.url + url(account)
    bodies = [json.dumps(whatsapp_message(WA_ID, "mesma", msg_id="wamid.X1")).encode()] * 6
    bodies += [json.dumps(whatsapp_message(WA_ID, f"outra {i}", msg_id=f"wamid.X{i + 2}")).encode() for i in range(4)]
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
    assert Conversation.objects.count() == 1
    assert ChannelContact.objects.count() == 1


# --- automatic messages and the SAC Plus request -------------------------------------------------


@pytest.fixture
def contact_reason(db):
    from omnichannel.models import ContactReason

    return ContactReason.objects.create(name="Sem conexão")


def _concluded_whatsapp_conversation(client, wa_account, agent, capture, contact_reason):
    go_online(agent)
    with capture(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "sem sinal", msg_id="wamid.V0"))
    conversation = Conversation.objects.get()
    wa_account.queue.contact_reasons.add(contact_reason)
    with capture(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Resolvido agora.")
        services.conversation_finish(actor=agent, conversation=conversation, contact_reason=contact_reason)
    conversation.refresh_from_db()
    return conversation


def _texts_sent(wa_fake):
    return [r.json()["text"]["body"] for r in wa_fake.requests_to("/messages") if r.json().get("type") == "text"]


def test_evaluation_request_goes_out_through_whatsapp(
    client, wa_account, wa_fake, agent, contact_reason, django_capture_on_commit_callbacks
):
    from omnichannel.models import Evaluation

    conversation = _concluded_whatsapp_conversation(
        client, wa_account, agent, django_capture_on_commit_callbacks, contact_reason
    )
    assert conversation.status == ConversationStatus.CONCLUDED
    evaluation = Evaluation.objects.get(conversation=conversation)
    assert evaluation.send_count == 1
    request = [t for t in _texts_sent(wa_fake) if "avalie de 1 a 5" in t]
    assert len(request) == 1 and "/avaliacao/" in request[0]
    sent = Message.objects.get(kind=MessageKind.SYSTEM, data__evaluation_id=evaluation.pk)
    assert sent.state == MessageState.SENT


def test_automatic_message_outside_the_window_fails_with_the_reason_and_never_reaches_whatsapp(
    client, wa_account, wa_fake, agent, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa_account, whatsapp_message(WA_ID, "oi", msg_id="wamid.V1"))
    conversation = Conversation.objects.get()
    ChannelContact.objects.update(last_inbound_at=timezone.now() - timedelta(hours=25))
    before = len(wa_fake.requests_to("/messages"))
    with django_capture_on_commit_callbacks(execute=True):
        message = services.conversation_system_message(conversation=conversation, body="Ainda está aí?")
    message.refresh_from_db()
    assert message.state == MessageState.FAILED
    assert "24 horas" in message.error
    assert len(wa_fake.requests_to("/messages")) == before


def test_resend_after_the_window_goes_by_email_or_is_refused_with_the_reason(
    client, wa_account, wa_fake, agent, supervisor, contact_reason, closing_classification, customer,
    django_capture_on_commit_callbacks, settings,
):
    from datetime import timedelta

    from django.contrib.auth.models import Permission
    from django.core import mail
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from omnichannel import evaluations
    from omnichannel.models import Evaluation

    settings.SACPLUS_RESEND_INTERVAL_MINUTES = 0
    customer.mobile, customer.email = WA_ID, ""
    customer.save()
    supervisor.user_permissions.add(Permission.objects.get(codename=evaluations.RESEND_PERMISSION.split(".")[1]))
    conversation = _concluded_whatsapp_conversation(
        client, wa_account, agent, django_capture_on_commit_callbacks, contact_reason
    )
    ticket = conversation.ticket
    ticket.refresh_from_db()
    if ticket.closed_at is None:
        from tickets.services import ticket_finalize

        with django_capture_on_commit_callbacks(execute=True):
            ticket_finalize(
                actor=supervisor, ticket=ticket, closing_classification=closing_classification, comment="ok"
            )
    ChannelContact.objects.update(last_inbound_at=timezone.now() - timedelta(hours=30))
    texts_before = len(_texts_sent(wa_fake))

    # No e-mail anywhere: refused, saying why, and nothing goes to WhatsApp.
    with pytest.raises(ValidationError, match="janela de 24 horas"):
        evaluations.evaluation_resend(actor=supervisor, ticket=ticket)
    assert len(_texts_sent(wa_fake)) == texts_before

    # With the customer's e-mail the request goes by e-mail instead.
    type(customer).objects.filter(pk=customer.pk).update(email="cliente@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        evaluations.evaluation_resend(actor=supervisor, ticket=ticket)
    assert [m.to for m in mail.outbox if "avalie de 1 a 5" in m.body] == [["cliente@example.com"]]
    assert len(_texts_sent(wa_fake)) == texts_before
    assert Evaluation.objects.get(conversation=conversation).send_count == 2
