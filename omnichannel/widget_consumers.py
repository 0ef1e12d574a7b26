"""The customer's websocket of the live-chat widget: ``/ws/chat/<token>/``.

Authenticated by the conversation's token only (``omnichannel.widget``), never
by a session. Protocol (JSON from the browser, through htmx's websocket
extension):

- ``{"action": "message", "body": "..."}``: the customer writes (bot answer or chat);
- ``{"action": "leave"}``: the customer leaves the bot or the queue (Abandono);
- anything else is ignored.

Files go by HTTP (``widget_views.widget_upload``, multipart); the stored message comes back
here like any other.

The server answers with HTML fragments carrying ``hx-swap-oob`` (the same
partials the page renders): new messages are appended, the header, the banner
(queue position, closing) and the bot's quick replies are replaced when they
change. On connect (and so on every reconnect) the whole chat is re-sent as
the database has it, so nothing is lost while a socket was down.

Changes arrive as ``live.change`` from ``omni.customer.<id>`` (the
conversation's customer-safe group) and, while waiting in a queue, from that
queue's group, whose payloads are only used to recompute the position here:
nothing of them is forwarded. Closing the last socket while in the bot or the
queue abandons the conversation after a grace time (a reload reconnects first).
"""

import asyncio
import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from omnichannel import services, widget
from omnichannel.models import Conversation, ConversationStatus
from omnichannel.publish import customer_group, queue_group
from servicedesk.asyncdb import database_sync_to_async

logger = logging.getLogger(__name__)

FORBIDDEN = 4403
TOO_MANY = 4429
TEMPLATE = "omnichannel/widget/chat.html"
# Seconds without any socket of a waiting conversation before it counts as abandoned.
LEAVE_GRACE_SECONDS = 45.0

_pending_leaves: set[asyncio.Task] = set()


def scope_language(scope: dict) -> str:
    """The language the page was rendered in (language cookie, else Accept-Language)."""
    request = HttpRequest()
    request.COOKIES = dict(scope.get("cookies") or {})
    headers = dict(scope.get("headers") or [])
    request.META["HTTP_ACCEPT_LANGUAGE"] = headers.get(b"accept-language", b"").decode("latin-1")
    return translation.get_language_from_request(request)


def _translated(language: str, func, *args: Any) -> Any:
    with translation.override(language):
        return func(*args)


def _partial(name: str, **context: Any) -> str:
    return render_to_string(f"{TEMPLATE}#{name}", {"oob": True, **context})


def _full(conversation_id: int, token: str) -> tuple[str, widget.WidgetState, int]:
    context = widget.chat_context(conversation_id)
    state, messages = context["state"], context["messages"]
    html = "".join(
        _partial(name, state=state, messages=messages, token=token)
        for name in ("header", "banner", "quick", "composer", "messages")
    )
    return html, state, messages[-1].id if messages else 0


def _changes(
    conversation_id: int,
    token: str,
    last_id: int,
    previous: widget.WidgetState | None,
    refresh_state: bool = True,
) -> tuple[str, widget.WidgetState, int]:
    """The fragments that differ from what this socket last sent. ``refresh_state`` False: only
    messages were added since ``previous`` was read (a status, agent or queue position change
    always comes with a conversation or queue publication, which asks for a refresh)."""
    state = widget.widget_state(conversation_id) if refresh_state or previous is None else previous
    messages = widget.customer_messages(conversation_id, after_id=last_id)
    parts = []
    if messages:
        parts.append(_partial("append", messages=messages, token=token))
        last_id = messages[-1].id
    if previous is None or state.header_key != previous.header_key:
        parts.append(_partial("header", state=state))
        parts.append(_partial("banner", state=state, token=token))
    if previous is None or (state.status, state.bot_options) != (
        previous.status,
        previous.bot_options,
    ):
        parts.append(_partial("quick", state=state))
    if previous is None or state.is_open != previous.is_open:
        parts.append(_partial("composer", state=state, token=token))
    elif state.accepts_files != previous.accepts_files:
        parts.append(_partial("attach", state=state, token=token))
    return "".join(parts), state, last_id


def _alert(message: str) -> str:
    return _partial("alert", message=message)


def _connect(token: str, ip: str) -> tuple[int | None, int]:
    """(conversation id, 0) or (None, close code)."""
    if not widget.rate_limits_hit(("connect_ip", ip), ("connect_token", token[:300])):
        return None, TOO_MANY
    conversation = widget.conversation_for_token(token)
    if conversation is None:
        return None, FORBIDDEN
    widget.socket_opened(conversation.pk)
    widget.socket_alive(conversation.pk)
    return conversation.pk, 0


def _customer_message(conversation_id: int, token: str, ip: str, body: str) -> str:
    """Store the customer's message; the alert fragment (a pt-BR refusal, or empty to clear it)."""
    if not widget.rate_limits_hit(("message_token", token[:300]), ("message_ip", ip)):
        return _alert(
            _(
                "Você está enviando mensagens rápido demais. Aguarde alguns segundos e tente de novo."
            )
        )
    # The service re-reads the row under its lock: only the id is needed here.
    try:
        services.conversation_customer_message(conversation=Conversation(pk=conversation_id), body=body)
    except (ValidationError, PermissionDenied) as exc:
        return _alert(" ".join(getattr(exc, "messages", None) or [str(exc)]))
    return _alert("")


def _message_and_changes(
    conversation_id: int, token: str, ip: str, body: str, last_id: int, previous: widget.WidgetState | None
) -> tuple[str, str, widget.WidgetState, int]:
    """``_customer_message`` then ``_changes``: (alert, fragments, state, last message id)."""
    alert = _customer_message(conversation_id, token, ip, body)
    # Talking to the agent changes nothing but the messages (an agent gone Offline sends the
    # conversation back to the queue: that publication refreshes the state); the bot may.
    refresh = previous is None or previous.status != ConversationStatus.IN_PROGRESS
    return (alert, *_changes(conversation_id, token, last_id, previous, refresh))


def _leave(conversation_id: int) -> bool:
    """The customer left: Abandono if the conversation still waits for a human. The service
    decides under the row lock (taken by an agent or ended meanwhile: nothing changes)."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return False
    return services.conversation_abandon(conversation=conversation, only_waiting=True) is not None


def _abandon_if_gone(conversation_id: int) -> bool:
    """After the grace time: no socket came back and it still waits → Abandono."""
    if widget.open_sockets(conversation_id):
        return False
    return _leave(conversation_id)


async def abandon_later(conversation_id: int, delay: float) -> bool:
    await asyncio.sleep(delay)
    try:
        return await database_sync_to_async(_abandon_if_gone)(conversation_id)
    except Exception:
        logger.exception("widget: abandoning conversation %s failed", conversation_id)
        return False


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.conversation_id: int | None = None
        self.groups_joined: list[str] = []
        self.token = str(self.scope["url_route"]["kwargs"].get("token", ""))
        client = self.scope.get("client") or ("unknown", 0)
        self.ip = str(client[0])
        conversation_id, code = await database_sync_to_async(_connect)(self.token, self.ip)
        if conversation_id is None:
            await self.close(code=code)
            return
        self.conversation_id = conversation_id
        self.language = scope_language(self.scope)
        self.state: widget.WidgetState | None = None
        self.last_id = 0
        self.dirty = False
        self.state_dirty = False  # something else than new messages was published
        self.flushing: asyncio.Task | None = None
        self.lock = asyncio.Lock()  # one rendering at a time: a message is appended once
        self.keeping_alive: asyncio.Task | None = asyncio.ensure_future(self._keep_alive())
        await self._join(customer_group(conversation_id))
        await self.accept()
        async with self.lock:
            html, self.state, self.last_id = await database_sync_to_async(_translated)(
                self.language, _full, conversation_id, self.token
            )
            await self._follow_queue()
            await self.send(text_data=html)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "flushing", None) is not None:
            self.flushing.cancel()
        if self.conversation_id is None:
            return
        if getattr(self, "keeping_alive", None) is not None:
            self.keeping_alive.cancel()
        await database_sync_to_async(widget.socket_closed)(self.conversation_id)
        # The close_abandoned grace counts from now, not from the last refresh.
        await database_sync_to_async(widget.socket_alive)(self.conversation_id)
        if self.state is not None and self.state.waiting:
            task = asyncio.ensure_future(abandon_later(self.conversation_id, LEAVE_GRACE_SECONDS))
            _pending_leaves.add(task)
            task.add_done_callback(_pending_leaves.discard)

    async def _keep_alive(self) -> None:
        """Stamp "a socket is open" while it is (see ``widget.socket_alive``); a dead process stops stamping."""
        while True:
            await asyncio.sleep(widget.alive_every())
            try:
                await database_sync_to_async(widget.socket_alive)(self.conversation_id)
            except Exception:  # the next round retries; the socket must live on
                logger.exception("widget: alive stamp failed for conversation %s", self.conversation_id)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def _follow_queue(self) -> None:
        """Listen to the queue only while waiting in it (to keep the position live)."""
        wanted = queue_group(self.state.queue_id) if self.state and self.state.queue_id else None
        for group in [g for g in self.groups_joined if g.startswith("omni.queue.") and g != wanted]:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)
        if wanted:
            await self._join(wanted)

    # --- from the browser ---------------------------------------------------------------------

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:  # not JSON: ignored like any unknown message
            return None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.conversation_id is None or not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "message":
            body = content.get("body")
            if not isinstance(body, str):
                return
            # Store it and render what changed in one thread hop (one database connection).
            async with self.lock:
                alert, html, self.state, self.last_id = await database_sync_to_async(_translated)(
                    self.language,
                    _message_and_changes,
                    self.conversation_id,
                    self.token,
                    self.ip,
                    body[: services.MAX_MESSAGE_LENGTH + 1],
                    self.last_id,
                    self.state,
                )
                await self._follow_queue()
                if alert:
                    await self.send(text_data=alert)
                if html:
                    await self.send(text_data=html)
        elif action == "leave":
            await database_sync_to_async(_leave)(self.conversation_id)
            self.state_dirty = True
            await self._flush_now()

    # --- from the channel layer ---------------------------------------------------------------

    async def live_change(self, event: dict[str, Any]) -> None:
        message_id = event.get("message_id")
        if event.get("model") == "message" and isinstance(message_id, int) and message_id <= self.last_id:
            return  # already shown (the customer's own message, sent right after storing it)
        if event.get("model") != "message":
            self.state_dirty = True
        self.dirty = True
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        while self.dirty:
            self.dirty = False
            try:
                await self._flush_now()
            except Exception:  # one failed rendering must not kill the socket
                logger.exception("widget update failed for conversation %s", self.conversation_id)

    async def _flush_now(self) -> None:
        async with self.lock:
            refresh, self.state_dirty = self.state_dirty, False
            html, self.state, self.last_id = await database_sync_to_async(_translated)(
                self.language, _changes, self.conversation_id, self.token, self.last_id, self.state, refresh
            )
            await self._follow_queue()
            if html:
                await self.send(text_data=html)
