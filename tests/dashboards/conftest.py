"""Helpers of the panel tests: tickets at chosen instants, SLA clocks, service orders, the grid."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sla.models import BusinessCalendar, ClockState, SlaClock, SlaPolicy
from tests import factories as f
from tickets.models import ServiceOrder, ServiceOrderStatus, Ticket, TicketStage

SP = ZoneInfo("America/Sao_Paulo")
HTMX = {"HX-Request": "true", "HX-Target": "grid"}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)


@pytest.fixture
def make_ticket(team, customer, company, process, agent):
    """``make_ticket(opened_at=…, closed_at=…, **fields)``: a ticket of ``team`` (unassigned by default)."""

    def _make(**fields) -> Ticket:
        fields.setdefault("team", team)
        fields.setdefault("customer", customer)
        fields.setdefault("company", company)
        fields.setdefault("process", process)
        fields.setdefault("opened_by", agent)
        closed_at = fields.get("closed_at")
        if closed_at is not None:
            fields.setdefault("closed_by", agent)
        return f.TicketFactory(**fields)

    return _make


@pytest.fixture
def sla_policy(db):
    calendar = BusinessCalendar.objects.create(name="24x7", always_open=True)
    return SlaPolicy.objects.create(name="Padrão", calendar=calendar, resolution_amount=8)


@pytest.fixture
def make_clock(sla_policy):
    def _make(ticket: Ticket, *, due_at: datetime, state: str = ClockState.RUNNING, breached_at=None) -> SlaClock:
        clock = SlaClock.objects.create(
            ticket=ticket,
            policy=sla_policy,
            calendar=sla_policy.calendar,
            started_at=ticket.opened_at,
            due_at=due_at,
            state=state,
            breached_at=breached_at,
        )
        # What the sla app's writers do: the ticket carries the clock's breach time and deadline.
        Ticket.objects.filter(pk=ticket.pk).update(sla_breached_at=breached_at, sla_due_at=due_at)
        ticket.sla_breached_at, ticket.sla_due_at = breached_at, due_at
        return clock

    return _make


def set_stage_due(ticket: Ticket, due_at: datetime) -> TicketStage:
    stage = ticket.stages.get(finished_at__isnull=True)
    stage.due_at = due_at
    stage.save(update_fields=["due_at"])
    return stage


def add_service_order(ticket: Ticket, *, code: int, status=ServiceOrder.Status.UNSCHEDULED, due_at=None, completed_at=None):
    """A service order row plus the ticket's denormalised latest O.S., as the operations keep it."""
    order = ServiceOrder.objects.create(
        ticket=ticket, code=code, status=status, due_at=due_at, completed_at=completed_at,
        created_by=ticket.opened_by, description="Visita técnica",
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        service_order_status=ServiceOrderStatus(status),
        service_order_code=code,
        service_order_due_at=due_at,
        service_order_completed_at=completed_at,
    )
    return order


def view_url(key: str, **params) -> str:
    tab, view = key.split("/")
    url = reverse("dashboards:view", kwargs={"tab": tab, "view": view})
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params, doseq=True)
    return url


def row_ids(response) -> list[int]:
    """Ticket ids of the grid's rows, in order."""
    return [row["ticket_id"] for row in response.context["rows"]]


def members(view, user, now) -> set[int]:
    """Ticket ids a view's membership rule gives."""
    attr = view.ticket_attr
    return {getattr(row, attr) for row in view.rule(user, now)}
