"""Signed WhatsApp webhook deliveries at increasing rates, 20% duplicates, full mode.

    .venv/bin/python bench/webhook_bench.py [--rates 50,100,200,400] [--seconds 10] [--contacts 500]

1. a PostgreSQL database of its own (``whbench``, recreated each run), Redis db 6;
   one daphne process (the product's web server, ``bench.webhook_settings``: the product's
   URLs plus a bare view) and one Celery worker (the protocol messages each new
   conversation sends go out through it; the account has no credentials, so they end
   ``not_sent`` without leaving the machine);
2. for each rate: an open-loop load (deliveries start on schedule whatever the answers) of
   signed ``messages`` webhooks from ``--contacts`` contacts, one in five a re-delivery of an
   earlier message; prints accepted deliveries per second, p50/p95 response time, errors;
3. the reference: the same schedule against ``/bench/bare/`` on the same server;
4. at the end, the count of stored customer messages, which must equal the distinct
   messages sent.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = "whbench"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.webhook_settings"
os.environ.setdefault("CHANNELS_PREFIX", "whbench")

import django  # noqa: E402
import httpx  # noqa: E402

SECRET = "bench-app-secret"


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def payload(wa_id: str, msg_id: str, text: str) -> bytes:
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511999990000", "phone_number_id": "1000"},
            "contacts": [{"profile": {"name": f"Cliente {wa_id[-4:]}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": msg_id, "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}],
        }}]}],
    }).encode()


async def run_level(url: str, rate: int, seconds: float, make_body, sign: bool) -> dict:
    from omnichannel.providers.base import sign_hub

    total = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async def one(i: int) -> None:
            body = make_body(i)
            headers = {"Content-Type": "application/json"}
            if sign:
                headers["X-Hub-Signature-256"] = sign_hub(body, SECRET)
            t0 = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    ok = total - sum(errors.values())
    return {"sent": total, "ok": ok, "elapsed": elapsed, "rate": ok / elapsed,
            "p50": pct(latencies, 50) * 1000, "p95": pct(latencies, 95) * 1000, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--contacts", type=int, default=500)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)

    recreate_database()
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count

    call_command("migrate", verbosity=0)
    from omnichannel.models import Channel, ChannelAccount, Message, MessageKind, Queue
    from tickets.models import Company, Process, Team

    team = Team.objects.create(name="Bench")
    company = Company.objects.create(name="Bench Telecom", cnpj="11222333000181")
    process = Process.objects.create(name="Suporte")
    queue = Queue.objects.create(name="WA bench", channel=Channel.WHATSAPP, team=team, company=company,
                                 process=process)
    account = ChannelAccount.objects.create(name="WA bench", channel=Channel.WHATSAPP, external_id="1000",
                                            queue=queue, app_secret=SECRET, verify_token="v")
    port = free_port()
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "0", "INPROCESS_SCHEDULER": "0"}
    bin_dir = ROOT / ".venv/bin"
    # DEBUG=0 serves static files from the manifest (the error pages use it too).
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    web = subprocess.Popen([str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                            "servicedesk.asgi:application"], cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=open("/tmp/webhook_bench_daphne.log", "w"))  # noqa: SIM115
    worker = subprocess.Popen([str(bin_dir / "celery"), "-A", "servicedesk", "worker", "-l", "warning", "-c", "1",
                               "--without-heartbeat", "--without-gossip", "--without-mingle"], cwd=ROOT, env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=open("/tmp/webhook_bench_worker.log", "w"))  # noqa: SIM115
    mismatch = False
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        webhook = f"{base}/webhooks/whatsapp/{account.key}/"
        httpx.post(f"{base}/bench/bare/", content=b"{}")  # warm up
        print(f"webhook bench: one daphne process (pid {web.pid}) + one Celery worker, full mode "
              f"(PostgreSQL {DB}, Redis {os.environ['REDIS_URL']}); {args.seconds:.0f} s per rate, "
              f"{args.contacts} contacts, 20% re-deliveries; load average {os.getloadavg()[0]:.2f}")
        print()
        header = f"{'rate/s':>7} {'kind':<10} {'sent':>6} {'accepted/s':>10} {'p50 ms':>8} {'p95 ms':>8}  errors"
        print(header)
        print("-" * len(header))
        rng = random.Random(7)
        distinct: set[str] = set()
        counter = 0
        for rate in rates:
            sent_ids: list[str] = []

            def make_body(i: int, sent_ids: list = sent_ids) -> bytes:
                nonlocal counter
                if sent_ids and rng.random() < 0.2:
                    msg_id, wa_id = rng.choice(sent_ids)
                    return payload(wa_id, msg_id, "re-entrega")
                counter += 1
                wa_id = f"55119{rng.randrange(args.contacts):08d}"
                msg_id = f"wamid.BENCH{counter}"
                sent_ids.append((msg_id, wa_id))
                distinct.add(msg_id)
                return payload(wa_id, msg_id, f"Mensagem {counter} — sem conexão 😀")

            result = asyncio.run(run_level(webhook, rate, args.seconds, make_body, sign=True))
            print(f"{rate:>7} {'webhook':<10} {result['sent']:>6} {result['rate']:>10.1f} {result['p50']:>8.1f} "
                  f"{result['p95']:>8.1f}  {result['errors'] or ''}")
            bare = asyncio.run(run_level(f"{base}/bench/bare/", rate, args.seconds, lambda i: b"{}", sign=False))
            print(f"{rate:>7} {'bare view':<10} {bare['sent']:>6} {bare['rate']:>10.1f} {bare['p50']:>8.1f} "
                  f"{bare['p95']:>8.1f}  {bare['errors'] or ''}")
        stored = Message.objects.filter(kind=MessageKind.CUSTOMER, account=account).count()
        print()
        print(f"distinct messages sent: {len(distinct)}; stored: {stored} "
              f"({'OK' if stored == len(distinct) else 'MISMATCH'}); conversations: "
              f"{account.conversations.count()}; load average {os.getloadavg()[0]:.2f}")
        # The protocol messages went to the worker (no credentials: they end "not sent").
        time.sleep(3)
        states = dict(
            Message.objects.filter(kind=MessageKind.SYSTEM, account=account)
            .values("state").annotate(n=Count("id")).values_list("state", "n").order_by()
        )
        print(f"automatic messages by state after the run (worker): {states}")
        mismatch = stored != len(distinct)
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
    if mismatch:
        sys.exit("stored messages differ from the distinct messages sent")


if __name__ == "__main__":
    main()
