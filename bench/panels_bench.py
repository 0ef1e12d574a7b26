"""How fast the panel grids are at a million tickets, over HTTP, as in full mode.

Run from the project root, after seeding a PostgreSQL database once::

    psql -h 127.0.0.1 -U postgres -c "create database panelsbench"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/panelsbench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --tickets 1000000
    .venv/bin/python bench/panels_bench.py            # --help for the options

It serves the product the way full mode does (PostgreSQL, Redis channel layer
and cache when ``REDIS_URL`` is reachable, ``DEBUG=0`` with a ``SECRET_KEY``
and ``ALLOWED_HOSTS``, persistent connections) with uvicorn and 2 worker
processes (HTTP only; websockets stay on daphne in production, see README),
signs in as the demo ``supervisor`` and requests every view of the panel
registry: the first page (with "listar todos" for the views that open in
search mode), a deep page (a keyset cursor half-way through the view's rows),
one filtered and one sorted request (both as the htmx swaps the page sends),
plus each tab's badge counts. Each runs at 1 and at 8 concurrent clients; per
view it prints the median and p95 response time, requests per second and the
SQL queries per request (the ``X-Query-Count`` header, added only by the
benchmark's settings module ``bench/panels_settings.py``).

The client runs on the same machine, so its own CPU use is part of the
result. Nothing here writes to the database except the login.
"""

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
# JIT off: see README ("PostgreSQL settings"); the compile time dwarfs these short queries.
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/panelsbench?options=-c%20jit%3Doff"
TARGET_P95_MS = 150.0
# The same HTTPS-behind-a-proxy shape as production: Django sees a secure request.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
HTMX_HEADERS = {"HX-Request": "true", "HX-Target": "grid", "HX-Current-URL": "https://127.0.0.1/panel/"}


def _env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.panels_settings",
            "DATABASE_URL": args.database_url,
            "DEBUG": "0",
            "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "DB_CONN_MAX_AGE": "60",
            "VAR_DIR": args.var_dir,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        env["CHANNELS_PREFIX"] = "panelsbench"
    return env


# --- what to request --------------------------------------------------------------------------------


@dataclass
class Request:
    kind: str  # first, deep, filter, sort, counts
    path: str
    params: dict[str, str]
    htmx: bool = False


@dataclass
class Target:
    label: str
    requests: list[Request]
    notes: list[str] = field(default_factory=list)


KIND_ABBR = {"first": "p", "deep": "d", "filter": "f", "sort": "s", "counts": "c"}
# Filters tried in this order, the first column a view has wins: (column key, value).
FILTERS = [("origin", "whatsapp"), ("sla", "breached"), ("finalized", "1"), ("code", "")]
# Sorts tried in this order (the column must be sortable and not the default sort).
SORTS = ["customer", "sla", "assignee", "protocol", "code"]


def build_targets(only: list[str]) -> list[Target]:
    """Every registered view (and each tab's badge counts), with its requests."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.http import QueryDict
    from django.urls import reverse
    from django.utils import timezone

    from dashboards.grids import registry
    from dashboards.grids.grid import GridView
    from dashboards.grids.paging import SORT_ALIAS, encode_cursor, ordering

    user = get_user_model().objects.get(username="supervisor")
    now = timezone.now()
    targets = []
    for view in registry.all_views():
        if only and not any(o in view.key for o in only):
            continue
        path = reverse("dashboards:view", kwargs={"tab": view.tab, "view": view.slug})
        base = {"all": "1"} if getattr(view, "search_mode", False) else {}
        target = Target(view.key, [Request("first", path, dict(base))])
        targets.append(target)
        if not isinstance(view, GridView):
            target.notes.append("not a grid: first page only")
            continue
        sort_column, descending = view.sort_of(QueryDict())
        expr = sort_column.sort_expression()
        qs = (
            view.base_queryset(user, now)
            .annotate(**{SORT_ALIAS: expr})
            .order_by(*ordering(descending=descending, forward=True, nullable=sort_column.nullable))
        )
        total = qs.count()
        if total > 50:
            # A cursor half-way through the rows: what "Próxima" gives after total/2 rows.
            value, pk = qs.values_list(SORT_ALIAS, "pk")[total // 2]
            target.requests.append(Request("deep", path, {**base, "after": encode_cursor(value, pk)}, htmx=True))
            target.notes.append(f"deep page at row {total // 2:,} of {total:,}")
        else:
            target.notes.append(f"only {total} rows: no deep page")
        for key, value in FILTERS:
            column = view.column_map.get(key)
            if column is None or not column.filter:
                continue
            if key == "code":
                value = str(qs.values_list("pk", flat=True).first() or 1)
            target.requests.append(Request("filter", path, {key: value}, htmx=True))
            target.notes.append(f"filter {key}={value}")
            break
        for key in SORTS:
            column = view.column_map.get(key)
            if column is None or not column.sortable or column is sort_column:
                continue
            target.requests.append(Request("sort", path, {**base, "o": key}, htmx=True))
            target.notes.append(f"sort {key}")
            break
    if not only or any("counts" in o for o in only):
        for tab in registry.tabs():
            if registry.views_of(tab.slug):
                targets.append(
                    Target(f"counts?tab={tab.slug}", [Request("counts", reverse("dashboards:counts"), {"tab": tab.slug})])
                )
    return targets


# --- the server -----------------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen:
    venv_bin = Path(sys.executable).parent
    if args.server == "gunicorn-wsgi":
        # Sync workers: each worker's one thread keeps its database connection (CONN_MAX_AGE).
        cmd = [
            str(venv_bin / "gunicorn"), "servicedesk.wsgi:application", "-w", str(args.workers),
            "-b", f"127.0.0.1:{args.port}", "--log-level", "warning", "--backlog", "64",
        ]
    elif args.server == "gunicorn":
        cmd = [
            str(venv_bin / "gunicorn"), "servicedesk.asgi:application", "-k", "uvicorn.workers.UvicornWorker",
            "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}", "--log-level", "warning",
        ]
    else:
        cmd = [
            str(venv_bin / "uvicorn"), "servicedesk.asgi:application", "--host", "127.0.0.1",
            "--port", str(args.port), "--workers", str(args.workers), "--no-access-log",
            "--log-level", "warning", "--lifespan", "off",
        ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def collectstatic(env: dict[str, str], var_dir: str) -> None:
    # DEBUG=0 serves static files through WhiteNoise's manifest storage, which needs collectstatic
    # (run every time: it only copies what changed).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


# --- the client ---------------------------------------------------------------------------------------------


async def login(client, base: str) -> dict[str, str]:
    """Sign in as the supervisor through the login form; return the Cookie header to send.

    With DEBUG=0 the cookies are ``Secure``; httpx's jar would keep them off
    plain HTTP, so they are carried by hand.
    """
    import re

    page = await client.get(f"{base}/accounts/login/", headers=PROXY_HEADERS)
    csrf = page.cookies.get("csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = await client.post(
        f"{base}/accounts/login/",
        data={"username": "supervisor", "password": "demo1234", "csrfmiddlewaretoken": token},
        headers={**PROXY_HEADERS, "Cookie": f"csrftoken={csrf}", "Origin": "https://" + base.split("://", 1)[1]},
    )
    session = response.cookies.get("sessionid")
    if response.status_code != 302 or not session:
        raise SystemExit(f"login failed: HTTP {response.status_code}")
    return {"Cookie": f"csrftoken={csrf}; sessionid={session}"}


@dataclass
class Sample:
    kind: str
    ms: float
    status: int
    queries: int
    sql_ms: float


async def fetch(client, base: str, cookie: dict[str, str], req: Request) -> Sample:
    headers = {**PROXY_HEADERS, **cookie, **(HTMX_HEADERS if req.htmx else {})}
    url = f"{base}{req.path}?{urlencode(req.params)}" if req.params else f"{base}{req.path}"
    began = time.perf_counter()
    response = await client.get(url, headers=headers)
    await response.aread()
    ms = (time.perf_counter() - began) * 1000
    return Sample(
        req.kind,
        ms,
        response.status_code,
        int(response.headers.get("X-Query-Count", -1)),
        float(response.headers.get("X-Query-Ms", -1)),
    )


async def run_target(client, base: str, cookie: dict[str, str], target: Target, clients: int, rounds: int):
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for _round in range(rounds):
        for req in target.requests:
            queue.put_nowait(req)
    samples: list[Sample] = []

    async def worker() -> None:
        while True:
            try:
                req = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            samples.append(await fetch(client, base, cookie, req))

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return samples, time.perf_counter() - began


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


def report(target: Target, samples: list[Sample], seconds: float) -> tuple[str, bool]:
    times = [s.ms for s in samples]
    bad = [s for s in samples if s.status != 200]
    by_kind: dict[str, set[int]] = {}
    for s in samples:
        by_kind.setdefault(s.kind, set()).add(s.queries)
    queries = " ".join(f"{KIND_ABBR[k]}{'/'.join(map(str, sorted(v)))}" for k, v in by_kind.items())
    sql = statistics.median(s.sql_ms for s in samples)
    worst_kind = max(by_kind, key=lambda k: p95([s.ms for s in samples if s.kind == k]))
    ok = p95(times) < TARGET_P95_MS and not bad
    line = (
        f"{target.label:<40} {statistics.median(times):>7.1f} {p95(times):>7.1f} {len(samples) / seconds:>7.1f}"
        f"  {queries:<22} {sql:>6.1f}  {worst_kind:<7}{'' if ok else '  <-- ' + ('HTTP ' + str(bad[0].status) if bad else 'p95')}"
    )
    return line, ok


async def main_async(args: argparse.Namespace, targets: list[Target], base: str) -> bool:
    import httpx

    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        cookie = await login(client, base)
        # Warm up: every request once per worker process (connections, caches, templates).
        for target in targets:
            for req in target.requests:
                for _ in range(args.workers):
                    sample = await fetch(client, base, cookie, req)
                    if sample.status != 200:
                        print(f"  warning: {target.label} {req.kind} answered HTTP {sample.status}")
        all_ok = True
        for clients in args.concurrency:
            print(f"\n== {clients} concurrent client{'s' if clients > 1 else ''}, {args.rounds} rounds of each view's requests")
            print(
                f"{'view':<40} {'median':>7} {'p95':>7} {'req/s':>7}  {'queries/request':<22} {'sql ms':>6}  slowest"
            )
            for target in targets:
                samples, seconds = await run_target(client, base, cookie, target, clients, args.rounds)
                line, ok = report(target, samples, seconds)
                all_ok &= ok
                print(line, flush=True)
        return all_ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("PANELS_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("PANELS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--var-dir", default="/tmp/panelsbench-var")
    parser.add_argument(
        "--server",
        choices=["gunicorn-wsgi", "uvicorn", "gunicorn"],
        default="gunicorn-wsgi",
        help="gunicorn-wsgi (default): sync WSGI workers; uvicorn / gunicorn: ASGI workers, where Django opens "
        "a database connection per request (no pool installed).",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--url", default="", help="Benchmark a server already running there instead of starting one.")
    parser.add_argument("--rounds", type=int, default=10, help="Rounds of each view's requests per concurrency level.")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    parser.add_argument("--no-prewarm", action="store_true", help="Do not read the database into the OS cache first.")
    parser.add_argument("--only", default="", help="Comma-separated parts of view keys (e.g. open/,late/all,counts).")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if not args.database_url.startswith("postgres"):
        print("panels_bench needs PostgreSQL (--database-url); see the module docstring.")
        return 2
    if args.redis_url and not _redis_up(args.redis_url):
        print(f"Redis not reachable at {args.redis_url}: running without it (in-memory channel layer).")
        args.redis_url = ""
    env = _env(args)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "SECRET_KEY",
                                           "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "DB_CONN_MAX_AGE", "VAR_DIR",
                                           "LOG_LEVEL")})
    if args.redis_url:
        os.environ["REDIS_URL"] = env["REDIS_URL"]
    sys.path.insert(0, str(ROOT))
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    try:
        import django

        django.setup()
        from tickets.models import Ticket

        tickets = Ticket.objects.count()
    except Exception as exc:  # noqa: BLE001 - any failure here means "not set up"
        print(f"panels_bench: cannot read {args.database_url} ({exc.__class__.__name__}: {exc}).")
        print("Create and seed it first; see the module docstring.")
        return 2
    if tickets < 100_000:
        print(f"panels_bench: only {tickets:,} tickets in the database; seed with --tickets 1000000 first.")
        return 2
    if not args.no_prewarm:
        prewarm()
    only = [o for o in args.only.split(",") if o]
    began = time.perf_counter()
    targets = build_targets(only)
    print(f"{tickets:,} tickets; {len(targets)} targets prepared in {time.perf_counter() - began:.1f}s")
    for target in targets:
        if target.notes:
            print(f"  {target.label}: {'; '.join(target.notes)}")
    proc = None
    base = args.url.rstrip("/")
    if not base:
        collectstatic(env, args.var_dir)
        proc = start_server(args, env)
        base = f"http://127.0.0.1:{args.port}"
        if not _wait_up(base, proc):
            stop_server(proc)
            print("the server did not start")
            return 1
        print(f"serving with {args.server}, {args.workers} worker processes, DEBUG=0, "
              f"{'Redis' if args.redis_url else 'no Redis'}; target p95 < {TARGET_P95_MS:.0f} ms")
    print("queries/request: per kind (p=first page, d=deep page, f=filter, s=sort, c=counts); "
          "sql ms: median SQL time per request, server side")
    try:
        ok = asyncio.run(main_async(args, targets, base))
    finally:
        if proc is not None:
            stop_server(proc)
    print("\nall views within target" if ok else "\nsome views missed the target")
    return 0 if ok else 1


def prewarm() -> None:
    """Read every table and index of the database once (``pg_prewarm``, 'read' mode: into the
    operating system's cache), as a database server's working set would be in memory. Without
    it a first run after seeding or a reboot measures the disk: with PostgreSQL's default 128 MB
    of shared buffers the panels read their indexes from the OS cache, and a machine that has
    dropped it answered the same counts two to three times slower."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except Exception as exc:  # noqa: BLE001 - not a superuser, or contrib missing: say so
            print(f"pg_prewarm unavailable ({exc.__class__.__name__}): measuring with the cache as it is")
            return
        cursor.execute(
            "SELECT count(*), coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't', 'm')"
        )
        relations, blocks = cursor.fetchone()
    print(f"prewarmed {relations} relations ({blocks * 8 // 1024:,} MB) into the OS cache in "
          f"{time.perf_counter() - began:.1f}s")


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _wait_up(base: str, proc: subprocess.Popen) -> bool:
    import httpx

    for _ in range(120):
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{base}/accounts/login/", headers=PROXY_HEADERS, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


if __name__ == "__main__":
    sys.exit(main())
