"""Files the agent sends: the limits of ``validate_message_files`` and the customer's token-only download."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from omnichannel import services, widget
from omnichannel.models import Channel, MessageAttachment, MessageKind

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
