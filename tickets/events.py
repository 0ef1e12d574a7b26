"""The ticket event log: one ``record(...)`` that every app calls."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from tickets.models import EventKind, Ticket, TicketEvent


def record(
    *,
    ticket: Ticket,
    kind: EventKind | str,
    actor: AbstractBaseUser | None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Append one event to the ticket's log; call it inside the operation's transaction."""
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=EventKind(kind),
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data or {},
        created_at=at or timezone.now(),
    )
    count_events({ticket.pk: 1})
    return event


def count_events(added: dict[int, int]) -> None:
    """``Ticket.event_count`` += n for each ticket id: whoever writes ticket events calls this in
    the same transaction (the "Interações" counts add these up)."""
    by_n: dict[int, list[int]] = {}
    for ticket_id, n in added.items():
        by_n.setdefault(n, []).append(ticket_id)
    for n, ids in by_n.items():
        Ticket.objects.filter(pk__in=ids).update(event_count=F("event_count") + n)


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


# Data keys whose values are stored as the pt-BR source text of a translatable label
# (a conversation's channel and status): shown in the reader's language.
TRANSLATED_KEYS = ("channel_name", "status_name")


def event_text(event: TicketEvent) -> str:
    """The sentence the timeline and the "Interações" grid show for an event."""
    local = timezone.localtime(event.created_at)
    values = _Defaults({k: v for k, v in (event.data or {}).items() if isinstance(v, str | int | float)})
    for key in TRANSLATED_KEYS:
        if values.get(key):
            values[key] = gettext(str(values[key]))
    values["at"] = date_format(local, "d/m/Y H:i:s")
    return str(EventKind(event.kind).label).format_map(values)
