"""Operations on SLA clocks: the only code that writes them (with ``sla.batch``).

The deadline is always derivable from the clock's row::

    due_at = add_business_time(calendar, started_at,
                               policy.resolution_time + increment_seconds + paused_seconds)

so a recomputation after a calendar, holiday or policy change is exact and
idempotent. While a clock is paused its ``due_at`` is the deadline it had when
paused; resuming adds the business time spent paused and recomputes it.

Interventions (``sla_increment``, ``sla_pause``, ``sla_resume``) check the
``tickets.tool_modify_sla`` permission and the ticket's visibility, lock the
clock row, write in one transaction, record "Alteração de SLA em …" and
publish after commit. Bad input raises ``ValidationError`` with a pt-BR
message and nothing changes.

The clock follows the ticket through the hooks of ``tickets.hooks``
(registered in ``SlaConfig.ready``), inside the ticket operation's
transaction: it starts when the ticket is opened, stops (met or breached)
when it is finalized, restarts from zero when it is reopened, and when the
category matrix or the process changes it keeps its start, increments and
pauses and takes the new policy's time and calendar.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from sla.businesstime import add_business_time, business_time_between
from sla.calendars import CalendarInfo, calendar_info
from sla.models import (
    BusinessCalendar,
    ClockState,
    Holiday,
    MatrixPolicy,
    ProcessPolicy,
    SlaClock,
    SlaIntervention,
    SlaPolicy,
    SlaReason,
    TimeUnit,
)
from tickets.events import record
from tickets.models import EventKind, Subprocess, Ticket
from tickets.publish import publish_ticket_change
from tickets.selectors import access_ticket

PERMISSION = "tickets.tool_modify_sla"
MAX_QUANTITY = {TimeUnit.HOURS: Decimal(720), TimeUnit.DAYS: Decimal(90)}
NOTES_MAX = 2000
OPEN_STATES = (ClockState.RUNNING, ClockState.AT_RISK, ClockState.PAUSED)
# Clocks an operator may increment or pause: counting, late or not.
COUNTING_STATES = (ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED)


def warning_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "SLA_WARNING_MINUTES", 15)))


# --- policy and deadline -----------------------------------------------------------


def resolve_policy(ticket: Ticket) -> SlaPolicy | None:
    """The ticket's policy: its matrix's "Situação de SLA", else its process's default."""
    if ticket.category_matrix_id is not None:
        link = (
            MatrixPolicy.objects.filter(matrix_id=ticket.category_matrix_id, policy__active=True)
            .select_related("policy__calendar")
            .first()
        )
        if link is not None:
            return link.policy
    link = (
        ProcessPolicy.objects.filter(process_id=ticket.process_id, policy__active=True)
        .select_related("policy__calendar")
        .first()
    )
    return link.policy if link is not None else None


def clock_total(policy: SlaPolicy, info: CalendarInfo, clock: SlaClock) -> timedelta:
    return (
        info.amount(policy.resolution_amount, policy.resolution_unit)
        + timedelta(seconds=clock.increment_seconds + clock.paused_seconds)
    )


def compute_due(clock: SlaClock, policy: SlaPolicy, info: CalendarInfo) -> datetime:
    return add_business_time(info.spec, clock.started_at, clock_total(policy, info, clock))


def compute_first_response_due(started_at: datetime, policy: SlaPolicy, info: CalendarInfo) -> datetime | None:
    if policy.first_response_amount is None:
        return None
    amount = info.amount(policy.first_response_amount, policy.first_response_unit)
    return add_business_time(info.spec, started_at, amount)


def _counting_state(clock: SlaClock, now: datetime) -> None:
    """After the deadline moved: running again if it is ahead, late ones stay late.

    "Em risco" and "Atrasado" are marked by the periodic scans, which record
    the event once; here a deadline moved into the future clears them.
    """
    if clock.due_at > now:
        clock.state = ClockState.RUNNING
        clock.breached_at = None
        clock.at_risk_at = None
    elif clock.state == ClockState.AT_RISK:
        clock.state = ClockState.RUNNING
        clock.at_risk_at = None


def _sync_ticket(clock: SlaClock) -> None:
    """Copy the clock's breach time and deadline to its ticket (``Ticket.sla_breached_at``, read by
    the late panels; ``Ticket.sla_due_at``, the grids' "SLA" sort)."""
    Ticket.objects.filter(pk=clock.ticket_id).update(sla_breached_at=clock.breached_at, sla_due_at=clock.due_at)


def sync_ticket_copies(*, ticket_ids: list[int]) -> None:
    """``_sync_ticket`` for many tickets in one statement (the batch paths)."""
    if not ticket_ids:
        return
    clock = SlaClock.objects.filter(ticket_id=OuterRef("pk"))
    Ticket.objects.filter(pk__in=ticket_ids).update(
        sla_breached_at=Subquery(clock.values("breached_at")[:1]), sla_due_at=Subquery(clock.values("due_at")[:1])
    )


def _publish(ticket: Ticket) -> None:
    publish_ticket_change(ticket.pk, ticket.team_id, "sla")


# --- the clock follows the ticket (hooks) ------------------------------------------------


def clock_start(*, ticket: Ticket, at: datetime, policy: SlaPolicy | None = None) -> SlaClock | None:
    """Start (or restart) the ticket's clock at ``at``; no policy, no clock."""
    policy = policy or resolve_policy(ticket)
    if policy is None:
        return None
    info = calendar_info(policy.calendar)
    clock = SlaClock(
        ticket=ticket,
        policy=policy,
        calendar=policy.calendar,
        started_at=at,
        state=ClockState.RUNNING,
    )
    clock.due_at = compute_due(clock, policy, info)
    clock.first_response_due_at = compute_first_response_due(at, policy, info)
    existing = SlaClock.objects.select_for_update().filter(pk=ticket.pk).first()
    if existing is not None:
        clock.version = existing.version + 1
    clock.save(force_insert=existing is None, force_update=existing is not None)
    _sync_ticket(clock)
    return clock


def clock_stop(*, ticket: Ticket, at: datetime) -> SlaClock | None:
    """Stop the clock when the ticket is finalized: met if within the deadline, else breached."""
    clock = SlaClock.objects.select_for_update().select_related("policy", "calendar").filter(pk=ticket.pk).first()
    if clock is None or clock.state not in (*OPEN_STATES, ClockState.BREACHED) or clock.stopped_at is not None:
        return clock
    breached_before, due_before = clock.breached_at, clock.due_at
    if clock.state == ClockState.PAUSED and clock.paused_at is not None:
        info = calendar_info(clock.calendar)
        clock.paused_seconds += int(business_time_between(info.spec, clock.paused_at, at).total_seconds())
        clock.paused_at = None
        clock.due_at = compute_due(clock, clock.policy, info)
    if at <= clock.due_at:
        clock.state = ClockState.MET
        clock.breached_at = None
    else:
        clock.state = ClockState.BREACHED
        clock.breached_at = clock.breached_at or clock.due_at
    clock.stopped_at = at
    clock.version += 1
    clock.save()
    if clock.breached_at != breached_before or clock.due_at != due_before:
        _sync_ticket(clock)
    return clock


def clock_follow_policy(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None = None) -> SlaClock | None:
    """The matrix or process changed: take the new policy, keeping start, increments and pauses."""
    policy = resolve_policy(ticket)
    clock = SlaClock.objects.select_for_update().select_related("policy").filter(pk=ticket.pk).first()
    if clock is None:
        if policy is None or ticket.closed_at is not None:
            return None
        # A ticket that had no policy gets one: the SLA counts from the opening.
        clock = clock_start(ticket=ticket, at=ticket.opened_at, policy=policy)
        record(ticket=ticket, kind=EventKind.SLA_CHANGED, actor=actor, data={"change": "policy", "policy": policy.name}, at=at)
        return clock
    if policy is None or policy.pk == clock.policy_id or clock.state not in OPEN_STATES + (ClockState.BREACHED,):
        return clock
    if clock.stopped_at is not None:
        return clock
    info = calendar_info(policy.calendar)
    if clock.calendar_id != policy.calendar_id and clock.paused_at is not None:
        # The pause so far was counted on the old calendar: close it there and reopen on the new one.
        old = calendar_info(BusinessCalendar.objects.get(pk=clock.calendar_id))
        clock.paused_seconds += int(business_time_between(old.spec, clock.paused_at, at).total_seconds())
        clock.paused_at = at
    clock.policy = policy
    clock.calendar = policy.calendar
    clock.due_at = compute_due(clock, policy, info)
    clock.first_response_due_at = compute_first_response_due(clock.started_at, policy, info)
    if clock.state != ClockState.PAUSED:
        _counting_state(clock, at)
    clock.version += 1
    clock.save()
    _sync_ticket(clock)
    record(ticket=ticket, kind=EventKind.SLA_CHANGED, actor=actor, data={"change": "policy", "policy": policy.name}, at=at)
    return clock


def on_ticket_opened(*, ticket: Ticket, actor: Any, at: datetime, **_: Any) -> None:
    clock = clock_start(ticket=ticket, at=at)
    if clock is not None:
        # 001's "Padrões de SLA e classificação definidos": the policy the ticket got.
        record(
            ticket=ticket, kind=EventKind.SLA_DEFAULTS_SET, actor=actor,
            data={"policy": clock.policy.name, "due_at": clock.due_at.isoformat()}, at=at,
        )


def on_ticket_finalized(*, ticket: Ticket, actor: Any, at: datetime, **_: Any) -> None:
    clock_stop(ticket=ticket, at=at)


def on_ticket_reopened(*, ticket: Ticket, actor: Any, at: datetime, **_: Any) -> None:
    # A reopened request is counted again from zero, under today's policy.
    clock_start(ticket=ticket, at=at)


def on_ticket_changed(*, ticket: Ticket, actor: Any, at: datetime, fields: tuple[str, ...] = (), **_: Any) -> None:
    if {"category_matrix", "process"} & set(fields):
        clock_follow_policy(ticket=ticket, at=at, actor=actor)


# --- subprocess deadlines ----------------------------------------------------------------


def stage_calendar(ticket: Ticket) -> BusinessCalendar | None:
    """The calendar of the ticket's stages: its process's own, else its policy's."""
    link = ProcessPolicy.objects.filter(process_id=ticket.process_id).select_related("calendar", "policy__calendar").first()
    if link is not None and link.calendar is not None:
        return link.calendar
    policy = resolve_policy(ticket)
    return policy.calendar if policy is not None else None


def stage_due(ticket: Ticket, subprocess: Subprocess, start: datetime) -> datetime:
    """"Fim previsto": the subprocess's expected hours of business time on the ticket's calendar."""
    hours = timedelta(hours=float(Decimal(subprocess.expected_hours)))
    calendar = stage_calendar(ticket)
    if calendar is None:
        return start + hours
    return add_business_time(calendar_info(calendar).spec, start, hours)


# --- interventions ------------------------------------------------------------------------


def parse_quantity(unit: str, quantity: Any) -> Decimal:
    """The amount of an increment, checked: positive, at most 720 hours or 90 days."""
    if unit not in TimeUnit.values:
        raise ValidationError({"unit": _("Escolha o tipo de incremento: horas ou dias.")})
    try:
        value = Decimal(str(quantity).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"quantity": _("Informe a quantidade como um número.")}) from exc
    if not value.is_finite() or value <= 0:
        raise ValidationError({"quantity": _("A quantidade precisa ser maior que zero.")})
    limit = MAX_QUANTITY[TimeUnit(unit)]
    if value > limit:
        if unit == TimeUnit.HOURS:
            message = _("A quantidade pode ser de no máximo %(n)s horas.") % {"n": limit}
        else:
            message = _("A quantidade pode ser de no máximo %(n)s dias.") % {"n": limit}
        raise ValidationError({"quantity": message})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError({"quantity": _("Use no máximo duas casas decimais.")})
    return value


def _check_reason(reason: SlaReason | None, kind: str) -> SlaReason:
    if reason is None:
        raise ValidationError({"reason": _("Escolha o motivo.")})
    if reason.kind != kind:
        if kind == SlaReason.Kind.INCREMENT:
            raise ValidationError({"reason": _("O motivo escolhido não é um motivo de incremento de SLA.")})
        raise ValidationError({"reason": _("O motivo escolhido não é um motivo de pausa de SLA.")})
    if not reason.active:
        raise ValidationError({"reason": _("O motivo escolhido está inativo.")})
    return reason


def _clean_notes(notes: str) -> str:
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationError({"notes": _("As observações podem ter no máximo %(n)s caracteres.") % {"n": NOTES_MAX}})
    return notes


def _locked_clock(actor: AbstractBaseUser, ticket: Ticket, expected_version: int | None) -> tuple[Ticket, SlaClock]:
    """Permission, visibility, an open ticket and its clock under a row lock."""
    if not actor.has_perm(PERMISSION):
        raise PermissionDenied(_("Você não tem permissão para modificar o SLA."))
    # The ticket first, then its clock: the order of the ticket operations that move the clock
    # (finalize, reopen, edit), so that the two never deadlock over the ticket's breach time.
    visible = access_ticket(actor, ticket.pk, for_update=True)
    if visible.closed_at is not None:
        raise ValidationError(
            _("O atendimento %(code)s está finalizado: o SLA não pode ser modificado.") % {"code": visible.code}
        )
    clock = (
        SlaClock.objects.select_for_update()
        .select_related("policy", "calendar")
        .filter(pk=visible.pk)
        .first()
    )
    if clock is None:
        raise ValidationError(_("Este atendimento não tem contagem de SLA."))
    if expected_version is not None and clock.version != expected_version:
        raise ValidationError(
            _("O SLA deste atendimento acabou de ser alterado por outra pessoa. Feche o assistente e confira o novo prazo.")
        )
    if clock.stopped_at is not None or clock.state == ClockState.MET:
        raise ValidationError(_("A contagem de SLA deste atendimento já foi encerrada."))
    return visible, clock


def _intervene(
    *,
    actor: AbstractBaseUser,
    ticket: Ticket,
    clock: SlaClock,
    kind: str,
    due_before: datetime,
    now: datetime,
    reason: SlaReason | None = None,
    notes: str = "",
    unit: str = "",
    quantity: Decimal | None = None,
) -> SlaIntervention:
    clock.version += 1
    clock.save()
    _sync_ticket(clock)
    intervention = SlaIntervention.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        created_at=now,
        reason=reason,
        notes=notes,
        unit=unit,
        quantity=quantity,
        due_before=due_before,
        due_after=clock.due_at,
    )
    record(
        ticket=ticket,
        kind=EventKind.SLA_CHANGED,
        actor=actor,
        data={
            "change": kind,
            "intervention_id": intervention.pk,
            "reason": reason.name if reason else "",
            "due_before": due_before.isoformat(),
            "due_after": clock.due_at.isoformat(),
        },
        at=now,
    )
    _publish(ticket)
    return intervention


def preview_increment(*, ticket: Ticket, unit: str, quantity: Any) -> datetime:
    """The deadline an increment of ``quantity`` ``unit`` would give (reads only)."""
    value = parse_quantity(unit, quantity)
    clock = SlaClock.objects.select_related("policy", "calendar").filter(pk=ticket.pk).first()
    if clock is None or clock.stopped_at is not None:
        raise ValidationError(_("Este atendimento não tem contagem de SLA em andamento."))
    info = calendar_info(clock.calendar)
    clock.increment_seconds += int(info.amount(value, unit).total_seconds())
    return compute_due(clock, clock.policy, info)


def sla_increment(
    *,
    actor: AbstractBaseUser,
    ticket: Ticket,
    reason: SlaReason | None,
    unit: str,
    quantity: Any,
    notes: str = "",
    expected_version: int | None = None,
) -> SlaIntervention:
    """"Incrementar SLA": move the deadline by ``quantity`` business hours or days."""
    reason = _check_reason(reason, SlaReason.Kind.INCREMENT)
    value = parse_quantity(unit, quantity)
    notes = _clean_notes(notes)
    with transaction.atomic():
        visible, clock = _locked_clock(actor, ticket, expected_version)
        if clock.state == ClockState.PAUSED:
            raise ValidationError(_("O SLA está pausado: retome-o antes de incrementar."))
        now = timezone.now()
        info = calendar_info(clock.calendar)
        before = clock.due_at
        clock.increment_seconds += int(info.amount(value, unit).total_seconds())
        clock.due_at = compute_due(clock, clock.policy, info)
        _counting_state(clock, now)
        return _intervene(
            actor=actor, ticket=visible, clock=clock, kind=SlaIntervention.Kind.INCREMENT, due_before=before,
            now=now, reason=reason, notes=notes, unit=unit, quantity=value,
        )


def sla_pause(
    *,
    actor: AbstractBaseUser,
    ticket: Ticket,
    reason: SlaReason | None,
    notes: str = "",
    expected_version: int | None = None,
) -> SlaIntervention:
    """"Pausar SLA": stop counting until "Retomar SLA"."""
    reason = _check_reason(reason, SlaReason.Kind.PAUSE)
    notes = _clean_notes(notes)
    with transaction.atomic():
        visible, clock = _locked_clock(actor, ticket, expected_version)
        if clock.state == ClockState.PAUSED:
            raise ValidationError(_("O SLA deste atendimento já está pausado."))
        now = timezone.now()
        clock.state = ClockState.PAUSED
        clock.paused_at = now
        clock.at_risk_at = None
        return _intervene(
            actor=actor, ticket=visible, clock=clock, kind=SlaIntervention.Kind.PAUSE, due_before=clock.due_at,
            now=now, reason=reason, notes=notes,
        )


def sla_resume(
    *, actor: AbstractBaseUser, ticket: Ticket, notes: str = "", expected_version: int | None = None
) -> SlaIntervention:
    """"Retomar SLA": the deadline moves by the business time spent paused."""
    notes = _clean_notes(notes)
    with transaction.atomic():
        visible, clock = _locked_clock(actor, ticket, expected_version)
        if clock.state != ClockState.PAUSED or clock.paused_at is None:
            raise ValidationError(_("O SLA deste atendimento não está pausado."))
        now = timezone.now()
        info = calendar_info(clock.calendar)
        before = clock.due_at
        clock.paused_seconds += int(business_time_between(info.spec, clock.paused_at, now).total_seconds())
        clock.paused_at = None
        clock.due_at = compute_due(clock, clock.policy, info)
        clock.state = ClockState.BREACHED if clock.breached_at is not None else ClockState.RUNNING
        _counting_state(clock, now)
        return _intervene(
            actor=actor, ticket=visible, clock=clock, kind=SlaIntervention.Kind.RESUME, due_before=before,
            now=now, notes=notes,
        )


# --- configuration changes: recompute the affected open clocks after commit -------------------


def _enqueue_recompute(**scope: Any) -> None:
    from sla.tasks import recompute_deadlines

    recompute_deadlines.delay_on_commit(**scope)


def _touch_calendars(q: Q) -> None:
    # A counter, not only the time: two changes within one clock tick (or a
    # frozen clock in tests) must still invalidate every process's cached spec.
    BusinessCalendar.objects.filter(q).update(version=F("version") + 1, updated_at=timezone.now())


def calendar_changed(*, calendar: BusinessCalendar) -> None:
    """A calendar (or its intervals or own holidays) changed."""
    _touch_calendars(Q(pk=calendar.pk))
    _enqueue_recompute(calendar_id=calendar.pk)


def holiday_changed(*, holiday: Holiday) -> None:
    """A holiday was added, changed or deleted: its calendar, or all of them for a global one."""
    if holiday.calendar_id is None:
        _touch_calendars(Q())
        _enqueue_recompute()
    else:
        _touch_calendars(Q(pk=holiday.calendar_id))
        _enqueue_recompute(calendar_id=holiday.calendar_id)


def policy_changed(*, policy: SlaPolicy) -> None:
    """A policy, or which matrices and processes use it, changed."""
    _enqueue_recompute(policy_id=policy.pk)
