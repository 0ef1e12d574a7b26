"""Business time: the clock every SLA deadline is counted on.

Pure functions over a :class:`BusinessCalendar` value object, with no Django
import, so models can build a calendar from their rows and services can call
these functions in tight batch loops.

Semantics
---------
* A calendar is open during its weekly intervals, given in the wall-clock time
  of its time zone, except on its holiday dates; or at every instant when
  ``always_open`` is set (24x7, where holidays do not apply; a "24x7 except
  holidays" calendar is written as 00:00-24:00 on every weekday).
* Intervals are half-open, ``[start, end)``: at 12:00 a calendar open
  08:00-12:00 is already closed.  An end of ``time(0, 0)`` means 24:00 (end of
  the day); intervals never cross midnight, so a night shift is written as
  22:00-24:00 on one weekday and 00:00-06:00 on the next.
* Business time is real elapsed time (what a stopwatch measures) inside open
  intervals, so it is right across DST changes in any zoneinfo zone: with
  00:00-24:00 every day, a spring-forward day holds 23 hours.  Wall times that
  a DST change skips or repeats resolve as ``fold=0`` (PEP 495) does.
* ``add_business_time(cal, start, 0)`` returns ``start`` (the same instant),
  open or not.  With a positive amount counting starts at ``start``, or at
  the next opening if ``start`` is closed, and the result is always open or
  exactly at the end of an interval (Friday 17:00 + 1h is Friday 18:00, not
  Monday 08:00).
* Results are aware datetimes in the calendar's time zone; naive inputs are
  rejected.

How it stays fast
-----------------
Week skipping with a weekly total is only exact when no DST change falls in
open time, so instead each calendar lazily lays out its open intervals as
absolute instants (integer microseconds) over the years it is asked about,
with running totals.  ``business_time_between`` is two binary searches and
``add_business_time`` three, whatever the amount: no loop over minutes, days
or weeks per call.  The layout is built once per calendar (a few milliseconds
per year), grows by whole years when a query leaves it, and is shared by
equal calendars, so a model may rebuild its calendar per ticket and still hit
the cache.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TZ",
    "BusinessCalendar",
    "add_business_time",
    "add_business_us",
    "brazil_holidays",
    "business_time_between",
    "is_open",
    "next_opening",
]

DEFAULT_TZ = "America/Sao_Paulo"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DAY_US = 86_400_000_000
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")

Interval = tuple[time, time]
Weekly = tuple[tuple[Interval, ...], ...]


@dataclass(frozen=True)
class BusinessCalendar:
    """When the clock runs: weekly intervals, holidays, time zone, or 24x7.

    ``weekly`` maps a weekday (0 = Monday … 6 = Sunday) to its ``(start,
    end)`` intervals of naive times, sorted and non-overlapping (touching is
    fine), where an end of ``time(0, 0)`` means 24:00; missing weekdays are
    closed.  It may also be given as a 7-item sequence and is
    always stored as one, ``weekly[weekday]``, so the calendar is hashable.
    """

    weekly: Mapping[int, Sequence[Interval]] | Weekly
    holidays: frozenset[date] = frozenset()
    tz: tzinfo = ZoneInfo(DEFAULT_TZ)
    always_open: bool = False

    def __post_init__(self) -> None:
        weekly, day_us = _normalise_weekly(self.weekly)
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"holiday {day!r} is not a date")
        if not isinstance(self.tz, tzinfo):
            raise ValueError(f"tz {self.tz!r} is not a tzinfo")
        if self.always_open:
            if any(weekly) or holidays:
                raise ValueError("a 24x7 calendar takes no weekly intervals nor holidays")
        elif not any(weekly):
            raise ValueError("the calendar is never open: give it some weekly interval")
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_day_us", day_us)
        object.__setattr__(self, "_layout", None if self.always_open else _shared_layout(self))

    @classmethod
    def from_spec(
        cls,
        *,
        weekly: Mapping[int | str, Iterable[tuple[time | str, time | str]]] | None = None,
        holidays: Iterable[date] = (),
        tz: str | tzinfo = DEFAULT_TZ,
        always_open: bool = False,
    ) -> BusinessCalendar:
        """Build a calendar from friendly values.

        Weekday keys are 0-6, ``"mon"``…``"sun"`` or a range like
        ``"mon-fri"``; times are ``time`` objects or ``"HH:MM[:SS]"`` strings,
        where ``"24:00"`` is the end of the day::

            BusinessCalendar.from_spec(
                weekly={"mon-fri": [("08:00", "12:00"), ("13:00", "18:00")]},
                holidays=brazil_holidays(range(2026, 2029), subdiv="SP"),
            )
        """
        days: dict[int, tuple[Interval, ...]] = {}
        for key, intervals in (weekly or {}).items():
            parsed = tuple(
                (_parse_clock(start, is_end=False), _parse_clock(end, is_end=True))
                for start, end in intervals
            )
            for weekday in _parse_weekdays(key):
                if weekday in days:
                    raise ValueError(f"weekday {WEEKDAY_NAMES[weekday]} given twice")
                days[weekday] = parsed
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return cls(weekly=days, holidays=frozenset(holidays), tz=zone, always_open=always_open)


def brazil_holidays(
    years: int | Iterable[int], subdiv: str | None = None, extra: Iterable[date] = ()
) -> frozenset[date]:
    """National holidays of Brazil (plus those of state ``subdiv``) and ``extra`` dates.

    ``extra`` is where the admin's own dates go (municipal holidays, one-off
    closures).  Only the given years are filled in: pass every year deadlines
    may reach, since any other date counts as an ordinary day.
    """
    import holidays as holidays_lib  # here, not at the top: it takes ~0.3 s to import

    wanted = [years] if isinstance(years, int) else list(years)
    try:
        found = holidays_lib.country_holidays("BR", subdiv=subdiv, years=wanted)
    except NotImplementedError as error:
        raise ValueError(str(error)) from error
    return frozenset(found) | frozenset(extra)


def is_open(calendar: BusinessCalendar, instant: datetime) -> bool:
    """Whether ``instant`` falls inside open time."""
    x = _to_us(instant)
    if calendar.always_open:
        return True
    layout = _layout_of(calendar).covering(x, x)
    i = bisect_right(layout.starts, x) - 1
    return i >= 0 and x < layout.ends[i]


def next_opening(calendar: BusinessCalendar, instant: datetime) -> datetime:
    """The first open instant at or after ``instant`` (``instant`` itself when open)."""
    x = _to_us(instant)
    if calendar.always_open:
        return _from_us(x, calendar.tz)
    holder = _layout_of(calendar)
    layout = holder.covering(x, x)
    while True:
        i = bisect_right(layout.starts, x) - 1
        if i >= 0 and x < layout.ends[i]:
            return _from_us(x, calendar.tz)
        if i + 1 < len(layout.starts):
            return _from_us(layout.starts[i + 1], calendar.tz)
        layout = holder.grow_forward(layout)


def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which ``amount`` of open time has run, counting from ``start``.

    Raises ``ValueError`` for a negative amount.
    """
    return _from_us(add_business_us(calendar, _to_us(start), _amount_us(amount)), calendar.tz)


def add_business_us(calendar: BusinessCalendar, start_us: int, amount_us: int) -> int:
    """:func:`add_business_time` on integer microseconds since the Unix epoch.

    For tight batch loops (``sla.batch``) that read and write instants as
    integers and so skip building a ``datetime`` per row.
    """
    if amount_us < 0:
        raise ValueError(f"amount {amount_us} us is negative")
    if amount_us == 0 or calendar.always_open:
        return start_us + amount_us
    holder = _layout_of(calendar)
    layout = holder.covering(start_us, start_us)
    while True:
        target = layout.open_before(start_us) + amount_us
        if target <= layout.cum[-1]:
            break
        layout = holder.grow_forward(layout)
    # The interval j where the running total reaches the target:
    # cum[j] < target <= cum[j + 1], hence a result in (starts[j], ends[j]].
    j = bisect_left(layout.cum, target) - 1
    return layout.starts[j] + target - layout.cum[j]


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Open time in ``[start, end)``; zero when ``end <= start``."""
    a, b = _to_us(start), _to_us(end)
    if b <= a:
        return timedelta(0)
    if calendar.always_open:
        return timedelta(microseconds=b - a)
    layout = _layout_of(calendar).covering(a, b)
    return timedelta(microseconds=layout.open_before(b) - layout.open_before(a))


# --- internals -------------------------------------------------------------


class _Layout:
    """Open intervals, as absolute microseconds, of local years [first_year, last_year).

    ``starts``/``ends`` are sorted, disjoint and non-touching; ``cum[i]`` is
    the open time before ``starts[i]`` and ``cum[-1]`` the total.  Immutable
    once built, so readers in other threads never see it half done.
    """

    __slots__ = ("cum", "ends", "first_year", "hi", "last_year", "lo", "starts")

    def __init__(self, calendar: BusinessCalendar, first_year: int, last_year: int) -> None:
        self.first_year = first_year
        self.last_year = last_year
        tz = calendar.tz
        first, last = date(first_year, 1, 1), date(last_year, 1, 1)
        self.lo = lo = _wall_to_us(first, 0, tz)
        self.hi = hi = _wall_to_us(last, 0, tz)
        day_us: tuple[tuple[tuple[int, int], ...], ...] = calendar._day_us  # type: ignore[attr-defined]
        holidays = calendar.holidays
        starts: list[int] = []
        ends: list[int] = []
        # One day of margin each side: around a DST change at midnight a
        # neighbour day's interval may reach into the range.
        day = first - _ONE_DAY if first > date.min else first
        stop = last + _ONE_DAY if last < date.max else last
        while day < stop:
            intervals = day_us[day.weekday()]
            if intervals and day not in holidays:
                for wall_start, wall_end in intervals:
                    a = max(_wall_to_us(day, wall_start, tz), lo)
                    b = min(_wall_to_us(day, wall_end, tz), hi)
                    # Wall times in a DST gap can map past the next interval's
                    # start: clip against what is already laid out.
                    if ends and a <= ends[-1]:
                        if b > ends[-1]:
                            ends[-1] = b
                    elif a < b:
                        starts.append(a)
                        ends.append(b)
            day += _ONE_DAY
        cum = [0]
        total = 0
        for a, b in zip(starts, ends, strict=True):
            total += b - a
            cum.append(total)
        self.starts, self.ends, self.cum = starts, ends, cum

    def open_before(self, x: int) -> int:
        """Open time in [lo, x), for lo <= x <= hi."""
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(x, self.ends[i]) - self.starts[i]


class _LayoutHolder:
    """The current, growing layout of one calendar (and of all equal ones)."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self.layout: _Layout | None = None

    def covering(self, a: int, b: int) -> _Layout:
        """A layout with lo <= a and b < hi."""
        layout = self.layout
        if layout is not None and layout.lo <= a and b < layout.hi:
            return layout
        tz = self.calendar.tz
        first = _from_us(a, tz).year
        last = _from_us(b, tz).year + 2  # a year of room ahead for add_business_time
        if layout is not None:
            first, last = min(first, layout.first_year), max(last, layout.last_year)
        while True:
            layout = _Layout(self.calendar, first, last)
            if layout.lo <= a and b < layout.hi:
                self.layout = layout
                return layout
            if a < layout.lo:
                first -= 1
            if b >= layout.hi:
                last += 1

    def grow_forward(self, layout: _Layout) -> _Layout:
        """A layout reaching at least twice as far forward (amortised rebuilds)."""
        current = self.layout if self.layout is not None else layout
        span = max(1, current.last_year - current.first_year)
        if current.last_year + span > date.max.year:
            raise OverflowError("business time result out of range")
        grown = _Layout(self.calendar, current.first_year, current.last_year + span)
        self.layout = grown
        return grown


@lru_cache(maxsize=256)
def _shared_layout(calendar: BusinessCalendar) -> _LayoutHolder:
    return _LayoutHolder(calendar)


def _layout_of(calendar: BusinessCalendar) -> _LayoutHolder:
    return calendar._layout  # type: ignore[attr-defined]


def _normalise_weekly(
    weekly: Mapping[int, Sequence[Interval]] | Weekly,
) -> tuple[Weekly, tuple[tuple[tuple[int, int], ...], ...]]:
    if isinstance(weekly, Mapping):
        for key in weekly:
            if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= 6:
                raise ValueError(f"weekday {key!r} is not 0 (Monday) … 6 (Sunday)")
        days = [tuple(weekly.get(weekday, ())) for weekday in range(7)]
    else:
        days = [tuple(intervals) for intervals in weekly]
        if len(days) != 7:
            raise ValueError("weekly needs 7 weekdays, Monday first")
    normalised: list[tuple[Interval, ...]] = []
    as_us: list[tuple[tuple[int, int], ...]] = []
    for weekday, intervals in enumerate(days):
        previous_end = 0
        day: list[tuple[int, int]] = []
        for interval in intervals:
            start, end = interval
            for moment in (start, end):
                if not isinstance(moment, time) or moment.tzinfo is not None:
                    raise ValueError(f"{moment!r} is not a naive time")
            a = _clock_us(start)
            b = _clock_us(end) or _DAY_US  # 00:00 as an end means 24:00
            name = WEEKDAY_NAMES[weekday]
            if a >= b:
                raise ValueError(f"{name}: interval {start}-{end} does not end after it starts")
            if a < previous_end:
                raise ValueError(f"{name}: intervals must be sorted and must not overlap")
            if day and a == previous_end:
                day[-1] = (day[-1][0], b)  # touching intervals: one stretch
            else:
                day.append((a, b))
            previous_end = b
        normalised.append(tuple((start, end) for start, end in intervals))
        as_us.append(tuple(day))
    return tuple(normalised), tuple(as_us)


def _parse_weekdays(key: int | str) -> range:
    if isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key <= 6:
            return range(key, key + 1)
    elif isinstance(key, str):
        first, _, last = key.strip().lower().partition("-")
        try:
            a = WEEKDAY_NAMES.index(first)
            b = WEEKDAY_NAMES.index(last) if last else a
        except ValueError:
            pass
        else:
            if a <= b:
                return range(a, b + 1)
    raise ValueError(f"weekday {key!r} is not 0-6, mon…sun nor a range like mon-fri")


def _parse_clock(value: time | str, *, is_end: bool) -> time:
    """``"HH:MM[:SS]"`` to a time; an end of ``"24:00"`` becomes ``time(0)``, the end-of-day mark."""
    if isinstance(value, time):
        return value
    match = _CLOCK_RE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not HH:MM")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if (hour, minute, second) == (24, 0, 0) and is_end:
        return time(0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{value!r} is not a time of day")
    return time(hour, minute, second)


def _clock_us(moment: time) -> int:
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


def _wall_to_us(day: date, wall_us: int, tz: tzinfo) -> int:
    """Absolute microseconds of a wall time (``_DAY_US`` = 24:00) on a local date."""
    if wall_us >= _DAY_US:
        day, wall_us = day + _ONE_DAY, wall_us - _DAY_US
    local = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(microseconds=wall_us)
    return (local - _EPOCH) // _ONE_US


def _to_us(moment: datetime) -> int:
    if not isinstance(moment, datetime):
        raise ValueError(f"{moment!r} is not a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive: give an aware datetime")
    return (moment - _EPOCH) // _ONE_US


def _from_us(x: int, tz: tzinfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=x)).astimezone(tz)


def _amount_us(amount: timedelta) -> int:
    if amount < timedelta(0):
        raise ValueError(f"amount {amount} is negative")
    return amount // _ONE_US
