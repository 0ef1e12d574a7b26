"""Processo x Subprocesso: the tree's counts, its rows per group, filters, export and visibility.

"Now" is Wednesday 11/03/2026 10:00 in America/Sao_Paulo. The process
"Suporte técnico" has Triagem (4 h) → Execução (8 h) → Validação (2 h); the
factory opens each ticket's stage at its opening with "Fim previsto" =
opening + the subprocess's hours.
"""

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests import factories as f
from tests.dashboards.conftest import HTMX, local, set_stage_due, view_url

NOW = local(2026, 3, 11, 10, 0, 0)
KEY = "open/process-subprocess"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def tree_data(make_ticket, subprocesses, other_process, agent, other_team):
    """Suporte técnico: 3 in Triagem (one late), 1 in Execução; Financeiro: 2 in Análise financeira (both late);
    plus a finalized ticket and one of another team, neither counted."""
    triagem, execucao, _validacao = subprocesses
    analise = other_process.subprocesses.get(name="Análise financeira")
    late = make_ticket(opened_at=NOW - timedelta(hours=5), city="Campinas")  # due 09:00: late
    on_time = [make_ticket(opened_at=NOW - timedelta(hours=h), assignee=agent, city="Valinhos") for h in (1, 2)]
    in_execucao = make_ticket(opened_at=NOW - timedelta(hours=1), current_subprocess=execucao, city="Campinas")
    finance = [
        make_ticket(opened_at=NOW - timedelta(days=2, hours=h), process=other_process, current_subprocess=analise)
        for h in (1, 2)
    ]
    make_ticket(opened_at=NOW - timedelta(hours=3), closed_at=NOW - timedelta(hours=1))
    make_ticket(opened_at=NOW - timedelta(hours=3), team=other_team)
    return {"late": late, "on_time": on_time, "execucao": in_execucao, "finance": finance, "triagem": triagem}


def tree_of(response) -> dict[str, tuple[int, int, dict[str, tuple[int, int]]]]:
    """{process: (count, late, {subprocess: (count, late)})} from the rendered context."""
    return {
        p.name: (p.count, p.late, {s.name: (s.count, s.late) for s in p.children})
        for p in response.context["tree"]["nodes"]
    }


def test_tree_counts_open_tickets_per_process_and_subprocess_with_late_ones(client, supervisor, tree_data):
    client.force_login(supervisor)
    response = client.get(view_url(KEY))
    assert response.status_code == 200
    assert tree_of(response) == {
        "Financeiro": (2, 2, {"Análise financeira": (2, 2)}),
        "Suporte técnico": (4, 1, {"Triagem": (3, 1), "Execução": (1, 0)}),
    }
    assert response.context["tree"]["total"] == 6
    body = response.content.decode()
    # Processes come with their + button; subprocess rows are there, closed, until the process opens.
    assert body.count("data-tree-toggle") == 2 + 3
    assert re.search(r'<tr class="tree-group tree-level-1"[^>]*hidden', body)


def test_tree_orders_subprocesses_by_their_order_in_the_process(client, supervisor, tree_data):
    client.force_login(supervisor)
    nodes = client.get(view_url(KEY)).context["tree"]["nodes"]
    support = next(n for n in nodes if n.name == "Suporte técnico")
    assert [s.name for s in support.children] == ["Triagem", "Execução"]


def test_opening_a_subprocess_lists_its_rows_with_the_manual_columns(client, supervisor, tree_data):
    client.force_login(supervisor)
    page = client.get(view_url(KEY))
    process = next(n for n in page.context["tree"]["nodes"] if n.name == "Suporte técnico")
    triagem = process.children[0]
    response = client.get(view_url(KEY, node=triagem.token), headers=HTMX)
    assert response.status_code == 200
    labels = [str(c.label) for c in response.context["grid"].columns]
    assert labels == [
        "Código", "Operador", "Protocolo", "Cidade", "Bairro", "Logradouro", "Fim previsto", "Atrasado", "Restante (hrs)",
    ]
    rows = response.context["rows"]
    # Sorted by "Fim previsto", the late one (due 09:00) first.
    assert [r["ticket_id"] for r in rows] == [tree_data["late"].pk, tree_data["on_time"][1].pk, tree_data["on_time"][0].pk]
    body = response.content.decode()
    assert "<html" not in body
    assert "Sem resgate" in body and "Ana Souza" in body
    first = {str(col.label): str(html) for col, html in rows[0]["cells"]}
    assert "SIM" in first["Atrasado"]
    assert first["Restante (hrs)"] == "-1,0"
    assert first["Fim previsto"] == "11/03/2026 09:00:00"


def test_group_rows_come_a_page_at_a_time(client, supervisor, make_ticket):
    tickets = [make_ticket(opened_at=NOW - timedelta(minutes=m)) for m in range(1, 14)]
    client.force_login(supervisor)
    node = client.get(view_url(KEY)).context["tree"]["nodes"][0].children[0].token
    first = client.get(view_url(KEY, node=node, per_page=10), headers=HTMX)
    assert len(first.context["rows"]) == 10
    more = re.search(r'hx-get="([^"]+after=[^"]+)"', first.content.decode()).group(1).replace("&amp;", "&")
    second = client.get(more, headers=HTMX)
    ids = [r["ticket_id"] for r in first.context["rows"]] + [r["ticket_id"] for r in second.context["rows"]]
    assert sorted(ids) == sorted(t.pk for t in tickets)
    assert "Mostrar mais" not in second.content.decode()


def test_header_filters_narrow_counts_and_rows(client, supervisor, tree_data):
    client.force_login(supervisor)
    response = client.get(view_url(KEY, city="campinas"))
    assert tree_of(response) == {"Suporte técnico": (2, 1, {"Triagem": (1, 1), "Execução": (1, 0)})}
    late_only = client.get(view_url(KEY, late="1"))
    assert tree_of(late_only) == {
        "Financeiro": (2, 2, {"Análise financeira": (2, 2)}),
        "Suporte técnico": (1, 1, {"Triagem": (1, 1)}),
    }
    triagem = response.context["tree"]["nodes"][0].children[0].token
    rows = client.get(view_url(KEY, node=triagem, city="campinas"), headers=HTMX).context["rows"]
    assert [r["ticket_id"] for r in rows] == [tree_data["late"].pk]


def test_filtered_tree_is_an_htmx_partial(client, supervisor, tree_data):
    client.force_login(supervisor)
    response = client.get(view_url(KEY, city="valinhos"), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'id="grid"' in body
    assert tree_of(response) == {"Suporte técnico": (2, 0, {"Triagem": (2, 0)})}


@pytest.mark.parametrize("node", ["abc", "1", "1.2.3", "1.x"])
def test_malformed_group_is_a_400_in_portuguese(client, supervisor, node):
    client.force_login(supervisor)
    response = client.get(view_url(KEY, node=node), headers=HTMX)
    assert response.status_code == 400
    assert "Grupo inválido" in response.content.decode()


def test_agent_tree_counts_only_what_the_agent_sees(client, agent, outsider, tree_data, make_ticket, teammate):
    # Assigned to a teammate: the agent does not see it (not own, not unassigned).
    make_ticket(opened_at=NOW - timedelta(hours=1), assignee=teammate)
    client.force_login(agent)
    assert tree_of(client.get(view_url(KEY)))["Suporte técnico"][0] == 4
    client.force_login(outsider)
    response = client.get(view_url(KEY))
    assert tree_of(response) == {"Suporte técnico": (1, 0, {"Triagem": (1, 0)})}
    # A group token of tickets the outsider cannot see answers no rows.
    node = f"{tree_data['execucao'].process_id}.{tree_data['execucao'].current_subprocess_id}"
    assert client.get(view_url(KEY, node=node), headers=HTMX).context["rows"] == []


def test_export_writes_process_and_subprocess_before_the_row_columns(client, supervisor, tree_data):
    client.force_login(supervisor)
    url = reverse("dashboards:export_csv", kwargs={"tab": "open", "view": "process-subprocess"})
    raw = b"".join(client.get(url).streaming_content).decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(raw), delimiter=";"))
    assert rows[0][:4] == ["Processo", "Subprocesso", "Código", "Operador"]
    assert [r[:2] for r in rows[1:]] == [
        ["Financeiro", "Análise financeira"],
        ["Financeiro", "Análise financeira"],
        ["Suporte técnico", "Triagem"],
        ["Suporte técnico", "Triagem"],
        ["Suporte técnico", "Triagem"],
        ["Suporte técnico", "Execução"],
    ]


def test_tree_tools_new_edit_but_not_modify_sla(client, supervisor, tree_data):
    client.force_login(supervisor)
    body = client.get(view_url(KEY)).content.decode()
    assert 'data-tool="new"' in body and 'data-row-tool="edit"' in body
    assert 'data-row-tool="sla"' not in body


def test_tree_and_rows_query_counts_do_not_grow(client, supervisor, make_ticket, other_process, django_assert_max_num_queries):
    analise = other_process.subprocesses.get(name="Análise financeira")
    for i in range(40):
        extra = {"process": other_process, "current_subprocess": analise} if i % 2 else {}
        make_ticket(opened_at=NOW - timedelta(minutes=i + 1), customer=f.CustomerFactory(), assignee=None, **extra)
    client.force_login(supervisor)
    # session, user, groups, team ids (2), column preference, the aggregate, permissions.
    with django_assert_max_num_queries(10):
        page = client.get(view_url(KEY))
    node = page.context["tree"]["nodes"][0].children[0].token
    for per_page in (10, 100):
        # session, user, preference, groups, team ids (2), the page, permissions (2).
        with django_assert_max_num_queries(9):
            response = client.get(view_url(KEY, node=node, per_page=per_page), headers=HTMX)
        assert len(response.context["rows"]) == min(per_page, 20)


def test_stage_due_edges_decide_atrasado(client, supervisor, make_ticket):
    exactly_now = make_ticket(opened_at=NOW - timedelta(hours=1))
    set_stage_due(exactly_now, NOW)
    a_second_ago = make_ticket(opened_at=NOW - timedelta(hours=1))
    set_stage_due(a_second_ago, NOW - timedelta(seconds=1))
    client.force_login(supervisor)
    response = client.get(view_url(KEY))
    node = response.context["tree"]["nodes"][0]
    assert (node.count, node.late) == (2, 1)
