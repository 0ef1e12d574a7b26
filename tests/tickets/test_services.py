"""Every operation of ``tickets.services``: state, events, publish; refusals change nothing.

Time is frozen at Monday 04/05/2026 09:00 in São Paulo (12:00 UTC) so dates,
deadlines and protocols are hand-computed. ``open_ticket`` is ticket code 1,
protocol 2026.000001, unassigned, team "Suporte N1", process "Suporte técnico"
in its first subprocess "Triagem" (4 h).
"""

from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from tests import factories as f
from tickets import services
from tickets.models import (
    Attachment,
    Classification,
    Comment,
    Counter,
    Customer,
    Origin,
    ServiceOrder,
    ServiceOrderStatus,
    Ticket,
    TicketEvent,
    TicketStage,
)
from tickets.selectors import access_ticket

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=SP)


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


# --- helpers -----------------------------------------------------------------------------


def events(ticket: Ticket) -> list[tuple[str, str | None, dict]]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", "actor__username", "data"))


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _db_state() -> dict:
    return {
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "watchers": list(Ticket.watchers.through.objects.order_by("pk").values_list("ticket_id", "user_id")),
        "events": list(TicketEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "comments": list(Comment.objects.order_by("pk").values_list("pk", flat=True)),
        "stages": list(TicketStage.objects.order_by("pk").values()),
        "service_orders": list(ServiceOrder.objects.order_by("pk").values()),
        "attachments": list(Attachment.objects.order_by("pk").values_list("pk", flat=True)),
        "counters": dict(Counter.objects.values_list("key", "value")),
    }


def _files(root) -> list[str]:
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def unchanged(django_capture_on_commit_callbacks, settings):
    """``with unchanged(), pytest.raises(...)``: the database, the media folder and the
    publish queue are exactly as before the refused operation."""

    @contextmanager
    def check():
        before, files_before = _db_state(), _files(settings.MEDIA_ROOT)
        with django_capture_on_commit_callbacks() as callbacks:
            yield
        assert _db_state() == before
        assert _files(settings.MEDIA_ROOT) == files_before
        assert callbacks == []

    return check


def _groups(ticket, team, *old_teams, users=()) -> list[str]:
    """The ticket's page, its team, the administrators, the old team, then the users who see it as theirs."""
    return [
        f"ticket.{ticket.pk}",
        f"team.{team.pk}",
        "tickets.all",
        *(f"team.{t.pk}" for t in old_teams),
        *(f"user.{u.pk}" for u in users),
    ]


def _payload(ticket, change: str) -> dict:
    return {"model": "ticket", "change": change, "ticket_id": ticket.pk}


@pytest.fixture
def no_role_member(team):
    """A team member without any role group, so without tool permissions."""
    user = f.UserFactory(username="estagiario")
    team.members.add(user)
    return user


@pytest.fixture
def closed_ticket(claimed_ticket, agent, closing_classification, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        return services.ticket_finalize(
            actor=agent, ticket=claimed_ticket, closing_classification=closing_classification, comment="Resolvido."
        )


def _open(actor, team, customer, company, process, **kwargs) -> Ticket:
    return services.ticket_open(
        actor=actor, customer=customer, company=company, team=team, process=process, origin=Origin.PHONE, **kwargs
    )


# --- ticket_open ------------------------------------------------------------------------------


def test_open_creates_ticket_in_first_subprocess_with_protocol_events_and_publish(
    agent, team, customer, company, process, subprocesses, opening_classification, published,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = _open(
            agent, team, customer, company, process,
            customer_report="  Sem internet.  ",
            opening_classification=opening_classification,
            opening_comment=" Cliente já reiniciou o roteador. ",
        )

    ticket = reload(ticket)
    assert (ticket.code, ticket.protocol) == (1, "2026.000001")
    assert ticket.opened_at == NOW
    assert ticket.opened_by == agent
    assert ticket.assignee is None
    assert ticket.customer_report == "Sem internet."
    assert ticket.current_subprocess == subprocesses[0]
    assert (ticket.street, ticket.number, ticket.city, ticket.state) == ("Rua das Flores", "100", "Campinas", "SP")
    stage = ticket.stages.get()
    assert (stage.subprocess, stage.started_at, stage.due_at) == (subprocesses[0], NOW, NOW + timedelta(hours=4))
    assert Comment.objects.get(ticket=ticket).body == "Cliente já reiniciou o roteador."
    assert events(ticket) == [
        ("created", "ana", {}),
        ("started", "ana", {"protocol": "2026.000001"}),
        ("opening_comment", "ana", {"comment": "Cliente já reiniciou o roteador."}),
        ("subprocess_started", "ana", {"subprocess": "Triagem"}),
    ]
    assert len(callbacks) == 1
    assert published == [(_groups(ticket, team), _payload(ticket, "opened"))]


def test_open_with_assignee_records_the_operator_added(agent, teammate, team, customer, company, process):
    ticket = _open(agent, team, customer, company, process, assignee=teammate)
    assert reload(ticket).assignee == teammate
    assert events(ticket)[-1] == ("operator_added", "ana", {"operator": "bruno"})


def test_open_with_address_uses_it_instead_of_the_customers(agent, team, customer, company, process):
    ticket = _open(agent, team, customer, company, process, address={"street": " Av. Brasil ", "city": "Sumaré"})
    ticket = reload(ticket)
    assert (ticket.street, ticket.city, ticket.number) == ("Av. Brasil", "Sumaré", "")


def test_protocols_and_codes_are_sequential(agent, team, customer, company, process):
    tickets = [_open(agent, team, customer, company, process) for _ in range(3)]
    assert [(t.code, t.protocol) for t in tickets] == [(1, "2026.000001"), (2, "2026.000002"), (3, "2026.000003")]


def test_protocol_restarts_at_the_local_new_year_and_code_does_not(
    agent, team, customer, company, process, time_machine
):
    # 31/12/2026 23:59 in São Paulo is already 01/01/2027 02:59 UTC: the local year counts.
    time_machine.move_to(datetime(2026, 12, 31, 23, 59, tzinfo=SP), tick=False)
    last_of_year = [_open(agent, team, customer, company, process) for _ in range(2)]
    time_machine.move_to(datetime(2027, 1, 1, 0, 0, tzinfo=SP), tick=False)
    first_of_year = [_open(agent, team, customer, company, process) for _ in range(2)]
    assert [t.protocol for t in last_of_year] == ["2026.000001", "2026.000002"]
    assert [t.protocol for t in first_of_year] == ["2027.000001", "2027.000002"]
    assert [t.code for t in last_of_year + first_of_year] == [1, 2, 3, 4]


def test_protocol_year_is_sao_paulo_even_when_another_time_zone_is_active(
    agent, team, customer, company, process, time_machine
):
    time_machine.move_to(datetime(2026, 12, 31, 22, 30, tzinfo=SP), tick=False)  # 01:30 UTC on 01/01/2027
    with timezone.override("UTC"):
        ticket = _open(agent, team, customer, company, process)
    assert ticket.protocol == "2026.000001"


def test_open_without_tool_new_is_denied_and_consumes_no_protocol(
    no_role_member, agent, team, customer, company, process, unchanged
):
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        _open(no_role_member, team, customer, company, process)
    assert str(exc.value) == "Você não tem permissão para abrir atendimentos."
    assert _open(agent, team, customer, company, process).protocol == "2026.000001"


def test_open_for_a_team_the_agent_is_not_in_is_denied(outsider, other_team, team, customer, company, process, unchanged):
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        _open(outsider, team, customer, company, process)
    assert str(exc.value) == "Você só pode abrir atendimentos para as suas equipes."


def test_open_with_inactive_company_and_closing_classification_is_refused(
    agent, team, customer, company, process, closing_classification, unchanged
):
    company.active = False
    company.save()
    with unchanged(), pytest.raises(ValidationError) as exc:
        _open(agent, team, customer, company, process, opening_classification=closing_classification)
    assert exc.value.message_dict == {
        "company": ["Empresa inativa."],
        "opening_classification": ["Escolha uma classificação de abertura ativa."],
    }


def test_open_with_unknown_origin_is_refused(agent, team, customer, company, process, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_open(
            actor=agent, customer=customer, company=company, team=team, process=process, origin="pombo-correio"
        )
    assert exc.value.message_dict == {"origin": ["Origem do contato inválida."]}


def test_open_in_a_process_without_subprocesses_is_refused(agent, team, customer, company, unchanged):
    empty = f.ProcessFactory(name="Vazio")
    with unchanged(), pytest.raises(ValidationError) as exc:
        _open(agent, team, customer, company, empty)
    assert exc.value.message_dict == {"process": ["O processo escolhido não tem subprocessos ativos."]}


def test_open_assigned_to_someone_outside_the_team_is_refused(
    agent, outsider, team, customer, company, process, unchanged
):
    with unchanged(), pytest.raises(ValidationError) as exc:
        _open(agent, team, customer, company, process, assignee=outsider)
    assert exc.value.message_dict == {"assignee": ["O operador responsável precisa ser membro ativo da equipe."]}


def test_open_with_unknown_or_too_long_address_field_is_refused(agent, team, customer, company, process, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        _open(agent, team, customer, company, process, address={"planet": "Terra"})
    assert exc.value.messages == ["Campos de endereço desconhecidos: planet"]
    with unchanged(), pytest.raises(ValidationError) as exc:
        _open(agent, team, customer, company, process, address={"state": "SPX"})
    assert exc.value.message_dict == {"state": ["Máximo de 2 caracteres."]}


# --- ticket_edit -------------------------------------------------------------------------------


def test_edit_changes_fields_and_records_report_and_edit_events(
    open_ticket, agent, team, published, django_capture_on_commit_callbacks
):
    before = len(events(open_ticket))
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_edit(
            actor=agent,
            ticket=open_ticket,
            changes={"customer_report": " Lento à noite. ", "origin": Origin.WHATSAPP, "city": " Sumaré "},
        )
    ticket = reload(open_ticket)
    assert (ticket.customer_report, ticket.origin, ticket.city) == ("Lento à noite.", "whatsapp", "Sumaré")
    assert events(ticket)[before:] == [
        ("report_changed", "ana", {}),
        ("edited", "ana", {"fields": ["origin", "city"]}),
    ]
    assert published == [(_groups(ticket, team), _payload(ticket, "edited"))]


def test_edit_without_any_real_change_records_and_publishes_nothing(open_ticket, agent, unchanged):
    with unchanged():
        services.ticket_edit(actor=agent, ticket=open_ticket, changes={"origin": Origin.PHONE})


def test_edit_of_a_finalized_ticket_is_refused(closed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_edit(actor=agent, ticket=closed_ticket, changes={"customer_report": "Outro relato"})
    assert exc.value.messages == ["O atendimento 1 está finalizado e não pode ser alterado."]


def test_edit_of_a_field_that_is_not_editable_is_refused(open_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_edit(actor=agent, ticket=open_ticket, changes={"protocol": "2026.999999", "team": None})
    assert exc.value.messages == ["Campos que não podem ser editados: protocol, team"]


def test_edit_without_tool_edit_is_denied(open_ticket, no_role_member, unchanged):
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.ticket_edit(actor=no_role_member, ticket=open_ticket, changes={"customer_report": "x"})
    assert str(exc.value) == "Você não tem permissão para editar atendimentos."


def test_edit_by_an_outsider_is_not_found(open_ticket, outsider, other_team, unchanged):
    with unchanged(), pytest.raises(Http404):
        services.ticket_edit(actor=outsider, ticket=open_ticket, changes={"customer_report": "x"})


# --- ticket_claim / ticket_release --------------------------------------------------------------


def test_claim_assigns_the_ticket_records_and_publishes(
    open_ticket, agent, team, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.ticket_claim(actor=agent, ticket=open_ticket)
    assert reload(open_ticket).assignee == agent
    assert events(open_ticket)[-1] == ("claimed", "ana", {})
    assert len(callbacks) == 1
    assert published == [(_groups(open_ticket, team, users=[agent]), _payload(open_ticket, "claimed"))]


def test_claim_reaches_the_team_group_through_the_channel_layer(open_ticket, agent, team, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"team.{team.pk}", channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_claim(actor=agent, ticket=open_ticket)
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.flush)()
    assert message.pop("event_id")
    assert message == {
        "type": "live.change", "model": "ticket", "change": "claimed", "ticket_id": open_ticket.pk,
        "group": f"team.{team.pk}",
    }


def test_nothing_is_published_when_the_transaction_does_not_commit(open_ticket, agent, published):
    # Without the capture the test transaction never commits, so the callback never runs.
    services.ticket_claim(actor=agent, ticket=open_ticket)
    assert published == []


def test_claim_of_a_ticket_already_claimed_names_who_holds_it(claimed_ticket, supervisor, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_claim(actor=supervisor, ticket=claimed_ticket)
    assert exc.value.messages == ["Este atendimento já foi resgatado por Ana Souza."]


def test_teammate_who_claims_too_late_is_told_who_holds_it(claimed_ticket, teammate, unchanged):
    # The teammate can no longer see the ticket (it is Ana's now), but lost a
    # claim on their own team's queue: the answer is who holds it, not a 404.
    with pytest.raises(Http404):
        access_ticket(teammate, claimed_ticket.pk)
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_claim(actor=teammate, ticket=claimed_ticket)
    assert exc.value.messages == ["Este atendimento já foi resgatado por Ana Souza."]


def test_claim_of_a_missing_ticket_is_not_found(agent, team):
    with pytest.raises(Http404):
        services.ticket_claim(actor=agent, ticket=Ticket(pk=999_999))


def test_claim_by_an_outsider_is_not_found(open_ticket, outsider, other_team, unchanged):
    with unchanged(), pytest.raises(Http404):
        services.ticket_claim(actor=outsider, ticket=open_ticket)


def test_claim_by_a_watcher_outside_the_team_is_denied(open_ticket, outsider, other_team, unchanged):
    open_ticket.watchers.add(outsider)
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.ticket_claim(actor=outsider, ticket=open_ticket)
    assert str(exc.value) == "Só membros da equipe do atendimento podem resgatá-lo."


def test_claim_of_a_finalized_unassigned_ticket_is_refused(
    open_ticket, agent, supervisor, closing_classification, unchanged
):
    services.ticket_finalize(
        actor=supervisor, ticket=open_ticket, closing_classification=closing_classification, comment="Duplicado."
    )
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_claim(actor=agent, ticket=open_ticket)
    assert exc.value.messages == ["O atendimento 1 está finalizado e não pode ser alterado."]


def test_release_returns_the_ticket_to_the_team_queue(
    claimed_ticket, agent, team, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_release(actor=agent, ticket=claimed_ticket)
    assert reload(claimed_ticket).assignee is None
    assert events(claimed_ticket)[-1] == ("released", "ana", {"operator": "ana"})
    assert published == [(_groups(claimed_ticket, team, users=[agent]), _payload(claimed_ticket, "released"))]


def test_supervisor_may_release_an_agents_ticket(claimed_ticket, supervisor):
    services.ticket_release(actor=supervisor, ticket=claimed_ticket)
    assert reload(claimed_ticket).assignee is None
    assert events(claimed_ticket)[-1] == ("released", "carla", {"operator": "ana"})


def test_release_of_an_unclaimed_ticket_is_refused(open_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_release(actor=agent, ticket=open_ticket)
    assert exc.value.messages == ["Este atendimento não está resgatado."]


def test_release_by_a_watching_teammate_is_denied(claimed_ticket, teammate, unchanged):
    claimed_ticket.watchers.add(teammate)
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.ticket_release(actor=teammate, ticket=claimed_ticket)
    assert str(exc.value) == "Este atendimento está com outro operador."


# --- ticket_transfer -----------------------------------------------------------------------------


def test_transfer_to_a_teammate_with_comment(claimed_ticket, agent, teammate, team, published, django_capture_on_commit_callbacks):
    before = len(events(claimed_ticket))
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_user=teammate, comment=" Segue para você. ")
    ticket = reload(claimed_ticket)
    assert (ticket.team, ticket.assignee) == (team, teammate)
    comment = Comment.objects.get(ticket=ticket)
    assert comment.body == "Segue para você."
    assert events(ticket)[before:] == [
        ("operator_added", "ana", {"operator": "bruno"}),
        ("comment_added", "ana", {"comment": "Segue para você."}),
    ]
    assert published == [(_groups(ticket, team, users=[teammate, agent]), _payload(ticket, "transferred"))]


def test_transfer_to_another_team_leaves_it_unassigned_and_tells_both_teams(
    claimed_ticket, agent, team, other_team, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_team=other_team)
    ticket = reload(claimed_ticket)
    assert (ticket.team, ticket.assignee) == (other_team, None)
    assert events(ticket)[-1] == ("team_transferred", "ana", {"team": "Financeiro"})
    assert published == [(_groups(ticket, other_team, team, users=[agent]), _payload(ticket, "transferred"))]


def test_transfer_to_another_team_and_one_of_its_members(claimed_ticket, agent, outsider, other_team):
    services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_team=other_team, to_user=outsider)
    ticket = reload(claimed_ticket)
    assert (ticket.team, ticket.assignee) == (other_team, outsider)
    assert [e[0] for e in events(ticket)[-2:]] == ["team_transferred", "operator_added"]
    assert access_ticket(outsider, ticket.pk) == ticket


def test_transfer_to_a_non_member_is_refused(claimed_ticket, agent, outsider, other_team, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_user=outsider)
    assert exc.value.message_dict == {"to_user": ["O operador de destino precisa ser membro ativo da equipe Suporte N1."]}


def test_transfer_to_an_inactive_member_is_refused(claimed_ticket, agent, teammate, unchanged):
    teammate.is_active = False
    teammate.save()
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_user=teammate)
    assert list(exc.value.message_dict) == ["to_user"]


def test_transfer_without_destination_is_refused(claimed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_transfer(actor=agent, ticket=claimed_ticket)
    assert exc.value.messages == ["Escolha o operador ou a equipe de destino."]


def test_transfer_to_the_same_team_or_the_same_operator_is_refused(claimed_ticket, agent, team, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_team=team)
    assert exc.value.message_dict == {"to_team": ["O atendimento já está nesta equipe."]}
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_user=agent)
    assert exc.value.message_dict == {"to_user": ["O atendimento já está com este operador."]}


def test_transfer_to_an_inactive_team_is_refused(claimed_ticket, agent, other_team, unchanged):
    other_team.active = False
    other_team.save()
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_transfer(actor=agent, ticket=claimed_ticket, to_team=other_team)
    assert exc.value.message_dict == {"to_team": ["Equipe inativa."]}


def test_transfer_of_an_unclaimed_ticket_by_an_agent_is_denied(open_ticket, agent, teammate, unchanged):
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.ticket_transfer(actor=agent, ticket=open_ticket, to_user=teammate)
    assert str(exc.value) == "Resgate o atendimento antes de trabalhar nele."


def test_supervisor_may_assign_an_unclaimed_ticket(open_ticket, supervisor, teammate):
    services.ticket_transfer(actor=supervisor, ticket=open_ticket, to_user=teammate)
    assert reload(open_ticket).assignee == teammate


# --- watchers ------------------------------------------------------------------------------------


def test_watcher_added_is_recorded_and_can_see_the_ticket(
    claimed_ticket, agent, teammate, team, published, django_capture_on_commit_callbacks
):
    with pytest.raises(Http404):
        access_ticket(teammate, claimed_ticket.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    assert list(reload(claimed_ticket).watchers.all()) == [teammate]
    assert events(claimed_ticket)[-1] == ("watcher_added", "ana", {"operator": "bruno"})
    assert published == [(_groups(claimed_ticket, team, users=[agent, teammate]), _payload(claimed_ticket, "watchers"))]
    assert access_ticket(teammate, claimed_ticket.pk) == claimed_ticket


def test_adding_the_same_watcher_twice_is_refused(claimed_ticket, agent, teammate, unchanged):
    services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    assert exc.value.messages == ["Este operador já acompanha o atendimento."]


def test_adding_an_inactive_watcher_is_refused(claimed_ticket, agent, unchanged):
    retired = f.AgentFactory(username="aposentado", is_active=False)
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=retired)
    assert exc.value.messages == ["Operador inativo."]


def test_watcher_may_remove_themself(claimed_ticket, agent, teammate):
    services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    services.ticket_watcher_remove(actor=teammate, ticket=claimed_ticket, user=teammate)
    assert not reload(claimed_ticket).watchers.exists()
    assert events(claimed_ticket)[-1] == ("watcher_removed", "bruno", {"operator": "bruno"})


def test_watcher_may_not_remove_another_watcher(claimed_ticket, agent, teammate, unchanged):
    other = f.AgentFactory(username="dora")
    services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=teammate)
    services.ticket_watcher_add(actor=agent, ticket=claimed_ticket, user=other)
    with unchanged(), pytest.raises(PermissionDenied):
        services.ticket_watcher_remove(actor=teammate, ticket=claimed_ticket, user=other)


def test_removing_someone_who_does_not_watch_is_refused(claimed_ticket, agent, teammate, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_watcher_remove(actor=agent, ticket=claimed_ticket, user=teammate)
    assert exc.value.messages == ["Este operador não acompanha o atendimento."]


# --- comments ------------------------------------------------------------------------------------


def test_comment_is_stored_recorded_and_published(open_ticket, teammate, team, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comment = services.ticket_comment_add(actor=teammate, ticket=open_ticket, body=" Liguei para o cliente. ")
    assert (comment.body, comment.author, comment.ticket) == ("Liguei para o cliente.", teammate, open_ticket)
    assert events(open_ticket)[-1] == (
        "comment_added",
        "bruno",
        {"comment": "Liguei para o cliente.", "comment_id": comment.pk},
    )
    assert published == [(_groups(open_ticket, team), _payload(open_ticket, "commented"))]


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "Escreva o comentário."), ("x" * 10_001, "O comentário pode ter no máximo 10.000 caracteres.")],
)
def test_empty_or_too_long_comment_is_refused(open_ticket, agent, unchanged, body, message):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_comment_add(actor=agent, ticket=open_ticket, body=body)
    assert exc.value.message_dict == {"body": [message]}


def test_comment_of_exactly_10000_characters_is_accepted(open_ticket, agent):
    assert len(services.ticket_comment_add(actor=agent, ticket=open_ticket, body="x" * 10_000).body) == 10_000


def test_comment_on_a_finalized_ticket_is_refused(closed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_comment_add(actor=agent, ticket=closed_ticket, body="Mais uma coisa")
    assert exc.value.messages == ["O atendimento 1 está finalizado e não pode ser alterado."]


def test_comment_by_an_outsider_is_not_found(open_ticket, outsider, other_team, unchanged):
    with unchanged(), pytest.raises(Http404):
        services.ticket_comment_add(actor=outsider, ticket=open_ticket, body="Oi")


# --- attachments ---------------------------------------------------------------------------------


def _upload(name="laudo.pdf", size=10, content_type="application/pdf"):
    return SimpleUploadedFile(name, b"%" * size, content_type=content_type)


def test_attachment_is_stored_under_media_recorded_and_published(
    open_ticket, agent, team, settings, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        attachment = services.attachment_add(
            actor=agent, ticket=open_ticket, uploaded=_upload(size=20), description=" Laudo técnico "
        )
    attachment.refresh_from_db()
    assert attachment.file.name == f"attachments/2026/05/{open_ticket.pk}/laudo.pdf"
    assert (Path(settings.MEDIA_ROOT) / attachment.file.name).read_bytes() == b"%" * 20
    assert (attachment.original_name, attachment.content_type, attachment.size, attachment.description) == (
        "laudo.pdf",
        "application/pdf",
        20,
        "Laudo técnico",
    )
    assert events(open_ticket)[-1] == ("attachment_added", "ana", {"file": "laudo.pdf", "attachment_id": attachment.pk})
    assert published == [(_groups(open_ticket, team), _payload(open_ticket, "attachments"))]


def test_attachment_over_the_size_limit_is_refused(open_ticket, agent, settings, unchanged):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload(size=1024 * 1024 + 1))
    assert exc.value.message_dict == {"file": ["O arquivo excede o limite de 1 MB."]}


def test_attachment_exactly_at_the_size_limit_is_accepted(open_ticket, agent, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    attachment = services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload(size=1024))
    assert attachment.size == 1024


def test_attachment_limit_in_the_message_uses_a_decimal_comma(open_ticket, agent, settings):
    settings.ATTACHMENT_MAX_BYTES = 1536 * 1024  # 1,5 MB
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload(size=1536 * 1024 + 1))
    assert exc.value.message_dict == {"file": ["O arquivo excede o limite de 1,5 MB."]}


def test_attachment_of_a_forbidden_type_is_refused(open_ticket, agent, settings, unchanged):
    settings.ATTACHMENT_ALLOWED_EXTENSIONS = ["pdf", "png"]
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.attachment_add(
            actor=agent, ticket=open_ticket, uploaded=_upload("fatura.exe", content_type="application/x-msdownload")
        )
    assert exc.value.message_dict == {"file": ["Tipo de arquivo não permitido (.exe). Permitidos: pdf, png."]}


def test_empty_attachment_is_refused(open_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload(size=0))
    assert exc.value.message_dict == {"file": ["O arquivo está vazio."]}


def test_attachment_name_is_stripped_of_directories(open_ticket, agent):
    attachment = services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload("../../etc/senhas.txt"))
    assert attachment.original_name == "senhas.txt"
    assert attachment.file.name == f"attachments/2026/05/{open_ticket.pk}/senhas.txt"


def test_attachment_on_a_finalized_ticket_is_refused_and_no_file_is_left(closed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError):
        services.attachment_add(actor=agent, ticket=closed_ticket, uploaded=_upload())


def test_attachment_file_is_removed_when_recording_fails(open_ticket, agent, monkeypatch, unchanged):
    def broken_record(**kwargs):
        raise RuntimeError("event log down")

    monkeypatch.setattr(services, "record", broken_record)
    with unchanged(), pytest.raises(RuntimeError):
        services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload())


def test_uploader_deletes_attachment_and_the_file_goes_after_commit(
    open_ticket, agent, settings, django_capture_on_commit_callbacks
):
    attachment = services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload())
    path = Path(settings.MEDIA_ROOT) / attachment.file.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.attachment_delete(actor=agent, attachment=attachment)
    assert path.exists()  # the file outlives a transaction that could still roll back
    for callback in callbacks:
        callback()
    assert not path.exists()
    assert not Attachment.objects.exists()
    assert events(open_ticket)[-1] == ("attachment_deleted", "ana", {"file": "laudo.pdf"})


def test_another_agent_may_not_delete_an_attachment(open_ticket, agent, teammate, unchanged):
    attachment = services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload())
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.attachment_delete(actor=teammate, attachment=attachment)
    assert str(exc.value) == "Só quem incluiu o anexo ou um supervisor pode excluí-lo."


def test_supervisor_may_delete_an_agents_attachment(open_ticket, agent, supervisor):
    attachment = services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload())
    services.attachment_delete(actor=supervisor, attachment=attachment)
    assert not Attachment.objects.exists()


def test_download_is_recorded(open_ticket, agent):
    attachment = services.attachment_add(actor=agent, ticket=open_ticket, uploaded=_upload())
    services.attachment_download_record(actor=agent, attachment=attachment)
    assert events(open_ticket)[-1] == ("attachment_downloaded", "ana", {"file": "laudo.pdf"})


# --- subprocesses and forwarding -------------------------------------------------------------------


def test_subprocess_start_finishes_the_current_stage_and_starts_the_chosen_one(
    claimed_ticket, agent, subprocesses, team, time_machine, published, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        stage = services.subprocess_start(actor=agent, ticket=claimed_ticket, subprocess=subprocesses[2])
    ticket = reload(claimed_ticket)
    assert ticket.current_subprocess == subprocesses[2]
    first, second = ticket.stages.order_by("started_at", "pk")
    assert (first.subprocess, first.finished_at, first.finished_by) == (subprocesses[0], NOW + timedelta(hours=1), agent)
    assert second == stage
    assert (stage.subprocess, stage.started_at, stage.due_at, stage.finished_at) == (
        subprocesses[2],
        NOW + timedelta(hours=1),
        NOW + timedelta(hours=3),  # Validação: 2 h
        None,
    )
    assert events(ticket)[-2:] == [
        ("subprocess_finished", "ana", {"subprocess": "Triagem"}),
        ("subprocess_started", "ana", {"subprocess": "Validação"}),
    ]
    assert published == [(_groups(ticket, team, users=[agent]), _payload(ticket, "subprocess"))]


def test_subprocess_of_another_process_is_refused(claimed_ticket, agent, other_process, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.subprocess_start(
            actor=agent, ticket=claimed_ticket, subprocess=other_process.subprocesses.order_by("order").first()
        )
    assert exc.value.message_dict == {"subprocess": ["O subprocesso não pertence ao processo do atendimento."]}


def test_starting_the_current_subprocess_again_is_refused(claimed_ticket, agent, subprocesses, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.subprocess_start(actor=agent, ticket=claimed_ticket, subprocess=subprocesses[0])
    assert exc.value.message_dict == {"subprocess": ["O atendimento já está neste subprocesso."]}


def test_subprocess_change_on_an_unclaimed_ticket_by_an_agent_is_denied(open_ticket, agent, subprocesses, unchanged):
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.subprocess_start(actor=agent, ticket=open_ticket, subprocess=subprocesses[1])
    assert str(exc.value) == "Resgate o atendimento antes de trabalhar nele."


def test_subprocess_finish_moves_to_the_next_in_order(claimed_ticket, agent, subprocesses):
    stage = services.subprocess_finish(actor=agent, ticket=claimed_ticket)
    assert stage.subprocess == subprocesses[1]
    assert stage.due_at == NOW + timedelta(hours=8)  # Execução: 8 h
    assert reload(claimed_ticket).current_subprocess == subprocesses[1]
    assert events(claimed_ticket)[-2:] == [
        ("subprocess_finished", "ana", {"subprocess": "Triagem"}),
        ("subprocess_started", "ana", {"subprocess": "Execução"}),
    ]


def test_subprocess_finish_skips_inactive_subprocesses(claimed_ticket, agent, subprocesses):
    subprocesses[1].active = False
    subprocesses[1].save()
    assert services.subprocess_finish(actor=agent, ticket=claimed_ticket).subprocess == subprocesses[2]


def test_finishing_the_last_subprocess_leaves_no_stage_open(claimed_ticket, agent, subprocesses, unchanged):
    services.subprocess_start(actor=agent, ticket=claimed_ticket, subprocess=subprocesses[2])
    assert services.subprocess_finish(actor=agent, ticket=claimed_ticket) is None
    assert not reload(claimed_ticket).stages.filter(finished_at__isnull=True).exists()
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.subprocess_finish(actor=agent, ticket=claimed_ticket)
    assert exc.value.messages == ["O atendimento não tem subprocesso em andamento."]


def test_forward_moves_to_the_first_subprocess_of_the_new_process(
    claimed_ticket, agent, team, other_process, published, django_capture_on_commit_callbacks
):
    before = len(events(claimed_ticket))
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_forward(actor=agent, ticket=claimed_ticket, process=other_process, comment=" Estornar taxa. ")
    ticket = reload(claimed_ticket)
    assert ticket.process == other_process
    assert ticket.current_subprocess.name == "Análise financeira"
    open_stage = ticket.stages.get(finished_at__isnull=True)
    assert (open_stage.subprocess.name, open_stage.due_at) == ("Análise financeira", NOW + timedelta(hours=24))
    assert Comment.objects.get(ticket=ticket).body == "Estornar taxa."
    assert events(ticket)[before:] == [
        ("subprocess_finished", "ana", {"subprocess": "Triagem"}),
        ("forwarded", "ana", {"process": "Financeiro"}),
        ("forward_comment", "ana", {"comment": "Estornar taxa."}),
        ("subprocess_started", "ana", {"subprocess": "Análise financeira"}),
    ]
    assert published == [(_groups(ticket, team, users=[agent]), _payload(ticket, "forwarded"))]


def test_forward_to_the_same_process_is_refused(claimed_ticket, agent, process, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_forward(actor=agent, ticket=claimed_ticket, process=process)
    assert exc.value.message_dict == {"process": ["O atendimento já está neste processo."]}


def test_forward_to_an_inactive_or_empty_process_is_refused(claimed_ticket, agent, other_process, unchanged):
    other_process.active = False
    other_process.save()
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_forward(actor=agent, ticket=claimed_ticket, process=other_process)
    assert exc.value.message_dict == {"process": ["Processo inativo."]}
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_forward(actor=agent, ticket=claimed_ticket, process=f.ProcessFactory())
    assert exc.value.message_dict == {"process": ["O processo escolhido não tem subprocessos ativos."]}


def test_forward_by_an_outsider_is_not_found(claimed_ticket, outsider, other_team, other_process, unchanged):
    with unchanged(), pytest.raises(Http404):
        services.ticket_forward(actor=outsider, ticket=claimed_ticket, process=other_process)


# --- service orders ---------------------------------------------------------------------------------


def test_service_order_without_schedule_is_unscheduled_and_shown_on_the_ticket(
    claimed_ticket, agent, team, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = services.service_order_create(actor=agent, ticket=claimed_ticket, description=" Trocar ONU ")
    assert (order.code, order.status, order.description, order.created_by) == (1, "unscheduled", "Trocar ONU", agent)
    assert reload(claimed_ticket).service_order_status == ServiceOrderStatus.UNSCHEDULED
    assert events(claimed_ticket)[-1] == ("service_order_created", "ana", {"service_order": 1})
    assert published == [(_groups(claimed_ticket, team, users=[agent]), _payload(claimed_ticket, "service_order"))]


def test_service_order_with_schedule_is_scheduled(claimed_ticket, agent):
    order = services.service_order_create(
        actor=agent,
        ticket=claimed_ticket,
        description="Visita técnica",
        scheduled_for=NOW + timedelta(days=1),
        due_at=NOW + timedelta(days=1, hours=4),
    )
    assert order.status == ServiceOrder.Status.SCHEDULED
    assert reload(claimed_ticket).service_order_status == ServiceOrderStatus.SCHEDULED


def test_service_order_due_before_its_schedule_is_refused(claimed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.service_order_create(
            actor=agent,
            ticket=claimed_ticket,
            description="Visita técnica",
            scheduled_for=NOW + timedelta(days=2),
            due_at=NOW + timedelta(days=1),
        )
    assert exc.value.message_dict == {"due_at": ["O prazo não pode ser anterior ao agendamento."]}


def test_service_order_without_description_is_refused(claimed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.service_order_create(actor=agent, ticket=claimed_ticket, description="  ")
    assert exc.value.message_dict == {"description": ["Descreva o serviço da O.S."]}


def test_service_order_codes_are_sequential_across_tickets(claimed_ticket, agent, supervisor, team, customer, company, process):
    second = _open(supervisor, team, customer, company, process, assignee=agent)
    codes = [
        services.service_order_create(actor=agent, ticket=t, description="Visita").code
        for t in (claimed_ticket, second, claimed_ticket)
    ]
    assert codes == [1, 2, 3]


def test_service_order_edit_schedules_and_clears(claimed_ticket, agent):
    order = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Visita")
    services.service_order_edit(actor=agent, service_order=order, scheduled_for=NOW + timedelta(days=1))
    order.refresh_from_db()
    assert (order.status, order.scheduled_for) == ("scheduled", NOW + timedelta(days=1))
    assert reload(claimed_ticket).service_order_status == "scheduled"
    assert events(claimed_ticket)[-1] == ("service_order_edited", "ana", {"service_order": 1})
    services.service_order_edit(actor=agent, service_order=order, clear_schedule=True)
    order.refresh_from_db()
    assert (order.status, order.scheduled_for) == ("unscheduled", None)
    assert reload(claimed_ticket).service_order_status == "unscheduled"


def test_service_order_edit_with_deadline_before_the_kept_schedule_is_refused(claimed_ticket, agent, unchanged):
    order = services.service_order_create(
        actor=agent, ticket=claimed_ticket, description="Visita", scheduled_for=NOW + timedelta(days=2)
    )
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.service_order_edit(actor=agent, service_order=order, due_at=NOW + timedelta(days=1))
    assert exc.value.message_dict == {"due_at": ["O prazo não pode ser anterior ao agendamento."]}


def test_service_order_complete_marks_order_and_ticket(claimed_ticket, agent, time_machine):
    order = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Visita")
    time_machine.move_to(NOW + timedelta(hours=5), tick=False)
    services.service_order_complete(actor=agent, service_order=order)
    order.refresh_from_db()
    assert (order.status, order.completed_at) == ("completed", NOW + timedelta(hours=5))
    assert reload(claimed_ticket).service_order_status == ServiceOrderStatus.COMPLETED
    assert events(claimed_ticket)[-1] == ("service_order_completed", "ana", {"service_order": 1})


def test_completed_service_order_cannot_be_completed_or_edited_again(claimed_ticket, agent, unchanged):
    order = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Visita")
    services.service_order_complete(actor=agent, service_order=order)
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.service_order_complete(actor=agent, service_order=order)
    assert exc.value.messages == ["A O.S. 1 já foi concluída."]
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.service_order_edit(actor=agent, service_order=order, description="Outra")
    assert exc.value.messages == ["A O.S. 1 já foi concluída."]


def test_ticket_shows_the_status_of_its_latest_service_order(claimed_ticket, agent, time_machine):
    first = services.service_order_create(actor=agent, ticket=claimed_ticket, description="Primeira")
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    services.service_order_create(
        actor=agent, ticket=claimed_ticket, description="Segunda", scheduled_for=NOW + timedelta(days=1)
    )
    services.service_order_complete(actor=agent, service_order=first)
    assert reload(claimed_ticket).service_order_status == ServiceOrderStatus.SCHEDULED


# --- finalize and reopen ---------------------------------------------------------------------------


def test_finalize_closes_the_ticket_and_its_stage(
    claimed_ticket, agent, team, closing_classification, time_machine, published, django_capture_on_commit_callbacks
):
    before = len(events(claimed_ticket))
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_finalize(
            actor=agent, ticket=claimed_ticket, closing_classification=closing_classification, comment=" Resolvido. "
        )
    ticket = reload(claimed_ticket)
    assert (ticket.closed_at, ticket.closed_by, ticket.closing_classification) == (
        NOW + timedelta(hours=2),
        agent,
        closing_classification,
    )
    assert not ticket.is_open
    assert not ticket.stages.filter(finished_at__isnull=True).exists()
    assert Comment.objects.get(ticket=ticket).body == "Resolvido."
    assert events(ticket)[before:] == [
        ("subprocess_finished", "ana", {"subprocess": "Triagem"}),
        ("finalize_comment", "ana", {"comment": "Resolvido."}),
        ("closed", "ana", {"classification": "Resolvido remotamente"}),
    ]
    assert published == [(_groups(ticket, team, users=[agent]), _payload(ticket, "finalized"))]


def test_finalize_without_comment_or_classification_is_refused(claimed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_finalize(actor=agent, ticket=claimed_ticket, closing_classification=None, comment="  ")
    assert exc.value.message_dict == {
        "closing_classification": ["Escolha a classificação de encerramento."],
        "comment": ["Escreva o comentário de encerramento."],
    }


def test_finalize_with_an_opening_classification_is_refused(claimed_ticket, agent, opening_classification, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_finalize(
            actor=agent, ticket=claimed_ticket, closing_classification=opening_classification, comment="Resolvido."
        )
    assert exc.value.message_dict == {"closing_classification": ["Escolha uma classificação de encerramento ativa."]}


def test_finalize_with_an_inactive_classification_is_refused(claimed_ticket, agent, unchanged):
    retired = f.ClassificationFactory(name="Antiga", kind=Classification.Kind.CLOSING, active=False)
    with unchanged(), pytest.raises(ValidationError):
        services.ticket_finalize(actor=agent, ticket=claimed_ticket, closing_classification=retired, comment="Ok")


def test_finalize_twice_is_refused(closed_ticket, agent, closing_classification, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_finalize(
            actor=agent, ticket=closed_ticket, closing_classification=closing_classification, comment="De novo"
        )
    assert exc.value.messages == ["O atendimento 1 está finalizado e não pode ser alterado."]


def test_finalize_of_an_unclaimed_ticket_by_an_agent_is_denied(open_ticket, agent, closing_classification, unchanged):
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.ticket_finalize(
            actor=agent, ticket=open_ticket, closing_classification=closing_classification, comment="Ok"
        )
    assert str(exc.value) == "Resgate o atendimento antes de trabalhar nele."


def test_reopen_by_who_finalized_restarts_the_last_subprocess(
    closed_ticket, agent, team, subprocesses, time_machine, published, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW + timedelta(days=1), tick=False)
    before = len(events(closed_ticket))
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reopen(actor=agent, ticket=closed_ticket, reason=" Voltou a cair. ")
    ticket = reload(closed_ticket)
    assert (ticket.closed_at, ticket.closed_by, ticket.closing_classification) == (None, None, None)
    assert ticket.current_subprocess == subprocesses[0]
    open_stage = ticket.stages.get(finished_at__isnull=True)
    assert (open_stage.started_at, open_stage.due_at) == (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=4))
    assert events(ticket)[before:] == [
        ("reopened", "ana", {"reason": "Voltou a cair."}),
        ("subprocess_started", "ana", {"subprocess": "Triagem"}),
    ]
    assert published == [(_groups(ticket, team, users=[agent]), _payload(ticket, "reopened"))]


def test_reopen_without_reason_is_refused(closed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_reopen(actor=agent, ticket=closed_ticket, reason=" ")
    assert exc.value.message_dict == {"reason": ["Informe o motivo da reabertura."]}


def test_reopen_of_an_open_ticket_is_refused(claimed_ticket, agent, unchanged):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.ticket_reopen(actor=agent, ticket=claimed_ticket, reason="Teste")
    assert exc.value.messages == ["O atendimento 1 já está aberto."]


def test_reopen_by_an_unrelated_teammate_is_denied(open_ticket, teammate, supervisor, closing_classification, unchanged):
    # Finalized by the supervisor while unassigned: the teammate sees it but did not close it.
    services.ticket_finalize(
        actor=supervisor, ticket=open_ticket, closing_classification=closing_classification, comment="Duplicado."
    )
    with unchanged(), pytest.raises(PermissionDenied) as exc:
        services.ticket_reopen(actor=teammate, ticket=open_ticket, reason="Não era duplicado")
    assert str(exc.value) == "Só quem finalizou o atendimento ou um supervisor da equipe pode reabri-lo."


def test_reopen_by_an_outsider_is_not_found(closed_ticket, outsider, other_team, unchanged):
    with unchanged(), pytest.raises(Http404):
        services.ticket_reopen(actor=outsider, ticket=closed_ticket, reason="Quero reabrir")


def test_supervisor_may_reopen_a_ticket_of_the_team(closed_ticket, supervisor):
    services.ticket_reopen(actor=supervisor, ticket=closed_ticket, reason="Cliente ligou de novo")
    assert reload(closed_ticket).is_open


# --- customers ------------------------------------------------------------------------------------


def test_customer_create_stores_a_normalised_document(agent):
    customer = services.customer_create(actor=agent, name=" Loja Nova Ltda ", document="12.abc.345/01de-35")
    customer.refresh_from_db()
    assert (customer.name, customer.document, customer.document_display) == (
        "Loja Nova Ltda",
        "12ABC34501DE35",
        "12.ABC.345/01DE-35",
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("529.982.247-26", "CPF inválido: confira os dígitos verificadores."),
        ("11.222.333/0001-82", "CNPJ inválido: confira os dígitos verificadores."),
    ],
)
def test_customer_create_with_invalid_document_saves_nothing(agent, unchanged, document, message):
    with unchanged(), pytest.raises(ValidationError) as exc:
        services.customer_create(actor=agent, name="Maria", document=document)
    assert exc.value.message_dict == {"document": [message]}
    assert not Customer.objects.exists()


def test_customer_create_with_a_document_already_registered_is_refused(agent, customer):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=agent, name="Outra Maria", document="529.982.247-25")
    assert list(exc.value.message_dict) == ["document"]
    assert Customer.objects.count() == 1


def test_customer_create_without_tool_new_is_denied(no_role_member):
    with pytest.raises(PermissionDenied) as exc:
        services.customer_create(actor=no_role_member, name="Maria", document="52998224725")
    assert str(exc.value) == "Você não tem permissão para cadastrar clientes."
    assert not Customer.objects.exists()


def test_customer_create_with_unknown_field_is_refused(agent):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(actor=agent, name="Maria", document="52998224725", is_vip="sim")
    assert exc.value.messages == ["Campos de cliente desconhecidos: is_vip"]
