"""E-mail channel: parsing, threading, the inbound-parse endpoint, SMTP replies received by a
real aiosmtpd, and IMAP polling of a real Dovecot (both on 127.0.0.1)."""

import base64
import json

import pytest
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
from omnichannel.providers import email as provider
from omnichannel.tasks_email import poll_mailboxes
from tests.omnichannel.conftest import go_online, make_queue
from tests.providers.mailservers import SmtpServer, raw_email, start_dovecot

TOKEN = "inbound-token-8f2c"


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dovecot_server():
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot_server):
    """A fresh mailbox on the module's Dovecot: ``(server, user, password)``."""
    user, password = dovecot_server.add_user()
    return dovecot_server, user, password


@pytest.fixture
def email_queue(team, company, process):
    return make_queue(team, company, process, name="Suporte - E-mail", channel=Channel.EMAIL, max_conversations=5)


@pytest.fixture
def email_account(email_queue, smtp_server):
    return ChannelAccount.objects.create(
        name="Suporte NetRápido",
        channel=Channel.EMAIL,
        queue=email_queue,
        email_address="suporte@provedor.test",
        webhook_secret=TOKEN,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
    )


def intake_raw(account, raw: bytes):
    return provider.intake_email(account, provider.parse_bytes(raw))


def webhook_url(account):
    return reverse("webhooks:receive", args=["email", account.key])


def post(client, account, payload, *, token=TOKEN, raw=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {} if token is None else {"HTTP_X_INBOUND_TOKEN": token}
    return client.post(webhook_url(account), data=body, content_type="application/json", **headers)


# --- parsing ------------------------------------------------------------------------------------


def test_parse_keeps_sender_subject_text_and_message_id(email_account, django_capture_on_commit_callbacks):
    raw = raw_email(msgid="<abc.1@example.com>", html="<p>ignored</p>")
    with django_capture_on_commit_callbacks(execute=True):
        message = intake_raw(email_account, raw)
    assert message.kind == MessageKind.CUSTOMER
    assert message.body == "Olá, estou sem conexão. Ação necessária!"  # text/plain preferred over html
    assert message.external_id == "<abc.1@example.com>"
    assert message.data["subject"] == "Sem internet desde ontem"
    assert message.data["from"] == "maria.souza@example.com"
    contact = ChannelContact.objects.get()
    assert contact.external_id == "maria.souza@example.com" and contact.name == "Maria Souza"
    conversation = message.conversation
    assert conversation.channel == Channel.EMAIL and conversation.contact_email == "maria.souza@example.com"
    assert conversation.status == ConversationStatus.QUEUED


def test_html_only_email_becomes_text_without_markup(email_account):
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>Boa tarde,</p><p>minha fatura &amp; boleto <b>vencem</b> amanhã</p>"
        "<img src=x onerror=alert(2)></body></html>"
    )
    message = intake_raw(email_account, raw_email(text=None, html=html))
    assert message.body == "Boa tarde,\n\nminha fatura & boleto vencem amanhã"
    assert "<" not in message.body and "alert" not in message.body


def test_message_id_without_brackets_is_normalised():
    assert provider.normalize_msgid(" abc@x.com ") == "<abc@x.com>"
    assert provider.normalize_msgid("<abc@x.com>") == "<abc@x.com>"
    assert provider.msgids("<a@x> <b@y>\r\n <c@z>") == ["<a@x>", "<b@y>", "<c@z>"]
    assert provider.msgids(["<a@x>", "b@y"]) == ["<a@x>", "<b@y>"]


def test_attachments_are_stored_and_over_the_limit_refused(email_account, settings):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 1000
    raw = raw_email(attachments=[("boleto.pdf", b"%PDF-1.4 " + b"x" * 100, "application/pdf"),
                                 ("foto.jpg", b"\xff\xd8" + b"y" * 5000, "image/jpeg")])
    message = intake_raw(email_account, raw)
    files = list(message.attachments.all())
    assert [(a.name, a.size, a.content_type) for a in files] == [("boleto.pdf", 109, "application/pdf")]
    assert message.data["refused_files"] == [{"name": "foto.jpg", "size": 5002, "content_type": "image/jpeg"}]
    assert "foto.jpg" in message.body


# --- threading ----------------------------------------------------------------------------------


def test_reply_threads_by_in_reply_to(email_account):
    first = intake_raw(email_account, raw_email(msgid="<t1@example.com>"))
    reply = intake_raw(email_account, raw_email(msgid="<t2@example.com>", subject="Re: Sem internet",
                                                in_reply_to="<t1@example.com>", text="Continua sem."))
    assert reply.conversation_id == first.conversation_id
    assert Conversation.objects.count() == 1


def test_reply_threads_by_references_to_our_own_reply(email_account, agent, django_capture_on_commit_callbacks):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        first = intake_raw(email_account, raw_email(msgid="<r1@example.com>"))
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.agent_id == agent.pk
    with django_capture_on_commit_callbacks(execute=True):
        ours = services.conversation_reply(actor=agent, conversation=conversation, body="Reinicie o roteador.")
    ours.refresh_from_db()
    assert ours.state == MessageState.SENT and ours.external_id.startswith("<omni.")
    # The customer's mail program names only our message, in References (no In-Reply-To).
    reply = intake_raw(email_account, raw_email(msgid="<r2@example.com>", references=f"<other@x> {ours.external_id}"))
    assert reply.conversation_id == conversation.pk


def test_new_email_without_match_opens_its_own_conversation(email_account):
    first = intake_raw(email_account, raw_email(msgid="<n1@example.com>"))
    other = intake_raw(email_account, raw_email(msgid="<n2@example.com>", subject="Segunda via do boleto",
                                                in_reply_to="<unknown@elsewhere>"))
    assert other.conversation_id != first.conversation_id
    assert ChannelContact.objects.count() == 1  # same sender, one contact, two threads


def test_reply_to_a_closed_conversation_opens_a_new_one(email_account, supervisor):
    first = intake_raw(email_account, raw_email(msgid="<c1@example.com>"))
    services.conversation_cancel(actor=supervisor, conversation=first.conversation)
    reply = intake_raw(email_account, raw_email(msgid="<c2@example.com>", in_reply_to="<c1@example.com>"))
    assert reply.conversation_id != first.conversation_id
    assert reply.data["previous_conversation_id"] == first.conversation_id


def test_duplicate_message_id_is_stored_once(email_account):
    raw = raw_email(msgid="<dup@example.com>")
    assert intake_raw(email_account, raw) is not None
    assert intake_raw(email_account, raw) is None
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 1


def test_new_email_waits_in_filter_when_the_queue_filters(email_account, email_queue, agent, published):
    email_queue.email_filter = True
    email_queue.save()
    go_online(agent)
    message = intake_raw(email_account, raw_email(msgid="<f1@example.com>"))
    conversation = message.conversation
    assert conversation.status == ConversationStatus.IN_FILTER and conversation.agent_id is None
    assert list(conversation.messages.values_list("kind", flat=True)) == [MessageKind.CUSTOMER]  # no protocol yet
    reply = intake_raw(email_account, raw_email(msgid="<f2@example.com>", in_reply_to="<f1@example.com>"))
    assert reply.conversation_id == conversation.pk  # a reply joins the waiting e-mail


def test_our_own_address_is_ignored(email_account):
    assert intake_raw(email_account, raw_email(sender="suporte@provedor.test")) is None
    assert not Conversation.objects.exists()


# --- inbound parse endpoint -------------------------------------------------------------------


def payload(**extra):
    base = {
        "from": "José Ñandú <jose@example.com>",
        "to": "suporte@provedor.test",
        "subject": "Lentidão 🐢 à noite",
        "text": "A conexão fica lenta — ação urgente 😀",
        "message_id": "<p1@example.com>",
    }
    return {**base, **extra}


@pytest.mark.parametrize("token", [None, "", "errado", TOKEN + "x"])
def test_inbound_parse_bad_token_is_403_and_stores_nothing(client, email_account, token):
    response = post(client, email_account, payload(), token=token)
    assert response.status_code == 403
    assert not Message.objects.exists() and not InboundEvent.objects.exists()


def test_inbound_parse_without_secret_configured_is_403(client, email_account):
    email_account.webhook_secret = ""
    email_account.save()
    assert post(client, email_account, payload(), token="").status_code == 403


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        json.dumps({"subject": "sem remetente"}).encode(),
        json.dumps(payload(**{"from": "não é e-mail"})).encode(),
        json.dumps(payload(attachments=[{"filename": "a.txt", "content": "***"}])).encode(),
        json.dumps(payload(attachments="nope")).encode(),
        json.dumps(payload(subject=["x"])).encode(),
    ],
)
def test_inbound_parse_malformed_is_400_and_stores_nothing(client, email_account, raw):
    response = post(client, email_account, None, raw=raw)
    assert response.status_code == 400, response.content
    assert "error" in response.json()
    assert not Message.objects.exists() and not Conversation.objects.exists() and not InboundEvent.objects.exists()


def test_inbound_parse_stores_the_email_with_attachment(client, email_account, django_capture_on_commit_callbacks):
    content = "conteúdo do anexo".encode()
    body = payload(attachments=[{"filename": "log.txt", "content_type": "text/plain",
                                 "content": base64.b64encode(content).decode()}])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, email_account, body)
    assert response.status_code == 200 and response.json() == {"stored": 1}
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert message.body == "A conexão fica lenta — ação urgente 😀"
    assert message.data["subject"] == "Lentidão 🐢 à noite"
    assert message.conversation.contact_name == "José Ñandú"
    attachment = message.attachments.get()
    assert attachment.name == "log.txt" and attachment.file.read() == content
    audit = json.loads(InboundEvent.objects.get(kind="email-parse").body)
    assert audit["text"] == body["text"] and audit["attachments"] == [{"filename": "log.txt", "size": len(content)}]
    # Re-delivered: stored once.
    again = post(client, email_account, body)
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 1


def test_inbound_parse_attachment_over_the_limit_is_refused(client, email_account, settings):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 100
    body = payload(attachments=[{"filename": "grande.bin", "content": base64.b64encode(b"z" * 500).decode()}])
    assert post(client, email_account, body).status_code == 200
    message = Message.objects.get(kind=MessageKind.CUSTOMER)
    assert not message.attachments.exists()
    assert message.data["refused_files"][0]["name"] == "grande.bin"


def test_inbound_parse_threads_by_in_reply_to(client, email_account):
    assert post(client, email_account, payload()).status_code == 200
    assert post(client, email_account, payload(message_id="p2@example.com", in_reply_to="<p1@example.com>",
                                               references=["<p1@example.com>"])).status_code == 200
    assert Conversation.objects.count() == 1
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 2
    assert Message.objects.filter(external_id="<p2@example.com>").exists()


def test_inbound_parse_get_is_405(client, email_account):
    assert client.get(webhook_url(email_account)).status_code == 405


# --- SMTP replies ---------------------------------------------------------------------------------


def _conversation_with_agent(account, agent, capture, **email):
    go_online(agent)
    with capture(execute=True):
        first = intake_raw(account, raw_email(**email))
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.agent_id == agent.pk
    return conversation


def test_reply_is_sent_by_smtp_with_threading_headers(
    email_account, agent, smtp_server, django_capture_on_commit_callbacks
):
    conversation = _conversation_with_agent(
        email_account, agent, django_capture_on_commit_callbacks,
        msgid="<cust1@example.com>", references="<older@example.com>",
    )
    # The protocol message went out first, threaded on the customer's e-mail.
    assert len(smtp_server.wait_for(1)) == 1
    protocol = smtp_server.received[0].message
    assert protocol["In-Reply-To"] == "<cust1@example.com>"
    assert protocol["Auto-Submitted"] == "auto-generated"
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Olá Maria, já verificamos ✅")
    received = smtp_server.wait_for(2)[1]
    email = received.message
    reply.refresh_from_db()
    assert reply.state == MessageState.SENT
    assert received.rcpt_tos == ["maria.souza@example.com"] and received.mail_from == "suporte@provedor.test"
    assert email["Message-ID"] == reply.external_id
    assert reply.external_id.endswith("@provedor.test>")
    assert email["In-Reply-To"] == "<cust1@example.com>"
    assert email["References"].split() == ["<older@example.com>", "<cust1@example.com>"]
    assert email["Subject"] == f"Re: Sem internet desde ontem [{conversation.protocol}]"
    assert email.get_content().strip() == "Olá Maria, já verificamos ✅"


def test_reply_carries_the_agents_files(email_account, agent, smtp_server, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = _conversation_with_agent(email_account, agent, django_capture_on_commit_callbacks)
    upload = SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_reply(actor=agent, conversation=conversation, body="Segue o manual.", files=[upload])
    email = smtp_server.wait_for(2)[1].message
    [attachment] = list(email.iter_attachments())
    assert attachment.get_filename() == "manual.pdf" and attachment.get_content() == b"%PDF-1.4 manual"


def test_smtp_4xx_is_retried_then_sent(email_account, agent, smtp_server, django_capture_on_commit_callbacks):
    conversation = _conversation_with_agent(email_account, agent, django_capture_on_commit_callbacks)
    smtp_server.wait_for(1)
    smtp_server.fail_next("451 4.3.0 Tente mais tarde", times=2)
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Resposta")
    reply.refresh_from_db()
    assert reply.state == MessageState.SENT and reply.attempts == 3
    assert len(smtp_server.received) == 2


def test_smtp_5xx_fails_for_good(email_account, agent, smtp_server, django_capture_on_commit_callbacks):
    conversation = _conversation_with_agent(email_account, agent, django_capture_on_commit_callbacks)
    smtp_server.wait_for(1)
    smtp_server.fail_next("554 5.7.1 Mensagem recusada")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Resposta")
    reply.refresh_from_db()
    assert reply.state == MessageState.FAILED and reply.attempts == 1
    assert "554" in reply.error


def test_smtp_server_down_is_transient_then_failed(email_account, agent, smtp_server, settings,
                                                   django_capture_on_commit_callbacks):
    settings.CHANNEL_SEND_MAX_RETRIES = 1
    conversation = _conversation_with_agent(email_account, agent, django_capture_on_commit_callbacks)
    smtp_server.wait_for(1)
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Resposta")
    reply.refresh_from_db()
    assert reply.state == MessageState.FAILED and reply.attempts == 2


def test_without_smtp_the_reply_is_not_sent(email_account, agent, django_capture_on_commit_callbacks):
    email_account.smtp_host = ""
    email_account.save()
    conversation = _conversation_with_agent(email_account, agent, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.conversation_reply(actor=agent, conversation=conversation, body="Resposta")
    reply.refresh_from_db()
    assert reply.state == MessageState.NOT_SENT
    assert send_message.name == "omnichannel.send_message"


# --- IMAP polling (Dovecot) -------------------------------------------------------------------------


@pytest.fixture
def imap_account(email_account, mailbox):
    server, user, password = mailbox
    email_account.imap_host = "127.0.0.1"
    email_account.imap_port = server.port
    email_account.imap_ssl = False
    email_account.imap_user = user
    email_account.imap_password = password
    email_account.save()
    return email_account


def test_poll_reads_new_emails_and_advances_the_uid(imap_account, mailbox):
    server, user, password = mailbox
    server.deliver(user, password, raw_email(msgid="<i1@example.com>"))
    server.deliver(user, password, raw_email(msgid="<i2@example.com>", in_reply_to="<i1@example.com>",
                                             attachments=[("print.png", b"\x89PNG fake", "image/png")]))
    assert provider.poll_mailbox(imap_account) == {"read": 2, "stored": 2}
    imap_account.refresh_from_db()
    assert imap_account.imap_last_uid == 2 and imap_account.imap_uidvalidity > 0
    assert Conversation.objects.count() == 1
    second = Message.objects.get(external_id="<i2@example.com>")
    assert second.attachments.get().name == "print.png"
    # The audit copy is the e-mail's whole source (header, body and the attachment's part).
    audit = InboundEvent.objects.get(kind="email-imap", body__contains="<i2@example.com>").body
    assert "Message-ID: <i2@example.com>" in audit and 'filename="print.png"' in audit
    # Nothing new: nothing read. A new one: only it.
    assert provider.poll_mailbox(imap_account) == {"read": 0, "stored": 0}
    server.deliver(user, password, raw_email(msgid="<i3@example.com>", subject="Outro assunto"))
    assert provider.poll_mailbox(imap_account) == {"read": 1, "stored": 1}
    imap_account.refresh_from_db()
    assert imap_account.imap_last_uid == 3
    assert Conversation.objects.count() == 2


def test_repoll_from_scratch_is_idempotent(imap_account, mailbox):
    server, user, password = mailbox
    server.deliver(user, password, raw_email(msgid="<k1@example.com>"))
    assert provider.poll_mailbox(imap_account)["stored"] == 1
    ChannelAccount.objects.filter(pk=imap_account.pk).update(imap_last_uid=0)  # as after a crash
    imap_account.refresh_from_db()
    assert provider.poll_mailbox(imap_account) == {"read": 1, "stored": 0}
    assert Message.objects.filter(kind=MessageKind.CUSTOMER).count() == 1


def test_new_uidvalidity_reads_the_folder_again(imap_account, mailbox):
    server, user, password = mailbox
    conn = server.connect(user, password)
    conn.create("Suporte")
    conn.logout()
    imap_account.imap_folder = "Suporte"
    imap_account.save()
    server.deliver(user, password, raw_email(msgid="<v1@example.com>"), folder="Suporte")
    assert provider.poll_mailbox(imap_account)["stored"] == 1
    imap_account.refresh_from_db()
    old_validity = imap_account.imap_uidvalidity
    server.recreate_folder(user, password, "Suporte")
    server.deliver(user, password, raw_email(msgid="<v2@example.com>"), folder="Suporte")
    assert provider.poll_mailbox(imap_account) == {"read": 1, "stored": 1}
    imap_account.refresh_from_db()
    assert imap_account.imap_uidvalidity != old_validity and imap_account.imap_last_uid == 1


def test_invalid_sender_is_skipped_and_the_uid_still_advances(imap_account, mailbox):
    server, user, password = mailbox
    server.deliver(user, password, raw_email(sender="sem-endereco"))
    server.deliver(user, password, raw_email(msgid="<ok@example.com>"))
    assert provider.poll_mailbox(imap_account) == {"read": 2, "stored": 1}
    imap_account.refresh_from_db()
    assert imap_account.imap_last_uid == 2


def test_poll_task_goes_on_when_one_mailbox_fails(imap_account, mailbox, email_queue):
    server, user, password = mailbox
    broken = ChannelAccount.objects.create(
        name="Caixa quebrada", channel=Channel.EMAIL, queue=email_queue, email_address="x@provedor.test",
        imap_host="127.0.0.1", imap_port=server.port, imap_ssl=False, imap_user=user, imap_password="errada",
    )
    server.deliver(user, password, raw_email(msgid="<task1@example.com>"))
    result = poll_mailboxes.apply().get()
    assert result["failed"] == [broken.pk] and result["stored"] == 1
    assert Message.objects.filter(external_id="<task1@example.com>").exists()


def test_email_too_big_is_kept_as_a_note_without_downloading_it(imap_account, mailbox, settings):
    settings.OMNICHANNEL_INBOUND_MAX_BYTES = 1000  # e-mails over 2,000 bytes are not fetched whole
    server, user, password = mailbox
    big = raw_email(msgid="<big@example.com>", attachments=[("video.mp4", b"v" * 5000, "video/mp4")])
    server.deliver(user, password, big)
    assert provider.poll_mailbox(imap_account) == {"read": 1, "stored": 1}
    message = Message.objects.get(external_id="<big@example.com>")
    assert message.data["oversized"] is True and message.data["subject"] == "Sem internet desde ontem"
    assert "grande demais" in message.body and not message.attachments.exists()
