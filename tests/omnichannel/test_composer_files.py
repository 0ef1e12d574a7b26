"""Files attached in the workspace composer: sent through the view, refused with pt-BR messages and
nothing stored, shown in the message and downloaded only by who may see the conversation."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omnichannel.models import Message, MessageAttachment, MessageKind
from tests.omnichannel.conftest import go_online, make_queue, start

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PDF = b"%PDF-1.4 boleto de teste"


def upload(name: str = "boleto.pdf", content: bytes = PDF, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def assigned(agent, queue):
    go_online(agent)
    conversation = start(queue, name="Maria Cliente", message="Preciso do boleto.")
    conversation.refresh_from_db()
    assert conversation.agent_id == agent.pk
    return conversation


def send(client, conversation, data):
    return client.post(reverse("omnichannel:send", args=[conversation.pk]), data, **HTMX)


def test_reply_with_two_files_is_sent_and_shown_with_download_links(client, agent, assigned):
    client.force_login(agent)
    response = send(
        client,
        assigned,
        {"body": "Segue o boleto.", "files": [upload(), upload("foto <1>.png", b"\x89PNG fake", "image/png")]},
    )
    assert response.status_code == 200
    message = Message.objects.get(conversation=assigned, kind=MessageKind.AGENT)
    files = list(message.attachments.order_by("id"))
    assert [(a.name, a.size) for a in files] == [("boleto.pdf", len(PDF)), ("foto <1>.png", 9)]
    for attachment in files:
        assert reverse("omnichannel:message_file", args=[attachment.pk]) in response.text
    assert "foto &lt;1&gt;.png" in response.text
    assert "foto <1>.png" not in response.text
    assert len(stored_files()) == 2


def test_files_without_text_are_a_reply(client, agent, assigned):
    client.force_login(agent)
    response = send(client, assigned, {"body": "", "files": [upload()]})
    assert response.status_code == 200
    message = Message.objects.get(conversation=assigned, kind=MessageKind.AGENT)
    assert message.body == ""
    assert message.attachments.count() == 1


def test_composer_offers_the_paperclip_and_multipart(client, agent, assigned):
    client.force_login(agent)
    page = client.get(reverse("omnichannel:conversation", args=[assigned.pk])).text
    assert 'hx-encoding="multipart/form-data"' in page
    assert 'type="file" name="files" id="omni-files" multiple' in page
    assert "Anexar arquivos" in page


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([upload(f"f{n}.pdf") for n in range(6)], "Envie no máximo 5 arquivos por mensagem."),
        ([upload(content=b"x" * (3 * 1024 * 1024))], "O arquivo boleto.pdf passa de 2 MB."),
        ([upload("programa.exe", b"MZ", "application/octet-stream")], "Tipo de arquivo não permitido: programa.exe."),
    ],
    ids=["six-files", "three-mb", "exe"],
)
def test_refused_files_give_a_400_with_the_reason_and_nothing_is_stored(client, agent, assigned, files, message):
    client.force_login(agent)
    before = Message.objects.filter(conversation=assigned).count()
    response = send(client, assigned, {"body": "Segue.", "files": files})
    assert response.status_code == 400
    assert message in response.text
    assert 'id="omni-composer"' in response.text
    assert Message.objects.filter(conversation=assigned).count() == before
    assert not MessageAttachment.objects.exists()
    assert stored_files() == []


def test_internal_note_with_a_file_is_refused(client, agent, assigned):
    client.force_login(agent)
    response = send(client, assigned, {"body": "Nota", "note": "on", "files": [upload()]})
    assert response.status_code == 400
    assert "Notas internas não aceitam arquivos" in response.text
    assert not Message.objects.filter(conversation=assigned, kind=MessageKind.NOTE).exists()
    assert not MessageAttachment.objects.exists()
    assert stored_files() == []


def test_no_text_and_no_file_is_still_refused(client, agent, assigned):
    client.force_login(agent)
    response = send(client, assigned, {"body": "  "})
    assert response.status_code == 400
    assert "Escreva a mensagem." in response.text


def test_supervisor_cannot_reply_with_files(client, supervisor, assigned):
    client.force_login(supervisor)
    response = send(client, assigned, {"body": "Oi", "files": [upload()]})
    assert response.status_code == 403
    assert not MessageAttachment.objects.exists()
    assert stored_files() == []


def test_sent_file_is_downloaded_by_holder_and_supervisor_not_by_outsider(
    client, agent, supervisor, outsider, other_team, company, process, assigned
):
    make_queue(other_team, company, process, name="Financeiro - Chat")  # the outsider is an agent elsewhere
    client.force_login(agent)
    send(client, assigned, {"body": "Segue.", "files": [upload()]})
    attachment = MessageAttachment.objects.get()
    url = reverse("omnichannel:message_file", args=[attachment.pk])

    response = client.get(url)
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"

    client.force_login(supervisor)
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert client.get(reverse("omnichannel:message_file", args=[999999])).status_code == 302


def test_pane_lists_files_without_a_query_per_message(
    client, agent, assigned, django_assert_max_num_queries
):
    client.force_login(agent)
    send(client, assigned, {"body": "Um", "files": [upload()]})
    url = reverse("omnichannel:conversation", args=[assigned.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    with_one_file = len(one.captured_queries)  # now: the next request resets the connection's log
    for n in range(5):
        send(client, assigned, {"body": f"Mais {n}", "files": [upload(f"f{n}.pdf")]})
    with django_assert_max_num_queries(with_one_file):
        response = client.get(url)
    assert response.text.count('href="/omni/arquivos/') == 6
