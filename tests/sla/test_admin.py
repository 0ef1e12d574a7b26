"""The SLA configuration in Django admin: calendars with their intervals and holidays,
policies and their matrix/process mappings, reasons; clocks and interventions read-only."""

from datetime import date, time

import pytest
from django.urls import reverse

from sla.models import (
    BusinessCalendar,
    Holiday,
    MatrixPolicy,
    ProcessPolicy,
    SlaClock,
    SlaReason,
    WorkingInterval,
)
from tests import factories as f

from .conftest import sp
from .factories import CalendarFactory, HolidayFactory, PolicyFactory

TUESDAY_9 = sp(2026, 3, 3, 9)


@pytest.fixture
def admin_client(client, admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client.force_login(admin_user)
    return client


def inline_management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def calendar_post(intervals: list[tuple[int, str, str]], **fields) -> dict:
    data = {
        "name": "Loja Centro", "active": "on", "timezone": "America/Sao_Paulo", "national_holidays": "on",
        "state": "SP", **fields,
        **inline_management("intervals", len(intervals)), **inline_management("holidays", 1),
        "holidays-0-date": "25/01/2026", "holidays-0-name": "Aniversário de São Paulo",
    }
    for i, (weekday, start, end) in enumerate(intervals):
        data |= {f"intervals-{i}-weekday": str(weekday), f"intervals-{i}-start": start, f"intervals-{i}-end": end}
    return data


@pytest.mark.parametrize(
    "model", ["businesscalendar", "holiday", "slapolicy", "matrixpolicy", "processpolicy", "slareason",
              "slaintervention", "slaclock"],
)
def test_every_sla_admin_screen_opens(admin_client, model, sla_ticket):
    assert admin_client.get(reverse(f"admin:sla_{model}_changelist")).status_code == 200


@pytest.mark.parametrize("model", ["businesscalendar", "holiday", "slapolicy", "matrixpolicy", "processpolicy", "slareason"])
def test_configuration_can_be_added(admin_client, model):
    assert admin_client.get(reverse(f"admin:sla_{model}_add")).status_code == 200


def test_a_calendar_is_created_with_two_intervals_a_day_and_its_own_holiday(admin_client):
    intervals = [(day, "08:00", "12:00") for day in range(5)] + [(day, "13:00", "18:00") for day in range(5)]
    response = admin_client.post(reverse("admin:sla_businesscalendar_add"), calendar_post(intervals))
    assert response.status_code == 302, response.content.decode()[:3000]
    calendar = BusinessCalendar.objects.get(name="Loja Centro")
    assert WorkingInterval.objects.filter(calendar=calendar).count() == 10
    spec = calendar.spec(years=range(2026, 2027))
    assert date(2026, 1, 25) in spec.holidays  # the admin's own date
    assert date(2026, 7, 9) in spec.holidays  # São Paulo state holiday from the holidays package
    assert date(2026, 11, 20) in spec.holidays  # national
    assert calendar.business_day().total_seconds() == 9 * 3600


def test_overlapping_intervals_of_a_weekday_are_refused_in_portuguese(admin_client):
    response = admin_client.post(
        reverse("admin:sla_businesscalendar_add"), calendar_post([(0, "08:00", "12:00"), (0, "11:00", "14:00")])
    )
    assert response.status_code == 200
    assert "O intervalo 11:00-14:00 de Segunda-feira se sobrepõe a outro do mesmo dia." in response.content.decode()
    assert not BusinessCalendar.objects.filter(name="Loja Centro").exists()


def test_an_interval_that_ends_before_it_starts_is_refused(admin_client):
    response = admin_client.post(reverse("admin:sla_businesscalendar_add"), calendar_post([(0, "18:00", "08:00")]))
    assert "O fim precisa ser depois do início." in response.content.decode()


def test_a_calendar_without_intervals_must_be_24x7(admin_client):
    refused = admin_client.post(reverse("admin:sla_businesscalendar_add"), calendar_post([]))
    assert "Informe ao menos um intervalo de atendimento ou marque o calendário como 24x7." in refused.content.decode()
    accepted = admin_client.post(reverse("admin:sla_businesscalendar_add"), calendar_post([], always_open="on"))
    assert accepted.status_code == 302
    assert BusinessCalendar.objects.get(name="Loja Centro").spec().always_open


def test_an_unknown_time_zone_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:sla_businesscalendar_add"), calendar_post([(0, "08:00", "12:00")], timezone="Marte/Olympus")
    )
    assert "Fuso horário desconhecido" in response.content.decode()


def test_the_calendar_page_lists_the_holidays_it_applies(admin_client, frozen):
    calendar = CalendarFactory(national_holidays=True, state="SP")
    html = admin_client.get(reverse("admin:sla_businesscalendar_change", args=[calendar.pk])).content.decode()
    assert "09/07/2026" in html and "25/12/2026" in html


def test_adding_a_holiday_in_admin_recomputes_the_open_deadlines(
    admin_client, clock, calendar, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:sla_holiday_add"), {"calendar": calendar.pk, "date": "03/03/2026", "name": "Enchente"}
        )
    assert response.status_code == 302
    assert SlaClock.objects.get(pk=clock.pk).due_at == sp(2026, 3, 4, 9)


def test_deleting_a_holiday_in_admin_recomputes_too(admin_client, clock, calendar, django_capture_on_commit_callbacks):
    holiday = HolidayFactory(calendar=calendar, date=date(2026, 3, 3))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:sla_holiday_delete", args=[holiday.pk]), {"post": "yes"})
    assert not Holiday.objects.exists()
    assert SlaClock.objects.get(pk=clock.pk).due_at == TUESDAY_9


def test_a_duplicate_holiday_is_refused_with_a_message(admin_client, calendar):
    HolidayFactory(calendar=calendar, date=date(2026, 3, 3))
    response = admin_client.post(
        reverse("admin:sla_holiday_add"), {"calendar": calendar.pk, "date": "03/03/2026", "name": "De novo"}
    )
    assert response.status_code == 200
    assert "Este calendário já tem um feriado ou fechamento nesta data." in response.content.decode()


def test_a_policy_with_zero_hours_is_refused_with_a_message(admin_client, calendar):
    response = admin_client.post(
        reverse("admin:sla_slapolicy_add"),
        {"name": "Zero", "calendar": calendar.pk, "resolution_amount": "0", "resolution_unit": "hours",
         "first_response_unit": "hours", "active": "on",
         **inline_management("matrices", 0), **inline_management("processes", 0)},
    )
    assert response.status_code == 200
    assert "O prazo de solução precisa ser maior que zero." in response.content.decode()


def test_mapping_a_matrix_to_a_policy_in_admin_moves_its_open_clocks(
    admin_client, clock, sla_ticket, calendar, django_capture_on_commit_callbacks
):
    matrix = f.CategoryMatrixFactory()
    sla_ticket.category_matrix = matrix
    sla_ticket.save(update_fields=["category_matrix"])
    two_hours = PolicyFactory(calendar=calendar, resolution_amount=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:sla_matrixpolicy_add"), {"matrix": matrix.pk, "policy": two_hours.pk})
    assert response.status_code == 302
    assert MatrixPolicy.objects.filter(matrix=matrix, policy=two_hours).exists()
    moved = SlaClock.objects.get(pk=clock.pk)
    assert (moved.policy, moved.due_at) == (two_hours, sp(2026, 3, 2, 12))


def test_changing_a_process_default_in_admin_moves_its_open_clocks(
    admin_client, clock, process_policy, calendar, django_capture_on_commit_callbacks
):
    four_hours = PolicyFactory(calendar=calendar, resolution_amount=4)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:sla_processpolicy_change", args=[process_policy.pk]),
            {"process": process_policy.process_id, "policy": four_hours.pk, "calendar": ""},
        )
    assert response.status_code == 302
    assert ProcessPolicy.objects.get(pk=process_policy.pk).policy == four_hours
    assert SlaClock.objects.get(pk=clock.pk).due_at == sp(2026, 3, 2, 15)  # 10-12, 13-15


def test_reasons_are_managed_with_kind_and_active(admin_client):
    response = admin_client.post(
        reverse("admin:sla_slareason_add"), {"name": "Aguardando peça", "kind": "increment", "active": "on"}
    )
    assert response.status_code == 302
    assert SlaReason.objects.get(name="Aguardando peça").kind == SlaReason.Kind.INCREMENT


def test_interventions_and_clocks_are_read_only(admin_client, sla_ticket, supervisor, increment_reason):
    from sla import services

    intervention = services.sla_increment(
        actor=supervisor, ticket=sla_ticket, reason=increment_reason, unit="hours", quantity=1
    )
    assert admin_client.get(reverse("admin:sla_slaintervention_add")).status_code == 403
    page = admin_client.get(reverse("admin:sla_slaintervention_change", args=[intervention.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(
        reverse("admin:sla_slaintervention_delete", args=[intervention.pk]), {"post": "yes"}
    ).status_code == 403
    assert admin_client.get(reverse("admin:sla_slaclock_add")).status_code == 403


def test_interval_end_of_day_is_midnight():
    assert WorkingInterval(weekday=0, start=time(22), end=time(0)).clean() is None
