"""One channel-layer subscription per process for all the live sockets it serves.

With a channel per socket, a group_send to a team with 500 sockets open in one
daphne process is 500 messages that the process pops from Redis one round trip
at a time (channels_redis), which alone takes a few hundred milliseconds. The
hub joins each group once, with one channel of its own, and hands every
message it receives to the sockets of this process that joined that group:
one message per process, however many sockets.

Publications name their group (``tickets.publish`` adds ``"group"``), since a
message received on the hub's channel does not say which group it came through.
One hub per event loop (a test's loop, uvicorn's, daphne's).
"""

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# channels_redis forgets a group membership after group_expiry (a day by default):
# the hub adds its channel again well before that.
REFRESH_SECONDS = 3600


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel = ""
        self.members: dict[str, set[Any]] = defaultdict(set)
        self.lock = asyncio.Lock()
        self.pump: asyncio.Task | None = None
        self.refreshed = time.monotonic()

    async def join(self, group: str, consumer: Any) -> None:
        async with self.lock:
            if not self.channel:
                # The default prefix: channels_redis pops a process's "specific." channels
                # from one list; another prefix would wait behind the sockets' receives.
                self.channel = await self.layer.new_channel()
            if self.pump is None or self.pump.done():
                self.pump = asyncio.ensure_future(self._run())
            if not self.members[group]:
                await self.layer.group_add(group, self.channel)
            self.members[group].add(consumer)

    async def leave(self, group: str, consumer: Any) -> None:
        async with self.lock:
            members = self.members.get(group)
            if members is None:
                return
            members.discard(consumer)
            if not members:
                del self.members[group]
                await self.layer.group_discard(group, self.channel)

    async def _refresh(self) -> None:
        async with self.lock:
            for group in list(self.members):
                await self.layer.group_add(group, self.channel)
        self.refreshed = time.monotonic()

    async def _run(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the sockets resync when it is back
                logger.exception("live hub: receive failed")
                await asyncio.sleep(1)
                continue
            handler_name = str(message.get("type", "")).replace(".", "_")
            for consumer in list(self.members.get(str(message.get("group", "")), ())):
                handler = getattr(consumer, handler_name, None)
                if handler is None:
                    continue
                try:
                    await handler(message)
                except Exception:
                    logger.exception("live hub: %s failed", handler_name)
            if time.monotonic() - self.refreshed > REFRESH_SECONDS:
                await self._refresh()


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
