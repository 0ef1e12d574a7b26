"""Hooks other apps register to act on ticket operations, inside their transaction.

``tickets`` cannot import the apps to its right (``sla`` ...), yet some of
their rows must change in the same transaction as the ticket: the SLA clock
starts when a ticket is opened, stops when it is finalized, restarts when it is
reopened and follows a change of category matrix or process. Those apps append
a function to these lists in their ``AppConfig.ready()``; ``tickets.services``
calls them after writing the ticket, still inside the transaction, so an
exception in a hook rolls the whole operation back.

Each hook gets keyword arguments: ``ticket`` (the locked, saved ticket),
``actor`` (the acting user or ``None``) and ``at`` (the operation's time);
``on_ticket_changed`` hooks also get ``fields`` (the names that changed).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tickets.models import Ticket

Hook = Callable[..., Any]

on_ticket_opened: list[Hook] = []
on_ticket_finalized: list[Hook] = []
on_ticket_reopened: list[Hook] = []
on_ticket_changed: list[Hook] = []
# Extra context for the ticket page: ``fn(request=..., ticket=..., stages=[...]) -> dict``.
# Each dict is merged into the page's context; a panel names its own template.
detail_context: list[Hook] = []


def register(hooks: list[Hook], fn: Hook) -> Hook:
    """Append ``fn`` once (``ready()`` may run more than once in tests)."""
    if fn not in hooks:
        hooks.append(fn)
    return fn


def run(hooks: list[Hook], *, ticket: Ticket, actor: Any, at: datetime, **extra: Any) -> None:
    for fn in list(hooks):
        fn(ticket=ticket, actor=actor, at=at, **extra)
