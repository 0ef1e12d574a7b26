"""The widget's websocket: token-only access, the bot, the queue position, the agent, live both ways.

Communicators run in one event loop per test (``run``), on the in-memory channel
layer, against committed data (``transaction=True``): the consumer's database
thread must see it. Operations the staff side makes run in a database thread
(``db``), as a view or another consumer would call them.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import cache
from django.utils.module_loading import import_string

from omnichannel import services, widget, widget_consumers
from omnichannel.models import Channel, Conversation, ConversationStatus
from servicedesk.asgi import application

from .conftest import go_online

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture(autouse=True)
def _quiet_publish():
    """Overrides the package's: these tests need the real channel layer."""


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    yield
    async_to_sync(get_channel_layer().flush)()
    cache.clear()


def session_cookie(user) -> str:
    """A signed-in staff session, as the cookie header carries it."""
    store = import_string(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def run(scenario):
    return async_to_sync(scenario)()


def communicator(
    token: str, *, origin: str = "http://localhost:8000", ip: str = "203.0.113.7"
) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"localhost:8000")]
    comm = WebsocketCommunicator(application, f"/ws/chat/{token}/", headers=headers)
    comm.scope["client"] = (ip, 50000)
    return comm


def new_chat(
    name: str = "Maria Oliveira", email: str = "maria@example.com"
) -> tuple[Conversation, str]:
    secret, digest = widget.new_secret()
    conversation = services.conversation_start(
        channel=Channel.LIVE_CHAT,
        contact_name=name,
        contact_email=email,
        entry_point="site",
        access_token_hash=digest,
    )
    return conversation, widget.make_token(conversation.pk, secret)


async def receive_until(comm: WebsocketCommunicator, text: str, timeout: float = 3.0) -> str:
    """Frames until one contains ``text``; all of them joined (what the browser swapped)."""
    seen = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await comm.receive_from(timeout=max(0.05, deadline - loop.time()))
        seen.append(frame)
        if text in frame:
            return "".join(seen)


def status_of(conversation: Conversation) -> str:
    return Conversation.objects.values_list("status", flat=True).get(pk=conversation.pk)


def test_a_socket_without_a_valid_token_is_refused(menu):
    conversation, token = new_chat()
    forged = widget.make_token(conversation.pk, "guess")

    async def scenario():
        results = []
        for bad in ("nothing", token[:-3] + "xyz", forged):
            results.append(await communicator(bad).connect())
        return results

    assert [connected for connected, _code in run(scenario)] == [False, False, False]


def test_a_socket_from_a_foreign_origin_host_is_refused(menu):
    """The widget is framed by other sites, but its socket is opened by its own page."""
    _conversation, token = new_chat()

    async def scenario():
        return await communicator(token, origin="http://evil.example").connect()

    assert run(scenario)[0] is False


def test_connect_sends_the_chat_and_the_bot_options(menu):
    conversation, token = new_chat()

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        frame = await comm.receive_from()
        await comm.disconnect()
        return frame

    frame = run(scenario)
    assert f"O protocolo deste atendimento é {conversation.protocol}" in frame
    assert 'id="widget-messages" class="widget-scroll widget-messages" role="log"' in frame
    assert 'hx-vals=\'{"action": "message", "body": "1"}\'' in frame  # quick reply "1 - Suporte"
    assert "Assistente virtual" in frame


def test_the_customer_goes_through_the_bot_waits_in_line_then_talks_with_the_agent(
    menu, queue, agent
):
    conversation, token = new_chat()

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        await comm.send_json_to({"action": "message", "body": "1"})
        queued = await receive_until(comm, "Você é o 1º da fila")
        await db(go_online)(agent)
        assigned = await receive_until(comm, "Ana está atendendo você")
        await db(services.conversation_reply)(
            actor=agent, conversation=conversation, body="Oi, Maria! Sou a Ana."
        )
        reply = await receive_until(comm, "Oi, Maria! Sou a Ana.")
        await db(services.conversation_note)(
            actor=agent, conversation=conversation, body="nota interna secreta"
        )
        quiet = await comm.receive_nothing(0.4)
        await comm.send_json_to({"action": "message", "body": "<script>alert(1)</script>"})
        echoed = await receive_until(comm, "alert(1)")
        await comm.disconnect()
        return queued, assigned, reply, quiet, echoed

    queued, assigned, reply, quiet, echoed = run(scenario)
    assert (
        'id="widget-msg-' in queued and ">1</div>" in queued
    )  # the customer's own answer, appended
    assert "Sair da fila" in queued
    assert "Você está falando com Ana." in assigned
    assert "Souza" not in assigned + reply and agent.username not in assigned + reply
    assert '<div class="widget-msg-author">Ana</div>' in reply
    assert quiet  # an internal note never reaches the customer
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in echoed and "<script>alert" not in echoed
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.IN_PROGRESS
    assert conversation.messages.filter(body="<script>alert(1)</script>").exists()


def test_the_queue_position_moves_live_when_someone_ahead_leaves(menu, queue):
    first, first_token = new_chat("Primeiro", "p@example.com")
    second, second_token = new_chat("Segundo", "s@example.com")
    services.conversation_customer_message(conversation=first, body="1")
    services.conversation_customer_message(conversation=second, body="1")

    async def scenario():
        a, b = communicator(first_token), communicator(second_token)
        assert (await a.connect())[0] and (await b.connect())[0]
        start_a, start_b = await a.receive_from(), await b.receive_from()
        await a.send_json_to({"action": "leave"})
        left = await receive_until(a, "Atendimento encerrado: Abandono")
        moved = await receive_until(b, "Você é o 1º da fila")
        await a.disconnect()
        await b.disconnect()
        return start_a, start_b, left, moved

    start_a, start_b, left, moved = run(scenario)
    assert "Você é o 1º da fila" in start_a and "Você é o 2º da fila" in start_b
    assert "Baixar transcrição" in left
    assert status_of(first) == ConversationStatus.ABANDONED
    assert status_of(second) == ConversationStatus.QUEUED


def test_closing_the_last_socket_while_queued_abandons_after_the_grace_time(
    menu, queue, monkeypatch
):
    monkeypatch.setattr(widget_consumers, "LEAVE_GRACE_SECONDS", 0.2)
    conversation, token = new_chat()
    services.conversation_customer_message(conversation=conversation, body="1")

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        await comm.disconnect()
        await asyncio.sleep(0.6)

    run(scenario)
    assert status_of(conversation) == ConversationStatus.ABANDONED


def test_a_reload_within_the_grace_time_keeps_the_place_in_line(menu, queue, monkeypatch):
    monkeypatch.setattr(widget_consumers, "LEAVE_GRACE_SECONDS", 0.5)
    conversation, token = new_chat()
    services.conversation_customer_message(conversation=conversation, body="1")

    async def scenario():
        old = communicator(token)
        assert (await old.connect())[0]
        await old.receive_from()
        await old.disconnect()
        new = communicator(token)
        assert (await new.connect())[0]
        frame = await new.receive_from()
        await asyncio.sleep(0.8)
        await new.disconnect()
        return frame

    assert "Você é o 1º da fila" in run(scenario)
    # Still queued while the new socket was open; it closed only at the end of the test.
    assert Conversation.objects.get(pk=conversation.pk).status == ConversationStatus.QUEUED


def test_leaving_a_chat_in_progress_does_not_close_it(menu, queue, agent, monkeypatch):
    monkeypatch.setattr(widget_consumers, "LEAVE_GRACE_SECONDS", 0.1)
    conversation, token = new_chat()
    services.conversation_customer_message(conversation=conversation, body="1")
    go_online(agent)

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        await comm.send_json_to({"action": "leave"})  # no such button then: ignored
        await comm.disconnect()
        await asyncio.sleep(0.3)

    run(scenario)
    assert status_of(conversation) == ConversationStatus.IN_PROGRESS


def test_messages_are_rate_limited_per_token_with_a_portuguese_alert(menu, queue, monkeypatch):
    monkeypatch.setitem(settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "message_token", (2, 60))
    conversation, token = new_chat()

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        frames = []
        for text in ("9", "8", "7"):
            await comm.send_json_to({"action": "message", "body": text})
            frames.append(await receive_until(comm, 'id="widget-alert"'))
        await comm.disconnect()
        return frames

    frames = run(scenario)
    assert "rápido demais" in frames[2] and "rápido demais" not in frames[0] + frames[1]
    assert list(conversation.messages.filter(kind="customer").values_list("body", flat=True)) == [
        "9",
        "8",
    ]


def test_bad_messages_get_a_portuguese_alert_and_never_break_the_socket(menu):
    _conversation, token = new_chat()

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        await comm.send_json_to({"action": "message", "body": "   "})
        empty = await receive_until(comm, "Escreva a mensagem.")
        await comm.send_json_to({"action": "message", "body": "x" * 5000})
        long = await receive_until(comm, "no máximo 4000 caracteres")
        await comm.send_json_to({"action": "message", "body": {"not": "text"}})
        await comm.send_json_to(["junk"])
        await comm.send_to(text_data="not json")
        await comm.send_json_to({"action": "message", "body": "ainda aqui"})
        alive = await receive_until(comm, "ainda aqui")
        return empty, long, alive

    empty, long, alive = run(scenario)
    assert "is-visible" in empty and "is-visible" in long
    assert "widget-msg-customer" in alive


def test_connections_are_rate_limited_per_token(menu, monkeypatch):
    monkeypatch.setitem(settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "connect_token", (2, 60))
    _conversation, token = new_chat()

    async def scenario():
        results = []
        for _n in range(3):
            comm = communicator(token)
            connected, code = await comm.connect()
            results.append((connected, code))
            if connected:
                await comm.receive_from()
                await comm.disconnect()
        return results

    results = run(scenario)
    assert [c for c, _code in results] == [True, True, False]


def test_a_staff_session_is_no_key_and_one_customer_never_hears_another(menu, queue, agent):
    """The socket knows only tokens: a signed-in agent without one is refused, and a token
    opens its own conversation only."""
    mine, my_token = new_chat("Maria", "m@example.com")
    other, _other_token = new_chat("Outra Pessoa", "o@example.com")
    cookie = session_cookie(agent)

    async def scenario():
        headers = [
            (b"origin", b"http://localhost:8000"),
            (b"host", b"localhost:8000"),
            (b"cookie", cookie.encode()),
        ]
        staff = WebsocketCommunicator(application, "/ws/chat/sem-token/", headers=headers)
        staff_connected, _code = await staff.connect()
        comm = communicator(my_token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        await db(services.conversation_customer_message)(
            conversation=other, body="segredo da outra pessoa"
        )
        quiet = await comm.receive_nothing(0.4)
        await comm.disconnect()
        return staff_connected, quiet

    staff_connected, quiet = run(scenario)
    assert staff_connected is False
    assert quiet


def test_an_update_renders_with_few_queries(menu, queue, django_assert_max_num_queries):
    conversation, _token = new_chat()
    services.conversation_customer_message(conversation=conversation, body="1")
    state = widget.widget_state(conversation.pk)

    # The conversation, its queue position, the new messages (authors joined), their files.
    with django_assert_max_num_queries(4):
        html, _state, _last = widget_consumers._changes(conversation.pk, "t", 0, state)
    assert "widget-msg-customer" in html


def test_a_file_from_the_agent_arrives_live_as_a_download_link(menu, queue, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation, token = new_chat()
    services.conversation_customer_message(conversation=conversation, body="1")
    go_online(agent)
    conversation.refresh_from_db()

    async def scenario():
        comm = communicator(token)
        assert (await comm.connect())[0]
        await comm.receive_from()
        boleto = SimpleUploadedFile("boleto-maio.pdf", b"%PDF-1.4", content_type="application/pdf")
        await db(services.conversation_reply)(
            actor=agent, conversation=conversation, body="", files=[boleto]
        )
        frame = await receive_until(comm, "boleto-maio.pdf")
        await comm.disconnect()
        return frame

    frame = run(scenario)
    file_id = conversation.messages.get(kind="agent").attachments.get().pk
    assert f'href="/chat/t/{token}/arquivos/{file_id}/"' in frame
