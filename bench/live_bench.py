"""Live screens under load: N websocket clients on one team's panel, one daphne process, full mode.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/livebench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/live_bench.py [--clients 100,500,1000] [--changes 40] [--rate 4]

What it does:
1. prepares the database (migrate; demo data with ``seed_demo --tickets 3000`` when empty);
2. starts one daphne process serving ``servicedesk.asgi`` in full mode (PostgreSQL,
   channels_redis);
3. for each N: opens N websockets as the demo supervisor (a session made in the
   database, the site's Origin), each subscribed to "Abertos / Todos abertos"
   (first page, all listed); then makes changes at a steady rate from this
   process through the product's operations (claim and release of a ticket on
   that page, alternately: its "Resgate" cell changes), which publish after
   commit through Redis like any web or worker process. For each change it
   measures the time from the commit until every client has received the
   fragment with that row; prints p50/p95/p99 and the daphne process's memory;
4. the reference: the same clients, a bare channel-layer ``group_send`` of a
   fixed string to the same group (no rendering), timed the same way.

Targets (issue "Live screens"): p95 under 300 ms at 500 clients and within 3x of
the reference.
"""

import argparse
import asyncio
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = "/tmp/live_bench_daphne.log"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/livebench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
os.environ.setdefault("CHANNELS_PREFIX", "livebench")

import django  # noqa: E402


def ensure_database() -> None:
    import psycopg

    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Clients:
    """N websocket clients; each message is matched against the marker being waited for."""

    def __init__(self, n: int, url: str, origin: str, cookie: str) -> None:
        self.n, self.url, self.origin, self.cookie = n, url, origin, cookie
        self.sockets: list = []
        self.tasks: list[asyncio.Task] = []
        self.marker = ""
        self.pending: set[int] = set()
        self.done = asyncio.Event()
        self.last_arrival = 0.0
        self.answered: set[int] = set()
        self.all_answered = asyncio.Event()

    async def open(self, subscribe: dict) -> None:
        import json

        from websockets.asyncio.client import connect

        async def one(i: int) -> None:
            ws = await connect(
                self.url, origin=self.origin, additional_headers={"Cookie": self.cookie},
                max_size=None, ping_interval=None, open_timeout=60,
            )
            await ws.send(json.dumps(subscribe))
            self.sockets.append(ws)
            self.tasks.append(asyncio.ensure_future(self.reader(i, ws)))

        for start in range(0, self.n, 10):
            await asyncio.gather(*(one(i) for i in range(start, min(self.n, start + 10))))
        # Every subscription is answered with the page as it is: wait for all of them.
        await asyncio.wait_for(self.all_answered.wait(), 300)

    async def reader(self, i: int, ws) -> None:
        try:
            async for message in ws:
                if i not in self.answered:
                    self.answered.add(i)
                    if len(self.answered) == self.n:
                        self.all_answered.set()
                    continue
                if os.environ.get("LIVE_BENCH_DEBUG"):
                    print("client", i, "got", len(message), message[:120].replace("\n", " "), flush=True)
                if self.marker and i in self.pending and self.marker in message:
                    self.pending.discard(i)
                    if not self.pending:
                        self.last_arrival = time.perf_counter()
                        self.done.set()
        except Exception:
            pass

    def expect(self, marker: str) -> None:
        self.marker = marker
        self.pending = set(range(self.n))
        self.done = asyncio.Event()

    async def wait(self, timeout: float = 30.0) -> float:
        await asyncio.wait_for(self.done.wait(), timeout)
        return self.last_arrival

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def run_level(n: int, port: int, cookie: str, ticket_id: int, agent, changes: int, rate: float, daphne_pid: int):
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from tickets import services
    from tickets.models import Ticket
    from tickets.publish import team_group

    url = f"ws://127.0.0.1:{port}/ws/live/"
    clients = Clients(n, url, f"http://127.0.0.1:{port}", cookie)
    t_open = time.perf_counter()
    await clients.open({"action": "grid", "view": "open/all", "query": "all=1&o=-opened_at"})
    opened_in = time.perf_counter() - t_open
    ticket = await sync_to_async(Ticket.objects.get)(pk=ticket_id)
    marker = f'id="row-{ticket_id}"'

    def change(i: int) -> float:
        if i % 2 == 0:
            services.ticket_claim(actor=agent, ticket=ticket)
        else:
            services.ticket_release(actor=agent, ticket=ticket)
        return time.perf_counter()  # after commit: the publication is on its way

    lat: list[float] = []
    for i in range(changes):
        clients.expect(marker)
        committed = await sync_to_async(change)(i)
        arrived = await clients.wait()
        lat.append((arrived - committed) * 1000)
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - committed)))
    memory = rss_mb(daphne_pid)

    layer = get_channel_layer()
    group = team_group(ticket.team_id)
    ref: list[float] = []
    for i in range(changes):
        text = f'<div id="bench-ref">{i}</div>'
        clients.expect(f">{i}</div>")
        sent = time.perf_counter()
        await layer.group_send(group, {"type": "live.raw", "text": text, "group": group})
        arrived = await clients.wait()
        ref.append((arrived - sent) * 1000)
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - sent)))
    await clients.close()
    return opened_in, lat, ref, memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="100,500,1000")
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--rate", type=float, default=4.0, help="changes per second")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    ensure_database()
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    # Group memberships left by an interrupted run would inflate every group_send: start clean
    # (flush() deletes only this layer's keys, prefix CHANNELS_PREFIX).
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().flush)()
    if not Ticket.objects.exists():
        call_command("seed_demo", tickets=3000, verbosity=0)
    users = get_user_model().objects
    supervisor = users.get(username="supervisor")
    team_ids = list(supervisor.supervised_teams.values_list("pk", flat=True))
    ticket = (
        Ticket.objects.filter(team_id__in=team_ids, closed_at__isnull=True)
        .order_by("-opened_at")
        .first()
    )
    agent = ticket.team.members.filter(is_active=True).first()
    if ticket.assignee_id:
        from tickets import services

        services.ticket_release(actor=ticket.assignee, ticket=ticket)
    session = SessionStore()
    session["_auth_user_id"] = str(supervisor.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = supervisor.get_session_auth_hash()
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    port = free_port()
    env = {
        **os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }
    log = Path(LOG).open("w")  # noqa: SIM115 - daphne writes to it for the whole run
    daphne = subprocess.Popen(
        [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "servicedesk.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)),
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"live bench: daphne pid {daphne.pid} on :{port}, full mode (PostgreSQL + Redis channel layer)")
        print(f"panel: Abertos / Todos abertos, team {ticket.team.name!r}; change = claim/release of ticket {ticket.code}")
        print(f"{args.changes} changes per level at {args.rate}/s; latency = commit -> every client has the row")
        print()
        header = f"{'clients':>7} {'connect s':>9} | {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} | {'ref p50':>7} {'ref p95':>7} {'ref p99':>7} | {'p95/ref':>7} | {'RSS MB':>7}"
        print(header)
        print("-" * len(header))
        for n in [int(x) for x in args.clients.split(",")]:
            opened_in, lat, ref, memory = asyncio.run(
                run_level(n, port, cookie, ticket.pk, agent, args.changes, args.rate, daphne.pid)
            )
            ratio = pct(lat, 95) / pct(ref, 95) if ref else float("nan")
            print(
                f"{n:>7} {opened_in:>9.1f} | {statistics.median(lat):>7.1f} {pct(lat, 95):>7.1f} {pct(lat, 99):>7.1f} | "
                f"{statistics.median(ref):>7.1f} {pct(ref, 95):>7.1f} {pct(ref, 99):>7.1f} | {ratio:>7.2f} | {memory:>7.1f}",
                flush=True,
            )
    finally:
        daphne.send_signal(signal.SIGTERM)
        try:
            daphne.wait(10)
        except subprocess.TimeoutExpired:
            daphne.kill()


if __name__ == "__main__":
    main()
