"""The agent's socket (/ws/omni/agent/): who may connect, heartbeat and connection loss, live workspace.

Communicators run in one event loop per scenario (``async_to_sync``), on the
in-memory channel layer, with committed data (``transaction=True``). Unlike the
rest of the omnichannel tests, publications really reach the channel layer here.
"""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from omnichannel import consumers, services, tasks
from omnichannel.models import AgentPresence, AgentState, Message, PresenceInterval
from servicedesk.asgi import application
from tests.dashboards.test_live_consumer import session_cookie
from tests.omnichannel.conftest import go_online, start

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


@pytest.fixture
def published():
    """Override the package's quiet publishing: here the channel layer receives everything."""
    return []


@pytest.fixture(autouse=True)
def _clean_layer():
    yield
    async_to_sync(get_channel_layer().flush)()


def communicator(cookie: str = "") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/omni/agent/", headers=headers)


def run(scenario):
    return async_to_sync(scenario)()


async def receive_until(comm: WebsocketCommunicator, needle: str, frames: int = 10) -> str:
    """Frames until one contains ``needle`` (earlier frames are list/presence refreshes)."""
    seen = ""
    for _ in range(frames):
        frame = await comm.receive_from(timeout=3)
        seen += frame
        if needle in frame:
            return seen
    raise AssertionError(f"{needle!r} not received")


def test_anonymous_socket_is_refused():
    async def scenario():
        return await communicator().connect()

    connected, code = run(scenario)
    assert not connected and code == consumers.UNAUTHENTICATED


def test_user_without_queues_nor_supervision_is_refused(outsider, queue):
    cookie = session_cookie(outsider)

    async def scenario():
        return await communicator(cookie).connect()

    connected, code = run(scenario)
    assert not connected and code == consumers.FORBIDDEN


def test_connecting_stamps_the_heartbeat(agent, queue):
    go_online(agent)
    assert AgentPresence.objects.get(pk=agent.pk).last_seen is None
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.disconnect()

    run(scenario)
    assert AgentPresence.objects.get(pk=agent.pk).last_seen is not None


def test_heartbeat_message_keeps_last_seen_fresh(agent, queue, monkeypatch):
    monkeypatch.setattr(consumers, "HEARTBEAT_MIN_SECONDS", 0)
    go_online(agent)
    cookie = session_cookie(agent)
    old = timezone.now() - timedelta(minutes=10)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await db(AgentPresence.objects.filter(pk=agent.pk).update)(last_seen=old)
        await comm.send_json_to({"action": "heartbeat"})
        await comm.receive_nothing(0.3)
        seen = await db(lambda: AgentPresence.objects.get(pk=agent.pk).last_seen)()
        await comm.disconnect()
        return seen

    assert run(scenario) > old


def test_sweep_takes_the_agent_out_only_after_the_last_socket_closes(agent, queue, settings, monkeypatch):
    monkeypatch.setattr(consumers, "HEARTBEAT_MIN_SECONDS", 0)
    settings.OMNICHANNEL_PRESENCE_GRACE_SECONDS = 0
    go_online(agent)
    cookie = session_cookie(agent)

    async def scenario():
        first, second = communicator(cookie), communicator(cookie)
        assert (await first.connect())[0]
        assert (await second.connect())[0]
        await first.disconnect()
        # The second tab is still there and heartbeats: a sweep started before that beat changes nothing.
        await second.send_json_to({"action": "heartbeat"})
        await second.receive_nothing(0.2)
        state_with_a_tab = await db(lambda: AgentPresence.objects.get(pk=agent.pk).state)()
        await second.disconnect()
        return state_with_a_tab

    assert run(scenario) == AgentState.ONLINE
    # The last tab is gone; past the grace time the beat task takes the agent out, recorded.
    with pytest.MonkeyPatch.context() as m:
        later = timezone.now() + timedelta(seconds=1)
        m.setattr(timezone, "now", lambda: later)
        assert tasks.presence_sweep() == {"disconnected": 1}
    presence = AgentPresence.objects.get(pk=agent.pk)
    assert presence.state == AgentState.OFFLINE
    assert PresenceInterval.objects.filter(agent=agent, state=AgentState.OFFLINE, note="Perda de conexão").exists()


def test_customer_message_reaches_the_open_pane_escaped(agent, queue):
    go_online(agent)
    conversation = start(queue, name="Maria Cliente")
    shown = Message.objects.filter(conversation=conversation).order_by("-id").values_list("id", flat=True)[0]
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace", "conversation": conversation.pk, "after": shown})
        await receive_until(comm, 'id="omni-sidebar"')
        await db(services.conversation_customer_message)(conversation=conversation, body="<script>x()</script> oi")
        html = await receive_until(comm, "oi</div>")
        await comm.disconnect()
        return html

    html = run(scenario)
    assert f'id="omni-messages-{conversation.pk}" hx-swap-oob="beforeend"' in html
    assert "&lt;script&gt;x()&lt;/script&gt; oi" in html
    assert "<script>x()" not in html


def test_message_on_a_conversation_not_open_swaps_only_its_line(agent, queue):
    """The sidebar is not re-rendered for a message: its line alone, with the unread badge."""
    go_online(agent)
    first, second = start(queue, name="Maria Primeira"), start(queue, name="João Segundo")
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace", "conversation": first.pk, "after": 10**9})
        await receive_until(comm, 'id="omni-sidebar"')
        await comm.receive_nothing(0.3)
        await db(services.conversation_customer_message)(conversation=second, body="<b>oi</b>")
        html = await receive_until(comm, f'id="omni-item-{second.pk}"')
        await comm.disconnect()
        return html

    html = run(scenario)
    assert 'id="omni-sidebar"' not in html
    line = html[html.index(f'id="omni-item-{second.pk}"') :]
    assert 'hx-swap-oob="outerHTML"' in line[: line.index(">")]
    assert f'id="omni-item-{first.pk}"' not in html
    assert "data-omni-unread>" in html and "Aguardando você há" in html
    assert "João Segundo" in html


def test_reading_the_open_pane_writes_only_when_something_is_unread(agent, queue):
    go_online(agent)
    conversation = start(queue)
    services.conversation_mark_read(actor=agent, conversation=conversation)
    conversation.refresh_from_db()
    assert not services.conversation_mark_read(actor=agent, conversation=conversation)  # nothing new
    services.conversation_customer_message(conversation=conversation, body="mais uma")
    conversation.refresh_from_db()
    assert services.conversation_mark_read(actor=agent, conversation=conversation)
    services.conversation_reply(actor=agent, conversation=conversation, body="resposta")
    conversation.refresh_from_db()
    assert not services.conversation_mark_read(actor=agent, conversation=conversation)  # own reply: nothing unread


def test_new_conversation_appears_in_the_list_live(agent, queue):
    go_online(agent)
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace"})
        first = await receive_until(comm, 'id="omni-sidebar"')
        await db(start)(queue, name="Joana Nova")
        html = await receive_until(comm, "Joana Nova")
        await comm.disconnect()
        return first, html

    first, html = run(scenario)
    assert "Nenhuma conversa em andamento." in first
    assert 'id="omni-sidebar" hx-swap-oob="outerHTML"' in html


def test_teammate_cannot_follow_someone_elses_conversation(agent, teammate, queue):
    go_online(agent)
    conversation = start(queue)
    cookie = session_cookie(teammate)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace", "conversation": conversation.pk, "after": 0})
        await receive_until(comm, 'id="omni-sidebar"')
        await db(services.conversation_customer_message)(conversation=conversation, body="segredo do cliente")
        quiet = await comm.receive_nothing(0.6)
        await comm.disconnect()
        return quiet

    assert run(scenario)


def test_presence_change_pushes_the_status_control(agent, queue, reasons):
    go_online(agent)
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await db(services.agent_set_state)(actor=agent, agent=agent, state=AgentState.AWAY, pause_reason=reasons["lunch"])
        html = await receive_until(comm, 'id="omni-presence"')
        await comm.disconnect()
        return html

    html = run(scenario)
    assert 'hx-swap-oob="outerHTML"' in html
    assert "Pausado" in html and "Almoço" in html


def test_supervisor_sees_the_waiting_line_change_live(supervisor, queue):
    cookie = session_cookie(supervisor)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace"})
        await receive_until(comm, 'id="omni-queued"')
        await db(start)(queue, name="Paulo Espera")  # nobody Online: it waits in the queue
        html = await receive_until(comm, "Paulo Espera")
        await comm.disconnect()
        return html

    assert 'id="omni-queued"' in run(scenario)


def test_supervisor_sees_the_agents_card_change_live(supervisor, agent, queue, reasons):
    go_online(agent)
    cookie = session_cookie(supervisor)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace"})
        await receive_until(comm, 'id="omni-agents"')
        # The agent pauses from their own top bar: the supervisor's card follows.
        await db(services.agent_set_state)(actor=agent, agent=agent, state=AgentState.AWAY, pause_reason=reasons["lunch"])
        html = await receive_until(comm, f'data-omni-agent="{agent.pk}" data-state="away"')
        await comm.disconnect()
        return html

    html = run(scenario)
    assert 'id="omni-agents" hx-swap-oob="outerHTML"' in html
    assert "Almoço" in html


# --- the composer's text over the socket ---------------------------------------------------------


def test_reply_over_the_socket_is_stored_acknowledged_and_shown_in_the_pane(agent, queue):
    go_online(agent)
    conversation = start(queue)
    shown = Message.objects.filter(conversation=conversation).order_by("-id").values_list("id", flat=True)[0]
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "workspace", "conversation": conversation.pk, "after": shown})
        await receive_until(comm, 'id="omni-sidebar"')
        await comm.send_json_to(
            {"action": "send", "conversation": conversation.pk, "body": "<i>Olá</i>, já vejo", "nonce": "n7"}
        )
        html = await receive_until(comm, '{"sent": "n7"}')
        html += await receive_until(comm, "já vejo</div>")
        await comm.disconnect()
        return html

    html = run(scenario)
    message = Message.objects.filter(conversation=conversation).latest("id")
    assert (message.kind, message.body, message.author_id) == ("agent", "<i>Olá</i>, já vejo", agent.pk)
    assert "&lt;i&gt;Olá&lt;/i&gt;, já vejo" in html and "<i>Olá" not in html


def test_note_over_the_socket_is_internal(agent, queue):
    go_online(agent)
    conversation = start(queue)
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "send", "conversation": conversation.pk, "body": "só nós", "note": True, "nonce": "a"})
        html = await receive_until(comm, '{"sent": "a"}')
        await comm.disconnect()
        return html

    run(scenario)
    assert Message.objects.filter(conversation=conversation).latest("id").kind == "note"


def test_refused_reply_over_the_socket_returns_the_composer_with_the_error_and_stores_nothing(agent, queue):
    go_online(agent)
    conversation = start(queue)
    before = Message.objects.count()
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "send", "conversation": conversation.pk, "body": "   ", "nonce": "b"})
        empty = await receive_until(comm, 'id="omni-composer"')
        await comm.send_json_to({"action": "send", "conversation": conversation.pk, "body": "x" * 5000, "nonce": "c"})
        long = await receive_until(comm, 'id="omni-composer"')
        await comm.disconnect()
        return empty, long

    empty, long = run(scenario)
    assert "Escreva a mensagem." in empty and 'hx-swap-oob="outerHTML"' in empty and '"sent"' not in empty
    assert "no máximo 4000 caracteres (ele possui 5000)" in long
    assert Message.objects.count() == before


def test_teammate_cannot_reply_over_the_socket(agent, teammate, queue):
    """Someone else's conversation: the pane's "gone" card, nothing stored (the access rule of the POST)."""
    go_online(agent)
    conversation = start(queue)
    before = Message.objects.count()
    cookie = session_cookie(teammate)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "send", "conversation": conversation.pk, "body": "intrusão", "nonce": "d"})
        gone = await receive_until(comm, 'id="omni-pane"')
        await comm.send_json_to({"action": "send", "conversation": "abc", "body": "x", "nonce": "e"})
        bad = await receive_until(comm, 'id="omni-pane"')
        await comm.disconnect()
        return gone, bad

    gone, bad = run(scenario)
    assert "Esta conversa não está mais com você." in gone and '"sent"' not in gone
    assert "Esta conversa não está mais com você." in bad
    assert Message.objects.count() == before
