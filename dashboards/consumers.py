"""The live screens' websocket: one socket per page, session-authenticated.

Protocol (JSON from the browser, through htmx's websocket extension):

- ``{"action": "grid", "view": "abertos/hoje", "query": "o=-opened_at&page=...", "resync": false}``:
  this page shows that grid (sent again whenever the user sorts, filters or
  pages);
- ``{"action": "ticket", "ticket": 123, "resync": false}``: this page is ticket 123's;
- each subscription is answered with the page's live parts as the database
  has them now: a change between the page's HTTP rendering and its socket's
  subscription, or while a dropped socket was reconnecting ("resync": true,
  informative), is never missed;
- anything else is ignored.

The server sends HTML fragments with ``hx-swap-oob`` (rendered by
``dashboards.live`` for this viewer). Changes arrive from the channel layer as
``live.change`` messages (``tickets.publish``), which carry only ids; changes
that arrive while a rendering is running are coalesced into the next one.
Identical renderings (same viewer, view, query, changes) requested by several
sockets of one process at once are done once.
"""

import asyncio
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404

from dashboards import live
from dashboards.hub import get_hub
from servicedesk.asyncdb import database_sync_to_async

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's).
UNAUTHENTICATED = 4401

_SHARED_TTL = 5.0
# Changes within this time after a change share one count of the tab badges.
COUNTS_DELAY_SECONDS = 0.1
_shared: dict[tuple, tuple[float, asyncio.Future]] = {}

# Distinct changes this process has heard of. A rendering keyed by it can be
# shared by every socket that subscribes before the next change: any change
# after it reaches each of them as a live.change and is diffed from there.
_generation = 0
_recent_events: dict[str, None] = {}


def _note_event(event_id: str) -> None:
    global _generation
    if event_id and event_id not in _recent_events:
        _recent_events[event_id] = None
        if len(_recent_events) > 5000:
            _recent_events.pop(next(iter(_recent_events)))
        _generation += 1


async def _shared_render(key: tuple, func, *args, in_flight_only: bool = False) -> Any:
    """Run ``func(*args)`` in a thread once for every caller asking with the same ``key`` now.

    ``in_flight_only``: join a rendering still running, never reuse a finished
    one (for answers that must reflect the database as of the request).
    """
    now = time.monotonic()
    found = _shared.get(key)
    if found is not None and now - found[0] < _SHARED_TTL and not (in_flight_only and found[1].done()):
        return await asyncio.shield(found[1])
    if len(_shared) > 2000:
        for stale in [k for k, (t, _f) in _shared.items() if now - t >= _SHARED_TTL]:
            _shared.pop(stale, None)
    future: asyncio.Future = asyncio.get_running_loop().create_future()
    _shared[key] = (now, future)
    try:
        result = await database_sync_to_async(func)(*args)
    except BaseException as exc:
        _shared.pop(key, None)
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
        raise
    future.set_result(result)
    return result


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user = user
        self.groups_joined: list[str] = []
        self.grid_view = ""
        self.grid_query = ""
        self.grid_tab = ""
        self.grid_state: live.GridState | None = None
        self.base_total: int | None = None
        self.ticket_id: int | None = None
        self.ticket_state: dict[str, str] | None = None
        # The browser's CSRF secret: forms in re-rendered fragments stay valid for it.
        self.csrf = self.scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME, "")
        self.pending: set[int] = set()
        self.seen_events: dict[str, None] = {}
        self.last_counts = ""
        self.pending_events: set[str] = set()
        self.flushing: asyncio.Task | None = None
        self.counts_events: set[str] = set()
        self.counting: asyncio.Task | None = None
        for group in await database_sync_to_async(live.audience_groups)(user):
            await self._join(group)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        hub = get_hub()
        for group in getattr(self, "groups_joined", []):
            await hub.leave(group, self)
        for task in (getattr(self, "flushing", None), getattr(self, "counting", None)):
            if task is not None:
                task.cancel()

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            # Through the process's hub: one message per process per change, not one per socket.
            await get_hub().join(group, self)
            self.groups_joined.append(group)

    # --- from the browser ---------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "grid":
            view, query = str(content.get("view", ""))[:100], str(content.get("query", ""))[:2000]
            await self._subscribe_grid(view, query, bool(content.get("resync")))
        elif action == "counts":
            await self._subscribe_counts(str(content.get("tab", ""))[:100])
        elif action == "ticket":
            await self._subscribe_ticket(content.get("ticket"), bool(content.get("resync")))

    async def _subscribe_grid(self, view_key: str, query: str, resync: bool) -> None:
        query = query.lstrip("?")
        try:
            key = ("subscribe", self.user.pk, view_key, query, _generation)
            state = await _shared_render(key, live.grid_state, self.user, view_key, query, in_flight_only=True)
        except Http404:
            return
        self.grid_view, self.grid_query = view_key, query
        self.grid_tab = view_key.partition("/")[0]
        self.base_total = state.total
        self.grid_state = state
        # Always answered with the page as the database has it now: the page was
        # rendered over HTTP a moment before, and a change in between must not be
        # lost (nor one missed while a dropped socket was reconnecting).
        html = live.grid_diff(None, state, set(), 0)
        key = ("subscribe-counts", self.user.pk, self.grid_tab, _generation)
        self.last_counts = await _shared_render(key, live.counts_html, self.user, self.grid_tab, in_flight_only=True)
        await self.send(text_data=html + self.last_counts)

    async def _subscribe_counts(self, tab: str) -> None:
        """A panel page without a flat grid (tree, pivot): its tab and view badges only."""
        self.grid_view, self.grid_query, self.grid_state = "", "", None
        self.grid_tab = tab
        key = ("subscribe-counts", self.user.pk, tab, _generation)
        self.last_counts = await _shared_render(key, live.counts_html, self.user, tab, in_flight_only=True)
        await self.send(text_data=self.last_counts)

    async def _subscribe_ticket(self, raw: Any, resync: bool) -> None:
        try:
            ticket_id = int(raw)
            group = await database_sync_to_async(live.ticket_audience)(self.user, ticket_id)
        except (TypeError, ValueError, Http404):
            return
        self.ticket_id = ticket_id
        await self._join(group)
        self.ticket_state = await database_sync_to_async(live.ticket_regions)(self.user, ticket_id, self.csrf)
        await self.send(text_data=live.regions_diff(None, self.ticket_state))

    # --- from the channel layer -----------------------------------------------------------------

    async def live_change(self, event: dict[str, Any]) -> None:
        event_id = str(event.get("event_id", ""))
        _note_event(event_id)
        if event_id:
            # The same publication reaches a socket once per group it is in (team, ticket, user).
            if event_id in self.seen_events:
                return
            self.seen_events[event_id] = None
            if len(self.seen_events) > 500:
                self.seen_events.pop(next(iter(self.seen_events)))
        ids = event.get("ticket_ids") or ([event["ticket_id"]] if event.get("ticket_id") else [])
        self.pending.update(int(i) for i in ids)
        self.pending_events.add(str(event.get("event_id", "")))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.ensure_future(self._flush())

    async def _send_counts_soon(self) -> None:
        await asyncio.sleep(COUNTS_DELAY_SECONDS)
        events, self.counts_events = tuple(sorted(self.counts_events)), set()
        try:
            key = ("counts", self.user.pk, self.grid_tab, events)
            counts = await _shared_render(key, live.counts_html, self.user, self.grid_tab)
        except Exception:
            logger.exception("live badge counts failed for user %s", self.user.pk)
            return
        if counts != self.last_counts:
            self.last_counts = counts
            await self.send(text_data=counts)

    async def live_raw(self, event: dict[str, Any]) -> None:
        """A fixed fragment sent as is: the reference of bench/live_bench.py (bare group_send cost)."""
        await self.send(text_data=str(event.get("text", "")))

    async def _flush(self) -> None:
        while self.pending:
            changed, self.pending = self.pending, set()
            events, self.pending_events = tuple(sorted(self.pending_events)), set()
            try:
                await self._render_and_send(changed, events)
            except Exception:  # one failed rendering must not kill the socket
                logger.exception("live update failed for user %s", self.user.pk)

    async def _render_and_send(self, changed: set[int], events: tuple[str, ...]) -> None:
        parts: list[str] = []
        if self.grid_view:
            key = ("grid", self.user.pk, self.grid_view, self.grid_query, events, frozenset(changed))
            state = await _shared_render(key, live.grid_state, self.user, self.grid_view, self.grid_query)
            unseen = 0
            if state.deep and state.total is not None and self.base_total is not None:
                unseen = max(0, state.total - self.base_total)
            diff = live.grid_diff(self.grid_state, state, changed, unseen)
            self.grid_state = state
            if diff:  # the rows first; the badges (counts over whole views) follow
                await self.send(text_data=diff)
        # Badges count whole views: counted once the rows are out, for every change of the
        # next moment at once (they would otherwise hold the next change's rows back).
        if self.grid_tab:
            self.counts_events.update(events)
            if self.counting is None or self.counting.done():
                self.counting = asyncio.ensure_future(self._send_counts_soon())
        if self.ticket_id is not None and self.ticket_id in changed:
            key = ("ticket", self.user.pk, self.ticket_id, self.csrf, events)
            regions = await _shared_render(key, live.ticket_regions, self.user, self.ticket_id, self.csrf)
            parts.append(live.regions_diff(self.ticket_state, regions))
            self.ticket_state = regions
        html = "".join(p for p in parts if p)
        if html:
            await self.send(text_data=html)
