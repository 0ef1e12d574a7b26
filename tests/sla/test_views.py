"""The "Modificar SLA" wizard, "Retomar SLA", the "Histórico" grid and the SLA box of the ticket page.

Bad input answers 4xx with the pt-BR message and changes nothing; someone who
may not see the ticket gets 404; an anonymous visitor goes to the login page.
"""

import pytest
from django.urls import reverse

from sla import services
from sla.models import ClockState, SlaClock, SlaIntervention
from tests import factories as f
from tickets import services as ticket_services

from .conftest import sp
from .factories import ReasonFactory

HTMX = {"HX-Request": "true"}


def url(name: str, ticket, *extra) -> str:
    return reverse(f"sla:{name}", args=[ticket.pk, *extra])


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def intervention(sla_ticket, supervisor, increment_reason):
    return services.sla_increment(
        actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=2,
        notes="Cliente viaja amanhã.",
    )


def increment_post(clock, chosen, **extra) -> dict:
    return {
        "step": "increment", "reason": chosen.pk, "notes": "Combinado com o cliente.", "unit": "hours",
        "quantity": "2", "confirm": "on", "version": clock.version, **extra,
    }


# --- who gets in ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["box", "modify", "preview", "resume", "history"])
def test_anonymous_visitor_is_sent_to_login(client, sla_ticket, name):
    response = client.get(url(name, sla_ticket))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", ["box", "modify", "preview", "resume", "history"])
def test_someone_who_cannot_see_the_ticket_gets_404(as_user, outsider, other_team, sla_ticket, name):
    assert as_user(outsider).get(url(name, sla_ticket)).status_code == 404


def test_someone_who_cannot_see_the_ticket_cannot_post_either(
    as_user, other_team, sla_ticket, clock, increment_reason
):
    stranger = f.SupervisorFactory(username="sandra")
    other_team.supervisors.add(stranger)
    client = as_user(stranger)
    assert client.post(url("modify", sla_ticket), increment_post(clock, increment_reason)).status_code == 404
    assert client.post(url("resume", sla_ticket), {"version": clock.version}).status_code == 404
    assert not SlaIntervention.objects.exists()


def test_someone_elses_intervention_detail_is_404(as_user, supervisor, sla_ticket, intervention):
    other = f.TicketFactory(team=sla_ticket.team)
    response = as_user(supervisor).get(url("intervention", other, intervention.pk))
    assert response.status_code == 404


def test_an_unknown_ticket_is_404(as_user, supervisor, sla_ticket):
    assert as_user(supervisor).get(reverse("sla:modify", args=[999_999])).status_code == 404


@pytest.mark.parametrize("name", ["modify", "preview", "resume"])
def test_an_agent_without_the_tool_permission_gets_403(as_user, agent, sla_ticket, name):
    response = as_user(agent).get(url(name, sla_ticket), {"unit": "hours", "quantity": "1"})
    assert response.status_code == 403


def test_an_agent_may_read_the_history_of_a_ticket_they_see(as_user, agent, sla_ticket, intervention):
    response = as_user(agent).get(url("history", sla_ticket))
    assert response.status_code == 200
    assert "Aguardando cliente" in text(response)


# --- the wizard -------------------------------------------------------------------------------


def test_step_one_offers_increment_or_pause(as_user, supervisor, sla_ticket):
    response = as_user(supervisor).get(url("modify", sla_ticket), headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert "Incrementar SLA" in html and "Pausar SLA" in html and "Avançar" in html
    assert "03/03/2026 09:00" in html  # the current deadline


def test_step_one_without_a_choice_is_400_with_the_message(as_user, supervisor, sla_ticket):
    response = as_user(supervisor).post(url("modify", sla_ticket), {"step": "1"}, headers=HTMX)
    assert response.status_code == 400
    assert "Escolha Incrementar SLA ou Pausar SLA." in text(response)


def test_step_one_with_a_made_up_choice_is_400(as_user, supervisor, sla_ticket):
    response = as_user(supervisor).post(url("modify", sla_ticket), {"step": "1", "action": "delete"}, headers=HTMX)
    assert response.status_code == 400


def test_increment_step_offers_only_active_increment_reasons_and_a_read_only_new_deadline(
    as_user, supervisor, sla_ticket, increment_reason, pause_reason
):
    ReasonFactory(name="Motivo desativado", active=False)
    response = as_user(supervisor).post(url("modify", sla_ticket), {"step": "1", "action": "increment"}, headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert "Aguardando cliente" in html
    assert pause_reason.name not in html
    assert "Motivo desativado" not in html
    assert "Tipo de incremento" in html and "Novo prazo" in html
    assert 'id="sla-new-due-value" name="new_due_display" readonly' in html
    assert "Tem certeza que deseja executar este processo agora?" in html
    assert "Finalizar" in html
    assert url("preview", sla_ticket) in html  # typed quantities ask the server for the new deadline


def test_pause_step_offers_only_pause_reasons(as_user, supervisor, sla_ticket, increment_reason, pause_reason):
    response = as_user(supervisor).post(url("modify", sla_ticket), {"step": "1", "action": "pause"}, headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert pause_reason.name in html
    assert increment_reason.name not in html
    assert "Novo prazo" not in html


def test_the_live_preview_returns_the_new_deadline(as_user, supervisor, sla_ticket, clock):
    client = as_user(supervisor)
    hours = client.get(url("preview", sla_ticket), {"unit": "hours", "quantity": "2"}, headers=HTMX)
    days = client.get(url("preview", sla_ticket), {"unit": "days", "quantity": "1"}, headers=HTMX)
    assert hours.status_code == days.status_code == 200
    assert 'value="03/03/2026 11:00"' in text(hours)
    assert 'value="04/03/2026 09:00"' in text(days)
    assert SlaClock.objects.get(pk=clock.pk).due_at == clock.due_at


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"unit": "hours", "quantity": "-1"}, "A quantidade precisa ser maior que zero."),
        ({"unit": "hours", "quantity": "abc"}, "Informe a quantidade como um número."),
        ({"unit": "hours", "quantity": "99999"}, "A quantidade pode ser de no máximo 720 horas."),
        ({"unit": "weeks", "quantity": "1"}, "Escolha o tipo de incremento: horas ou dias."),
        ({"unit": "hours", "quantity": "9" * 5000}, "A quantidade pode ser de no máximo 720 horas."),
    ],
)
def test_the_live_preview_answers_400_with_the_message_for_bad_input(
    as_user, supervisor, sla_ticket, params, message
):
    response = as_user(supervisor).get(url("preview", sla_ticket), params, headers=HTMX)
    assert response.status_code == 400
    assert message in text(response)


def test_the_live_preview_is_empty_while_nothing_is_typed(as_user, supervisor, sla_ticket):
    response = as_user(supervisor).get(url("preview", sla_ticket), {"unit": "hours", "quantity": ""}, headers=HTMX)
    assert response.status_code == 200
    assert 'value=""' in text(response)


def test_finalizing_an_increment_applies_it_and_closes_the_wizard(
    as_user, supervisor, sla_ticket, clock, increment_reason, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(supervisor).post(url("modify", sla_ticket), increment_post(clock, increment_reason), headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("tickets:detail", args=[sla_ticket.pk])
    assert SlaClock.objects.get(pk=clock.pk).due_at == sp(2026, 3, 3, 11)
    [row] = SlaIntervention.objects.all()
    assert (row.actor, row.reason, row.notes) == (supervisor, increment_reason, "Combinado com o cliente.")


def test_without_javascript_the_wizard_is_a_page_and_redirects_back(
    as_user, supervisor, sla_ticket, clock, increment_reason
):
    client = as_user(supervisor)
    page = client.get(url("modify", sla_ticket))
    assert page.status_code == 200
    assert "<html" in text(page) and "Incrementar SLA" in text(page)
    response = client.post(url("modify", sla_ticket), increment_post(clock, increment_reason))
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[sla_ticket.pk])
    follow = client.get(response["Location"])
    assert "SLA incrementado. Novo prazo: 03/03/2026 11:00." in text(follow)


def test_finalizing_without_ticking_the_confirmation_is_refused(
    as_user, supervisor, sla_ticket, clock, increment_reason
):
    data = increment_post(clock, increment_reason)
    del data["confirm"]
    response = as_user(supervisor).post(url("modify", sla_ticket), data, headers=HTMX)
    assert response.status_code == 400
    assert "Marque “Tem certeza que deseja executar este processo agora?” para finalizar." in text(response)
    assert SlaClock.objects.get(pk=clock.pk).due_at == clock.due_at
    assert not SlaIntervention.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quantity": "0"}, "A quantidade precisa ser maior que zero."),
        ({"quantity": "1000"}, "A quantidade pode ser de no máximo 720 horas."),
        ({"quantity": "abc"}, "Informe a quantidade como um número."),
        ({"quantity": ""}, "Informe a quantidade."),
        ({"unit": "weeks"}, "Faça uma escolha válida."),
        ({"reason": "999999"}, "Motivo inexistente."),
        ({"reason": "x"}, "Motivo inexistente."),
        ({"reason": ""}, "Escolha o motivo."),
        ({"version": "abc"}, "O assistente está desatualizado: feche-o e abra de novo."),
    ],
)
def test_bad_increment_input_is_400_with_the_message_and_changes_nothing(
    as_user, supervisor, sla_ticket, clock, increment_reason, change, message
):
    response = as_user(supervisor).post(
        url("modify", sla_ticket), increment_post(clock, increment_reason, **change), headers=HTMX
    )
    assert response.status_code == 400
    assert message in text(response)
    assert not SlaIntervention.objects.exists()


def test_a_pause_reason_posted_to_the_increment_step_is_refused(
    as_user, supervisor, sla_ticket, clock, pause_reason
):
    response = as_user(supervisor).post(url("modify", sla_ticket), increment_post(clock, pause_reason), headers=HTMX)
    assert response.status_code == 400
    assert "O motivo escolhido não é um motivo de incremento de SLA." in text(response)


def test_a_wizard_opened_before_someone_elses_change_is_told(
    as_user, supervisor, sla_ticket, clock, increment_reason, pause_reason
):
    services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
    response = as_user(supervisor).post(url("modify", sla_ticket), increment_post(clock, increment_reason), headers=HTMX)
    assert response.status_code == 400
    assert "acabou de ser alterado por outra pessoa" in text(response)
    assert SlaIntervention.objects.count() == 1


def test_pause_then_resume_through_the_screens(
    as_user, supervisor, sla_ticket, clock, pause_reason, frozen
):
    client = as_user(supervisor)
    frozen.move_to(sp(2026, 3, 2, 11), tick=False)
    response = client.post(
        url("modify", sla_ticket),
        {"step": "pause", "reason": pause_reason.pk, "notes": "Cliente ausente.", "confirm": "on", "version": clock.version},
        headers=HTMX,
    )
    assert response.status_code == 200
    paused = SlaClock.objects.get(pk=clock.pk)
    assert paused.state == ClockState.PAUSED

    offered = client.get(url("modify", sla_ticket), headers=HTMX)
    assert offered.status_code == 200
    assert "A contagem do SLA deste atendimento está pausada." in text(offered)
    assert 'id="sla-wizard-resume"' in text(offered)
    refused = client.post(
        url("modify", sla_ticket),
        {"step": "pause", "reason": pause_reason.pk, "confirm": "on", "version": paused.version},
        headers=HTMX,
    )
    assert refused.status_code == 400
    assert "O SLA deste atendimento está pausado: use “Retomar SLA”." in text(refused)
    box = client.get(url("box", sla_ticket))
    assert "Retomar SLA" in text(box) and "Modificar SLA" not in text(box)

    frozen.move_to(sp(2026, 3, 3, 11), tick=False)
    client = as_user(supervisor)  # a day later: the session expired, a new login
    resumed = client.post(url("resume", sla_ticket), {"version": paused.version}, headers=HTMX)
    assert resumed.status_code == 200
    assert "HX-Redirect" in resumed
    assert SlaClock.objects.get(pk=clock.pk).due_at == sp(2026, 3, 4, 9)


def test_the_wizard_of_a_paused_clock_resumes_it(as_user, supervisor, sla_ticket, clock, pause_reason):
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    version = SlaClock.objects.get(pk=clock.pk).version
    client = as_user(supervisor)
    stale = client.post(url("resume", sla_ticket), {"version": version - 1, "from": "wizard"}, headers=HTMX)
    assert stale.status_code == 400
    assert 'id="sla-wizard"' in text(stale) and "acabou de ser alterado por outra pessoa" in text(stale)
    done = client.post(url("resume", sla_ticket), {"version": version, "from": "wizard", "notes": "Liberado."},
                       headers=HTMX)
    assert done.status_code == 200 and "HX-Redirect" in done
    assert SlaClock.objects.get(pk=clock.pk).state == ClockState.RUNNING
    assert SlaIntervention.objects.get(kind="resume").notes == "Liberado."


def test_resuming_from_the_wizard_after_someone_else_did_says_so(as_user, supervisor, sla_ticket, clock):
    response = as_user(supervisor).post(url("resume", sla_ticket), {"from": "wizard"}, headers=HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#sla-wizard"
    assert "O SLA deste atendimento não está pausado." in text(response)


def test_resuming_a_running_clock_is_400_with_the_message(as_user, supervisor, sla_ticket, clock):
    response = as_user(supervisor).post(url("resume", sla_ticket), {"version": clock.version}, headers=HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#ticket-alerts"
    assert "O SLA deste atendimento não está pausado." in text(response)


def test_the_wizard_of_a_finalized_ticket_explains_why_it_cannot_be_used(
    as_user, agent, supervisor, sla_ticket, closing_classification, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        claimed = ticket_services.ticket_claim(actor=agent, ticket=sla_ticket)
        ticket_services.ticket_finalize(
            actor=agent, ticket=claimed, closing_classification=closing_classification, comment="Resolvido."
        )
    response = as_user(supervisor).get(url("modify", sla_ticket), headers=HTMX)
    assert response.status_code == 400
    assert f"O atendimento {sla_ticket.code} está finalizado: o SLA não pode ser modificado." in text(response)


def test_modify_refuses_other_http_methods(as_user, supervisor, sla_ticket):
    assert as_user(supervisor).delete(url("modify", sla_ticket)).status_code == 405


# --- history ----------------------------------------------------------------------------------


def test_history_lists_the_interventions_newest_first(
    as_user, supervisor, sla_ticket, intervention, pause_reason, frozen, django_assert_max_num_queries
):
    frozen.move_to(sp(2026, 3, 2, 11), tick=False)
    services.sla_pause(actor=supervisor, ticket=sla_ticket, reason=pause_reason)
    client = as_user(supervisor)
    client.get(url("box", sla_ticket))  # the session is loaded; what follows is the grid alone
    with django_assert_max_num_queries(9):
        response = client.get(url("history", sla_ticket), headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert html.index("Pausa") < html.index("Incremento")
    assert "Carla Mendes" in html
    assert "03/03/2026 09:00" in html and "03/03/2026 11:00" in html  # before and after of the increment
    assert f'data-sla-detail="{url("intervention", sla_ticket, intervention.pk)}"' in html


def test_history_query_count_does_not_grow_with_rows(
    as_user, supervisor, sla_ticket, increment_reason, django_assert_max_num_queries
):
    for _ in range(6):
        services.sla_increment(actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1)
    client = as_user(supervisor)
    client.get(url("box", sla_ticket))
    with django_assert_max_num_queries(9):
        response = client.get(url("history", sla_ticket), headers=HTMX)
    assert text(response).count("sla-history-row") == 6


def test_history_row_detail_shows_everything_recorded(as_user, supervisor, sla_ticket, intervention):
    response = as_user(supervisor).get(url("intervention", sla_ticket, intervention.pk), headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    for expected in ("Incremento", "Aguardando cliente", "Cliente viaja amanhã.", "Horas", "03/03/2026 09:00",
                     "03/03/2026 11:00", "Carla Mendes", sla_ticket.protocol):
        assert expected in html


def test_an_empty_history_says_so(as_user, supervisor, sla_ticket):
    response = as_user(supervisor).get(url("history", sla_ticket))
    assert "Nenhuma intervenção de SLA neste atendimento." in text(response)


# --- the ticket page --------------------------------------------------------------------------


def test_the_ticket_page_shows_the_sla_box_and_the_supervisor_tools(as_user, supervisor, sla_ticket):
    html = text(as_user(supervisor).get(reverse("tickets:detail", args=[sla_ticket.pk])))
    assert 'id="sla-box"' in html
    assert "Suporte 8h úteis" in html
    assert "03/03/2026 09:00" in html
    assert "Modificar SLA" in html and "Histórico" in html


def test_the_ticket_page_hides_modify_from_an_agent(as_user, agent, sla_ticket):
    html = text(as_user(agent).get(reverse("tickets:detail", args=[sla_ticket.pk])))
    assert 'id="sla-box"' in html
    assert 'id="sla-modify"' not in html


def test_the_ticket_page_shows_business_hours_left_and_the_stage_due(as_user, supervisor, sla_ticket, frozen):
    """Triagem (4 h) from Monday 10:00 on the calendar: due Monday 15:00; at 14:00 1,0 h left."""
    frozen.move_to(sp(2026, 3, 2, 14), tick=False)
    html = text(as_user(supervisor).get(reverse("tickets:detail", args=[sla_ticket.pk])))
    assert "02/03/2026 15:00" in html
    assert "Em dia" in html
    # The SLA: from Monday 14:00 to Tuesday 09:00 = 4 + 1 = 5 business hours.
    assert 'id="sla-remaining">5,0<' in html


def test_a_late_clock_shows_overdue_business_hours(as_user, supervisor, sla_ticket, frozen):
    frozen.move_to(sp(2026, 3, 3, 14), tick=False)  # Tuesday 14:00: 09-12 + 13-14 = 4 h late
    html = text(as_user(supervisor).get(reverse("tickets:detail", args=[sla_ticket.pk])))
    assert 'id="sla-overdue">4,0<' in html
    assert "Atrasado" in html
