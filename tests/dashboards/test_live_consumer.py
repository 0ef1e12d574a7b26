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
