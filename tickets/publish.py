"""Publishing changes to live screens, always after commit.

Payloads are small JSON (what changed, which ids), never rendered HTML: each
consumer renders for its own viewer (ARCHITECTURE.md, "The flow of a change").
"""

import asyncio
import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _send(groups: list[str], payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "live.change", **payload}

    async def send_all() -> None:
        # One hop into the event loop for all the groups (each hop costs a loop switch, or a
        # new loop and Redis connection outside daphne), the sends running concurrently.
        # The group is named in the message: a process's hub (dashboards.hub) receives
        # every group on one channel and routes by it.
        results = await asyncio.gather(
            *(layer.group_send(group, {**message, "group": group}) for group in groups), return_exceptions=True
        )
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, BaseException):  # a lost message may delay a screen, never break a write
                logger.error("publishing to %s failed: %r", group, result)

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("publishing to %s failed", groups)


def publish_on_commit(groups: list[str], payload: dict[str, Any]) -> None:
    """Send ``payload`` to ``groups`` once the current transaction commits.

    Each publication gets an ``event_id``: consumers use it to render one
    change once however many sockets of a process show the same thing.
    """
    message = {**payload, "event_id": uuid.uuid4().hex}
    transaction.on_commit(lambda: _send(list(groups), message))


ALL_TICKETS_GROUP = "tickets.all"


def publish_ticket_change(
    ticket_id: int,
    team_id: int,
    change: str,
    *,
    extra_teams: tuple[int, ...] = (),
    users: tuple[int | None, ...] = (),
) -> None:
    """Tell every audience of one ticket that it changed (after commit).

    Audiences: the ticket's page, its team's panels (and the previous team's on
    a transfer), the administrators, and the users who see it as theirs
    (assignee, previous assignee, watchers) even from another team.
    """
    groups = [ticket_group(ticket_id), team_group(team_id), ALL_TICKETS_GROUP]
    groups += [team_group(t) for t in dict.fromkeys(extra_teams) if t != team_id]
    groups += [user_group(u) for u in dict.fromkeys(users) if u]
    publish_on_commit(groups, {"model": "ticket", "change": change, "ticket_id": ticket_id})
