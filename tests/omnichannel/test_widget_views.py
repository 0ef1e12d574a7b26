"""The public live-chat widget over HTTP: start form, tokens, transcript, limits, escaping."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from omnichannel import services, widget
from omnichannel.models import Conversation, ConversationStatus, MessageKind

from .conftest import go_online

pytestmark = pytest.mark.django_db

PAGE = "/chat/site/"
VALID = {"name": "Maria Oliveira", "email": "maria@example.com", "phone": "", "document": ""}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def start_chat(client: Client, menu, **data) -> Conversation:
    response = client.post(PAGE, {**VALID, **data})
    assert response.status_code == 302, response.content.decode()[:500]
    return Conversation.objects.latest("id")


def token_of(client: Client) -> str:
    return client.cookies["omni_chat_site"].value


def test_the_page_is_public_embeddable_and_shows_the_start_form(client, menu):
    response = client.get(PAGE)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in body
    assert "Iniciar conversa" in body
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]


def test_an_unknown_or_inactive_entry_point_answers_404_in_portuguese(client, menu):
    assert client.get("/chat/nao-existe/").status_code == 404
    menu.active = False
    menu.save()
    response = client.get(PAGE)
    assert response.status_code == 404
    assert "Este canal de atendimento não existe ou está desativado." in response.content.decode()


def test_start_opens_a_bot_conversation_keeps_only_the_token_hash_and_shows_the_chat(client, menu):
    conversation = start_chat(client, menu, document="529.982.247-25", phone="(11) 91234-5678")

    assert conversation.status == ConversationStatus.BOT
    assert (
        conversation.contact_name,
        conversation.contact_document,
        conversation.contact_phone,
    ) == (
        "Maria Oliveira",
        "52998224725",
        "11912345678",
    )
    token = token_of(client)
    cookie = client.cookies["omni_chat_site"]
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (True, "Lax", "/chat/")
    assert len(conversation.access_token_hash) == 64 and conversation.access_token_hash not in token
    assert widget.conversation_for_token(token) == conversation
    page = client.get(PAGE).content.decode()
    assert f'ws-connect="/ws/chat/{token}/"' in page
    assert f"O protocolo deste atendimento é {conversation.protocol}" in page
    assert "1 - Suporte" in page  # the bot's options as quick replies


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "phone": ""}, "Informe o e-mail ou o telefone."),
        ({"email": "maria@"}, "Informe um endereço de email válido."),
        ({"phone": "123"}, "Telefone inválido"),
        ({"document": "111.111.111-11"}, "CPF inválido: confira os dígitos verificadores."),
        ({"document": "11.222.333/0001-00"}, "CNPJ inválido: confira os dígitos verificadores."),
        ({"document": "1234"}, "Informe um CPF (11 dígitos) ou um CNPJ (14 caracteres)."),
        ({"name": "   "}, "Este campo é obrigatório."),
        ({"name": "x" * 201}, "no máximo 200 caracteres"),
    ],
)
def test_bad_input_is_refused_with_400_and_a_portuguese_message(client, menu, data, message):
    response = client.post(PAGE, {**VALID, **data})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Conversation.objects.exists()


def test_a_filled_honeypot_starts_nothing(client, menu):
    response = client.post(PAGE, {**VALID, "website": "http://spam.example"})

    assert response.status_code == 400
    assert not Conversation.objects.exists()


def test_start_needs_the_csrf_token(menu):
    csrf_client = Client(enforce_csrf_checks=True)

    assert csrf_client.post(PAGE, VALID).status_code == 403
    assert not Conversation.objects.exists()


def test_start_is_rate_limited_per_ip_with_a_clear_429(client, menu, monkeypatch):
    monkeypatch.setitem(settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "start_ip", (2, 600))
    for n in range(2):
        assert client.post(PAGE, {**VALID, "email": f"c{n}@example.com"}).status_code == 302
        client.cookies.clear()  # a new visitor from the same address

    response = client.post(PAGE, {**VALID, "email": "c3@example.com"})

    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    assert (
        "Muitas tentativas em pouco tempo. Aguarde alguns minutos e tente novamente."
        in response.content.decode()
    )
    assert Conversation.objects.count() == 2
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post(PAGE, {**VALID, "email": "c4@example.com"}).status_code == 302


def test_a_second_submit_keeps_the_open_conversation(client, menu):
    first = start_chat(client, menu)

    assert client.post(PAGE, VALID).status_code == 302
    assert Conversation.objects.get() == first


def test_transcript_needs_the_token(client, menu):
    conversation = start_chat(client, menu)
    token = token_of(client)
    services.conversation_customer_message(conversation=conversation, body="1")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    assert client.get(f"/chat/t/{tampered}/transcricao.txt").status_code == 404
    assert client.get("/chat/t/x/transcricao.txt").status_code == 404
    # A genuine signature whose secret is not the stored one (e.g. a token of a revoked grant).
    forged = widget.make_token(conversation.pk, "not-the-secret")
    assert client.get(f"/chat/t/{forged}/transcricao.txt").status_code == 404
    anonymous = Client()
    response = anonymous.get(f"/chat/t/{token}/transcricao.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="atendimento-')
    assert f"Transcrição do atendimento {conversation.protocol}" in response.content.decode()


def test_an_expired_token_opens_nothing(client, menu):
    start_chat(client, menu)
    token = token_of(client)

    with time_machine.travel(timezone.now() + timedelta(seconds=widget.TOKEN_MAX_AGE + 60)):
        assert widget.conversation_for_token(token) is None


def test_transcript_shows_the_agent_by_first_name_only_and_never_internal_notes(
    client, menu, agent
):
    conversation = start_chat(client, menu)
    token = token_of(client)
    services.conversation_customer_message(conversation=conversation, body="1")
    go_online(agent)
    conversation.refresh_from_db()
    assert conversation.agent == agent
    services.conversation_reply(
        actor=agent, conversation=conversation, body="Olá, sou a Ana. Vou verificar."
    )
    services.conversation_note(
        actor=agent, conversation=conversation, body="Cliente inadimplente, cuidado."
    )

    text = client.get(f"/chat/t/{token}/transcricao.txt").content.decode()

    assert "Ana: Olá, sou a Ana. Vou verificar." in text
    assert "inadimplente" not in text
    assert "Souza" not in text and agent.username not in text and agent.email not in text
    page = client.get(PAGE).content.decode()
    assert "Ana está atendendo você" in page
    assert "inadimplente" not in page and "Souza" not in page


def test_a_script_typed_by_the_customer_is_text_on_the_page_and_in_the_transcript(client, menu):
    conversation = start_chat(client, menu, name="<b>Zé</b>")
    services.conversation_customer_message(
        conversation=conversation, body="<script>alert('x')</script>"
    )

    page = client.get(PAGE).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>Zé</b>" not in page
    transcript = client.get(f"/chat/t/{token_of(client)}/transcricao.txt")
    assert "<script>alert('x')</script>" in transcript.content.decode()  # plain text, not HTML
    assert transcript["X-Content-Type-Options"] == "nosniff"


def test_new_conversation_only_after_the_current_one_ended(client, menu):
    conversation = start_chat(client, menu)

    client.post("/chat/site/nova/")
    assert client.cookies["omni_chat_site"].value  # still open: kept

    services.conversation_abandon(conversation=conversation)
    page = client.get(PAGE).content.decode()
    assert "Atendimento encerrado: Abandono" in page and "Baixar transcrição" in page
    response = client.post("/chat/site/nova/")
    assert response.status_code == 302
    assert "Iniciar conversa" in client.get(PAGE).content.decode()


def test_page_views_are_rate_limited_per_ip(client, menu, monkeypatch):
    monkeypatch.setitem(settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "page_ip", (3, 60))
    for _n in range(3):
        assert client.get(PAGE).status_code == 200
    assert client.get(PAGE).status_code == 429


def test_transcript_is_rate_limited_per_token(client, menu, monkeypatch):
    start_chat(client, menu)
    url = f"/chat/t/{token_of(client)}/transcricao.txt"
    monkeypatch.setitem(settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "transcript_token", (2, 60))
    assert [client.get(url).status_code for _n in range(3)] == [200, 200, 429]


def test_customer_messages_skip_notes(menu, agent, client):
    conversation = start_chat(client, menu)
    services.conversation_customer_message(conversation=conversation, body="1")
    go_online(agent)
    conversation.refresh_from_db()
    services.conversation_note(actor=agent, conversation=conversation, body="nota")

    kinds = {m.side for m in widget.customer_messages(conversation.pk)}
    assert kinds == {"customer", "system"}
    assert conversation.messages.filter(kind=MessageKind.NOTE).count() == 1


def test_a_long_chat_shows_its_newest_messages_in_order(client, menu):
    conversation = start_chat(client, menu)
    services.conversation_customer_message(conversation=conversation, body="1")  # to the queue
    for n in range(5):
        services.conversation_customer_message(conversation=conversation, body=f"mensagem {n}")

    shown = [m.body for m in widget.customer_messages(conversation.pk, limit=3)]

    assert shown == ["mensagem 2", "mensagem 3", "mensagem 4"]
