"""Calendar rows → the pure value objects the arithmetic works on, cached per process.

Building a spec reads the calendar's intervals and holidays and asks the
``holidays`` package for the national/state dates, a few milliseconds; tight
loops (recomputation, the stage calculator, the ticket page) must not repeat
it. The cache key holds the calendar's ``version``, which every change
through ``sla.services`` (calendar, interval, holiday, global holiday) bumps,
so another process sees a change on its next read of the calendar row.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from threading import Lock

from django.utils import timezone

from sla.businesstime import BusinessCalendar as CalendarSpec
from sla.models import BusinessCalendar, TimeUnit


@dataclass(frozen=True)
class CalendarInfo:
    spec: CalendarSpec
    business_day: timedelta

    def amount(self, quantity: Decimal | float | int, unit: str) -> timedelta:
        """Business time of ``quantity`` hours or days (a day is the calendar's business day)."""
        if unit == TimeUnit.DAYS:
            return self.business_day * float(quantity)
        return timedelta(hours=float(quantity))


_cache: dict[tuple[int, int, int], CalendarInfo] = {}
_lock = Lock()


def calendar_info(calendar: BusinessCalendar) -> CalendarInfo:
    key = (calendar.pk, calendar.version, timezone.localdate().year)
    info = _cache.get(key)
    if info is None:
        info = CalendarInfo(spec=calendar.spec(), business_day=calendar.business_day())
        with _lock:
            # Drop stale versions of this calendar so the cache stays small.
            for old in [k for k in _cache if k[0] == calendar.pk]:
                _cache.pop(old, None)
            _cache[key] = info
    return info


def calendar_infos(ids: set[int]) -> dict[int, CalendarInfo]:
    calendars = BusinessCalendar.objects.filter(pk__in=ids)
    return {c.pk: calendar_info(c) for c in calendars}


def clear_cache() -> None:
    with _lock:
        _cache.clear()
