"""The SLA operations: the clock following the ticket, increments, pauses, resumes, refusals.

Every expected deadline is counted by hand on the calendar of conftest.py
(Mon-Fri 08-12 + 13-18, 9 business hours a day); NOW is Monday 02/03/2026 10:00.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from sla import services
from sla.models import ClockState, SlaClock, SlaIntervention, SlaReason, TimeUnit
from tests import factories as f
from tickets import services as ticket_services
from tickets.events import event_text
from tickets.models import EventKind, TicketEvent

from .conftest import NOW, sp
from .factories import AlwaysOpenCalendarFactory, MatrixPolicyFactory, PolicyFactory, ReasonFactory

TUESDAY_9 = sp(2026, 3, 3, 9)


def sla_events(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA_CHANGED).order_by("id"))


def fresh(clock: SlaClock) -> SlaClock:
    return SlaClock.objects.get(pk=clock.pk)


# --- the clock follows the ticket ------------------------------------------------------


def test_opening_a_ticket_starts_a_running_clock_due_eight_business_hours_later(clock, policy):
    assert clock.state == ClockState.RUNNING
    assert clock.policy == policy
    assert clock.started_at == NOW
    assert clock.due_at == TUESDAY_9
    # 2 h of first response: Monday 10:00-12:00, ending at the close of the interval.
    assert clock.first_response_due_at == sp(2026, 3, 2, 12)


def test_opening_records_the_sla_defaults_event(clock, sla_ticket):
    [event] = TicketEvent.objects.filter(ticket=sla_ticket, kind=EventKind.SLA_DEFAULTS_SET)
    assert event_text(event) == "Padrões de SLA e classificação definidos"
    assert event.data["policy"] == "Suporte 8h úteis"


def test_a_ticket_without_any_policy_has_no_clock(frozen, open_ticket):
    assert not SlaClock.objects.filter(pk=open_ticket.pk).exists()


def test_the_matrix_policy_wins_over_the_process_default(
    frozen, process_policy, agent, team, customer, company, process, django_capture_on_commit_callbacks
):
    matrix = f.CategoryMatrixFactory()
    four_hours_24x7 = PolicyFactory(calendar=AlwaysOpenCalendarFactory(), resolution_amount=Decimal(4))
    MatrixPolicyFactory(matrix=matrix, policy=four_hours_24x7)
    with django_capture_on_commit_callbacks():
        ticket = ticket_services.ticket_open(
            actor=agent, customer=customer, company=company, team=team, process=process,
            origin="phone", category_matrix=matrix,
        )
    clock = SlaClock.objects.get(pk=ticket.pk)
    assert clock.policy == four_hours_24x7
    assert clock.due_at == sp(2026, 3, 2, 14)


def test_finalizing_before_the_deadline_stops_the_clock_as_met(
    clock, sla_ticket, agent, closing_classification, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
    frozen.move_to(sp(2026, 3, 2, 17), tick=False)
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    stopped = fresh(clock)
    assert stopped.state == ClockState.MET
    assert stopped.stopped_at == sp(2026, 3, 2, 17)
    assert stopped.breached_at is None


def test_finalizing_after_the_deadline_stops_the_clock_as_breached_at_the_deadline(
    clock, sla_ticket, agent, closing_classification, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
    frozen.move_to(sp(2026, 3, 3, 15), tick=False)
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    stopped = fresh(clock)
    assert stopped.state == ClockState.BREACHED
    assert stopped.breached_at == TUESDAY_9
    assert stopped.stopped_at == sp(2026, 3, 3, 15)


def test_finalizing_a_paused_clock_counts_the_pause_before_judging_it(
    clock, sla_ticket, supervisor, agent, pause_reason, closing_classification, frozen,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks():
        services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
    # Paused from Monday 10:00 to Tuesday 15:00: 7 + 6 = 13 business hours, so the deadline is
    # Tuesday 09:00 + 13 h = Wednesday 14:00 (Tue 09-12 3 h, 13-18 5 h, Wed 08-12 4 h, 13-14 1 h).
    frozen.move_to(sp(2026, 3, 3, 15), tick=False)
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    stopped = fresh(clock)
    assert stopped.state == ClockState.MET
    assert stopped.due_at == sp(2026, 3, 4, 14)
    assert stopped.paused_at is None


def test_reopening_restarts_the_clock_from_zero(
    clock, sla_ticket, agent, supervisor, increment_reason, closing_classification, frozen,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks():
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=3)
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
        closed = ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    frozen.move_to(sp(2026, 3, 4, 8), tick=False)  # Wednesday 08:00
    with django_capture_on_commit_callbacks():
        ticket_services.ticket_reopen(actor=agent, ticket=closed, reason="Cliente ligou de novo.")
    restarted = fresh(clock)
    assert restarted.state == ClockState.RUNNING
    assert restarted.started_at == sp(2026, 3, 4, 8)
    assert restarted.increment_seconds == 0
    assert restarted.stopped_at is None
    assert restarted.due_at == sp(2026, 3, 4, 17)  # 08-12 (4 h) + 13-17 (4 h)
    assert restarted.version > clock.version


def test_changing_the_matrix_moves_the_clock_to_the_new_policy_keeping_its_start_and_increments(
    clock, sla_ticket, supervisor, increment_reason, frozen, django_capture_on_commit_callbacks
):
    matrix = f.CategoryMatrixFactory()
    MatrixPolicyFactory(matrix=matrix, policy=PolicyFactory(calendar=clock.calendar, resolution_amount=Decimal(2)))
    with django_capture_on_commit_callbacks():
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
        ticket_services.ticket_edit(actor=supervisor, ticket=sla_ticket, changes={"category_matrix": matrix})
    moved = fresh(clock)
    assert moved.started_at == NOW
    assert moved.due_at == sp(2026, 3, 2, 14)  # 2 h + 1 h from Monday 10:00: 10-12, 13-14
    assert sla_events(sla_ticket)[-1].data["change"] == "policy"


# --- increment -----------------------------------------------------------------------------


def test_increment_in_hours_moves_the_deadline_by_business_hours(
    clock, sla_ticket, supervisor, increment_reason, frozen, published, django_capture_on_commit_callbacks
):
    frozen.move_to(sp(2026, 3, 2, 11), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        intervention = services.sla_increment(
            actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity="2",
            notes="  Cliente pediu retorno amanhã.  ",
        )
    assert fresh(clock).due_at == sp(2026, 3, 3, 11)
    assert intervention.kind == SlaIntervention.Kind.INCREMENT
    assert (intervention.actor, intervention.reason, intervention.unit) == (supervisor, increment_reason, "hours")
    assert intervention.quantity == Decimal("2")
    assert intervention.notes == "Cliente pediu retorno amanhã."
    assert (intervention.due_before, intervention.due_after) == (TUESDAY_9, sp(2026, 3, 3, 11))
    assert intervention.created_at == sp(2026, 3, 2, 11)
    [event] = sla_events(sla_ticket)
    assert event.actor == supervisor
    assert event_text(event) == "Alteração de SLA em 02/03/2026 11:00:00"
    assert event.data["change"] == "increment"
    assert [p["change"] for _, p in published] == ["sla"]


def test_increment_in_days_counts_a_day_as_the_calendars_business_day(
    clock, sla_ticket, supervisor, increment_reason
):
    services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="days", quantity="1")
    # One day = 9 business hours: Tuesday 09:00 + 9 h = Wednesday 09:00.
    assert fresh(clock).due_at == sp(2026, 3, 4, 9)


def test_increment_accepts_a_decimal_comma(clock, sla_ticket, supervisor, increment_reason):
    services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity="1,5")
    assert fresh(clock).due_at == sp(2026, 3, 3, 10, 30)


def test_increment_that_moves_a_breached_deadline_into_the_future_makes_it_run_again(
    clock, sla_ticket, supervisor, increment_reason, frozen
):
    SlaClock.objects.filter(pk=clock.pk).update(state=ClockState.BREACHED, breached_at=TUESDAY_9)
    frozen.move_to(sp(2026, 3, 3, 10), tick=False)
    services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=4)
    late = fresh(clock)
    assert late.due_at == sp(2026, 3, 3, 14)
    assert late.state == ClockState.RUNNING
    assert late.breached_at is None


def test_preview_gives_the_deadline_an_increment_would_give_and_writes_nothing(clock, sla_ticket):
    assert services.preview_increment(ticket=sla_ticket, unit="hours", quantity="2") == sp(2026, 3, 3, 11)
    assert fresh(clock).due_at == TUESDAY_9
    assert not SlaIntervention.objects.exists()


# --- pause and resume -----------------------------------------------------------------------------


def test_pause_stops_the_clock_keeping_the_deadline(clock, sla_ticket, supervisor, pause_reason, frozen):
    frozen.move_to(sp(2026, 3, 2, 11), tick=False)
    intervention = services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason, notes="Sem acesso.")
    paused = fresh(clock)
    assert paused.state == ClockState.PAUSED
    assert paused.paused_at == sp(2026, 3, 2, 11)
    assert paused.due_at == TUESDAY_9
    assert (intervention.kind, intervention.reason, intervention.unit, intervention.quantity) == (
        SlaIntervention.Kind.PAUSE, pause_reason, "", None
    )
    assert intervention.due_before == intervention.due_after == TUESDAY_9
    assert event_text(sla_events(sla_ticket)[-1]) == "Alteração de SLA em 02/03/2026 11:00:00"


def test_resume_moves_the_deadline_by_the_business_time_spent_paused(
    clock, sla_ticket, supervisor, pause_reason, frozen
):
    frozen.move_to(sp(2026, 3, 2, 11), tick=False)
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    frozen.move_to(sp(2026, 3, 3, 11), tick=False)
    intervention = services.sla_resume(actor=supervisor, ticket=sla_ticket, notes="Acesso liberado.")
    # Paused Monday 11-12 (1 h) + 13-18 (5 h) + Tuesday 08-11 (3 h) = 9 h: Tuesday 09:00 + 9 h = Wednesday 09:00.
    resumed = fresh(clock)
    assert resumed.state == ClockState.RUNNING
    assert resumed.paused_at is None
    assert resumed.paused_seconds == 9 * 3600
    assert resumed.due_at == sp(2026, 3, 4, 9)
    assert (intervention.kind, intervention.due_before, intervention.due_after) == (
        SlaIntervention.Kind.RESUME, TUESDAY_9, sp(2026, 3, 4, 9)
    )
    assert [e.data["change"] for e in sla_events(sla_ticket)] == ["pause", "resume"]


def test_a_pause_over_a_weekend_counts_only_business_hours(clock, sla_ticket, supervisor, pause_reason, frozen):
    frozen.move_to(sp(2026, 3, 6, 17), tick=False)  # Friday 17:00 (the clock is late by then: still pausable)
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    frozen.move_to(sp(2026, 3, 9, 9), tick=False)  # Monday 09:00
    services.sla_resume(actor=supervisor, ticket=sla_ticket)
    resumed = fresh(clock)
    assert resumed.paused_seconds == 2 * 3600  # Friday 17-18, Monday 08-09
    assert resumed.due_at == sp(2026, 3, 3, 11)


# --- refusals: a clear pt-BR message and nothing changes ---------------------------------------------


def assert_unchanged(clock: SlaClock, ticket) -> None:
    now = fresh(clock)
    assert (now.due_at, now.state, now.version) == (clock.due_at, clock.state, clock.version)
    assert not SlaIntervention.objects.filter(ticket=ticket).exists()
    assert sla_events(ticket) == []


def test_an_agent_without_the_tool_permission_is_refused(clock, sla_ticket, agent, increment_reason, pause_reason):
    with pytest.raises(PermissionDenied, match="Você não tem permissão para modificar o SLA."):
        services.sla_increment(actor=agent, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
    with pytest.raises(PermissionDenied, match="Você não tem permissão para modificar o SLA."):
        services.sla_pause(actor=agent, ticket=sla_ticket, reason=pause_reason)
    assert_unchanged(clock, sla_ticket)


def test_a_supervisor_of_another_team_cannot_even_see_the_ticket(clock, sla_ticket, increment_reason):
    stranger = f.SupervisorFactory(username="sandra")
    f.TeamFactory(name="Financeiro", supervisors=[stranger])
    with pytest.raises(Http404):
        services.sla_increment(actor=stranger, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
    assert_unchanged(clock, sla_ticket)


def test_a_finalized_ticket_is_refused(
    clock, sla_ticket, agent, supervisor, increment_reason, closing_classification, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    stopped = fresh(clock)
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
    assert exc.value.messages == [
        f"O atendimento {sla_ticket.code} está finalizado: o SLA não pode ser modificado."
    ]
    assert fresh(clock).due_at == stopped.due_at
    assert not SlaIntervention.objects.exists()


@pytest.mark.parametrize(
    ("kind", "active", "message"),
    [
        (SlaReason.Kind.PAUSE, True, "O motivo escolhido não é um motivo de incremento de SLA."),
        (SlaReason.Kind.INCREMENT, False, "O motivo escolhido está inativo."),
    ],
)
def test_increment_refuses_a_reason_of_the_wrong_kind_or_inactive(
    clock, sla_ticket, supervisor, kind, active, message
):
    reason = ReasonFactory(kind=kind, active=active)
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=reason, unit="hours", quantity=1)
    assert exc.value.message_dict == {"reason": [message]}
    assert_unchanged(clock, sla_ticket)


@pytest.mark.parametrize(
    ("kind", "active", "message"),
    [
        (SlaReason.Kind.INCREMENT, True, "O motivo escolhido não é um motivo de pausa de SLA."),
        (SlaReason.Kind.PAUSE, False, "O motivo escolhido está inativo."),
    ],
)
def test_pause_refuses_a_reason_of_the_wrong_kind_or_inactive(clock, sla_ticket, supervisor, kind, active, message):
    reason = ReasonFactory(kind=kind, active=active)
    with pytest.raises(ValidationError) as exc:
        services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=reason)
    assert exc.value.message_dict == {"reason": [message]}
    assert_unchanged(clock, sla_ticket)


def test_a_missing_reason_is_refused(clock, sla_ticket, supervisor):
    with pytest.raises(ValidationError) as exc:
        services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=None)
    assert exc.value.message_dict == {"reason": ["Escolha o motivo."]}


@pytest.mark.parametrize(
    ("unit", "quantity", "message"),
    [
        ("hours", "0", "A quantidade precisa ser maior que zero."),
        ("hours", "-3", "A quantidade precisa ser maior que zero."),
        ("hours", "NaN", "A quantidade precisa ser maior que zero."),
        ("hours", "Infinity", "A quantidade precisa ser maior que zero."),
        ("hours", "duas", "Informe a quantidade como um número."),
        ("hours", "", "Informe a quantidade como um número."),
        ("hours", "721", "A quantidade pode ser de no máximo 720 horas."),
        ("days", "91", "A quantidade pode ser de no máximo 90 dias."),
        ("days", "1e9", "A quantidade pode ser de no máximo 90 dias."),
        ("hours", "1.005", "Use no máximo duas casas decimais."),
    ],
)
def test_increment_refuses_a_non_positive_or_absurd_quantity(
    clock, sla_ticket, supervisor, increment_reason, unit, quantity, message
):
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit=unit, quantity=quantity)
    assert exc.value.message_dict == {"quantity": [message]}
    assert_unchanged(clock, sla_ticket)


def test_increment_refuses_an_unknown_unit(clock, sla_ticket, supervisor, increment_reason):
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="weeks", quantity=1)
    assert exc.value.message_dict == {"unit": ["Escolha o tipo de incremento: horas ou dias."]}


def test_pausing_a_paused_clock_is_refused(clock, sla_ticket, supervisor, pause_reason):
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    before = fresh(clock)
    with pytest.raises(ValidationError) as exc:
        services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    assert exc.value.messages == ["O SLA deste atendimento já está pausado."]
    assert fresh(clock).version == before.version
    assert SlaIntervention.objects.count() == 1


def test_incrementing_a_paused_clock_is_refused(clock, sla_ticket, supervisor, pause_reason, increment_reason):
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
    assert exc.value.messages == ["O SLA está pausado: retome-o antes de incrementar."]


def test_resuming_a_running_clock_is_refused(clock, sla_ticket, supervisor):
    with pytest.raises(ValidationError) as exc:
        services.sla_resume(actor=supervisor, ticket=sla_ticket)
    assert exc.value.messages == ["O SLA deste atendimento não está pausado."]
    assert_unchanged(clock, sla_ticket)


def test_an_intervention_based_on_a_stale_version_is_refused(clock, sla_ticket, supervisor, increment_reason):
    """The wizard sends the version it showed: a change made meanwhile by someone else wins."""
    services.sla_increment(
        actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1,
        expected_version=clock.version,
    )
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(
            actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=2,
            expected_version=clock.version,
        )
    assert exc.value.messages == [
        "O SLA deste atendimento acabou de ser alterado por outra pessoa. Feche o assistente e confira o novo prazo."
    ]
    assert fresh(clock).due_at == sp(2026, 3, 3, 10)
    assert SlaIntervention.objects.count() == 1


def test_a_ticket_without_clock_is_refused(frozen, open_ticket, supervisor, increment_reason):
    with pytest.raises(ValidationError) as exc:
        services.sla_increment(actor=supervisor, ticket=open_ticket, reason=increment_reason, unit="hours", quantity=1)
    assert exc.value.messages == ["Este atendimento não tem contagem de SLA."]


def test_notes_longer_than_the_limit_are_refused(clock, sla_ticket, supervisor, pause_reason):
    with pytest.raises(ValidationError) as exc:
        services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason, notes="x" * 2001)
    assert exc.value.message_dict == {"notes": ["As observações podem ter no máximo 2000 caracteres."]}


def test_units_are_hours_and_days():
    assert set(TimeUnit.values) == {"hours", "days"}
