"""``manage.py seed_demo``: demo data for an empty database.

Seeds only when there are no tickets yet, so ``make run`` can call it every
time. ``--tickets`` scales the load (1,000,000 takes a few minutes on
PostgreSQL); ``--seed`` makes the data repeatable (relative to the time it
runs: tickets are spread over the last 60 days).
"""

from django.core.management.base import BaseCommand, CommandParser

from tickets.demo import DEMO_LOGINS, demo_password, seed
from tickets.models import Ticket


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo data: operators, teams, catalogue, customers and tickets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets", type=int, default=1500, help="How many tickets (default 1500)."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument(
            "--days",
            type=int,
            default=60,
            help="Spread the openings over this many days (default 60).",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=25_000,
            help="Tickets generated and written per batch (default 25000).",
        )
        parser.add_argument(
            "--bulk",
            choices=["auto", "on", "off"],
            default="auto",
            help="PostgreSQL only: detach indexes and foreign keys during the load "
            "(auto = from 50000 tickets on).",
        )

    def handle(self, *args, **options) -> None:
        if Ticket.objects.exists():
            self.stdout.write(
                "The database already has tickets; seed_demo only fills an empty one. Nothing done."
            )
            return
        count = options["tickets"]
        if count < 1:
            self.stderr.write("--tickets must be at least 1.")
            return
        verbose = options["verbosity"] >= 2 or (options["verbosity"] >= 1 and count >= 100_000)
        bulk = {"auto": None, "on": True, "off": False}[options["bulk"]]
        result = seed(
            tickets=count,
            seed=options["seed"],
            days=options["days"],
            chunk_size=max(1000, options["chunk_size"]),
            bulk=bulk,
            progress=self.stdout.write if verbose else None,
        )
        if options["verbosity"] < 1:
            return
        stats = result.stats
        rows = result.rows
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data created in {result.seconds:.1f}s"
                + (" (bulk load)" if result.bulk else "")
                + "."
            )
        )
        self.stdout.write(
            f"  customers {rows['customers']:,}, tickets {rows['tickets']:,} "
            f"({stats.open:,} open, {stats.unassigned:,} of them 'Sem resgate'; {stats.closed:,} finalized)"
        )
        self.stdout.write(
            f"  stages {rows['stages']:,} ({stats.late_stages:,} open and late), events {rows['events']:,}, "
            f"comments {rows['comments']:,}, watchers {rows['watchers']:,}"
        )
        so = ", ".join(f"{status} {n:,}" for status, n in sorted(stats.by_os_status.items()))
        self.stdout.write(
            f"  service orders {rows['orders']:,} ({stats.late_orders:,} late); tickets by O.S.: {so}"
        )
        self.stdout.write(
            "  counters: " + ", ".join(f"{k}={v}" for k, v in sorted(result.counters.items()))
        )
        self.stdout.write("Logins (password " + demo_password() + "):")
        for username, role in DEMO_LOGINS:
            note = (
                "  (already existed: password unchanged)"
                if username in result.existing_users
                else ""
            )
            self.stdout.write(f"  {username:<11} {role}{note}")
