"""The panel against the manual (001): every tab and view, the columns each view lists, the tools."""

import pytest
from django.contrib.auth.models import Permission

from dashboards.grids.grid import GridView
from dashboards.grids.registry import all_views, get_view, tabs, views_of
from tests.dashboards.conftest import view_url

OPEN_GRID = [
    "Código", "Nome/Documento", "Protocolo", "Abertura", "Resgate", "Processo", "Subprocesso",
    "Classificação de abertura", "Empresa", "SLA", "Origem do contato",
]
FINALIZED = [
    "Código", "Nome/Documento", "Protocolo", "Abertura", "Fechamento", "Classificação", "Técnico que encerrou",
    "Empresa", "Processo", "Subprocesso", "SLA", "Origem do contato",
]
SERVICE_ORDERS = [
    "Código", "Nome/Documento", "Protocolo", "Abertura", "O.S. vinculada", "Empresa", "Processo", "Subprocesso",
    "SLA", "Origem do contato",
]
LATE_SUBPROCESSES = [
    "Código", "Nome/Documento", "Protocolo", "Abertura", "Operador", "Empresa", "Processo", "Subprocesso", "Início",
    "Fim previsto", "Cidade", "Bairro", "Grupo do workspace", "Origem do contato",
]
LATE = [
    "Código", "Nome do cliente", "Protocolo", "Abertura", "Empresa", "Subprocesso", "Processo", "Finalizados",
    "Horas de atraso",
]

MANUAL_COLUMNS = {
    "open/today": [*OPEN_GRID, "Ordem de Serviço"],
    "open/week": [*OPEN_GRID, "Ordem de Serviço"],
    "open/all": [*OPEN_GRID, "Ordem de Serviço", "Cidade", "Bairro"],
    "open/sla-late": OPEN_GRID,
    "open/interactions": [
        "Código", "Interações", "Protocolo", "Data e hora", "Resgate", "Processo", "Subprocesso",
        "Classificação de abertura", "Empresa", "SLA",
    ],
    "open/subprocess-deadlines": [
        "Código", "Nome/Documento", "Protocolo", "Abertura", "Operador", "Processo", "Subprocesso", "Fim previsto",
        "Status", "Restantes (hrs)", "Empresa", "Origem do contato",
    ],
    "open/process-subprocess": [
        "Operador", "Protocolo", "Cidade", "Bairro", "Logradouro", "Fim previsto", "Atrasado", "Restante (hrs)",
    ],
    "late-subprocesses/7-days": LATE_SUBPROCESSES,
    "late-subprocesses/15-days": LATE_SUBPROCESSES,
    "late-subprocesses/all": LATE_SUBPROCESSES,
    "finalized/today": FINALIZED,
    "finalized/week": FINALIZED,
    "finalized/30-days": FINALIZED,
    "finalized/30-days-late": FINALIZED,
    "finalized/30-days-address": [
        "Código", "Nome/Documento", "Protocolo", "Abertura", "Fechamento", "Classificação", "Cidade", "Bairro",
        "Subprocesso", "SLA", "Origem do contato",
    ],
    "service-orders/30-days": SERVICE_ORDERS,
    "service-orders/open-orders": SERVICE_ORDERS,
    "service-orders/30-days-late": SERVICE_ORDERS,
    "service-orders/30-days-address": [
        "Código", "Nome/Documento", "Protocolo", "Abertura", "O.S. vinculada", "Cidade", "Bairro", "Logradouro",
        "SLA", "Origem do contato",
    ],
    "late/24-hours": LATE,
    "late/week": LATE,
    "late/30-days": LATE,
    "late/all": LATE,
    "search/advanced": [
        "Código", "Cliente", "Protocolo", "Abertura", "Fechamento", "Operador", "Operador de abertura", "Cidade",
        "Logradouro", "Condomínio", "Origem do contato",
    ],
}

MANUAL_VIEWS = {
    "Abertos": [
        "Abertos hoje", "Abertos na semana", "Todos abertos", "Abertos com SLA atrasado",
        "Interações dos operadores nos atendimentos abertos", "Prazos dos subprocessos", "Processo x Subprocesso",
        "Gráfico sintético",
    ],
    "Subprocessos atrasados": [
        "Subprocessos atrasados há 7 dias", "Subprocessos atrasados há 15 dias", "Todos subprocessos atrasados",
    ],
    "Finalizados": [
        "Finalizados hoje", "Finalizados na semana", "Finalizados nos últimos 30 dias",
        "Finalizados nos últimos 30 dias com endereço", "Finalizados com atraso nos últimos 30 dias",
    ],
    "Em O.S.": [
        "Abertos nos últimos 30 dias com O.S.", "Com O.S. ainda aberta", "Últimos 30 dias com O.S. atrasada",
        "Últimos 30 dias em O.S. por endereço",
    ],
    "Atrasados": [
        "Atrasados nas últimas 24 horas", "Atrasados na semana", "Atrasados nos últimos 30 dias",
        "Todos atendimentos atrasados",
    ],
    "Busca": ["Informações sintéticas (últimos 180 dias)", "Pesquisa avançada"],
}

SEARCH_MODE = {"open/all", "open/sla-late", "open/subprocess-deadlines", "search/advanced"}


def test_every_tab_and_view_of_the_manual_exists_in_its_order():
    assert {str(t.title): [str(v.title) for v in views_of(t.slug)] for t in tabs()} == MANUAL_VIEWS


@pytest.mark.parametrize(("key", "labels"), MANUAL_COLUMNS.items())
def test_each_view_has_the_columns_the_manual_lists(key, labels):
    view = get_view(*key.split("/"))
    assert isinstance(view, GridView)
    names = [str(c.label) for c in view.columns]
    assert [label for label in labels if label not in names] == []


def test_views_the_manual_opens_in_search_mode():
    grids = [v for v in all_views() if isinstance(v, GridView)]
    assert {v.key for v in grids if v.search_mode} == SEARCH_MODE


def _tools(client, key: str) -> set[str]:
    body = client.get(view_url(key)).content.decode()
    found = set()
    for marker, name in (
        ('data-tool="new"', "new"), ('data-row-tool="edit"', "edit"), ('data-row-tool="sla"', "sla"),
        ('data-tool="refresh"', "refresh"), ("data-export", "export"), ("Reenviar avaliação", "resend"),
    ):
        if marker in body:
            found.add(name)
    return found


def test_tools_are_where_the_manual_puts_them(client, supervisor, make_ticket):
    make_ticket()
    client.force_login(supervisor)
    expected = {
        "open/today": {"new", "edit", "sla", "export"},
        "open/week": {"new", "edit", "sla", "export"},
        "open/all": {"new", "edit", "sla", "export"},
        "open/sla-late": {"new", "edit", "sla", "export"},
        "open/interactions": {"new", "edit", "sla", "export"},
        "open/subprocess-deadlines": {"new", "edit", "sla", "export"},
        # No "Modificar SLA" on these two (manual); the pivot has no ticket rows to edit.
        "open/process-subprocess": {"new", "edit", "export"},
        "open/synthetic-chart": {"new"},
        "late-subprocesses/all": {"edit", "export"},
        "finalized/today": {"resend", "refresh", "export"},
        "service-orders/open-orders": {"export"},
        "late/all": {"export"},
        "search/synthetic": set(),
        "search/advanced": {"export"},
    }
    assert {key: _tools(client, key) for key in expected} == expected


def test_tools_need_their_permissions_and_the_operations_refuse(client, supervisor, make_ticket):
    ticket = make_ticket()
    supervisor.groups.clear()
    supervisor.user_permissions.set(Permission.objects.filter(codename="view_ticket"))
    client.force_login(supervisor)
    for key in ("open/today", "open/process-subprocess", "open/synthetic-chart", "late-subprocesses/all"):
        assert _tools(client, key) == set(), key
    assert client.get(f"/tickets/{ticket.pk}/edit/").status_code in (403, 404)
    assert client.get(f"/sla/tickets/{ticket.pk}/modify/").status_code in (403, 404)
    assert client.get(view_url("open/process-subprocess").replace("/process-subprocess/", "/process-subprocess/export.csv")).status_code == 403
