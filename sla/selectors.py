"""Reads of the SLA app: what the ticket page and the grids show, derived at read time.

"Restantes (hrs)" and "Horas de atraso" are business hours of the clock's
calendar between now and the deadline; they are never stored.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from sla.businesstime import business_time_between
from sla.calendars import calendar_info
from sla.models import ClockState, SlaClock, SlaIntervention
from sla.services import stage_calendar
from tickets.models import Ticket, TicketStage

BADGES = {
    ClockState.RUNNING: "text-bg-primary",
    ClockState.AT_RISK: "text-bg-warning",
    ClockState.PAUSED: "text-bg-secondary",
    ClockState.MET: "text-bg-success",
    ClockState.BREACHED: "text-bg-danger",
}


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


@dataclass(frozen=True)
class ClockView:
    clock: SlaClock
    state_label: str
    badge: str
    remaining_hours: float | None
    overdue_hours: float | None

    @property
    def counting(self) -> bool:
        """Open to "Incrementar" / "Pausar"."""
        return self.clock.stopped_at is None and self.clock.state in (
            ClockState.RUNNING,
            ClockState.AT_RISK,
            ClockState.BREACHED,
        )

    @property
    def paused(self) -> bool:
        return self.clock.stopped_at is None and self.clock.state == ClockState.PAUSED


def clock_view(clock: SlaClock, now: datetime | None = None) -> ClockView:
    now = now or timezone.now()
    spec = calendar_info(clock.calendar).spec
    remaining = overdue = None
    if clock.state == ClockState.PAUSED and clock.paused_at is not None:
        remaining = _hours(business_time_between(spec, clock.paused_at, clock.due_at))
    elif clock.state in (ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED) and clock.stopped_at is None:
        if clock.due_at > now:
            remaining = _hours(business_time_between(spec, now, clock.due_at))
        else:
            overdue = _hours(business_time_between(spec, clock.due_at, now))
    elif clock.state == ClockState.BREACHED and clock.stopped_at is not None:
        overdue = _hours(business_time_between(spec, clock.due_at, clock.stopped_at))
    state = ClockState(clock.state)
    # A running clock already past its deadline is late, even before the scan marks it.
    if state in (ClockState.RUNNING, ClockState.AT_RISK) and overdue is not None:
        state = ClockState.BREACHED
    return ClockView(clock, str(state.label), BADGES[state], remaining, overdue)


def ticket_clock(ticket: Ticket) -> SlaClock | None:
    return SlaClock.objects.select_related("policy", "calendar").filter(pk=ticket.pk).first()


def ticket_interventions(ticket: Ticket) -> QuerySet[SlaIntervention]:
    return SlaIntervention.objects.filter(ticket=ticket).select_related("actor", "reason").order_by("-created_at", "-id")


def annotate_stages(ticket: Ticket, stages: list[TicketStage], now: datetime | None = None) -> None:
    """Give each stage ``remaining_hours`` (business hours left, open stages) and ``late``."""
    now = now or timezone.now()
    calendar = stage_calendar(ticket) if any(s.finished_at is None for s in stages) else None
    spec = calendar_info(calendar).spec if calendar is not None else None
    for stage in stages:
        end = stage.finished_at or now
        stage.late = end > stage.due_at
        stage.remaining_hours = None
        if stage.finished_at is None and not stage.late:
            left = business_time_between(spec, now, stage.due_at) if spec else stage.due_at - now
            stage.remaining_hours = _hours(left)


def detail_context(*, request: Any, ticket: Ticket, stages: list[TicketStage]) -> dict[str, Any]:
    """The ticket page's SLA box (registered in ``tickets.hooks.detail_context``)."""
    annotate_stages(ticket, stages)
    clock = ticket_clock(ticket)
    view = clock_view(clock) if clock is not None else None
    can_modify = request.user.has_perm("tickets.tool_modify_sla") and ticket.closed_at is None
    return {
        "sla": {
            "template": "sla/_box.html",
            "view": view,
            "can_modify": can_modify and view is not None and view.counting,
            "can_resume": can_modify and view is not None and view.paused,
        }
    }
