"""The grid machinery on real views: filters, sorting, keyset pagination, search mode,
column preferences, query counts."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from dashboards.grids.paging import decode_cursor, encode_cursor
from dashboards.models import GridPreference
from tests import factories as f
from tests.dashboards.conftest import HTMX, local, row_ids, view_url
from tickets.events import record
from tickets.models import Origin

NOW = local(2026, 3, 11, 10, 0, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def many(make_ticket):
    """12 open tickets opened one hour apart, the newest at 09:00 today; codes ascending with age reversed."""
    return [make_ticket(opened_at=local(2026, 3, 11, 9, 0) - timedelta(hours=i)) for i in range(12)]


def test_filter_text_column_contains(client, supervisor, make_ticket):
    maria = make_ticket(customer=f.CustomerFactory(name="Maria Oliveira"))
    jose = make_ticket(customer=f.CustomerFactory(name="José Santos"))
    client.force_login(supervisor)
    ids = row_ids(client.get(view_url("open/week", customer="oliv")))
    assert ids == [maria.pk]
    assert jose.pk not in ids


def test_filter_customer_by_document_digits(client, supervisor, make_ticket):
    document = f.make_cpf(87_654_321)  # 187.654.321-xx
    ticket = make_ticket(customer=f.CustomerFactory(name="Fulano", document=document))
    make_ticket(customer=f.CustomerFactory(name="Beltrano"))
    client.force_login(supervisor)
    assert row_ids(client.get(view_url("open/week", customer="187.654.3"))) == [ticket.pk]


def test_filter_choice_and_number(client, supervisor, make_ticket):
    whatsapp = make_ticket(origin=Origin.WHATSAPP)
    phone = make_ticket(origin=Origin.PHONE)
    client.force_login(supervisor)
    assert row_ids(client.get(view_url("open/week", origin="whatsapp"))) == [whatsapp.pk]
    assert row_ids(client.get(view_url("open/week", code=phone.code))) == [phone.pk]


def test_filter_date_range_is_inclusive_local_days(client, supervisor, make_ticket):
    first = make_ticket(opened_at=local(2026, 3, 9, 0, 0, 0))
    last = make_ticket(opened_at=local(2026, 3, 9, 23, 59, 59))
    make_ticket(opened_at=local(2026, 3, 10, 0, 0, 0))
    make_ticket(opened_at=local(2026, 3, 8, 23, 59, 59))
    client.force_login(supervisor)
    ids = row_ids(client.get(view_url("open/week", opened_at_from="2026-03-09", opened_at_to="2026-03-09")))
    assert set(ids) == {first.pk, last.pk}


def test_filter_sem_resgate_finds_unassigned(client, supervisor, agent, make_ticket):
    free = make_ticket()
    make_ticket(assignee=agent)
    client.force_login(supervisor)
    response = client.get(view_url("open/week", assignee="sem resgate"))
    assert row_ids(response) == [free.pk]
    assert "Sem resgate" in response.content.decode()


def test_yes_no_filter(client, supervisor, make_ticket, make_clock):
    from sla.models import ClockState

    done = make_ticket(opened_at=local(2026, 3, 10, 8, 0), closed_at=local(2026, 3, 10, 20, 0))
    make_clock(done, due_at=local(2026, 3, 10, 9, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 10, 9, 0))
    running = make_ticket(opened_at=local(2026, 3, 10, 8, 0))
    make_clock(running, due_at=local(2026, 3, 10, 9, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 10, 9, 0))
    client.force_login(supervisor)
    assert row_ids(client.get(view_url("late/week", finalized="1"))) == [done.pk]
    assert row_ids(client.get(view_url("late/week", finalized="0"))) == [running.pk]


def test_default_sort_newest_first_and_toggle(client, supervisor, many):
    client.force_login(supervisor)
    newest_first = [t.pk for t in many]
    assert row_ids(client.get(view_url("open/week", per_page=25))) == newest_first
    assert row_ids(client.get(view_url("open/week", o="opened_at", per_page=25))) == newest_first[::-1]


def test_sort_by_related_column_and_header_link_toggles(client, supervisor, make_ticket):
    b = make_ticket(customer=f.CustomerFactory(name="Bruna"))
    a = make_ticket(customer=f.CustomerFactory(name="Ana"))
    c = make_ticket(customer=f.CustomerFactory(name="Carlos"))
    client.force_login(supervisor)
    response = client.get(view_url("open/week", o="customer"))
    assert row_ids(response) == [a.pk, b.pk, c.pk]
    # The header of the sorted column now offers the opposite direction.
    assert "o=-customer" in response.content.decode()
    assert row_ids(client.get(view_url("open/week", o="-customer"))) == [c.pk, b.pk, a.pk]


def test_sort_by_nullable_column_keeps_nulls_last_and_pages_through(client, supervisor, agent, teammate, make_ticket):
    assigned = [make_ticket(assignee=agent), make_ticket(assignee=teammate)]
    free = [make_ticket() for _ in range(3)]
    client.force_login(supervisor)
    seen = []
    url = view_url("open/week", o="assignee", per_page=10)
    response = client.get(url)
    seen += row_ids(response)
    assert seen[:2] == [assigned[0].pk, assigned[1].pk]  # Ana before Bruno, then "Sem resgate"
    assert set(seen[2:]) == {t.pk for t in free}


def test_unknown_sort_falls_back_to_default(client, supervisor, many):
    client.force_login(supervisor)
    assert row_ids(client.get(view_url("open/week", o="password"))) == [t.pk for t in many][:25]


def _follow(client, response, name):
    match = re.search(rf'data-page="{name}"', response.content.decode())
    assert match, f"no {name} link"
    href = re.search(rf'<a class="page-link" href="([^"]+)"[^>]*data-page="{name}"', response.content.decode())
    return client.get(response.wsgi_request.path + href.group(1).replace("&amp;", "&"))


def test_keyset_pages_cover_every_row_once_both_ways(client, supervisor, many):
    client.force_login(supervisor)
    first = client.get(view_url("open/week", per_page=10))
    assert row_ids(first) == [t.pk for t in many[:10]]
    assert first.context["grid"].total == 12
    second = _follow(client, first, "next")
    assert row_ids(second) == [t.pk for t in many[10:]]
    assert not second.context["grid"].page.has_next
    back = _follow(client, second, "previous")
    assert row_ids(back) == [t.pk for t in many[:10]]


def test_last_page_reads_backwards(client, supervisor, many):
    client.force_login(supervisor)
    last = client.get(view_url("open/week", per_page=10, last=1))
    assert row_ids(last) == [t.pk for t in many[2:]]
    assert last.context["grid"].page.has_previous


def test_keyset_with_equal_sort_values_uses_pk_as_tiebreaker(client, supervisor, make_ticket):
    same = local(2026, 3, 11, 8, 0)
    tickets = [make_ticket(opened_at=same) for _ in range(5)]
    client.force_login(supervisor)
    page1 = client.get(view_url("open/week", per_page=10, o="opened_at"))
    assert row_ids(page1) == sorted(t.pk for t in tickets)
    cursor = encode_cursor(same, sorted(t.pk for t in tickets)[1])
    page2 = client.get(view_url("open/week", per_page=10, o="opened_at", after=cursor))
    assert row_ids(page2) == sorted(t.pk for t in tickets)[2:]


def test_bad_cursor_is_the_first_page(client, supervisor, many):
    client.force_login(supervisor)
    assert row_ids(client.get(view_url("open/week", after="%%%garbage"))) == [t.pk for t in many]
    assert decode_cursor("bm9wZQ") is None


def test_search_mode_lists_nothing_until_searched(client, supervisor, make_ticket):
    ticket = make_ticket()
    client.force_login(supervisor)
    response = client.get(view_url("open/all"))
    assert row_ids(response) == []
    page = response.content.decode()
    assert "modo pesquisa" in page
    assert "Listar todos" in page
    assert row_ids(client.get(view_url("open/all", all=1))) == [ticket.pk]
    assert row_ids(client.get(view_url("open/all", protocol=ticket.protocol))) == [ticket.pk]


def test_htmx_request_renders_only_the_grid(client, supervisor, make_ticket):
    make_ticket()
    client.force_login(supervisor)
    response = client.get(view_url("open/week"), headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="grid"')
    assert "nav-tabs" not in body


def test_row_count_and_focusable_rows(client, supervisor, many):
    client.force_login(supervisor)
    body = client.get(view_url("open/week")).content.decode()
    assert "12 atendimentos" in body
    assert body.count('tabindex="0" data-row') == 12
    assert f'data-open-url="{reverse("tickets:detail", args=[many[0].pk])}"' in body


# --- column preferences --------------------------------------------------------------------


def test_columns_saved_per_user_and_view_in_order(client, supervisor, agent, make_ticket):
    make_ticket()
    client.force_login(supervisor)
    url = reverse("dashboards:columns", kwargs={"tab": "open", "view": "week"})
    response = client.post(url, {"columns": ["protocol", "code", "nope"]})
    assert response.status_code == 302
    pref = GridPreference.objects.get(user=supervisor, view_slug="open/week")
    assert pref.columns == ["protocol", "code"]
    grid = client.get(view_url("open/week")).context["grid"]
    assert [c.key for c in grid.columns] == ["protocol", "code"]
    # Another view and another user keep the defaults.
    assert len(client.get(view_url("open/today")).context["grid"].columns) == 12
    client.force_login(agent)
    assert len(client.get(view_url("open/week")).context["grid"].columns) == 12


def test_columns_reset_restores_defaults(client, supervisor):
    client.force_login(supervisor)
    url = reverse("dashboards:columns", kwargs={"tab": "open", "view": "week"})
    client.post(url, {"columns": ["code"]})
    client.post(url, {"reset": "1"})
    assert not GridPreference.objects.filter(user=supervisor).exists()


def test_columns_refuse_empty_choice(client, supervisor):
    client.force_login(supervisor)
    url = reverse("dashboards:columns", kwargs={"tab": "open", "view": "week"})
    client.post(url, {"columns": []})
    assert not GridPreference.objects.exists()


# --- query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["open/week", "open/interactions", "open/subprocess-deadlines", "late/all", "finalized/week"])
def test_query_count_does_not_grow_with_page_size(client, supervisor, make_ticket, make_clock, key, django_assert_max_num_queries):
    from sla.models import ClockState
    from tickets.models import EventKind

    for i in range(60):
        closed = {"closed_at": local(2026, 3, 10, 12, 0)} if key.startswith("finalized") else {}
        t = make_ticket(opened_at=local(2026, 3, 10, 8, 0) + timedelta(minutes=i), customer=f.CustomerFactory(), **closed)
        make_clock(t, due_at=local(2026, 3, 10, 9, 0), state=ClockState.BREACHED, breached_at=local(2026, 3, 10, 9, 0))
        record(ticket=t, kind=EventKind.CREATED, actor=None, at=t.opened_at)
    client.force_login(supervisor)
    # session, user, groups, team ids (2), preference, rows, count, perms (2) — the same for 10 and 50 rows.
    for per_page in (10, 50):
        with django_assert_max_num_queries(10):
            response = client.get(view_url(key, per_page=per_page, all=1), headers=HTMX)
        assert len(response.context["rows"]) == per_page
