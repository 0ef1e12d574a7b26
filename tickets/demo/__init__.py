"""Demo data for a Brazilian fibre ISP's service desk (``manage.py seed_demo``).

``seed(...)`` creates the operators, teams, companies, catalogue and
customers, then simulates ``tickets`` tickets opened over the last ``days``
days and writes them with their stages, service orders, comments, watchers
and events, chunk by chunk so memory stays flat. It all happens in one
transaction; on PostgreSQL large loads use COPY with the secondary indexes
and foreign keys detached and rebuilt at the end.

Apps to the right of ``tickets`` (``sla``, ``omnichannel`` ...) add their own
demo rows by receiving ``demo_seeded``, sent inside the same transaction once
the tickets are written, with ``result`` (ticket id range, ``now``) as
argument: ``tickets`` never imports them.
"""

import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from tickets.demo import data
from tickets.demo.loader import PostgresBulkLoad, TableWriter, analyze, next_id, reset_sequences
from tickets.demo.reference import (
    Reference,
    create_catalogue,
    create_companies,
    create_customers,
    create_operators,
)
from tickets.demo.timeline import (
    COMMENT_COLUMNS,
    EVENT_COLUMNS,
    ORDER_COLUMNS,
    STAGE_COLUMNS,
    TICKET_COLUMNS,
    WATCHER_COLUMNS,
    Chunk,
    Ids,
    Stats,
    TicketGenerator,
)
from tickets.models import (
    Comment,
    Counter,
    Customer,
    ServiceOrder,
    Ticket,
    TicketEvent,
    TicketStage,
)

__all__ = ["DEMO_LOGINS", "SeedResult", "demo_seeded", "seed"]

demo_seeded = Signal()  # kwargs: result (SeedResult)

DEMO_LOGINS = [("admin", "Administrador"), ("supervisor", "Supervisor"), ("agente", "Agente")]
BULK_THRESHOLD = 50_000


@dataclass
class SeedResult:
    rows: dict[str, int] = field(default_factory=dict)
    stats: Stats | None = None
    seconds: float = 0.0
    bulk: bool = False
    counters: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None
    first_ticket_id: int = 0
    last_ticket_id: int = 0
    existing_users: list[str] = field(default_factory=list)


def customer_count(tickets: int) -> int:
    return max(40, min(250_000, tickets // 4))


def seed(
    *,
    tickets: int,
    seed: int = 2026,
    days: int = 60,
    chunk_size: int = 25_000,
    bulk: bool | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Write the demo data; the caller checks that the database has no tickets."""
    started = time.monotonic()
    now = now or timezone.now()
    rng = random.Random(seed)
    Watchers = Ticket.watchers.through
    loaded = [Customer, Ticket, TicketStage, TicketEvent, ServiceOrder, Comment, Watchers]
    if bulk is None:
        bulk = connection.vendor == "postgresql" and tickets >= BULK_THRESHOLD
    elif bulk and connection.vendor != "postgresql":
        bulk = False
    result = SeedResult(bulk=bulk, now=now)

    def say(message: str) -> None:
        if progress is not None:
            progress(f"[{time.monotonic() - started:7.1f}s] {message}")

    with transaction.atomic():
        ref = Reference()
        create_operators(ref)
        create_companies(ref)
        create_catalogue(ref)
        loader = PostgresBulkLoad(loaded) if bulk else None
        if loader is not None:
            loader.detach()
            say(
                f"detached {len(loader.indexes)} indexes and {len(loader.foreign_keys)} foreign keys"
            )
        n_customers = create_customers(ref, rng, customer_count(tickets), now)
        say(f"{n_customers} customers")

        counters = dict(Counter.objects.values_list("key", "value"))
        ids = Ids(
            ticket=next_id(Ticket),
            stage=next_id(TicketStage),
            event=next_id(TicketEvent),
            order=next_id(ServiceOrder),
            comment=next_id(Comment),
            watcher=next_id(Watchers),
            code=counters.get("ticket_code", 0),
            order_code=counters.get("service_order_code", 0),
            protocol={
                int(key.split(":", 1)[1]): value
                for key, value in counters.items()
                if key.startswith("protocol:") and key.split(":", 1)[1].isdigit()
            },
        )
        result.first_ticket_id = ids.ticket
        result.existing_users = ref.existing_users
        generator = TicketGenerator(
            ref=ref, rng=rng, now=now, count=tickets, days=days, ids=ids, vendor=connection.vendor
        )
        writers = {
            "tickets": TableWriter(Ticket, TICKET_COLUMNS),
            "stages": TableWriter(TicketStage, STAGE_COLUMNS),
            "events": TableWriter(TicketEvent, EVENT_COLUMNS),
            "orders": TableWriter(ServiceOrder, ORDER_COLUMNS),
            "comments": TableWriter(Comment, COMMENT_COLUMNS),
            "watchers": TableWriter(Watchers, WATCHER_COLUMNS),
        }

        def write(chunk: Chunk) -> None:
            for name, writer in writers.items():
                writer.write(getattr(chunk, name))
            say(f"{writers['tickets'].rows} tickets, {writers['events'].rows} events written")

        if connection.vendor == "postgresql":
            # Generate chunk n+1 while the helper thread COPYs chunk n: the
            # server parses and stores on the second core meanwhile. At most two
            # chunks are held in memory.
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending: Future | None = None
                for chunk in generator.chunks(chunk_size):
                    if pending is not None:
                        pending.result()
                    pending = pool.submit(write, chunk)
                    del chunk
                if pending is not None:
                    pending.result()
        else:
            for chunk in generator.chunks(chunk_size):
                write(chunk)

        if loader is not None:
            say("rebuilding indexes and foreign keys")
            loader.reattach()

        # Later tickets opened through the services continue these sequences.
        result.counters = {"ticket_code": ids.code, "service_order_code": ids.order_code}
        result.counters.update(
            {f"protocol:{year}": number for year, number in ids.protocol.items()}
        )
        for key, value in result.counters.items():
            Counter.objects.update_or_create(key=key, defaults={"value": value})
        reset_sequences(loaded)
        result.last_ticket_id = ids.ticket - 1
        result.rows = {"customers": n_customers, **{name: w.rows for name, w in writers.items()}}
        result.stats = generator.stats
        demo_seeded.send(sender=seed, result=result)

    say("analyze")
    analyze(loaded)
    result.seconds = time.monotonic() - started
    return result


def demo_password() -> str:
    return data.DEMO_PASSWORD
