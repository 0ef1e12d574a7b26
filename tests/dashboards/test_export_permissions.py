"""Exports (CSV and XLSX parsed back) and who sees what in grids, counts, exports and tools."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from dashboards.grids import export as grid_export
from tests import factories as f
from tests.dashboards.conftest import local, row_ids, view_url
from tickets.events import record

NOW = local(2026, 3, 11, 10, 0, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def export_url(key: str, fmt: str, **params) -> str:
    tab, view = key.split("/")
    url = reverse(f"dashboards:export_{fmt}", kwargs={"tab": tab, "view": view})
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


def read_csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")
    return list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))


@pytest.fixture
def three(make_ticket, agent):
    return [
        make_ticket(opened_at=local(2026, 3, 11, 9, 0), assignee=agent, customer=f.CustomerFactory(name="Ana Paula")),
        make_ticket(opened_at=local(2026, 3, 11, 8, 0), customer=f.CustomerFactory(name="Bruno Dias")),
        make_ticket(opened_at=local(2026, 3, 11, 7, 0), customer=f.CustomerFactory(name="Ana Clara")),
    ]


def test_csv_exports_filtered_sorted_grid_with_user_columns(client, supervisor, three):
    client.force_login(supervisor)
    client.post(reverse("dashboards:columns", kwargs={"tab": "open", "view": "today"}), {"columns": ["code", "opened_at", "assignee"]})
    response = client.get(export_url("open/today", "csv", customer="ana", o="opened_at"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Código", "Abertura", "Resgate"]
    assert rows[1:] == [
        [str(three[2].code), "11/03/2026 07:00:00", "Sem resgate"],
        [str(three[0].code), "11/03/2026 09:00:00", "Ana Souza"],
    ]


def test_xlsx_exports_typed_values(client, supervisor, three):
    client.force_login(supervisor)
    response = client.get(export_url("open/today", "xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    assert header[:4] == ("Código", "Nome/Documento", "Protocolo", "Abertura")
    assert [row[0] for row in values[1:]] == [t.code for t in three]
    assert values[1][3].strftime("%d/%m/%Y %H:%M:%S") == "11/03/2026 09:00:00"  # local time


def test_export_refuses_more_than_the_cap(client, supervisor, three, monkeypatch):
    monkeypatch.setattr(grid_export, "MAX_ROWS", 2)
    client.force_login(supervisor)
    response = client.get(export_url("open/today", "csv"))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "limitada a 2 linhas" in page.content.decode()


def test_export_needs_the_permission(client, agent, three):
    agent.groups.clear()
    agent.user_permissions.set(Permission.objects.filter(codename__in=["view_ticket"]))
    client.force_login(agent)
    assert client.get(export_url("open/today", "csv")).status_code == 403
    body = client.get(view_url("open/today")).content.decode()
    assert "Exportar CSV" not in body


def test_agent_grid_and_export_hold_only_what_the_agent_sees(client, agent, outsider, other_team, make_ticket):
    mine = make_ticket(opened_at=local(2026, 3, 11, 9, 0), assignee=agent)
    team_free = make_ticket(opened_at=local(2026, 3, 11, 8, 0))
    foreign = make_ticket(opened_at=local(2026, 3, 11, 8, 30), team=other_team)
    teammates = make_ticket(opened_at=local(2026, 3, 11, 7, 0), assignee=f.AgentFactory())
    client.force_login(agent)
    assert set(row_ids(client.get(view_url("open/today")))) == {mine.pk, team_free.pk}
    codes = {row[0] for row in read_csv(client.get(export_url("open/today", "csv")))[1:]}
    assert codes == {str(mine.code), str(team_free.code)}
    client.force_login(outsider)
    assert set(row_ids(client.get(view_url("open/today")))) == {foreign.pk}
    assert teammates.pk not in row_ids(client.get(view_url("open/today")))


def test_supervisor_sees_every_ticket_of_supervised_teams(client, supervisor, agent, other_team, make_ticket):
    claimed = make_ticket(opened_at=local(2026, 3, 11, 9, 0), assignee=agent)
    foreign = make_ticket(opened_at=local(2026, 3, 11, 9, 0), team=other_team)
    client.force_login(supervisor)
    ids = row_ids(client.get(view_url("open/today")))
    assert claimed.pk in ids and foreign.pk not in ids


def test_related_rows_honour_visibility(client, outsider, make_ticket):
    from tickets.models import EventKind

    ticket = make_ticket(opened_at=local(2026, 3, 11, 9, 0))
    record(ticket=ticket, kind=EventKind.CREATED, actor=None, at=local(2026, 3, 11, 9, 0))
    client.force_login(outsider)
    assert row_ids(client.get(view_url("open/interactions"))) == []
    assert row_ids(client.get(view_url("open/subprocess-deadlines", all=1))) == []


def test_counts_honour_visibility(client, agent, outsider, make_ticket):
    make_ticket(opened_at=local(2026, 3, 11, 9, 0))
    client.force_login(outsider)
    body = client.get(reverse("dashboards:counts") + "?tab=open").content.decode()
    assert 'id="tab-count-open" hx-swap-oob="true" data-count="0"' in body
    client.force_login(agent)
    body = client.get(reverse("dashboards:counts") + "?tab=open").content.decode()
    assert 'id="tab-count-open" hx-swap-oob="true" data-count="1"' in body
    assert 'id="view-count-open-today" hx-swap-oob="true" data-count="1"' in body


def test_panel_requires_login(client):
    response = client.get(view_url("open/today"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_unknown_tab_or_view_is_404(client, agent):
    client.force_login(agent)
    assert client.get("/panel/nope/today/").status_code == 404
    assert client.get("/panel/open/nope/").status_code == 404


def test_panel_home_redirects_to_first_view(client, agent):
    client.force_login(agent)
    response = client.get(reverse("dashboards:home"))
    assert response["Location"] == view_url("open/today")


def test_detail_of_someone_elses_ticket_is_404(client, outsider, make_ticket):
    ticket = make_ticket()
    client.force_login(outsider)
    assert client.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 404


# --- tools -----------------------------------------------------------------------------------------


def test_tools_follow_the_manual_and_permissions(client, agent, make_ticket):
    make_ticket(opened_at=local(2026, 3, 11, 9, 0))
    client.force_login(agent)
    body = client.get(view_url("open/today")).content.decode()
    assert "Novo atendimento" in body and 'data-row-tool="edit"' in body
    assert 'data-edit-url="' in body
    body = client.get(view_url("late-subprocesses/all")).content.decode()
    assert 'data-row-tool="edit"' in body and 'data-tool="new"' not in body
    body = client.get(view_url("finalized/today")).content.decode()
    assert "Atualizar a grade" in body
    assert 'data-row-tool="edit"' not in body
    # "Reenviar avaliação para o SAC Plus" is a supervisor's tool: agents lack its permission.
    assert "Reenviar avaliação" not in body


def test_tools_hidden_without_permission(client, agent, make_ticket):
    make_ticket(opened_at=local(2026, 3, 11, 9, 0))
    agent.groups.clear()
    agent.user_permissions.set(Permission.objects.filter(codename="view_ticket"))
    client.force_login(agent)
    body = client.get(view_url("open/today")).content.decode()
    assert 'data-tool="new"' not in body
    assert 'data-row-tool="edit"' not in body
    assert "data-edit-url" not in body
    # The operations refuse too.
    assert client.get(reverse("tickets:new")).status_code == 403


def test_modify_sla_only_with_permission_and_the_sla_wizard(client, agent, supervisor, make_ticket):
    from dashboards.views import sla_wizard_url_name

    make_ticket(opened_at=local(2026, 3, 11, 9, 0))
    client.force_login(agent)
    assert 'data-row-tool="sla"' not in client.get(view_url("open/today")).content.decode()
    client.force_login(supervisor)
    body = client.get(view_url("open/today")).content.decode()
    assert ('data-row-tool="sla"' in body) == (sla_wizard_url_name() is not None)
    assert 'data-row-tool="sla"' not in client.get(view_url("late-subprocesses/all")).content.decode()


def test_late_hours_export_as_numbers(client, supervisor, make_ticket, make_clock):
    from sla.models import ClockState

    t = make_ticket(opened_at=local(2026, 3, 9, 8, 0), closed_at=local(2026, 3, 10, 14, 30))
    make_clock(t, due_at=local(2026, 3, 10, 8, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 10, 8, 0))
    client.force_login(supervisor)
    sheet = load_workbook(io.BytesIO(client.get(export_url("late/week", "xlsx")).content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Finalizados", "Horas de atraso")
    assert rows[1][-2:] == ("SIM", 6.5)
    csv_rows = read_csv(client.get(export_url("late/week", "csv")))
    assert csv_rows[1][-2:] == ["SIM", "6,5"]
    assert timedelta(hours=6, minutes=30).total_seconds() == 6.5 * 3600
