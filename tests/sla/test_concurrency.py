"""Two supervisors intervene on the same SLA at the same moment, on PostgreSQL with real connections.

One thread, one connection, one supervisor; a barrier releases them together
(see tests/integration/test_claim_race.py). The clock row lock serialises
them: one wins, the other is told why, and exactly one intervention and one
"Alteração de SLA" event are recorded.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from sla import services
from sla.models import ClockState, SlaClock, SlaIntervention, SlaReason
from tests import factories as f
from tests.integration.test_claim_race import run_concurrently
from tickets import services as ticket_services
from tickets.models import EventKind, Origin, TicketEvent

from .factories import CalendarFactory, PolicyFactory, ProcessPolicyFactory, ReasonFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 4


@pytest.fixture
def setup():
    supervisors = [f.SupervisorFactory(username=f"supervisor{i}") for i in range(THREADS)]
    agent = f.AgentFactory(username="agente")
    team = f.TeamFactory(name="Suporte N1", members=[agent], supervisors=supervisors)
    process = f.process_with_subprocesses(name="Suporte técnico")
    ProcessPolicyFactory(process=process, policy=PolicyFactory(calendar=CalendarFactory(), resolution_amount=Decimal(8)))
    ticket = ticket_services.ticket_open(
        actor=agent, team=team, process=process, origin=Origin.PHONE,
        customer=f.CustomerFactory(), company=f.CompanyFactory(),
    )
    return {
        "supervisors": supervisors,
        "ticket": ticket,
        "pause": ReasonFactory(kind=SlaReason.Kind.PAUSE),
        "increment": ReasonFactory(kind=SlaReason.Kind.INCREMENT),
    }


def outcomes(results):
    wins = [value for status, value in results if status == "ok"]
    losses = [value for status, value in results if status == "error"]
    return wins, losses


def test_concurrent_pauses_have_one_winner_and_the_others_are_told(setup):
    ticket, reason = setup["ticket"], setup["pause"]

    results = run_concurrently(
        THREADS, lambda i: services.sla_pause(actor=setup["supervisors"][i], ticket=ticket, reason=reason)
    )

    wins, losses = outcomes(results)
    assert len(wins) == 1, results
    assert all(isinstance(exc, ValidationError) for exc in losses), losses
    assert {exc.messages[0] for exc in losses} == {"O SLA deste atendimento já está pausado."}
    assert SlaClock.objects.get(pk=ticket.pk).state == ClockState.PAUSED
    assert SlaIntervention.objects.filter(ticket=ticket).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SLA_CHANGED).count() == 1


def test_concurrent_increments_from_the_same_wizard_state_have_one_winner(setup):
    ticket, reason = setup["ticket"], setup["increment"]
    clock = SlaClock.objects.get(pk=ticket.pk)

    results = run_concurrently(
        THREADS,
        lambda i: services.sla_increment(
            actor=setup["supervisors"][i], ticket=ticket, reason=reason, unit="hours", quantity=i + 1,
            expected_version=clock.version,
        ),
    )

    wins, losses = outcomes(results)
    assert len(wins) == 1, results
    assert {exc.messages[0] for exc in losses} == {
        "O SLA deste atendimento acabou de ser alterado por outra pessoa. Feche o assistente e confira o novo prazo."
    }
    after = SlaClock.objects.get(pk=ticket.pk)
    assert after.version == clock.version + 1
    assert after.increment_seconds == int(wins[0].quantity) * 3600
    assert after.due_at == wins[0].due_after
    assert SlaIntervention.objects.filter(ticket=ticket).count() == 1


def test_a_pause_racing_a_resume_never_loses_paused_time(setup):
    """Pause first, then resume and pause again together: whichever order, the row stays consistent."""
    ticket = setup["ticket"]
    services.sla_pause(actor=setup["supervisors"][0], ticket=ticket, reason=setup["pause"])

    def work(i: int):
        if i % 2 == 0:
            return services.sla_resume(actor=setup["supervisors"][i], ticket=ticket)
        return services.sla_pause(actor=setup["supervisors"][i], ticket=ticket, reason=setup["pause"])

    results = run_concurrently(THREADS, work)
    wins, _losses = outcomes(results)
    clock = SlaClock.objects.get(pk=ticket.pk)
    kinds = list(SlaIntervention.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("kind", flat=True))
    # The log alternates pause/resume and ends in the state the clock is in.
    assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), kinds
    assert (kinds[-1] == "pause") == (clock.state == ClockState.PAUSED)
    assert len(kinds) == 1 + len(wins)
