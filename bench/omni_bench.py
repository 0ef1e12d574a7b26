"""Omnichannel under load: live-chat customers and agents on one daphne process, full mode.

    .venv/bin/python bench/omni_bench.py [--customers 200] [--agents 20] [--messages 5]
        [--max-conversations 10] [--ramp 10] [--think 5,15] [--agent-delay 1,3]
        [--layer-capacity N] [--conn-max-age S]      # experiments: bench/omni_settings.py, DB_CONN_MAX_AGE

(defaults: PostgreSQL database ``omnibench``, Redis db 4 with the channel-layer
prefix ``omnibench``, ``VAR_DIR=/tmp/omnibench_var``; set ``DATABASE_URL`` /
``REDIS_URL`` to use others). Issue 6, "200 simultaneous widget customers and 20
agents": target p95 under 250 ms for message delivery.

What it does:
1. prepares its own database (migrate; ``seed_demo --tickets 50`` when empty), a
   live-chat queue "Bench - Chat" (``--max-conversations`` each, no wrap-up, no
   timers), a widget entry point ``bench`` whose menu option 1 leads to it, and
   ``--agents`` agents assigned to it. Leftovers of a previous run are cancelled,
   then every agent goes Offline and back through ``agent_queue_login`` (Online,
   logged in to the queue) with the real operations;
2. starts one daphne process in full mode (``DEBUG=0``; static files collected
   once under ``VAR_DIR``); no Celery worker: routing runs inside the customer's
   request (``conversation_customer_message`` → ``_bot_step`` → ``_enqueue`` →
   ``routing.route``) and the beat timers are not part of the flow;
3. each agent opens ``/ws/omni/agent/`` with a session and subscribes to the
   workspace (as ``static/js/omni.js`` does), heartbeating every 25 s;
4. the customers arrive over ``--ramp`` seconds, each from its own loopback
   address (127.0.x.y, so the widget's per-IP rate limits see 200 people, not
   one): GET the start form, POST it (the timer starts here), follow the redirect
   to the chat page, open ``/ws/chat/<token>/``, answer the menu with "1" and wait
   until the header says "<agente> está atendendo você". Routing is reported
   three ways: ``queued_at → assigned_at`` from the database, option "1" sent →
   agent shown, and start POST → agent shown;
5. each agent opens its first conversation in the pane (``workspace`` with that
   conversation); then the timed phase: every customer sends ``--messages``
   messages, each after a think time, and waits for the answer; each agent
   answers every message after a typing delay, over its socket as the workspace's
   composer does for text (``{"action": "send"}``); ``--replies http`` posts to
   ``/omni/conversas/<id>/enviar/`` instead (the composer's path for files).

What is measured (wall clock of this process, so both ends on one clock):

* customer → agent, notification: the customer's socket send → the agent's
  socket receives the sidebar fragment (``render_list`` or ``render_items``) in which that
  conversation shows "Aguardando você" with a waiting clock newer than before
  (the whole list, or only that line when nothing but its messages changed).
  For the 9 of 10 conversations that are not open in the agent's pane this is
  all the socket carries: the sidebar announces the message (unread badge,
  clock), the text comes when the agent clicks (an HTTP GET, not measured);
* customer → agent, open pane: the same send → the fragment appended to the
  open conversation's pane carrying the message text (``render_new_messages``),
  for the conversation each agent has open;
* agent → customer: the agent's send (socket message or POST) starts → the
  customer's socket receives the appended message with that text; the time to
  the server's "sent" acknowledgement (or the POST's response) beside it.

Printed: p50/p95/p99 and counts, the target, the load average before and
after, the CPU seconds daphne used during the phase (and per message), its
memory, the PostgreSQL transactions per message and the peak connections, and
the errors by kind (a reply POST that failed, a message left unanswered for
60 s, a socket handshake the client had to retry as the widget's htmx socket
does). ``queued_at → assigned_at`` is 0 whenever an agent is free: ``_enqueue``
and ``routing.route`` stamp the same instant; it measures only real waiting.
``OMNI_BENCH_DEBUG=1`` prints every agent frame and customer send.
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = "/tmp/omni_bench_daphne.log"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnibench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
os.environ.setdefault("CHANNELS_PREFIX", "omnibench")
os.environ.setdefault("VAR_DIR", "/tmp/omnibench_var")

import django  # noqa: E402
from live_bench import ensure_database, free_port, pct, rss_mb  # noqa: E402

ENTRY_POINT = "bench"
QUEUE_NAME = "Bench - Chat"
TARGET_MS = 250.0
HEARTBEAT_SECONDS = 25.0
ASSIGNED_TEXT = "está atendendo você"
CUSTOMER_MARK = re.compile(r"CLI(\d+)K(\d+)END")
AGENT_MARK = re.compile(r"AGT(\d+)K(\d+)END")
ITEM = re.compile(r'id="omni-item-(\d+)"(.*?)</a>', re.S)
SINCE = re.compile(r'data-omni-since="([^"]+)"')


def now() -> float:
    return time.perf_counter()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int | None) -> float:
    """A process and its children (gunicorn's master and workers)."""
    if pid is None:
        return 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def customer_ip(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def span(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


# --- the database -------------------------------------------------------------------------------


def prepare(n_agents: int, max_conversations: int):
    """The bench's queue, entry point and agents, every agent Online and logged in; leftovers cancelled."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from omnichannel import routing, services
    from omnichannel.models import (
        OPEN_STATUSES,
        AgentPresence,
        AgentQueue,
        AgentState,
        BotMenu,
        BotOption,
        Channel,
        Conversation,
        ConversationStatus,
        Queue,
    )
    from tickets.models import Company, Process, Team
    from tickets.roles import AGENT

    call_command("migrate", verbosity=0)
    if not Team.objects.exists():
        call_command("seed_demo", tickets=50, verbosity=0)
    team = Team.objects.order_by("pk").first()
    queue, _ = Queue.objects.update_or_create(
        name=QUEUE_NAME,
        defaults={
            "channel": Channel.LIVE_CHAT,
            "team": team,
            "company": Company.objects.order_by("pk").first(),
            "process": Process.objects.order_by("pk").first(),
            "max_conversations": max_conversations,
            "wrap_up_seconds": 0,
            "answer_timeout": 0,
            "inactivity_timeout": 0,
            "calendar": None,
            "active": True,
        },
    )
    menu, _ = BotMenu.objects.update_or_create(
        entry_point=ENTRY_POINT,
        defaults={"name": "Bench - menu", "greeting": "Bench: escolha uma opção:", "active": True, "channel": Channel.LIVE_CHAT},
    )
    BotOption.objects.update_or_create(menu=menu, number=1, defaults={"label": "Suporte", "queue": queue, "submenu": None})

    stamp = timezone.now()
    Conversation.objects.filter(entry_menu=menu, status__in=OPEN_STATUSES).update(
        status=ConversationStatus.CANCELLED, ended_at=stamp
    )
    group, _ = Group.objects.get_or_create(name=AGENT)
    users = get_user_model().objects
    agents = []
    for i in range(1, n_agents + 1):
        user, created = users.get_or_create(
            username=f"bench.agente{i:02d}", defaults={"first_name": f"Agente{i:02d}", "last_name": "Bench"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(group)
        team.members.add(user)
        AgentQueue.objects.get_or_create(agent=user, queue=queue)
        agents.append(user)
    # Bench agents beyond --agents stay out of routing.
    extra = users.filter(username__startswith="bench.agente").exclude(pk__in=[a.pk for a in agents])
    AgentPresence.objects.filter(agent__in=extra).update(load=0)
    for user in extra:
        if routing.presence_of(user.pk).state != AgentState.OFFLINE:
            services.agent_set_state(actor=user, agent=user, state=AgentState.OFFLINE)
    AgentPresence.objects.filter(agent__in=agents).update(load=0)
    for user in agents:
        if routing.presence_of(user.pk).state != AgentState.OFFLINE:
            services.agent_set_state(actor=user, agent=user, state=AgentState.OFFLINE)
        services.agent_queue_login(actor=user, agent=user)
    return queue, menu, agents


def clean_redis() -> None:
    """This run's layer and the widget's rate-limit and socket counters start empty."""
    import redis
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().flush)()
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for pattern in ("*omni.widget.rl.*", "*omni.widget.sockets.*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


def agent_cookie(user) -> tuple[str, str]:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import _get_new_csrf_string

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    csrf = _get_new_csrf_string()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}", csrf


def pg_counters() -> tuple[int, int]:
    """(sessions, transactions committed) of this database so far (pg_stat_database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        sessions, commits = cursor.fetchone()
    connection.close()
    return sessions, commits


def routing_times(conversation_ids: list[int]) -> list[float]:
    from omnichannel.models import Conversation

    rows = Conversation.objects.filter(pk__in=conversation_ids, assigned_at__isnull=False).values_list(
        "queued_at", "assigned_at"
    )
    return [(assigned - queued).total_seconds() * 1000 for queued, assigned in rows if queued]


# --- the clients ---------------------------------------------------------------------------------


@dataclass
class Stats:
    c2a_notify: list[float] = field(default_factory=list)
    c2a_pane: list[float] = field(default_factory=list)
    a2c: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    start_to_agent: list[float] = field(default_factory=list)
    option_to_agent: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timeouts: int = 0
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (arrived, ms) of deliveries


class Bench:
    def __init__(self, port: int, args, http_port: int | None = None) -> None:
        self.port = port  # daphne: the websockets (and HTTP too unless --http-workers)
        self.base = f"http://127.0.0.1:{http_port or port}"
        self.origin = self.base
        self.args = args
        self.stats = Stats()
        self.sent: dict[tuple[int, int], float] = {}  # (conversation, k) → customer send time
        self.notified: set[tuple[int, int]] = set()
        self.pane_seen: set[tuple[int, int]] = set()
        self.posted: dict[tuple[int, int], float] = {}  # (conversation, k) → agent POST start
        self.customers: dict[int, Customer] = {}
        self.phase = False


class Customer:
    def __init__(self, bench: Bench, i: int) -> None:
        self.bench, self.i, self.ip = bench, i, customer_ip(i)
        self.conversation_id = 0
        self.ws = None
        self.assigned = asyncio.Event()
        self.replied: asyncio.Event | None = None
        self.waiting_for: tuple[int, int] | None = None
        self.reader: asyncio.Task | None = None

    async def start(self) -> None:
        import httpx
        from django.core import signing
        from websockets.asyncio.client import connect

        from omnichannel.widget import TOKEN_SALT

        b = self.bench
        page = f"/chat/{ENTRY_POINT}/"
        transport = httpx.AsyncHTTPTransport(local_address=self.ip)
        async with httpx.AsyncClient(base_url=b.base, transport=transport, timeout=120) as http:
            r = await http.get(page)
            csrf = r.cookies.get("csrftoken", "")
            http.cookies.clear()
            started = now()
            r = await http.post(
                page,
                data={
                    "name": f"Cliente Bench {self.i}",
                    "email": f"cliente{self.i}@bench.example.com",
                    "phone": "",
                    "document": "",
                    "website": "",
                    "csrfmiddlewaretoken": csrf,
                },
                headers={"Origin": b.origin, "Referer": b.base + page, "Cookie": f"csrftoken={csrf}"},
            )
            token = r.cookies.get(f"omni_chat_{ENTRY_POINT}", "")
            http.cookies.clear()
            if r.status_code != 302 or not token:
                raise RuntimeError(f"start form: HTTP {r.status_code} {r.text[:200]!r}")
            r = await http.get(page, headers={"Cookie": f"omni_chat_{ENTRY_POINT}={token}; csrftoken={csrf}"})
            if r.status_code != 200:
                raise RuntimeError(f"chat page: HTTP {r.status_code}")
        self.conversation_id = signing.loads(token, salt=TOKEN_SALT)[0]
        b.customers[self.conversation_id] = self
        for attempt in range(6):  # as the widget's htmx socket does: reconnect after a failed handshake
            try:
                self.ws = await connect(
                    f"ws://127.0.0.1:{b.port}/ws/chat/{token}/", origin=b.origin, local_addr=(self.ip, 0),
                    max_size=None, ping_interval=None, open_timeout=120, close_timeout=2,
                )
                break
            except Exception as exc:
                b.stats.errors.append(f"customer socket handshake: {type(exc).__name__} (retried)")
                if attempt == 5:
                    raise
                await asyncio.sleep(1 + attempt)
        await self.ws.recv()  # the whole chat: the menu
        option = now()
        self.reader = asyncio.ensure_future(self.read())
        await self.ws.send(json.dumps({"action": "message", "body": "1"}))
        await self.assigned.wait()
        b.stats.start_to_agent.append((self.assigned_at - started) * 1000)
        b.stats.option_to_agent.append((self.assigned_at - option) * 1000)

    async def read(self) -> None:
        b = self.bench
        try:
            async for message in self.ws:
                arrived = now()
                if not self.assigned.is_set() and ASSIGNED_TEXT in message:
                    self.assigned_at = arrived
                    self.assigned.set()
                for match in AGENT_MARK.finditer(message):
                    key = (int(match[1]), int(match[2]))
                    t0 = b.posted.pop(key, None)
                    if t0 is not None:
                        b.stats.a2c.append((arrived - t0) * 1000)
                        b.stats.timeline.append((arrived, (arrived - t0) * 1000))
                        if self.waiting_for == key and self.replied is not None:
                            self.replied.set()
        except Exception as exc:  # a dropped socket is reported, not fatal
            b.stats.errors.append(f"customer {self.i} socket: {exc!r}")

    async def talk(self) -> None:
        b, a = self.bench, self.bench.args
        low, high = span(a.think)
        await asyncio.sleep(random.uniform(0, high))
        for k in range(1, a.messages + 1):
            key = (self.conversation_id, k)
            self.waiting_for, self.replied = key, asyncio.Event()
            b.sent[key] = now()
            if os.environ.get("OMNI_BENCH_DEBUG"):
                print(f"{b.sent[key]:.3f} customer sends {key}", flush=True)
            try:
                await self.ws.send(json.dumps({"action": "message", "body": f"Mensagem {k} do cliente CLI{key[0]}K{k}END"}))
            except Exception as exc:  # the server closed the socket: this customer is done
                b.sent.pop(key, None)
                b.stats.errors.append(f"conversation {key[0]} message {k}: send failed {exc!r}")
                return
            try:
                await asyncio.wait_for(self.replied.wait(), 60)
            except TimeoutError:
                b.stats.timeouts += 1
                b.stats.errors.append(f"conversation {key[0]} message {k}: no answer within 60 s")
            if k < a.messages:
                await asyncio.sleep(random.uniform(low, high))


class Agent:
    def __init__(self, bench: Bench, user, cookie: str, csrf: str) -> None:
        self.bench, self.user, self.cookie, self.csrf = bench, user, cookie, csrf
        self.ws = None
        self.http = None
        self.last_since: dict[int, str] = {}  # conversation → waiting clock last shown as "Aguardando você"
        self.conversations: list[int] = []
        self.tasks: list[asyncio.Task] = []
        self.pending: dict[str, tuple[float, tuple[int, int]]] = {}  # socket replies not yet acknowledged

    async def open(self) -> None:
        import httpx
        from websockets.asyncio.client import connect

        b = self.bench
        self.http = httpx.AsyncClient(base_url=b.base, timeout=120)
        for attempt in range(5):  # the PostgreSQL server is shared: a moment without free connections
            try:
                self.ws = await connect(
                    f"ws://127.0.0.1:{b.port}/ws/omni/agent/", origin=b.origin,
                    additional_headers={"Cookie": self.cookie}, max_size=None, ping_interval=None, open_timeout=120,
                )
                break
            except Exception as exc:
                if attempt == 4:
                    raise
                b.stats.errors.append(f"agent {self.user.username} connect: {exc!r} (retried)")
                await asyncio.sleep(1)
        await self.ws.send(json.dumps({"action": "workspace", "conversation": None, "after": 0}))
        self.tasks.append(asyncio.ensure_future(self.read()))
        self.tasks.append(asyncio.ensure_future(self.heartbeat()))

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self.ws.send(json.dumps({"action": "heartbeat"}))

    async def open_pane(self, conversation_id: int) -> None:
        await self.ws.send(json.dumps({"action": "workspace", "conversation": conversation_id, "after": 0}))

    async def read(self) -> None:
        b = self.bench
        try:
            async for message in self.ws:
                arrived = now()
                if os.environ.get("OMNI_BENCH_DEBUG"):
                    print(
                        f"{arrived:.3f} agent {self.user.pk} frame {len(message)}B",
                        re.findall(r'id="(omni-[a-z-]+)', message)[:4],
                        CUSTOMER_MARK.findall(message)[-2:], flush=True,
                    )
                if message.startswith("{"):  # {"sent": nonce}: a socket reply stored
                    started, key = self.pending.pop(json.loads(message).get("sent"), (None, None))
                    if started is not None:
                        b.stats.post.append((arrived - started) * 1000)
                    continue
                if 'id="omni-composer"' in message and "is-invalid" in message:
                    b.stats.errors.append(f"reply refused: {message[:200]!r}")
                if 'id="omni-messages-' in message:
                    for match in CUSTOMER_MARK.finditer(message):
                        key = (int(match[1]), int(match[2]))
                        if key in b.sent and key not in b.pane_seen:
                            b.pane_seen.add(key)
                            b.stats.c2a_pane.append((arrived - b.sent[key]) * 1000)
                if 'id="omni-sidebar"' in message:
                    self.on_list(message, arrived)
                elif 'id="omni-item-' in message:  # only the lines whose messages changed
                    self.on_list(message, arrived, whole=False)
        except Exception as exc:
            b.stats.errors.append(f"agent {self.user.username} socket: {exc!r}")

    def on_list(self, html: str, arrived: float, whole: bool = True) -> None:
        b = self.bench
        html = html.split('id="omni-queued"', 1)[0]
        ids = []
        for match in ITEM.finditer(html):
            conversation_id, body = int(match[1]), match[2]
            ids.append(conversation_id)
            since = SINCE.search(body)
            if "bi-hourglass-split" not in body or since is None:
                continue  # waiting for the customer
            since = since[1]
            if self.last_since.get(conversation_id) == since:
                continue  # nothing new from the customer
            self.last_since[conversation_id] = since
            customer = b.customers.get(conversation_id)
            key = customer.waiting_for if customer is not None else None
            if b.phase and key is not None and key in b.sent and key not in b.notified:
                b.notified.add(key)
                b.stats.c2a_notify.append((arrived - b.sent[key]) * 1000)
                b.stats.timeline.append((arrived, (arrived - b.sent[key]) * 1000))
                self.tasks.append(asyncio.ensure_future(self.answer(key)))
        if whole:
            self.conversations = ids

    async def answer(self, key: tuple[int, int]) -> None:
        b = self.bench
        await asyncio.sleep(random.uniform(*span(b.args.agent_delay)))
        conversation_id, k = key
        b.posted[key] = started = now()
        body = f"Resposta {k} do agente AGT{conversation_id}K{k}END"
        if b.args.replies == "socket":  # as static/js/omni.js sends a text reply
            nonce = f"{conversation_id}-{k}"
            self.pending[nonce] = (started, key)
            try:
                await self.ws.send(json.dumps({"action": "send", "conversation": conversation_id, "body": body, "nonce": nonce}))
            except Exception as exc:
                b.stats.errors.append(f"reply {key}: {exc!r}")
            return
        try:
            r = await self.http.post(
                f"/omni/conversas/{conversation_id}/enviar/",
                data={"body": body},
                headers={
                    "Cookie": self.cookie, "X-CSRFToken": self.csrf, "HX-Request": "true", "Origin": b.origin,
                    "HX-Current-URL": f"{b.base}/omni/atendimento/{conversation_id}/",
                },
            )
            b.stats.post.append((now() - started) * 1000)
            if r.status_code != 200:
                b.stats.errors.append(f"reply {key}: HTTP {r.status_code} {r.text[:200]!r}")
        except Exception as exc:
            b.stats.errors.append(f"reply {key}: {exc!r}")

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.ws.close()
        await self.http.aclose()


# --- the run --------------------------------------------------------------------------------------


def line(label: str, values: list[float], target: float | None = None) -> str:
    if not values:
        return f"  {label:<44} {'-':>7} {'-':>7} {'-':>7} {'-':>7} {0:>6}"
    p95 = pct(values, 95)
    verdict = ("  ok" if p95 < target else "  MISSED") if target else ""
    tgt = f"{target:>7.0f}" if target else f"{'':>7}"
    return (
        f"  {label:<44} {statistics.median(values):>7.1f} {p95:>7.1f} {pct(values, 99):>7.1f} "
        f"{max(values):>7.1f} {len(values):>6} {tgt}{verdict}"
    )


async def peak_connections(peak: dict) -> None:
    """Sample how many PostgreSQL connections this database has (daphne's and this process's)."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (count,) = await cursor.fetchone()
            peak["max"] = max(peak.get("max", 0), count)
            await asyncio.sleep(0.25)


async def run(port: int, args, agents_in: list, daphne_pid: int, http_port: int | None = None, http_pid: int | None = None) -> None:
    from asgiref.sync import sync_to_async

    b = Bench(port, args, http_port)
    peak: dict = {}
    sampler = asyncio.ensure_future(peak_connections(peak))
    agents = [Agent(b, user, cookie, csrf) for user, cookie, csrf in agents_in]
    for agent in agents:
        await agent.open()
    await asyncio.sleep(1)

    # Arrivals: evenly over --ramp seconds.
    customers = [Customer(b, i) for i in range(args.customers)]
    t0 = now()

    async def arrive(c: Customer) -> None:
        await asyncio.sleep(args.ramp * c.i / max(1, args.customers))
        await c.start()

    results = await asyncio.gather(
        *(asyncio.wait_for(arrive(c), args.ramp + 180) for c in customers), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    for r in failed[:5]:
        b.stats.errors.append(f"arrival: {r!r}")
    ready = [c for c in customers if c.assigned.is_set()]
    arrival_s = now() - t0
    route_db = await sync_to_async(routing_times)([c.conversation_id for c in customers if c.conversation_id])

    # Each agent opens its first conversation in the pane (the rest stay in the sidebar).
    await asyncio.sleep(2)
    for agent in agents:
        if agent.conversations:
            await agent.open_pane(agent.conversations[0])
    await asyncio.sleep(3)

    load_before = loadavg()
    pg0 = await sync_to_async(pg_counters)()
    print(f"timed phase starts (daphne pid {daphne_pid})", flush=True)
    cpu0, wall0, self0 = cpu_seconds(daphne_pid), now(), resource.getrusage(resource.RUSAGE_SELF)
    http_cpu0 = tree_cpu_seconds(http_pid)
    b.phase = True
    await asyncio.gather(*(c.talk() for c in ready))
    await asyncio.sleep(1)
    b.phase = False
    wall = now() - wall0
    cpu = cpu_seconds(daphne_pid) - cpu0
    http_cpu = tree_cpu_seconds(http_pid) - http_cpu0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    load_after = loadavg()
    memory = rss_mb(daphne_pid)
    pg1 = await sync_to_async(pg_counters)()

    for c in customers:
        if c.reader is not None:
            c.reader.cancel()
    await asyncio.gather(*(c.ws.close() for c in customers if c.ws is not None), return_exceptions=True)
    await asyncio.gather(*(a.close() for a in agents), return_exceptions=True)

    sampler.cancel()
    s = b.stats
    exchanged = len(s.a2c) + len(s.c2a_notify)
    print(f"customers assigned: {len(ready)}/{args.customers} in {arrival_s:.1f} s (arrivals over {args.ramp:.0f} s)")
    print(
        f"timed phase: {wall:.1f} s, {len(b.sent)} customer messages + {len(s.post)} agent replies "
        f"({exchanged / wall:.1f} deliveries/s); daphne CPU {cpu:.1f} s ({100 * cpu / wall:.0f}% of one core), "
        f"RSS {memory:.0f} MB; this client's CPU {client_cpu:.1f} s"
    )
    print(
        f"PostgreSQL during the phase: {pg1[1] - pg0[1]} transactions (autocommit: about one per statement), "
        f"{(pg1[1] - pg0[1]) / max(1, len(b.sent) + len(s.post)):.1f} per message; at most "
        f"{peak.get('max', 0)} connections open at once over the run (the server's max_connections is shared)"
    )
    print(f"daphne CPU per message: {1000 * cpu / max(1, len(b.sent) + len(s.post)):.1f} ms")
    if http_pid is not None:
        print(f"gunicorn CPU (HTTP) during the phase: {http_cpu:.1f} s, per message {1000 * http_cpu / max(1, len(b.sent) + len(s.post)):.1f} ms")
    if os.environ.get("OMNI_BENCH_TIMELINE") and s.timeline:
        # Deliveries (both ways) by 5-second window of arrival: when the slow ones happen.
        start = min(t for t, _ in s.timeline)
        windows: dict[int, list[float]] = {}
        for t, ms in s.timeline:
            windows.setdefault(int((t - start) // 5), []).append(ms)
        for w, values in sorted(windows.items()):
            print(f"  t+{5 * w:>4}s  n={len(values):>4}  p50={statistics.median(values):>7.1f}  max={max(values):>7.1f}")
    print(f"load average: before phase {load_before}, after {load_after} (2 cores)")
    print()
    header = f"  {'':<44} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'count':>6} {'target':>7}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    print(line("customer -> agent (sidebar notification)", s.c2a_notify, TARGET_MS))
    print(line("customer -> agent (open pane, message text)", s.c2a_pane, TARGET_MS))
    how = "socket send" if args.replies == "socket" else "POST start"
    print(line(f"agent -> customer ({how} -> widget)", s.a2c, TARGET_MS))
    print(line("agent reply: stored (socket ack)" if args.replies == "socket" else "agent reply POST response time", s.post))
    print(line("routing: queued_at -> assigned_at (DB)", route_db))
    print(line("routing: option '1' sent -> agent shown", s.option_to_agent))
    print(line("routing: start POST -> agent shown", s.start_to_agent))
    if s.errors:
        from collections import Counter

        kinds = Counter(re.sub(r"\d+", "N", error)[:150] for error in s.errors)
        print()
        print(f"{len(s.errors)} errors/timeouts/retries, by kind:")
        for kind, count in kinds.most_common(10):
            print(f"  {count:>5} x {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5, help="messages each customer sends (each answered)")
    parser.add_argument("--max-conversations", type=int, default=10, help="the queue's capacity per agent")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the customers arrive")
    parser.add_argument("--think", default="5,15", help="customer's pause between answer and next message, s (low,high)")
    parser.add_argument("--agent-delay", default="1,3", help="agent's typing time before each reply, s (low,high)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--layer-capacity", type=int, default=None,
        help="serve with bench.omni_settings: the channel layer's capacity (channels_redis default 100, per process)",
    )
    parser.add_argument(
        "--http-workers", type=int, default=0,
        help="serve HTTP (widget pages, the agents' reply POSTs) with gunicorn's sync workers as README's "
        "'Serving plain HTTP at volume' does, websockets staying on the one daphne process (default 0: all on daphne)",
    )
    parser.add_argument(
        "--replies", choices=("socket", "http"), default="socket",
        help="how agents send text replies: over their socket as the workspace does (default), or by the "
        "composer's htmx POST (the path files take)",
    )
    parser.add_argument(
        "--conn-max-age", type=int, default=None,
        help="DB_CONN_MAX_AGE for daphne (default: the product's, 0 = a new connection per request/consumer call)",
    )
    args = parser.parse_args()
    random.seed(args.seed)
    if args.customers > args.agents * args.max_conversations:
        parser.error("--customers exceeds --agents × --max-conversations: some would wait in the queue")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    ensure_database()
    django.setup()
    import logging

    from django.conf import settings

    logging.getLogger("httpx").setLevel(logging.WARNING)

    t = now()
    queue, menu, users = prepare(args.agents, args.max_conversations)
    clean_redis()
    agents_in = [(user, *agent_cookie(user)) for user in users]
    env = {
        **os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }
    if args.conn_max_age is not None:
        env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    if args.layer_capacity is not None:
        env["DJANGO_SETTINGS_MODULE"] = "bench.omni_settings"
        env["OMNI_BENCH_LAYER_CAPACITY"] = str(args.layer_capacity)
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
    print(f"setup {now() - t:.1f} s")

    port = free_port()
    log = Path(LOG).open("w")  # noqa: SIM115 - daphne writes to it for the whole run
    daphne = subprocess.Popen(
        [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "servicedesk.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)),
    )
    http = http_port = None
    if args.http_workers:
        http_port = free_port()
        http = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "servicedesk.wsgi:application", "-w", str(args.http_workers),
             "-b", f"127.0.0.1:{http_port}"],
            cwd=ROOT, env={**env, "DB_CONN_MAX_AGE": "60", "DB_POOL_MAX_SIZE": "0"},
            stdout=subprocess.DEVNULL, stderr=log,
        )
    try:
        for p in (port, http_port):
            for _ in range(100):
                if p is None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", p), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
        print(
            f"omni bench: daphne pid {daphne.pid} on :{port}, full mode (PostgreSQL {settings.DATABASES['default']['NAME']}, "
            + (
                "Redis channel layer: pub/sub, "
                if env.get("CHANNELS_BACKEND", "pubsub") == "pubsub"
                else f"Redis channel layer: lists, capacity {args.layer_capacity or env.get('CHANNELS_CAPACITY', '5000 (default)')}, "
            )
            + "DEBUG=0, "
            f"DB_CONN_MAX_AGE={env.get('DB_CONN_MAX_AGE', '0 (default)')}, "
            f"no Celery worker (routing runs in the request)"
            + (f"; HTTP on gunicorn, {args.http_workers} sync workers (pid {http.pid}, :{http_port})" if http else "")
        )
        print(
            f"{args.customers} widget customers, {args.agents} agents (queue max {args.max_conversations}), "
            f"{args.messages} messages each way per conversation; think {args.think} s, agent typing {args.agent_delay} s"
        )
        print(f"load average at start: {loadavg()}")
        asyncio.run(run(port, args, agents_in, daphne.pid, http_port, http.pid if http else None))
    finally:
        if http is not None:
            http.send_signal(signal.SIGTERM)
            try:
                http.wait(10)
            except subprocess.TimeoutExpired:
                http.kill()
        daphne.send_signal(signal.SIGTERM)
        try:
            daphne.wait(10)
        except subprocess.TimeoutExpired:
            daphne.kill()


if __name__ == "__main__":
    main()
