"""The pivots: "Gráfico sintético" (Abertos) and "Informações sintéticas" (Busca).

"Now" is Wednesday 11/03/2026 10:00 in America/Sao_Paulo (13:00 UTC).
Expected values are counted by hand from the tickets each test makes.
"""

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from dashboards.grids import pivot as pv
from dashboards.models import PivotPreference
from tests import factories as f
from tests.dashboards.conftest import local, view_url
from tickets.models import Origin

NOW = local(2026, 3, 11, 10, 0, 0)
CHART = "open/synthetic-chart"
SYNTHETIC = "search/synthetic"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def save_url(key: str) -> str:
    tab, view = key.split("/")
    return reverse("dashboards:pivot", kwargs={"tab": tab, "view": view})


def configure(client, key: str, **data) -> None:
    response = client.post(save_url(key), data)
    assert response.status_code == 302, response.content.decode()[:500]


def table_of(response) -> dict[tuple[str, ...], dict[str, object]]:
    """{row names: {column header: value, "Total": row total}} of the rendered pivot."""
    table = response.context["table"]
    headers = table.header()
    return {
        tuple(row["names"]): {**dict(zip(headers, row["cells"], strict=True)), "Total": row["total"]}
        for row in table.body()
    }


@pytest.fixture
def mix(make_ticket, other_process, agent, teammate, other_team):
    """Open tickets: Suporte técnico 2 by telefone + 1 by WhatsApp, Financeiro 1 by telefone;
    a finalized one and one of another team that never count."""
    make_ticket(opened_at=NOW - timedelta(hours=2), origin=Origin.PHONE, assignee=agent, city="Campinas")
    make_ticket(opened_at=NOW - timedelta(hours=4), origin=Origin.PHONE, city="Campinas")
    make_ticket(opened_at=NOW - timedelta(hours=6), origin=Origin.WHATSAPP, assignee=teammate, city="")
    make_ticket(
        opened_at=NOW - timedelta(hours=10), origin=Origin.PHONE, process=other_process,
        current_subprocess=other_process.subprocesses.first(), city="Valinhos",
    )
    make_ticket(opened_at=NOW - timedelta(hours=1), closed_at=NOW - timedelta(minutes=5), origin=Origin.PHONE)
    make_ticket(opened_at=NOW - timedelta(hours=1), origin=Origin.PHONE, team=other_team)


# --- Gráfico sintético ------------------------------------------------------------------------------


def test_default_pivot_counts_open_tickets_by_process_and_origin(client, supervisor, mix):
    client.force_login(supervisor)
    response = client.get(view_url(CHART))
    assert response.status_code == 200
    assert table_of(response) == {
        ("Financeiro",): {"Telefônico": 1, "WhatsApp": None, "Total": 1},
        ("Suporte técnico",): {"Telefônico": 2, "WhatsApp": 1, "Total": 3},
    }
    table = response.context["table"]
    assert table.footer() == [3, 1] and table.grand_total() == 4


def test_mean_age_is_weighted_hours_since_opening(client, supervisor, mix):
    client.force_login(supervisor)
    configure(client, CHART, rows=["process"], measure="age", chart="bar")
    table = client.get(view_url(CHART)).context["table"]
    # Suporte técnico: 2 h, 4 h, 6 h → 4,0; Financeiro: 10 h; all: 22 / 4 = 5,5 (not the mean of means, 7,0).
    assert table_of(client.get(view_url(CHART))) == {
        ("Financeiro",): {"Total": Decimal("10.0")},
        ("Suporte técnico",): {"Total": Decimal("4.0")},
    }
    assert table.grand_total() == Decimal("5.5")


def test_operator_dimension_names_the_unassigned_sem_resgate(client, supervisor, mix):
    client.force_login(supervisor)
    configure(client, CHART, rows=["operator"], cols=["city"], measure="count", chart="bar")
    assert table_of(client.get(view_url(CHART))) == {
        ("Ana Souza",): {"Campinas": 1, "Valinhos": None, "Sem cidade": None, "Total": 1},
        ("Bruno Lima",): {"Campinas": None, "Valinhos": None, "Sem cidade": 1, "Total": 1},
        ("Sem resgate",): {"Campinas": 1, "Valinhos": 1, "Sem cidade": None, "Total": 2},
    }


def test_day_dimension_is_the_local_calendar_day(client, supervisor, make_ticket):
    # 23:59:59 local on 09/03 is 02:59:59 UTC on 10/03: it belongs to 09/03.
    make_ticket(opened_at=local(2026, 3, 9, 23, 59, 59))
    make_ticket(opened_at=local(2026, 3, 10, 0, 0, 0))
    make_ticket(opened_at=local(2026, 3, 10, 21, 30, 0))
    client.force_login(supervisor)
    configure(client, CHART, rows=["day"], measure="count", chart="line")
    assert table_of(client.get(view_url(CHART))) == {("09/03/2026",): {"Total": 1}, ("10/03/2026",): {"Total": 2}}


def test_filters_keep_only_the_chosen_values_including_empty(client, supervisor, mix, agent):
    client.force_login(supervisor)
    configure(client, CHART, rows=["process"], filters=["operator"], f_operator=[str(agent.pk), pv.EMPTY])
    # Ana's ticket and the two unassigned ones (one of each process).
    assert table_of(client.get(view_url(CHART))) == {
        ("Financeiro",): {"Total": 1},
        ("Suporte técnico",): {"Total": 2},
    }
    configure(client, CHART, rows=["process"], filters=["origin"], f_origin=[Origin.WHATSAPP])
    assert table_of(client.get(view_url(CHART))) == {("Suporte técnico",): {"Total": 1}}


def test_no_dimensions_gives_the_total(client, supervisor, mix):
    client.force_login(supervisor)
    configure(client, CHART, measure="count", chart="bar")
    response = client.get(view_url(CHART))
    assert table_of(response) == {("Total",): {"Total": 4}}
    assert json.loads(re.search(r'id="pivot-data"[^>]*>(.*?)</script>', response.content.decode()).group(1)) == {
        "type": "bar", "labels": ["Total"], "measure": "Quantidade de atendimentos",
        "datasets": [{"label": "Quantidade de atendimentos", "data": [4]}], "integer": True,
    }


def test_chart_data_has_a_dataset_per_column(client, supervisor, mix):
    client.force_login(supervisor)
    chart = client.get(view_url(CHART)).context["chart"]
    assert chart["labels"] == ["Financeiro", "Suporte técnico"]
    assert chart["datasets"] == [{"label": "Telefônico", "data": [1, 2]}, {"label": "WhatsApp", "data": [None, 1]}]
    assert chart["type"] == "stacked"


def test_configuration_is_kept_per_user(client, supervisor, admin_user, mix):
    client.force_login(supervisor)
    configure(client, CHART, rows=["city"], cols=["process"], measure="age", chart="line")
    saved = PivotPreference.objects.get(user=supervisor, view_slug=CHART).config
    assert saved == {"rows": ["city"], "cols": ["process"], "filters": {}, "measure": "age", "chart": "line"}
    config = client.get(view_url(CHART)).context["config"]
    assert (config.rows, config.cols, config.measure) == (["city"], ["process"], "age")
    client.force_login(admin_user)
    other = client.get(view_url(CHART)).context["config"]
    assert (other.rows, other.cols, other.measure) == (["process"], ["origin"], "count")
    client.force_login(supervisor)
    configure(client, CHART, reset="1")
    assert not PivotPreference.objects.filter(user=supervisor).exists()
    assert client.get(view_url(CHART)).context["config"].rows == ["process"]


def test_saved_configuration_with_a_removed_dimension_is_read_leniently(client, supervisor, mix):
    PivotPreference.objects.create(
        user=supervisor, view_slug=CHART,
        config={"rows": ["gone", "process"], "cols": "x", "filters": {"nope": ["1"]}, "measure": "?", "chart": "pie"},
    )
    client.force_login(supervisor)
    response = client.get(view_url(CHART))
    assert response.status_code == 200
    config = response.context["config"]
    assert (config.rows, config.cols, config.filters, config.measure) == (["process"], [], {}, "count")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rows": ["salary"]}, "Dimensão desconhecida"),
        ({"rows": ["city"], "cols": ["city"]}, "Cada dimensão pode estar em um só lugar"),
        ({"rows": ["city", "process", "origin", "day"]}, "no máximo 3 dimensões nas linhas"),
        ({"rows": ["city"], "measure": "sum"}, "Medida inválida"),
        ({"rows": ["city"], "chart": "radar"}, "Tipo de gráfico inválido"),
        ({"filters": ["day"], "f_day": ["31/02/2026"]}, "Valor inválido no filtro Dia de abertura"),
        ({"filters": ["operator"], "f_operator": ["abc"]}, "Valor inválido no filtro Operador"),
    ],
)
def test_bad_configuration_is_a_400_in_portuguese_and_not_saved(client, supervisor, mix, data, message):
    client.force_login(supervisor)
    response = client.post(save_url(CHART), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PivotPreference.objects.exists()


def test_filter_options_list_the_values_of_a_dimension(client, supervisor, mix):
    client.force_login(supervisor)
    configure(client, CHART, rows=["process"], filters=["city"], f_city=["Valinhos"])
    body = client.get(view_url(CHART, options="city")).content.decode()
    assert re.findall(r'value="([^"]*)"', body) == ["Campinas", "Valinhos", pv.EMPTY]
    assert re.search(r'value="Valinhos"[^>]*checked', body)
    assert client.get(view_url(CHART, options="salary")).status_code == 400


def test_too_many_groups_are_refused_with_a_message(client, supervisor, mix, monkeypatch):
    monkeypatch.setattr(pv, "MAX_GROUPS", 2)
    client.force_login(supervisor)
    response = client.get(view_url(CHART))
    assert response.context["table"].too_big
    assert "mais de 2 combinações" in response.content.decode()


def test_agent_pivot_counts_only_visible_tickets(client, agent, outsider, mix):
    client.force_login(agent)
    # Ana sees her own ticket and the unassigned ones of her team, not Bruno's.
    assert table_of(client.get(view_url(CHART))) == {
        ("Financeiro",): {"Telefônico": 1, "Total": 1},
        ("Suporte técnico",): {"Telefônico": 2, "Total": 2},
    }
    client.force_login(outsider)
    assert table_of(client.get(view_url(CHART))) == {("Suporte técnico",): {"Telefônico": 1, "Total": 1}}


def test_pivot_tools_offer_new_but_not_edit_nor_modify_sla(client, supervisor, mix):
    client.force_login(supervisor)
    body = client.get(view_url(CHART)).content.decode()
    assert 'data-tool="new"' in body
    assert 'data-row-tool="sla"' not in body and 'data-row-tool="edit"' not in body


def test_pivot_query_count_does_not_grow_with_the_data(client, supervisor, make_ticket, django_assert_max_num_queries):
    for i in range(30):
        make_ticket(opened_at=NOW - timedelta(hours=i), city=f"Cidade {i % 7}", customer=f.CustomerFactory())
    client.force_login(supervisor)
    configure(client, CHART, rows=["city", "day"], cols=["origin"], filters=["process"], measure="age", chart="bar")
    # session, user, preference, groups, team ids (2), the GROUP BY, permissions (2), and the
    # menu's count of e-mails waiting in the filter.
    with django_assert_max_num_queries(10):
        response = client.get(view_url(CHART))
    assert response.context["table"].grand_total() is not None


# --- Informações sintéticas (Busca) --------------------------------------------------------------


def test_synthetic_search_shows_nothing_until_applied(client, supervisor, mix):
    client.force_login(supervisor)
    response = client.get(view_url(SYNTHETIC))
    assert response.status_code == 200
    assert response.context["table"] is None
    assert "Informe os dados da pesquisa" in response.content.decode()
    form = response.context["form"]
    assert form.initial["period_from"] == date(2025, 9, 13)  # 179 days before 11/03/2026
    assert form.initial["period_to"] == date(2026, 3, 11)


def test_synthetic_period_is_inclusive_in_local_days_and_counts_finalized(client, supervisor, make_ticket):
    make_ticket(opened_at=local(2026, 3, 1, 0, 0, 0))
    make_ticket(opened_at=local(2026, 3, 5, 23, 59, 59), closed_at=local(2026, 3, 6, 10, 0))
    make_ticket(opened_at=local(2026, 2, 28, 23, 59, 59))
    make_ticket(opened_at=local(2026, 3, 6, 0, 0, 0))
    client.force_login(supervisor)
    configure(client, SYNTHETIC, rows=["status"], measure="count", chart="bar")
    response = client.get(view_url(SYNTHETIC, applied=1, period_from="2026-03-01", period_to="2026-03-05"))
    assert response.status_code == 200
    assert table_of(response) == {("Aberto",): {"Total": 1}, ("Finalizado",): {"Total": 1}}


def test_synthetic_criteria_narrow_the_tickets(client, supervisor, agent, mix):
    client.force_login(supervisor)
    configure(client, SYNTHETIC, rows=["origin"], measure="count", chart="bar")
    base = {"applied": 1, "period_from": "2026-03-01", "period_to": "2026-03-11"}
    assert table_of(client.get(view_url(SYNTHETIC, **base))) == {
        ("Telefônico",): {"Total": 4}, ("WhatsApp",): {"Total": 1},
    }
    assert table_of(client.get(view_url(SYNTHETIC, assignee=agent.pk, **base))) == {("Telefônico",): {"Total": 1}}
    assert table_of(client.get(view_url(SYNTHETIC, city="campi", **base))) == {("Telefônico",): {"Total": 2}}
    assert table_of(client.get(view_url(SYNTHETIC, origin=Origin.WHATSAPP, **base))) == {("WhatsApp",): {"Total": 1}}
    assert table_of(client.get(view_url(SYNTHETIC, opened_by=agent.pk, **base))) == {
        ("Telefônico",): {"Total": 4}, ("WhatsApp",): {"Total": 1},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period_from": "2025-09-12", "period_to": "2026-03-11"}, "O período deve estar nos últimos 180 dias (desde 13/09/2025)."),
        ({"period_from": "2026-03-05", "period_to": "2026-03-01"}, "A data inicial do período deve ser anterior à final."),
        ({"period_from": "2026-03-05", "period_to": "2026-03-12"}, "O período não pode terminar depois de hoje."),
        ({"period_from": "ontem", "period_to": "2026-03-01"}, "Informe uma data válida."),
        ({"period_from": "2026-03-01", "period_to": "2026-03-02", "assignee": "999999"}, "Faça uma escolha válida."),
    ],
)
def test_synthetic_bad_search_is_a_400_in_portuguese(client, supervisor, params, message):
    client.force_login(supervisor)
    response = client.get(view_url(SYNTHETIC, applied=1, **params))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_synthetic_period_edge_of_180_days_is_accepted(client, supervisor, make_ticket):
    make_ticket(opened_at=local(2025, 9, 13, 0, 0, 0), closed_at=local(2025, 9, 14, 0, 0, 0))
    make_ticket(opened_at=local(2025, 9, 12, 23, 59, 59), closed_at=local(2025, 9, 14, 0, 0, 0))
    client.force_login(supervisor)
    response = client.get(view_url(SYNTHETIC, applied=1, period_from="2025-09-13", period_to="2026-03-11"))
    assert response.status_code == 200
    assert response.context["table"].grand_total() == 1


def test_synthetic_operators_offered_are_of_the_users_teams(client, agent, outsider, teammate, supervisor, team, other_team):
    client.force_login(agent)
    form = client.get(view_url(SYNTHETIC)).context["form"]
    offered = set(form.fields["assignee"].queryset)
    assert {agent, teammate, supervisor} <= offered
    assert outsider not in offered


def test_synthetic_keeps_the_search_when_the_configuration_is_applied(client, supervisor, mix):
    client.force_login(supervisor)
    query = "applied=1&period_from=2026-03-01&period_to=2026-03-11"
    response = client.post(save_url(SYNTHETIC), {"rows": ["city"], "query": query})
    assert response.status_code == 302
    assert response["Location"].endswith("?" + query)
