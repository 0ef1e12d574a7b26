"""EXPLAIN (ANALYZE, BUFFERS) of the SQL each panel view runs, saved under bench/explain/.

Run from the project root against the seeded benchmark database (see
``bench/panels_bench.py``)::

    .venv/bin/python bench/panels_explain.py [--only open/,late/] [--kinds first,deep,filter,sort]

For each registered grid view it renders the same requests as the benchmark
(first page, deep page, filtered, sorted) through the view's own code with
``CaptureQueriesContext``, then explains every captured query that reads the
ticket, event, stage or SLA clock tables. A plan with a sequential scan of
``tickets_ticket`` is flagged; the summary lists each query's time and its
scans. Read-only: EXPLAIN ANALYZE of SELECTs only.
"""

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "explain"
BIG_TABLES = ("tickets_ticket", "tickets_ticketevent", "tickets_ticketstage", "sla_slaclock")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/panelsbench?options=-c%20jit%3Doff")
    parser.add_argument("--only", default="")
    parser.add_argument("--kinds", default="first,deep,filter,sort")
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
            "DATABASE_URL": args.database_url,
            "DEBUG": "0",
            "SECRET_KEY": "explain-only",
            "ALLOWED_HOSTS": "testserver",
            "VAR_DIR": "/tmp/panelsbench-var",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    sys.path.insert(0, str(ROOT / "bench"))
    from panels_bench import build_targets, collectstatic

    from dashboards.grids.paging import SORT_ALIAS

    collectstatic(dict(os.environ), os.environ["VAR_DIR"])

    kinds = set(args.kinds.split(","))
    only = [o for o in args.only.split(",") if o]
    user = get_user_model().objects.get(username="supervisor")
    OUT.mkdir(parents=True, exist_ok=True)
    summary = []
    client = Client()
    client.force_login(user)
    htmx = {"HX-Request": "true", "HX-Target": "grid"}
    for target in build_targets(only):
        if target.label.startswith("counts"):
            continue
        lines = [f"# {target.label}", ""]
        for req in target.requests:
            if req.kind not in kinds:
                continue
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(req.path, req.params, secure=True, headers=htmx if req.htmx else {})
            if response.status_code != 200:
                summary.append(f"{target.label:<34} {req.kind:<6} HTTP {response.status_code}")
                continue
            for number, query in enumerate(ctx.captured_queries, start=1):
                sql = query["sql"]
                if not sql.startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                total = re.search(r"Execution Time: ([\d.]+) ms", plan)
                ms = float(total.group(1)) if total else -1.0
                seq = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
                # A count (one COUNT, or the sum of a split count's), a page's sort keys, or its rows.
                if sql.startswith("SELECT COUNT") or sql.startswith("SELECT (SELECT COUNT"):
                    what = "count"
                elif SORT_ALIAS in sql.split(" FROM ", 1)[0] and sql.split(" FROM ", 1)[0].count(",") <= 2:
                    what = "keys"
                else:
                    what = "rows"
                flag = "  SEQ SCAN OF tickets_ticket" if "tickets_ticket" in seq else ""
                summary.append(
                    f"{target.label:<34} {req.kind:<6} {what:<5} {ms:>8.1f} ms"
                    f"  seq: {', '.join(seq) or '-'}{flag}"
                )
                lines += [f"## {req.kind} ({what}), query {number}: {ms:.1f} ms", "", sql, "", plan, ""]
        (OUT / f"{target.label.replace('/', '__')}.txt").write_text("\n".join(lines))
    (OUT / "SUMMARY.txt").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
