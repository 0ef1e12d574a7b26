"""The widget's configurable limits: OMNICHANNEL_WIDGET_RATE_LIMITS and the abandonment sweep
(OMNICHANNEL_WIDGET_ABANDON_SECONDS, ``omnichannel.tasks.close_abandoned``)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from omnichannel import tasks, widget
from omnichannel.models import Conversation, ConversationStatus

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PAGE = "/chat/site/"
VALID = {"name": "Maria Oliveira", "phone": "", "document": ""}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


# --- rate limits ---------------------------------------------------------------------------------


def test_the_defaults_are_the_documented_values(settings):
    assert widget.rate_limit("start_ip") == (10, 600)
    assert widget.rate_limit("message_token") == (20, 60)
    assert set(settings.OMNICHANNEL_WIDGET_RATE_LIMITS) == {
        "page_ip", "start_ip", "connect_ip", "connect_token", "message_ip", "message_token",
        "transcript_ip", "transcript_token", "file_ip", "file_token", "upload_ip", "upload_token",
    }


def test_overriding_the_setting_changes_the_limit_and_the_retry_after(client, menu, settings):
    settings.OMNICHANNEL_WIDGET_RATE_LIMITS = {**settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "start_ip": "1/90"}
    assert client.post(PAGE, {**VALID, "email": "a@example.com"}).status_code == 302
    client.cookies.clear()
    response = client.post(PAGE, {**VALID, "email": "b@example.com"})
    assert response.status_code == 429
    assert response["Retry-After"] == "90"
    assert Conversation.objects.count() == 1


def _redis_cache():
    from servicedesk.cache import SharedRedisCache

    # Its own keys (a prefix per run; they expire by themselves): never FLUSHDB a shared Redis.
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return SharedRedisCache(url, {"KEY_PREFIX": f"test-rl-{os.getpid()}-{time.time_ns()}"})


@pytest.mark.parametrize("backend", ["configured", "redis"])
def test_several_scopes_are_counted_at_once_and_refused_past_either_limit(backend, settings, monkeypatch):
    """``rate_limits_hit``: every window counts the request (on Redis in one pipeline: INCR +
    EXPIRE NX); the answer is False as soon as one scope is past its limit."""
    if backend == "redis":
        redis_cache = _redis_cache()
        monkeypatch.setattr(widget, "caches", {"default": redis_cache})
    settings.OMNICHANNEL_WIDGET_RATE_LIMITS = {
        **settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "message_token": "3/60", "message_ip": "5/60",
    }
    one = [widget.rate_limits_hit(("message_token", "t1"), ("message_ip", "1.1.1.1")) for _ in range(4)]
    assert one == [True, True, True, False]  # the token's 3 per minute
    # The IP's window counted those 4 too: one more on another token, then refused.
    assert widget.rate_limits_hit(("message_token", "t2"), ("message_ip", "1.1.1.1")) is True
    assert widget.rate_limits_hit(("message_token", "t3"), ("message_ip", "1.1.1.1")) is False
    # The single-scope form shares the same windows.
    assert widget.rate_limit_hit("message_token", "t2") is True
    if backend == "redis":
        key = redis_cache.make_and_validate_key(widget._rate_key("message_ip", "1.1.1.1", 60))
        client = redis_cache._cache.get_client(write=True)
        assert 60 < client.ttl(key) <= 65  # the window expires by itself


def test_raising_the_limit_lets_more_requests_through(menu, settings):
    settings.OMNICHANNEL_WIDGET_RATE_LIMITS = {**settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "page_ip": "3/60"}
    client = Client(REMOTE_ADDR="10.1.1.1")
    assert [client.get(PAGE).status_code for _ in range(4)] == [200, 200, 200, 429]
    settings.OMNICHANNEL_WIDGET_RATE_LIMITS = {**settings.OMNICHANNEL_WIDGET_RATE_LIMITS, "page_ip": "6/60"}
    other = Client(REMOTE_ADDR="10.1.1.2")
    assert [other.get(PAGE).status_code for _ in range(6)] == [200] * 6


def _settings_with(value: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMNICHANNEL_WIDGET_RATE_LIMITS": value, "DJANGO_SETTINGS_MODULE": "servicedesk.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    code = "import django; django.setup(); from django.conf import settings; print(settings.OMNICHANNEL_WIDGET_RATE_LIMITS)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603


def test_the_environment_variable_overrides_some_scopes_and_keeps_the_rest():
    done = _settings_with("message_token=30/60, start_ip=5/600")
    assert done.returncode == 0, done.stderr
    assert "'message_token': '30/60'" in done.stdout
    assert "'start_ip': '5/600'" in done.stdout
    assert "'page_ip': '120/60'" in done.stdout


@pytest.mark.parametrize("value", ["unknown_scope=1/60", "start_ip=10", "start_ip=a/60", "start_ip=10/0"])
def test_a_bad_environment_value_fails_loudly(value):
    done = _settings_with(value)
    assert done.returncode != 0
    assert "OMNICHANNEL_WIDGET_RATE_LIMITS" in done.stderr


# --- abandonment sweep (embedded mode; the Celery path is in tests/integration/test_omni_celery.py) -----


def _widget_conversation(queue) -> Conversation:
    from omnichannel import services

    _secret, digest = widget.new_secret()
    return services.conversation_start(
        channel=queue.channel, contact_name="Ana", contact_email="ana@example.com", queue=queue, access_token_hash=digest
    )


def test_a_queued_widget_conversation_without_a_live_socket_is_abandoned_after_the_grace(queue, settings):
    settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS = 60
    conversation = _widget_conversation(queue)
    assert conversation.status == ConversationStatus.QUEUED  # nobody online
    widget.socket_alive(conversation.pk, at=time.time() - 30)
    assert tasks.close_abandoned() == {"checked": 1, "abandoned": 0}
    widget.socket_alive(conversation.pk, at=time.time() - 61)
    assert tasks.close_abandoned() == {"checked": 1, "abandoned": 1}
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.ABANDONED


def test_a_crashed_process_leaves_the_socket_counter_up_but_the_stale_stamp_still_abandons(queue, settings):
    conversation = _widget_conversation(queue)
    widget.socket_opened(conversation.pk)  # the process died before counting it down
    widget.socket_alive(conversation.pk, at=time.time() - settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS - 5)
    assert widget.open_sockets(conversation.pk) == 1
    assert tasks.close_abandoned()["abandoned"] == 1
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.ABANDONED


def test_a_missing_stamp_starts_the_count_instead_of_closing(queue, settings):
    """A cache emptied (Redis restart) must not close every waiting chat at once."""
    conversation = _widget_conversation(queue)
    assert tasks.close_abandoned()["abandoned"] == 0
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.QUEUED
    settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS = 0
    time.sleep(0.01)
    assert tasks.close_abandoned()["abandoned"] == 1


def test_conversations_in_progress_or_of_other_channels_are_left_alone(queue, agent, settings):
    from tests.omnichannel.conftest import go_online, start

    settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS = 0
    no_token = start(queue)  # not a widget conversation (no access token)
    go_online(agent)
    taken = _widget_conversation(queue)
    taken.refresh_from_db()
    assert taken.status == ConversationStatus.IN_PROGRESS
    for pk in (no_token.pk, taken.pk):
        widget.socket_alive(pk, at=time.time() - 3600)
    assert tasks.close_abandoned() == {"checked": 0, "abandoned": 0}
    taken.refresh_from_db()
    assert taken.status == ConversationStatus.IN_PROGRESS


def test_the_sweep_is_in_the_beat_schedule(settings):
    entries = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "omnichannel.close_abandoned" in entries
