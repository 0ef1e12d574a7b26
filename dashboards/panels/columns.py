"""The columns of the panels, one definition each, for rows that are tickets or that hold one.

``On("ticket__")`` builds the same column for rows related to a ticket
(subprocess stages, events): paths get the prefix and values read
``row.ticket``.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from dashboards.grids.columns import Column, FilterKind, badge, format_hours, hours
from sla.models import ACTIVE_STATES, ClockState
from tickets.documents import normalize_document
from tickets.models import EventKind, Origin, ServiceOrderStatus, Ticket


class On:
    """Where the ticket is, seen from a row."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def __call__(self, path: str) -> str:
        return f"{self.prefix}{path}"

    def rel(self, path: str) -> str:
        return f"{self.prefix}{path}"

    def ticket(self, row: Any) -> Ticket:
        return row.ticket if self.prefix else row

    def related(self, *paths: str) -> tuple[str, ...]:
        base = (self.prefix.removesuffix("__"),) if self.prefix else ()
        return base + tuple(self(p) for p in paths)


TICKET = On()


def user_name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def user_filter(path: str):
    def method(qs: QuerySet, value: str) -> QuerySet:
        value = value.strip()
        return qs.filter(
            Q(**{f"{path}__first_name__icontains": value})
            | Q(**{f"{path}__last_name__icontains": value})
            | Q(**{f"{path}__username__icontains": value})
        )

    return method


def choice_label(choices) -> Callable[[Any], str]:
    """``value -> label`` for a choices list, like ``get_FOO_display`` without rebuilding (and
    hashing every lazy label of) the choices dict on each call, which cost a row ~0.5 ms."""
    labels = dict(choices)

    def label(value: Any) -> str:
        found = labels.get(value)
        return str(found) if found is not None else ("" if value is None else str(value))

    return label


ORIGIN_LABEL = choice_label(Origin.choices)
SERVICE_ORDER_LABEL = choice_label(ServiceOrderStatus.choices)


def label_order(path: str, choices) -> Case:
    """Sort a choices field by its pt-BR label, not its stored code."""
    ordered = sorted(choices, key=lambda c: str(c[1]).casefold())
    return Case(
        *[When(**{path: value}, then=Value(i)) for i, (value, _label) in enumerate(ordered)],
        default=Value(len(ordered)),
    )


# --- ticket identity ----------------------------------------------------------------------


def code(on: On = TICKET, label=gettext_lazy("Código")) -> Column:
    return Column(
        key="code",
        label=label,
        value=lambda r: on.ticket(r).code,
        sort=on("code"),
        filter=FilterKind.NUMBER,
        filter_field=on("code"),
        related=on.related(),
        css="text-nowrap fw-semibold",
    )


def customer(on: On = TICKET, label=gettext_lazy("Nome/Documento")) -> Column:
    def method(qs: QuerySet, value: str) -> QuerySet:
        value = value.strip()
        q = Q(**{on("customer__name__icontains"): value})
        doc = normalize_document(value)
        if doc.isdigit() and len(doc) >= 3:
            q |= Q(**{on("customer__document__startswith"): doc})
        return qs.filter(q)

    return Column(
        key="customer",
        label=label,
        value=lambda r: on.ticket(r).customer.name_document,
        html=lambda r: format_html(
            '{}<div class="doc">{}</div>', on.ticket(r).customer.name, on.ticket(r).customer.document_display
        ),
        sort=on("customer__name"),
        filter=FilterKind.TEXT,
        filter_method=method,
        related=on.related("customer"),
    )


def customer_name(on: On = TICKET) -> Column:
    return Column(
        key="customer_name",
        label=_("Nome do cliente"),
        value=lambda r: on.ticket(r).customer.name,
        sort=on("customer__name"),
        filter=FilterKind.TEXT,
        filter_field=on("customer__name"),
        related=on.related("customer"),
    )


def protocol(on: On = TICKET) -> Column:
    return Column(
        key="protocol",
        label=_("Protocolo"),
        value=lambda r: on.ticket(r).protocol,
        sort=on("protocol"),
        filter=FilterKind.TEXT,
        filter_field=on("protocol"),
        related=on.related(),
        css="text-nowrap",
    )


def _datetime(key: str, label: str, path: str, on: On, attr: str, *, nullable: bool = False) -> Column:
    return Column(
        key=key,
        label=label,
        value=lambda r: getattr(on.ticket(r), attr),
        sort=on(path),
        nullable=nullable,
        filter=FilterKind.DATE_RANGE,
        filter_field=on(path),
        related=on.related(),
        css="text-nowrap",
    )


def opened_at(on: On = TICKET, label=gettext_lazy("Abertura")) -> Column:
    return _datetime("opened_at", label, "opened_at", on, "opened_at")


def closed_at(on: On = TICKET, *, nullable: bool = False) -> Column:
    return _datetime("closed_at", _("Fechamento"), "closed_at", on, "closed_at", nullable=nullable)


# --- people ---------------------------------------------------------------------------------


def assignee(on: On = TICKET, label=gettext_lazy("Resgate")) -> Column:
    """"Resgate": the operator responsible now; "Sem resgate" when nobody is."""
    no_one = gettext_lazy("Sem resgate")

    def method(qs: QuerySet, value: str) -> QuerySet:
        wanted = value.strip().casefold()
        if len(wanted) >= 3 and str(no_one).casefold().startswith(wanted):
            return qs.filter(**{on("assignee__isnull"): True})
        return user_filter(on("assignee"))(qs, value)

    def html(r: Any):
        t = on.ticket(r)
        if t.assignee_id is None:
            return format_html('<span class="no-assignee">{}</span>', no_one)
        return user_name(t.assignee)

    return Column(
        key="assignee",
        label=label,
        value=lambda r: user_name(on.ticket(r).assignee) if on.ticket(r).assignee_id else str(no_one),
        html=html,
        sort=on("assignee__first_name"),
        nullable=True,
        filter=FilterKind.TEXT,
        filter_method=method,
        related=on.related("assignee"),
    )


def opened_by(on: On = TICKET, label=gettext_lazy("Operador de abertura")) -> Column:
    return Column(
        key="opened_by",
        label=label,
        value=lambda r: user_name(on.ticket(r).opened_by),
        sort=on("opened_by__first_name"),
        filter=FilterKind.TEXT,
        filter_method=user_filter(on("opened_by")),
        related=on.related("opened_by"),
    )


def closed_by(on: On = TICKET) -> Column:
    return Column(
        key="closed_by",
        label=_("Técnico que encerrou"),
        value=lambda r: user_name(on.ticket(r).closed_by),
        sort=on("closed_by__first_name"),
        nullable=True,
        filter=FilterKind.TEXT,
        filter_method=user_filter(on("closed_by")),
        related=on.related("closed_by"),
    )


# --- catalogue ----------------------------------------------------------------------------


def _named(key: str, label: str, rel: str, on: On, *, nullable: bool = False) -> Column:
    def value(r: Any) -> str:
        obj = getattr(on.ticket(r), rel)
        return obj.name if obj is not None else ""

    return Column(
        key=key,
        label=label,
        value=value,
        sort=on(f"{rel}__name"),
        nullable=nullable,
        filter=FilterKind.TEXT,
        filter_field=on(f"{rel}__name"),
        related=on.related(rel),
    )


def process(on: On = TICKET) -> Column:
    return _named("process", _("Processo"), "process", on)


def subprocess(on: On = TICKET) -> Column:
    return _named("subprocess", _("Subprocesso"), "current_subprocess", on, nullable=True)


def company(on: On = TICKET) -> Column:
    return _named("company", _("Empresa"), "company", on)


def team(on: On = TICKET) -> Column:
    return _named("team", _("Grupo do workspace"), "team", on)


def opening_classification(on: On = TICKET) -> Column:
    return _named("opening_classification", _("Classificação de abertura"), "opening_classification", on, nullable=True)


def closing_classification(on: On = TICKET) -> Column:
    return _named("closing_classification", _("Classificação"), "closing_classification", on, nullable=True)


def origin(on: On = TICKET) -> Column:
    return Column(
        key="origin",
        label=_("Origem do contato"),
        value=lambda r: ORIGIN_LABEL(on.ticket(r).origin),
        sort=label_order(on("origin"), Origin.choices),
        filter=FilterKind.CHOICE,
        filter_field=on("origin"),
        choices=Origin.choices,
        related=on.related(),
    )


def service_order_status(on: On = TICKET) -> Column:
    return Column(
        key="service_order_status",
        label=_("Ordem de Serviço"),
        value=lambda r: SERVICE_ORDER_LABEL(on.ticket(r).service_order_status),
        sort=label_order(on("service_order_status"), ServiceOrderStatus.choices),
        filter=FilterKind.CHOICE,
        filter_field=on("service_order_status"),
        choices=ServiceOrderStatus.choices,
        related=on.related(),
    )


def service_order_code(on: On = TICKET) -> Column:
    """"O.S. vinculada": the code of the ticket's latest service order (denormalised)."""
    return Column(
        key="service_order_code",
        label=_("O.S. vinculada"),
        value=lambda r: on.ticket(r).service_order_code,
        sort=on("service_order_code"),
        nullable=True,
        filter=FilterKind.NUMBER,
        filter_field=on("service_order_code"),
        related=on.related(),
        css="text-nowrap",
    )


# --- address ------------------------------------------------------------------------------


def _address(key: str, label: str, field: str, on: On) -> Column:
    return Column(
        key=key,
        label=label,
        value=lambda r: getattr(on.ticket(r), field),
        sort=on(field),
        filter=FilterKind.TEXT,
        filter_field=on(field),
        related=on.related(),
    )


def city(on: On = TICKET) -> Column:
    return _address("city", _("Cidade"), "city", on)


def neighbourhood(on: On = TICKET) -> Column:
    return _address("neighbourhood", _("Bairro"), "neighbourhood", on)


def street(on: On = TICKET) -> Column:
    column = _address("street", _("Logradouro"), "street", on)

    def value(r: Any) -> str:
        t = on.ticket(r)
        return ", ".join(p for p in (t.street, t.number) if p)

    return replace(column, value=value)


def condominium(on: On = TICKET) -> Column:
    return _address("condominium", _("Condomínio"), "condominium", on)


# --- SLA ---------------------------------------------------------------------------------------

SLA_STYLE = {
    ClockState.RUNNING: "primary",
    ClockState.AT_RISK: "warning",
    ClockState.PAUSED: "secondary",
    ClockState.MET: "success",
    ClockState.BREACHED: "danger",
}


def clock_of(ticket: Ticket):
    try:
        return ticket.sla_clock
    except ObjectDoesNotExist:
        return None


def sla_state(clock: Any, now: datetime | None = None) -> str | None:
    """The deadline state shown: a running clock past its deadline is already "Atrasado"."""
    if clock is None:
        return None
    now = now or timezone.now()
    if clock.state in ACTIVE_STATES and clock.due_at < now:
        return ClockState.BREACHED
    return clock.state


def sla_late_q(prefix: str = "", *, now: datetime) -> Q:
    """"SLA atrasado": the clock breached, or running past its deadline (not paused)."""
    return Q(**{f"{prefix}sla_clock__state": ClockState.BREACHED}) | Q(
        **{f"{prefix}sla_clock__state__in": ACTIVE_STATES, f"{prefix}sla_clock__due_at__lt": now}
    )


def sla(on: On = TICKET) -> Column:
    """"SLA": the deadline state (Em andamento, Em risco, Pausado, Cumprido, Atrasado) and the deadline."""

    def text(r: Any) -> str:
        clock = clock_of(on.ticket(r))
        state = sla_state(clock)
        if state is None:
            return ""
        return f"{ClockState(state).label} · {date_format(timezone.localtime(clock.due_at), 'd/m/Y H:i')}"

    def html(r: Any):
        clock = clock_of(on.ticket(r))
        state = sla_state(clock)
        if state is None:
            return format_html('<span class="text-body-secondary">{}</span>', _("Sem SLA"))
        return format_html(
            '{} <span class="sla-due">{}</span>',
            badge(str(ClockState(state).label), SLA_STYLE[state]),
            date_format(timezone.localtime(clock.due_at), "d/m/Y H:i"),
        )

    def method(qs: QuerySet, value: str) -> QuerySet:
        now = timezone.now()
        late = sla_late_q(on.prefix, now=now)
        if value == ClockState.BREACHED:
            return qs.filter(late)
        return qs.filter(**{on("sla_clock__state"): value}).exclude(late)

    return Column(
        key="sla",
        label=_("SLA"),
        value=text,
        html=html,
        sort=on("sla_due_at"),  # the ticket's copy of the clock's deadline (indexed)
        nullable=True,
        filter=FilterKind.CHOICE,
        filter_method=method,
        choices=ClockState.choices,
        related=on.related("sla_clock"),
        css="text-nowrap",
    )


# --- lateness ------------------------------------------------------------------------------------


def finalized(on: On = TICKET) -> Column:
    """"Finalizados": SIM when the ticket is finalized."""
    return Column(
        key="finalized",
        label=_("Finalizados"),
        value=lambda r: on.ticket(r).closed_at is not None,
        sort=Case(When(**{on("closed_at__isnull"): True}, then=Value(0)), default=Value(1)),
        filter=FilterKind.YES_NO,
        filter_method=lambda qs, yes: qs.filter(**{on("closed_at__isnull"): not yes}),
        related=on.related(),
    )


def hours_column(key: str, label: str, annotation: str, *, nullable: bool = True, at_least: bool = True) -> Column:
    """Hours from an annotated duration; the header filter is "at least N hours"."""

    def method(qs: QuerySet, value: Any) -> QuerySet:
        from datetime import timedelta

        try:
            limit = timedelta(hours=float(value))
        except OverflowError:
            # More hours than a duration holds: nothing is that late / everything is within it.
            return qs.none() if (value > 0) == at_least else qs
        return qs.filter(**{f"{annotation}__{'gte' if at_least else 'lte'}": limit})

    return Column(
        key=key,
        label=label,
        value=lambda r: hours(getattr(r, annotation)),
        text=lambda r: format_hours(getattr(r, annotation)),
        sort=annotation,
        nullable=nullable,
        filter=FilterKind.NUMBER,
        filter_method=method,
        css="text-end text-nowrap",
    )


# --- interactions -----------------------------------------------------------------------------------


def event_text() -> Column:
    return Column(
        key="interaction",
        label=_("Interações"),
        value=lambda r: r.text,
        sort=label_order("kind", EventKind.choices),
        filter=FilterKind.CHOICE,
        filter_field="kind",
        choices=lambda: sorted(EventKind.choices, key=lambda c: str(c[1]).casefold()),
    )


def event_at() -> Column:
    return Column(
        key="event_at",
        label=_("Data e hora"),
        value=lambda r: r.created_at,
        sort="created_at",
        filter=FilterKind.DATE_RANGE,
        filter_field="created_at",
        css="text-nowrap",
    )

