"""Concurrency on PostgreSQL with real connections: one thread, one connection, one agent.

A ``threading.Barrier`` releases every thread at once so the statements really
overlap; each thread opens its connection before the barrier and closes it at
the end. The tests are transactional so the threads see the committed setup.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tests import factories as f
from tickets import services
from tickets.models import EventKind, Origin, Ticket, TicketEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def run_concurrently(n: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run ``work(i)`` in ``n`` threads released together; ``("ok", value)`` or ``("error", exc)``."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, Any]] = [("missing", None)] * n

    def worker(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[i] = ("ok", work(i))
        except Exception as exc:  # collected and asserted on by the test
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"race-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


@pytest.fixture
def agents():
    return [f.AgentFactory(username=f"agente{i}", first_name=f"Agente {i}", last_name="Silva") for i in range(THREADS)]


@pytest.fixture
def race_team(agents):
    return f.TeamFactory(name="Suporte N1", members=agents)


@pytest.fixture
def catalogue():
    return {
        "customer": f.CustomerFactory(name="Maria Oliveira", document="52998224725"),
        "company": f.CompanyFactory(name="NetRápido Campinas", cnpj="11222333000181"),
        "process": f.process_with_subprocesses(name="Suporte técnico"),
    }


def test_concurrent_claims_have_exactly_one_winner(agents, race_team, catalogue, published):
    ticket = services.ticket_open(actor=agents[0], team=race_team, origin=Origin.PHONE, **catalogue)
    published.clear()

    results = run_concurrently(THREADS, lambda i: services.ticket_claim(actor=agents[i], ticket=ticket))

    winners = [i for i, (status, _) in enumerate(results) if status == "ok"]
    assert len(winners) == 1, results
    winner = agents[winners[0]]
    losers = [value for status, value in results if status == "error"]
    assert len(losers) == THREADS - 1
    assert all(isinstance(exc, ValidationError) for exc in losers), losers
    assert {exc.messages[0] for exc in losers} == {f"Este atendimento já foi resgatado por {winner.get_full_name()}."}
    assert Ticket.objects.get(pk=ticket.pk).assignee == winner
    claims = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CLAIMED)
    assert list(claims.values_list("actor_id", flat=True)) == [winner.pk]
    assert [payload["change"] for _, payload in published] == ["claimed"]


def test_concurrent_openings_get_unique_gap_free_codes_and_protocols(agents, race_team, catalogue):
    def open_one(i: int) -> Ticket:
        return services.ticket_open(actor=agents[i], team=race_team, origin=Origin.PHONE, **catalogue)

    results = run_concurrently(THREADS, open_one)

    assert all(status == "ok" for status, _ in results), results
    tickets = [value for _, value in results]
    year = tickets[0].protocol.split(".")[0]
    assert sorted(t.code for t in tickets) == list(range(1, THREADS + 1))
    assert sorted(t.protocol for t in tickets) == [f"{year}.{n:06d}" for n in range(1, THREADS + 1)]
    # Code order and protocol order agree: both counters are taken in the same transaction, in the same order.
    assert [t.protocol for t in sorted(tickets, key=lambda t: t.code)] == sorted(t.protocol for t in tickets)
    assert Ticket.objects.count() == THREADS
