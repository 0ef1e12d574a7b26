"""The live websocket: who may connect, which groups each viewer joins, what reaches it.

Consumers run through channels' ``WebsocketCommunicator`` on the in-memory
channel layer; the tests are synchronous and drive the coroutines with
``async_to_sync``. Data must be committed for the consumer's own database
thread to see it, hence ``transaction=True``.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import transaction
from django.utils.module_loading import import_string

from dashboards import live
from servicedesk.asgi import application
from servicedesk.routing import websocket_urlpatterns
from tickets import services
from tickets.models import Origin

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> str:
    engine = import_string(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def communicator(cookie: str = "", *, origin: str = "http://localhost:8000", app=None) -> WebsocketCommunicator:
    """A socket to /ws/live/; ``cookie`` from ``session_cookie`` (made outside the event loop)."""
    headers = [(b"origin", origin.encode()), (b"host", b"localhost:8000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(app or application, "/ws/live/", headers=headers)


def run(scenario):
    """Run one async scenario in one event loop (a communicator lives in the loop it started in)."""
    return async_to_sync(scenario)()


db = database_sync_to_async


def open_ticket_for(actor, team, customer, company, process):
    return services.ticket_open(
        actor=actor, customer=customer, company=company, team=team, process=process,
        origin=Origin.PHONE, customer_report="Sem sinal na ONU.",
    )


@pytest.fixture(autouse=True)
def _clean_layer():
    yield
    async_to_sync(get_channel_layer().flush)()


def test_anonymous_socket_is_refused():
    async def scenario():
        return await communicator().connect()

    connected, code = run(scenario)
    assert not connected
    assert code == 4401


def test_foreign_origin_is_refused(agent):
    cookie = session_cookie(agent)

    async def scenario():
        return await communicator(cookie, origin="http://evil.example").connect()

    connected, _code = run(scenario)
    assert not connected


def test_signed_in_user_connects_from_the_sites_origin(agent, team):
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        connected, _code = await comm.connect()
        await comm.disconnect()
        return connected

    assert run(scenario)


def test_groups_follow_role_and_team(agent, supervisor, admin_user, outsider, team, other_team):
    assert live.audience_groups(agent) == [f"user.{agent.pk}", f"team.{team.pk}"]
    assert live.audience_groups(outsider) == [f"user.{outsider.pk}", f"team.{other_team.pk}"]
    assert live.audience_groups(supervisor) == [f"user.{supervisor.pk}", f"team.{team.pk}"]
    assert live.audience_groups(admin_user) == [f"user.{admin_user.pk}", "tickets.all"]


def test_ticket_page_subscription_needs_sight_of_the_ticket(
    agent, outsider, team, other_team, customer, company, process
):
    ticket = open_ticket_for(agent, team, customer, company, process)
    cookie = session_cookie(outsider)

    async def scenario():
        # The outsider asks for another team's ticket page: not joined, so nothing arrives.
        comm = communicator(cookie, app=AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "ticket", "ticket": ticket.pk})
        quiet_before = await comm.receive_nothing(0.3)
        await db(services.ticket_comment_add)(actor=agent, ticket=ticket, body="Técnico a caminho.")
        quiet_after = await comm.receive_nothing(0.5)
        await comm.disconnect()
        return quiet_before, quiet_after

    assert run(scenario) == (True, True)


def test_a_rolled_back_operation_publishes_nothing(agent, team, customer, company, process):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"team.{team.pk}", channel)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        open_ticket_for(agent, team, customer, company, process)
        raise Boom

    async def nothing():
        import asyncio

        try:
            await asyncio.wait_for(layer.receive(channel), 0.5)
        except TimeoutError:
            return True
        return False

    assert async_to_sync(nothing)()
    # ... while a committed one is delivered.
    ticket = open_ticket_for(agent, team, customer, company, process)
    message = async_to_sync(layer.receive)(channel)
    assert message["ticket_id"] == ticket.pk


def test_ticket_page_receives_its_changed_regions_rendered_for_the_viewer(
    agent, supervisor, team, customer, company, process
):
    ticket = open_ticket_for(agent, team, customer, company, process)
    cookie = session_cookie(supervisor)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "ticket", "ticket": ticket.pk})
        first = await comm.receive_from(3)  # every subscription gets the page as it is now
        assert 'id="ticket-head"' in first
        await db(services.ticket_claim)(actor=agent, ticket=ticket)
        claimed = await comm.receive_from(3)
        await db(services.ticket_comment_add)(actor=agent, ticket=ticket, body="<b>ONU</b> trocada")
        commented = await comm.receive_from(3)
        # The message reached the socket through two groups (team and ticket): sent once.
        quiet = await comm.receive_nothing(0.3)
        await comm.disconnect()
        return claimed, commented, quiet

    claimed, commented, quiet = run(scenario)
    assert 'id="ticket-head"' in claimed and "Ana Souza" in claimed
    assert 'id="ticket-timeline"' in claimed
    # Only what changed is sent, and user text stays escaped.
    assert 'id="ticket-comments"' in commented and "&lt;b&gt;ONU&lt;/b&gt; trocada" in commented
    assert 'id="ticket-facts"' not in commented
    assert quiet


def test_a_viewer_who_loses_sight_of_the_ticket_is_told_and_sent_nothing_more(
    agent, teammate, team, customer, company, process
):
    ticket = open_ticket_for(agent, team, customer, company, process)
    cookie = session_cookie(teammate)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "ticket", "ticket": ticket.pk})
        await comm.receive_from(3)  # the page as it is now
        # Ana claims it: an agent sees only its own and the team's unassigned tickets.
        await db(services.ticket_claim)(actor=agent, ticket=ticket)
        gone = await comm.receive_from(3)
        await db(services.ticket_comment_add)(actor=agent, ticket=ticket, body="Segredo da Ana")
        quiet = await comm.receive_nothing(0.5)
        await comm.disconnect()
        return gone, quiet

    gone, quiet = run(scenario)
    assert "não está mais visível" in gone and "Sem resgate" not in gone
    assert quiet


def test_resync_after_reconnect_sends_the_page_as_the_database_has_it(agent, team, customer, company, process):
    ticket = open_ticket_for(agent, team, customer, company, process)
    services.ticket_comment_add(actor=agent, ticket=ticket, body="Enquanto a conexão caiu")
    cookie = session_cookie(agent)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "ticket", "ticket": ticket.pk, "resync": True})
        html = await comm.receive_from(3)
        await comm.disconnect()
        return html

    html = run(scenario)
    assert "Enquanto a conexão caiu" in html and 'hx-swap-oob="true"' in html


def test_supervisor_grid_gets_a_new_row_then_its_change_in_place_and_the_counters(
    agent, supervisor, team, customer, company, process
):
    first = open_ticket_for(agent, team, customer, company, process)
    cookie = session_cookie(supervisor)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "grid", "view": "open/all", "query": "all=1&o=-opened_at"})
        await comm.receive_from(3)  # the page as it is now
        second = await db(open_ticket_for)(agent, team, customer, company, process)
        entered = await comm.receive_from(3)
        entered += await comm.receive_from(3)  # then the badges
        await db(services.ticket_claim)(actor=agent, ticket=first)
        changed = await comm.receive_from(3)
        await comm.disconnect()
        return second, entered, changed

    second, entered, changed = run(scenario)
    # A new row: the body again (rows moved), the new one flagged, the row count and tab badges.
    assert 'id="grid-body"' in entered
    assert f'data-live-changed="1" id="row-{second.pk}"' in entered
    assert 'id="row-count"' in entered and "2 atendimentos" in entered
    assert 'id="tab-count-open"' in entered
    # A claim changes one row in place ("Resgate" now Ana), nothing else moves.
    assert 'id="grid-body"' not in changed
    assert f'hx-swap-oob="outerHTML" data-live-changed="1" id="row-{first.pk}"' in changed
    assert "Ana Souza" in changed


def test_an_agent_never_receives_another_teams_rows(agent, outsider, team, other_team, customer, company, process):
    cookie = session_cookie(outsider)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "grid", "view": "open/all", "query": ""})
        await comm.receive_from(3)
        await db(open_ticket_for)(agent, team, customer, company, process)
        quiet = await comm.receive_nothing(0.6)
        await comm.disconnect()
        return quiet

    assert run(scenario)


def test_a_deep_page_keeps_its_rows_and_announces_new_ones(agent, supervisor, team, customer, company, process):
    for _ in range(3):
        open_ticket_for(agent, team, customer, company, process)
    cookie = session_cookie(supervisor)
    from dashboards.live import grid_state

    first_page = grid_state(supervisor, "open/all", "all=1&per_page=10")
    assert len(first_page.rows) == 3

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        # A page anchored after the newest row (as the "next page" link makes it).
        state = await db(grid_state)(supervisor, "open/all", "all=1&per_page=10")
        after = state.rows[0][0]
        await comm.send_json_to({"action": "grid", "view": "open/all", "query": f"all=1&per_page=10&after={after}"})
        await comm.receive_from(3)
        await db(open_ticket_for)(agent, team, customer, company, process)
        html = await comm.receive_from(3)
        await comm.disconnect()
        return html

    html = run(scenario)
    assert 'id="live-notice"' in html and "1 novo" in html


def test_a_panel_page_without_a_flat_grid_gets_its_badges_live(agent, supervisor, team, customer, company, process):
    cookie = session_cookie(supervisor)

    async def scenario():
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        await comm.send_json_to({"action": "counts", "tab": "open"})
        first = await comm.receive_from(3)
        await db(open_ticket_for)(agent, team, customer, company, process)
        after = await comm.receive_from(3)
        await comm.disconnect()
        return first, after

    first, after = run(scenario)
    assert 'id="tab-count-open"' in first and 'data-count="0"' in first
    assert 'id="tab-count-open"' in after and 'data-count="1"' in after
    assert "grid-body" not in after
