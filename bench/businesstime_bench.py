"""How fast business time is, for later reference.

Run from the project root: ``.venv/bin/python bench/businesstime_bench.py``.

Random starts in 2026-2027 and random amounts from 1 h to 30 days (720 h) of
business time, on a Monday-Friday 08:00-12:00 + 13:00-18:00 calendar with the
national and São Paulo state holidays of 2026-2030 and one admin closure.
"""

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sla.businesstime import (  # noqa: E402
    BusinessCalendar,
    add_business_time,
    brazil_holidays,
    business_time_between,
)

CALLS = 200_000
OFFICE = {"mon-fri": [("08:00", "12:00"), ("13:00", "18:00")]}


def main() -> None:
    rng = random.Random(2026)
    holidays = brazil_holidays(range(2026, 2031), subdiv="SP", extra=[date(2026, 3, 19)])
    calendar = BusinessCalendar.from_spec(weekly=OFFICE, holidays=holidays)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    span_s = 2 * 365 * 86_400
    starts = [first + timedelta(seconds=rng.randrange(span_s)) for _ in range(CALLS)]
    amounts = [timedelta(minutes=rng.randint(60, 30 * 24 * 60)) for _ in range(CALLS)]

    began = time.perf_counter()
    add_business_time(calendar, starts[0], timedelta(hours=1))
    layout_ms = (time.perf_counter() - began) * 1000

    began = time.perf_counter()
    deadlines = [add_business_time(calendar, s, a) for s, a in zip(starts, amounts, strict=True)]
    add_s = time.perf_counter() - began

    began = time.perf_counter()
    for s, d in zip(starts, deadlines, strict=True):
        business_time_between(calendar, s, d)
    between_s = time.perf_counter() - began

    # A model that rebuilds an equal calendar for every ticket still shares the layout.
    began = time.perf_counter()
    for s, a in zip(starts[:20_000], amounts[:20_000], strict=True):
        rebuilt = BusinessCalendar.from_spec(weekly=OFFICE, holidays=holidays)
        add_business_time(rebuilt, s, a)
    rebuilt_s = time.perf_counter() - began

    print(f"first call (lays out the calendar): {layout_ms:.1f} ms")
    print(f"add_business_time:          {CALLS / add_s:>10,.0f} calls/s")
    print(f"business_time_between:      {CALLS / between_s:>10,.0f} calls/s")
    print(f"rebuild calendar + add:     {20_000 / rebuilt_s:>10,.0f} calls/s")


if __name__ == "__main__":
    main()
