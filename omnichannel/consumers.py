"""The agent's omnichannel socket (``/ws/omni/agent/``): presence heartbeat and the live workspace.

One socket per page of an omnichannel agent or supervisor (``static/js/omni.js``),
beside the page's ``/ws/live/`` one. Protocol (JSON from the browser):

- ``{"action": "heartbeat"}``: the tab is still open; ``agent_heartbeat`` keeps
  ``AgentPresence.last_seen`` fresh (at most once per ``HEARTBEAT_MIN_SECONDS``
  per socket). Connecting counts as one.
- ``{"action": "workspace", "conversation": 12, "after": 345}``: this page is the
  workspace, with conversation 12 open (optional) and its messages shown up to
  id 345. Answered at once with the list and whatever the page missed.
- ``{"action": "send", "conversation": 12, "body": "…", "note": false, "nonce": "n1"}``:
  the composer's text reply or internal note (``views_live.send_from_socket``: same
  form, access rule and service as the composer's POST, which files still use).
  Answered ``{"sent": "n1"}`` once stored (the message itself arrives in the pane as
  any other does), or with the composer carrying the refusal.
- anything else is ignored.

Connection loss: the socket never takes the agent out of routing itself. Each
open tab heartbeats; when the agent's LAST socket closes, heartbeats stop, and
the ``presence_sweep`` beat task (``omnichannel.tasks``) calls
``agent_connection_lost`` once ``last_seen`` is older than
``OMNICHANNEL_PRESENCE_GRACE_SECONDS``: out of routing, recorded as "Perda de
conexão". A reload or a second tab within the grace time changes nothing.
Closing a socket stamps ``last_seen`` once more so the grace counts from the
moment the tab went away, not from its previous heartbeat.

Server → browser: HTML fragments with ``hx-swap-oob``, rendered per viewer by
``omnichannel.views_live``. Changes arrive from the channel layer as
``live.change`` messages (``omnichannel.publish``) carrying only ids.
"""

import asyncio
import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404

from omnichannel import services, views_live
from omnichannel.publish import PRESENCE_GROUP, agent_group, conversation_group, queue_group
from servicedesk.asyncdb import database_sync_to_async

logger = logging.getLogger(__name__)

UNAUTHENTICATED = 4401
FORBIDDEN = 4403
HEARTBEAT_MIN_SECONDS = 5.0


def _heartbeat(user) -> None:
    services.agent_heartbeat(agent=user)


def _render(
    user, dirty: set[str], conversation_id: int | None, last_message_id: int, csrf: str, workspace: bool
) -> tuple[list[str], int, str]:
    """The fragments ``dirty`` asks for: (parts, last message id shown, presence bar or "")."""
    parts: list[str] = []
    if "messages" in dirty and conversation_id is not None:
        # Shown in the open pane: read (its line redrawn when that cleared a badge).
        html, last, marked = views_live.render_new_messages(user, conversation_id, last_message_id, mark_read=True)
        if html:
            last_message_id = last
            parts.append(html)
            if marked:
                dirty.add(f"item:{conversation_id}")
    states = {int(key[6:]) for key in dirty if key.startswith("state:")}
    if states and conversation_id is not None:
        parts.append(views_live.render_message_states(user, conversation_id, states))
    if "pane" in dirty and conversation_id is not None:
        parts.append(views_live.render_pane_state(user, conversation_id, csrf))
    items = {int(key[5:]) for key in dirty if key.startswith("item:")}
    if workspace and ("list" in dirty or items):
        # A message changes one line (badge, clock): that line alone, unless the whole list is due.
        html = None if "list" in dirty else views_live.render_items(user, items, conversation_id)
        parts.append(html if html is not None else views_live.render_list(user, conversation_id, csrf))
    if "wrap_up" in dirty and workspace:
        parts.append(views_live.render_wrap_up(user, csrf))
    if "agents" in dirty and workspace:
        parts.append(views_live.render_agents(user, csrf))
    presence = views_live.render_presence(user, csrf) if "presence" in dirty else ""
    return parts, last_message_id, presence


class AgentConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        if not await database_sync_to_async(views_live.can_use_workspace)(user):
            await self.close(code=FORBIDDEN)
            return
        self.user = user
        self.is_agent = await database_sync_to_async(views_live.is_omni_agent)(user)
        self.csrf = self.scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME, "")
        self.groups_joined: list[str] = []
        self.workspace = False
        self.supervisor = False
        self.conversation_id: int | None = None
        self.last_message_id = 0
        self.last_beat = 0.0
        self.last_presence = ""
        self.seen_events: dict[str, None] = {}
        self.dirty: set[str] = set()
        self.flushing: asyncio.Task | None = None
        await self._join(agent_group(user.pk))
        await self.accept()
        await self._beat()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "user", None) is None:
            return
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.flushing is not None:
            self.flushing.cancel()
        # The grace time of the presence sweep counts from now (see the module's docstring).
        self.last_beat = 0.0
        await self._beat()

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def _leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)

    async def _beat(self) -> None:
        if not self.is_agent:
            return
        now = time.monotonic()
        if now - self.last_beat < HEARTBEAT_MIN_SECONDS:
            return
        self.last_beat = now
        try:
            await database_sync_to_async(_heartbeat)(self.user)
        except Exception:  # a failed stamp must not kill the socket; the next one retries
            logger.exception("heartbeat failed for %s", self.user.pk)

    # --- from the browser ---------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "heartbeat":
            await self._beat()
        elif action == "presence":  # a reconnected page: its status control as it is now
            self.last_presence = ""
            self.dirty.add("presence")
            self._schedule_flush()
        elif action == "workspace":
            await self._subscribe_workspace(content.get("conversation"), content.get("after"))
        elif action == "send":
            await self._send_message(content)

    async def _send_message(self, content: dict[str, Any]) -> None:
        nonce = str(content.get("nonce") or "")[:64]
        try:
            html = await database_sync_to_async(views_live.send_from_socket)(
                self.user, content.get("conversation"), content.get("body"), bool(content.get("note")), self.csrf
            )
        except Exception:  # the text stays in the browser's box (no "sent"); the socket lives on
            logger.exception("omni socket send failed for user %s", self.user.pk)
            return
        await self.send(text_data=html or json.dumps({"sent": nonce}))

    async def _subscribe_workspace(self, raw_id: Any, raw_after: Any) -> None:
        if not self.workspace:
            # A supervisor's "Aguardando em fila" follows the queues they supervise.
            for queue_id in await database_sync_to_async(views_live.supervised_queue_ids)(self.user):
                await self._join(queue_group(queue_id))
            # ... and their cards "Agentes em pós-atendimento" and "Agentes" follow the agents' states.
            self.supervisor = await database_sync_to_async(views_live.is_supervisor)(self.user)
            if self.supervisor:
                await self._join(PRESENCE_GROUP)
        self.workspace = True
        if self.conversation_id is not None:
            await self._leave(conversation_group(self.conversation_id))
            self.conversation_id = None
        if raw_id not in (None, ""):
            try:
                conversation_id = int(raw_id)
                await database_sync_to_async(views_live.access_conversation)(self.user, conversation_id)
            except (TypeError, ValueError, Http404):
                conversation_id = None
            if conversation_id is not None:
                self.conversation_id = conversation_id
                try:
                    self.last_message_id = max(0, int(raw_after or 0))
                except (TypeError, ValueError):
                    self.last_message_id = 0
                await self._join(conversation_group(conversation_id))
        # What the page missed between its HTTP rendering and now (or while reconnecting).
        self.dirty.update({"list", "messages", "presence"} if self.conversation_id else {"list", "presence"})
        if self.supervisor:
            self.dirty.add("agents")
        self._schedule_flush()

    # --- from the channel layer -----------------------------------------------------------------

    async def live_change(self, event: dict[str, Any]) -> None:
        event_id = str(event.get("event_id", ""))
        if event_id:
            # One publication reaches the socket once per group it is in (agent, conversation).
            if event_id in self.seen_events:
                return
            self.seen_events[event_id] = None
            if len(self.seen_events) > 500:
                self.seen_events.pop(next(iter(self.seen_events)))
        model = event.get("model")
        conversation_id = event.get("conversation_id")
        is_open = conversation_id is not None and conversation_id == self.conversation_id
        if model == "presence":
            if event.get("agent_id") == self.user.pk:
                self.dirty.update({"presence", "wrap_up"} if self.workspace else {"presence"})
            elif self.workspace and event.get("change") in ("wrap_up", "wrap_up_finished", "state"):
                # A supervisor's wrap-up and "Agentes" cards (only they join the presence group).
                self.dirty.update({"list", "agents"})
        elif model == "message" and event.get("change") == "state":
            # Delivery receipt (sent/delivered/read/failed) or fetched media: redraw that message.
            if is_open and event.get("message_id"):
                self.dirty.add(f"state:{int(event['message_id'])}")
        elif model == "message":
            if self.workspace and event.get("agent_id") == self.user.pk:
                # In my list: its line (a supervisor looking in has no line for it).
                self.dirty.add(f"item:{conversation_id}")
            if is_open:
                self.dirty.add("messages")
        elif model == "conversation":
            if event.get("change") == "read":
                # Its unread badge: that line. The conversation open here was read by this
                # socket's own rendering (which already redrew the line); other tabs redraw it.
                if self.workspace and not is_open:
                    self.dirty.add(f"item:{conversation_id}")
            elif self.workspace:
                self.dirty.add("list")
            if is_open and event.get("change") != "read":
                self.dirty.add("pane")
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Every rendering pass runs in the one flushing task: two passes at once would both
        append the messages after the same ``last_message_id`` (the pane showed them twice)."""
        if self.dirty and (self.flushing is None or self.flushing.done()):
            self.flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        # Changes arriving while a rendering runs are coalesced into the next pass.
        while self.dirty:
            dirty, self.dirty = self.dirty, set()
            try:
                await self._render_and_send(dirty)
            except Exception:  # one failed rendering must not kill the socket
                logger.exception("omni live update failed for user %s", self.user.pk)

    async def _render_and_send(self, dirty: set[str]) -> None:
        conversation_id = self.conversation_id
        # One thread hop for the whole pass: consumers share one sync thread, and each hop
        # opens (and closes) its own database connection.
        parts, last, presence = await database_sync_to_async(_render)(
            self.user, dirty, conversation_id, self.last_message_id, self.csrf, self.workspace
        )
        if self.conversation_id == conversation_id:
            self.last_message_id = last
        if presence and views_live.without_csrf(presence) != self.last_presence:
            self.last_presence = views_live.without_csrf(presence)
            parts.append(presence)
        html = "".join(p for p in parts if p)
        if html:
            await self.send(text_data=html)
