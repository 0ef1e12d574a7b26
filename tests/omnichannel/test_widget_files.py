"""Files in the live chat: what the agent sends (the limits of ``validate_message_files``, the
customer's token-only download) and what the widget customer sends (the token-authenticated,
rate-limited upload, refused in pt-BR with nothing stored, delivered to the agent's pane)."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from omnichannel import services, widget, widget_consumers
from omnichannel.models import (
    AgentState,
    Channel,
    ConversationStatus,
    Message,
    MessageAttachment,
    MessageKind,
)
from omnichannel.publish import agent_group, conversation_group, customer_group

from .conftest import go_online

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 boleto"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def upload(name: str = "boleto.pdf", content: bytes = PDF, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def chat(menu, queue, agent):
    """A widget conversation in progress with ``agent``, and its token."""
    secret, digest = widget.new_secret()
    conversation = services.conversation_start(
        channel=Channel.LIVE_CHAT,
        contact_name="Maria",
        contact_email="maria@example.com",
        entry_point="site",
        access_token_hash=digest,
    )
    services.conversation_customer_message(conversation=conversation, body="1")
    go_online(agent)
    conversation.refresh_from_db()
    assert conversation.agent == agent
    return conversation, widget.make_token(conversation.pk, secret)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([upload(f"f{n}.pdf") for n in range(6)], "Envie no máximo 5 arquivos por mensagem."),
        ([upload(content=b"x" * (2 * 1024 * 1024 + 1))], "O arquivo boleto.pdf passa de 2 MB."),
        ([upload("virus.exe")], "Tipo de arquivo não permitido: virus.exe."),
        ([upload("semextensao")], "Tipo de arquivo não permitido: semextensao."),
        ([upload(content=b"")], "O arquivo boleto.pdf está vazio."),
    ],
)
def test_files_beyond_the_limits_are_refused_and_nothing_is_sent(chat, agent, files, message):
    conversation, _token = chat
    before = conversation.messages.count()

    with pytest.raises(ValidationError) as refused:
        services.conversation_reply(
            actor=agent, conversation=conversation, body="Segue.", files=files
        )

    assert refused.value.message_dict == {"files": [message]}
    assert conversation.messages.count() == before
    assert not MessageAttachment.objects.exists()


def test_five_files_of_two_megabytes_go_and_a_message_may_be_only_files(chat, agent):
    conversation, _token = chat
    files = [upload(f"f{n}.pdf", b"x" * (2 * 1024 * 1024)) for n in range(5)]

    message = services.conversation_reply(
        actor=agent, conversation=conversation, body="", files=files
    )

    assert message.body == ""
    assert sorted(message.attachments.values_list("name", flat=True)) == [
        f"f{n}.pdf" for n in range(5)
    ]


def test_the_customer_downloads_the_agents_file_with_the_token_only(chat, agent, client):
    conversation, token = chat
    message = services.conversation_reply(
        actor=agent,
        conversation=conversation,
        body="Segue o boleto.",
        files=[upload('"boleto".pdf')],
    )
    attachment = message.attachments.get()

    response = Client().get(f"/chat/t/{token}/arquivos/{attachment.pk}/")
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/chat/t/x/arquivos/{attachment.pk}/").status_code == 404
    forged = widget.make_token(conversation.pk, "guess")
    assert client.get(f"/chat/t/{forged}/arquivos/{attachment.pk}/").status_code == 404
    assert client.get(f"/chat/t/{token}/arquivos/{attachment.pk + 1}/").status_code == 404
    transcript = client.get(f"/chat/t/{token}/transcricao.txt").content.decode()
    assert "Segue o boleto.\n    [anexo: " in transcript


def test_another_conversations_file_or_a_notes_file_is_never_served(chat, agent, client, menu):
    conversation, token = chat
    note = services.conversation_note(actor=agent, conversation=conversation, body="print interno")
    internal = MessageAttachment(message=note, name="interno.png", size=3)
    internal.file.save("interno.png", upload("interno.png", b"png"), save=True)
    secret, digest = widget.new_secret()
    other = services.conversation_start(
        channel=Channel.LIVE_CHAT,
        contact_name="Outra",
        contact_email="o@example.com",
        entry_point="site",
        access_token_hash=digest,
    )
    other_token = widget.make_token(other.pk, secret)
    mine = services.conversation_reply(
        actor=agent, conversation=conversation, body="x", files=[upload()]
    )
    file_id = mine.attachments.get().pk

    assert client.get(f"/chat/t/{token}/arquivos/{internal.pk}/").status_code == 404
    assert client.get(f"/chat/t/{other_token}/arquivos/{file_id}/").status_code == 404
    assert all(not m.files for m in widget.customer_messages(conversation.pk) if m.side != "agent")
    assert note.kind == MessageKind.NOTE


def test_the_chat_page_lists_the_files_escaped(chat, agent, client):
    conversation, token = chat
    services.conversation_reply(
        actor=agent,
        conversation=conversation,
        body="",
        files=[upload("<img src=x onerror=alert(1)>.pdf")],
    )
    client.cookies["omni_chat_site"] = token

    page = client.get("/chat/site/").content.decode()

    assert f"/chat/t/{token}/arquivos/" in page
    assert "<img src=x" not in page


# --- files the widget customer sends ---------------------------------------------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


def upload_url(token: str) -> str:
    return f"/chat/t/{token}/enviar-arquivos/"


def send_files(token: str, files, *, client=None, **extra):
    return (client or Client()).post(upload_url(token), {"files": files}, **{**HTMX, **extra})


def customer_messages_of(conversation) -> list[Message]:
    return list(conversation.messages.filter(kind=MessageKind.CUSTOMER).order_by("id"))


def test_the_customer_sends_files_and_the_agents_pane_is_told_after_commit(
    chat, published, django_capture_on_commit_callbacks
):
    conversation, token = chat
    before = customer_messages_of(conversation)

    with django_capture_on_commit_callbacks(execute=True):
        response = send_files(
            token, [upload("conta.pdf"), upload("foto.png", b"\x89PNG", "image/png")]
        )

    assert response.status_code == 200
    assert 'id="widget-alert"' in response.text and "is-visible" not in response.text
    message = customer_messages_of(conversation)[len(before)]
    assert message.body == ""
    assert [(a.name, a.size) for a in message.attachments.order_by("id")] == [
        ("conta.pdf", len(PDF)),
        ("foto.png", 4),
    ]
    created = [
        groups
        for groups, payload in published
        if payload.get("model") == "message" and payload.get("message_id") == message.pk
    ]
    delivered = {group for groups in created for group in groups}
    assert {conversation_group(conversation.pk), agent_group(conversation.agent_id)} <= delivered
    assert customer_group(conversation.pk) in delivered
    conversation.refresh_from_db()
    assert conversation.last_customer_message_at == message.created_at


def test_the_agent_downloads_the_customers_file_in_the_workspace_and_an_outsider_cannot(
    chat, agent, outsider, client
):
    conversation, token = chat
    send_files(token, [upload("conta.pdf")])
    attachment = MessageAttachment.objects.get(message__kind=MessageKind.CUSTOMER)
    url = reverse("omnichannel:message_file", args=[attachment.pk])

    client.force_login(agent)
    pane = client.get(reverse("omnichannel:conversation", args=[conversation.pk]))
    assert url in pane.text and "conta.pdf" in pane.text
    download = client.get(url)
    assert download.status_code == 200
    assert download.content == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_customer_sees_their_file_in_the_chat_and_downloads_it_with_the_token(chat):
    conversation, token = chat
    send_files(token, [upload("<img src=x onerror=alert(1)>.pdf")])
    attachment = MessageAttachment.objects.get(message__kind=MessageKind.CUSTOMER)
    browser = Client()
    browser.cookies["omni_chat_site"] = token

    page = browser.get("/chat/site/").text

    assert f"/chat/t/{token}/arquivos/{attachment.pk}/" in page
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in page and "<img src=x" not in page
    assert browser.get(f"/chat/t/{token}/arquivos/{attachment.pk}/").content == PDF


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([upload(f"f{n}.pdf") for n in range(6)], "Envie no máximo 5 arquivos por mensagem."),
        ([upload(content=b"x" * (2 * 1024 * 1024 + 1))], "O arquivo boleto.pdf passa de 2 MB."),
        ([upload("script.exe")], "Tipo de arquivo não permitido: script.exe."),
        ([], "Escolha um arquivo para enviar."),
    ],
)
def test_files_beyond_the_limits_are_refused_in_portuguese_and_nothing_is_stored(
    chat, files, message
):
    conversation, token = chat
    before = conversation.messages.count()

    response = send_files(token, files)

    assert response.status_code == 400
    assert message in response.text
    assert "is-visible" in response.text
    assert conversation.messages.count() == before
    assert not MessageAttachment.objects.exists()


def test_a_body_larger_than_five_files_of_two_megabytes_is_refused_before_parsing(chat):
    conversation, token = chat
    before = conversation.messages.count()

    response = send_files(token, [upload(f"f{n}.pdf", b"x" * (2 * 1024 * 1024)) for n in range(6)])

    assert response.status_code == 413
    assert "Envie no máximo 5 arquivos de até 2 MB cada." in response.text
    assert conversation.messages.count() == before
    assert not MessageAttachment.objects.exists()


def test_a_closed_conversation_takes_no_files(chat, agent, contact_reason):
    conversation, token = chat
    services.conversation_finish(
        actor=agent, conversation=conversation, contact_reason=contact_reason, notes=""
    )
    before = conversation.messages.count()

    response = send_files(token, [upload()])

    assert response.status_code == 400
    assert "já foi encerrada" in response.text
    assert conversation.messages.count() == before
    assert not MessageAttachment.objects.exists()


def test_a_bad_or_forged_token_is_refused_and_nothing_is_stored(chat):
    conversation, _token = chat
    before = conversation.messages.count()
    forged = widget.make_token(conversation.pk, "palpite")

    for token in ("x", forged):
        response = send_files(token, [upload()])
        assert response.status_code == 404
        assert "Conversa não encontrada ou link expirado." in response.text
    assert conversation.messages.count() == before
    assert not MessageAttachment.objects.exists()


def test_files_wait_until_the_customer_leaves_the_bot_menu(menu):
    secret, digest = widget.new_secret()
    conversation = services.conversation_start(
        channel=Channel.LIVE_CHAT,
        contact_name="Maria",
        contact_email="maria@example.com",
        entry_point="site",
        access_token_hash=digest,
    )
    token = widget.make_token(conversation.pk, secret)
    assert conversation.status == ConversationStatus.BOT
    browser = Client()
    browser.cookies["omni_chat_site"] = token
    assert 'id="widget-upload"' not in browser.get("/chat/site/").text

    response = send_files(token, [upload()])

    assert response.status_code == 400
    assert "Escolha uma opção do menu antes de enviar arquivos." in response.text
    assert not MessageAttachment.objects.exists()
    services.conversation_customer_message(conversation=conversation, body="1")  # → the queue
    previous = widget.widget_state(conversation.pk)
    assert 'id="widget-upload"' in browser.get("/chat/site/").text
    assert send_files(token, [upload()]).status_code == 200  # waiting in the queue: files go
    assert MessageAttachment.objects.count() == 1
    # The socket sends the paperclip alone when the state changes (the typed text stays).
    bot_state = widget.WidgetState(**{**previous.__dict__, "status": ConversationStatus.BOT})
    html, _state, _last = widget_consumers._changes(conversation.pk, token, 10**9, bot_state)
    assert 'id="widget-attach"' in html and 'id="widget-upload"' in html
    assert 'id="widget-composer"' not in html


def test_the_upload_needs_the_csrf_token_the_chat_page_hands_to_htmx(chat):
    conversation, token = chat
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["omni_chat_site"] = token

    assert send_files(token, [upload()], client=browser).status_code == 403
    page = browser.get("/chat/site/")
    csrf = browser.cookies["csrftoken"].value
    assert "X-CSRFToken" in page.text
    response = send_files(token, [upload()], client=browser, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert MessageAttachment.objects.count() == 1


def test_uploads_are_rate_limited_per_conversation(chat, settings):
    settings.OMNICHANNEL_WIDGET_RATE_LIMITS = {
        **settings.OMNICHANNEL_WIDGET_RATE_LIMITS,
        "upload_token": "2/60",
    }
    _conversation, token = chat

    codes = [send_files(token, [upload()]).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    refused = send_files(token, [upload()])
    assert "Muitos envios em pouco tempo" in refused.text
    assert refused["Retry-After"] == "60"
    assert MessageAttachment.objects.count() == 2


def test_without_htmx_the_upload_redirects_to_the_chat_or_shows_the_error_page(chat):
    _conversation, token = chat

    sent = Client().post(upload_url(token), {"files": [upload()]})
    refused = Client().post(upload_url(token), {"files": [upload("x.exe")]})

    assert sent.status_code == 302 and sent["Location"] == "/chat/site/"
    assert refused.status_code == 400
    assert "Tipo de arquivo não permitido: x.exe." in refused.text
    assert MessageAttachment.objects.count() == 1


def test_a_file_to_an_agent_gone_offline_returns_the_conversation_to_the_queue(chat, agent):
    conversation, token = chat
    services.conversation_reply(actor=agent, conversation=conversation, body="Olá!")
    services.agent_set_state(actor=agent, agent=agent, state=AgentState.OFFLINE)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.IN_PROGRESS  # answered: it stays with her

    assert send_files(token, [upload()]).status_code == 200

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.QUEUED
