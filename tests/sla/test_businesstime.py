"""Business time: hand-computed cases, then properties over random calendars.

The standard calendar is Monday to Friday, 08:00-12:00 and 13:00-18:00 (9 h a
day, 45 h a week) in America/Sao_Paulo with Brazil's national holidays of
2026-2027.  Weekdays quoted in the comments were checked on a wall calendar:
2026-01-01 is a Thursday.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sla.businesstime import (
    BusinessCalendar,
    add_business_time,
    brazil_holidays,
    business_time_between,
    is_open,
    next_opening,
)

SP = ZoneInfo("America/Sao_Paulo")
NY = ZoneInfo("America/New_York")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
OFFICE = {"mon-fri": [("08:00", "12:00"), ("13:00", "18:00")]}

NATIONAL = BusinessCalendar.from_spec(weekly=OFFICE, holidays=brazil_holidays([2026, 2027]))
SAO_PAULO_STATE = BusinessCalendar.from_spec(
    weekly=OFFICE, holidays=brazil_holidays([2026, 2027], subdiv="SP")
)
ALWAYS = BusinessCalendar.from_spec(always_open=True)


def sp(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SP)


# --- holidays -----------------------------------------------------------------


def test_brazil_holidays_include_the_national_dates_of_2026_and_2027() -> None:
    found = brazil_holidays([2026, 2027])
    assert {
        date(2026, 11, 2),  # Finados
        date(2026, 11, 20),  # Consciência Negra, national since 2024
        date(2026, 12, 25),
        date(2027, 1, 1),
    } <= found


def test_state_holiday_is_only_included_when_its_state_is_chosen() -> None:
    revolucao_constitucionalista = date(2026, 7, 9)
    assert revolucao_constitucionalista in brazil_holidays(2026, subdiv="SP")
    assert revolucao_constitucionalista not in brazil_holidays(2026)
    assert revolucao_constitucionalista not in brazil_holidays(2026, subdiv="RJ")


def test_admin_extra_dates_join_the_holidays() -> None:
    closure = date(2026, 3, 19)
    assert brazil_holidays(2026, extra=[closure]) == brazil_holidays(2026) | {closure}


def test_unknown_state_is_rejected() -> None:
    with pytest.raises(ValueError, match="XX"):
        brazil_holidays(2026, subdiv="XX")


# --- add_business_time: hand-computed ----------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        # Friday 17:00: 1 h to 18:00, weekend, 1 h from Monday 08:00.
        pytest.param(sp(2026, 3, 6, 17), 2 * H, sp(2026, 3, 9, 9), id="friday-to-monday"),
        # Saturday is closed: counting starts Monday 08:00.
        pytest.param(sp(2026, 3, 7, 10), H, sp(2026, 3, 9, 9), id="saturday-start"),
        pytest.param(sp(2026, 3, 8, 23, 59), H, sp(2026, 3, 9, 9), id="sunday-night-start"),
        # 11:00-12:00, lunch, 13:00-14:00.
        pytest.param(sp(2026, 3, 9, 11), 2 * H, sp(2026, 3, 9, 14), id="crossing-lunch"),
        pytest.param(sp(2026, 3, 9, 12, 30), H, sp(2026, 3, 9, 14), id="start-in-lunch"),
        pytest.param(sp(2026, 3, 9, 6), H, sp(2026, 3, 9, 9), id="start-before-opening"),
        pytest.param(sp(2026, 3, 9, 19), H, sp(2026, 3, 10, 9), id="start-after-closing"),
        # Landing exactly on a closing time stays there.
        pytest.param(sp(2026, 3, 9, 8), 4 * H, sp(2026, 3, 9, 12), id="ends-at-lunch"),
        pytest.param(sp(2026, 3, 6, 17), H, sp(2026, 3, 6, 18), id="ends-at-closing"),
        pytest.param(sp(2026, 3, 9, 8), 9 * H, sp(2026, 3, 9, 18), id="one-full-day"),
        pytest.param(sp(2026, 3, 9, 8), 9 * H + MIN, sp(2026, 3, 10, 8, 1), id="day-and-a-minute"),
        pytest.param(sp(2026, 3, 9, 8), 45 * H, sp(2026, 3, 13, 18), id="one-full-week"),
        # Thursday 17:00; Friday 2026-11-20 Consciência Negra; weekend.
        pytest.param(sp(2026, 11, 19, 17), 2 * H, sp(2026, 11, 23, 9), id="consciencia-negra"),
        # Friday 17:00; weekend; Monday 2026-11-02 Finados.
        pytest.param(sp(2026, 10, 30, 17), 2 * H, sp(2026, 11, 3, 9), id="finados"),
        # Thursday 17:00; Friday 2026-12-25 Christmas; weekend.
        pytest.param(sp(2026, 12, 24, 17), 2 * H, sp(2026, 12, 28, 9), id="christmas"),
        # Thursday 2026-12-31 17:00; Friday 2027-01-01 holiday; weekend.
        pytest.param(sp(2026, 12, 31, 17), 2 * H, sp(2027, 1, 4, 9), id="year-boundary"),
        # Starting on the holiday itself.
        pytest.param(sp(2027, 1, 1, 10), H, sp(2027, 1, 4, 9), id="start-on-holiday"),
    ],
)
def test_add_business_time_on_the_national_calendar(
    start: datetime, amount: timedelta, expected: datetime
) -> None:
    assert add_business_time(NATIONAL, start, amount) == expected


def test_state_holiday_is_skipped_only_on_a_calendar_of_that_state() -> None:
    # Wednesday 2026-07-08 17:00; Thursday 07-09 is a São Paulo state holiday.
    start = sp(2026, 7, 8, 17)
    assert add_business_time(SAO_PAULO_STATE, start, 2 * H) == sp(2026, 7, 10, 9)
    assert add_business_time(NATIONAL, start, 2 * H) == sp(2026, 7, 9, 9)


def test_admin_closure_date_is_skipped() -> None:
    # Thursday 2026-03-19, São José: a municipal holiday in many cities.
    calendar = BusinessCalendar.from_spec(
        weekly=OFFICE, holidays=brazil_holidays(2026, extra=[date(2026, 3, 19)])
    )
    assert add_business_time(calendar, sp(2026, 3, 18, 17), 2 * H) == sp(2026, 3, 20, 9)


def test_three_hundred_business_days() -> None:
    # From Monday 2026-01-05, 51 weeks reach Sunday 2026-12-27 (255 weekdays),
    # plus Mon-Thu 12-28..31: 259 weekdays, less the 8 holidays of 2026 on a
    # weekday (04-03, 04-21, 05-01, 09-07, 10-12, 11-02, 11-20, 12-25) = 251
    # business days.  The other 49 start on Monday 2027-01-04 (01-01 is a
    # holiday): 9 weeks end on Friday 03-05 (45), then Mon-Thu 03-08..11; the
    # next holiday is Good Friday 03-26.  So the 300th ends Thursday 18:00.
    start = sp(2026, 1, 5, 8)
    deadline = add_business_time(NATIONAL, start, 300 * 9 * H)
    assert deadline == sp(2027, 3, 11, 18)
    assert business_time_between(NATIONAL, start, deadline) == 2700 * H


def test_zero_amount_returns_start_even_when_closed() -> None:
    saturday = sp(2026, 3, 7, 10)
    assert add_business_time(NATIONAL, saturday, timedelta(0)) == saturday


def test_negative_amount_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(NATIONAL, sp(2026, 3, 9, 9), -H)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_business_time(NATIONAL, datetime(2026, 3, 9, 9), H)
    with pytest.raises(ValueError, match="naive"):
        business_time_between(NATIONAL, datetime(2026, 3, 9, 9), sp(2026, 3, 10))


def test_result_is_in_the_calendar_time_zone() -> None:
    # 20:00 UTC is 17:00 in São Paulo (UTC-3).
    result = add_business_time(NATIONAL, datetime(2026, 3, 6, 20, tzinfo=UTC), 2 * H)
    assert result == sp(2026, 3, 9, 9)
    assert result.tzinfo == SP
    assert (result.hour, result.utcoffset()) == (9, timedelta(hours=-3))


# --- other shapes of calendar -------------------------------------------------


def test_always_open_calendar_adds_plain_elapsed_time() -> None:
    assert add_business_time(ALWAYS, sp(2026, 3, 6, 17), 2 * H) == sp(2026, 3, 6, 19)
    assert add_business_time(ALWAYS, sp(2026, 12, 24), timedelta(days=100)) == sp(2027, 4, 3)
    assert business_time_between(ALWAYS, sp(2026, 3, 7), sp(2026, 3, 9)) == 48 * H
    assert is_open(ALWAYS, sp(2026, 12, 25, 3))
    assert next_opening(ALWAYS, sp(2026, 3, 8, 3)) == sp(2026, 3, 8, 3)


def test_several_intervals_a_day() -> None:
    calendar = BusinessCalendar.from_spec(
        weekly={"mon-sun": [("06:00", "10:00"), ("14:00", "16:00"), ("20:00", "24:00")]}
    )
    # 09:00-10:00, 14:00-16:00, 20:00-21:00.
    assert add_business_time(calendar, sp(2026, 3, 9, 9), 4 * H) == sp(2026, 3, 9, 21)
    # 23:00-24:00, then 06:00-08:00 the next day.
    assert add_business_time(calendar, sp(2026, 3, 9, 23), 3 * H) == sp(2026, 3, 10, 8)
    assert business_time_between(calendar, sp(2026, 3, 9), sp(2026, 3, 10)) == 10 * H


def test_night_shift_runs_across_midnight() -> None:
    calendar = BusinessCalendar.from_spec(
        weekly={"mon": [("22:00", "24:00")], "tue": [("00:00", "06:00")]}
    )
    assert add_business_time(calendar, sp(2026, 3, 9, 23), 2 * H) == sp(2026, 3, 10, 1)
    assert business_time_between(calendar, sp(2026, 3, 9, 22), sp(2026, 3, 10, 6)) == 8 * H
    assert is_open(calendar, sp(2026, 3, 10, 0))
    # Tuesday 06:00 + 1 h: next Monday 22:00-23:00.
    assert add_business_time(calendar, sp(2026, 3, 10, 6), H) == sp(2026, 3, 16, 23)


def test_touching_intervals_form_one_stretch() -> None:
    calendar = BusinessCalendar.from_spec(weekly={"mon": [("08:00", "12:00"), ("12:00", "18:00")]})
    assert is_open(calendar, sp(2026, 3, 9, 12))
    assert add_business_time(calendar, sp(2026, 3, 9, 11), 2 * H) == sp(2026, 3, 9, 13)


def test_end_of_day_is_written_as_midnight() -> None:
    calendar = BusinessCalendar(weekly={0: ((time(20), time(0)),)}, tz=SP)
    assert business_time_between(calendar, sp(2026, 3, 9), sp(2026, 3, 10)) == 4 * H
    assert calendar == BusinessCalendar.from_spec(weekly={"mon": [("20:00", "24:00")]})


# --- business_time_between ----------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(sp(2026, 3, 2, 8), sp(2026, 3, 9, 8), 45 * H, id="one-week"),
        # Thursday 10-12 and 13-18 (7 h), Friday 11-20 holiday, weekend, Monday 08-10 (2 h).
        pytest.param(sp(2026, 11, 19, 10), sp(2026, 11, 23, 10), 9 * H, id="weekend-and-holiday"),
        # Thursday 2026-12-31 (9 h); 01-01 holiday; weekend; Monday 2027-01-04 (9 h).
        pytest.param(sp(2026, 12, 31, 8), sp(2027, 1, 4, 18), 18 * H, id="year-boundary"),
        pytest.param(sp(2026, 3, 9, 11, 30), sp(2026, 3, 9, 13, 30), H, id="around-lunch"),
        pytest.param(sp(2026, 3, 7), sp(2026, 3, 8, 23), timedelta(0), id="inside-weekend"),
        pytest.param(sp(2026, 3, 9, 10), sp(2026, 3, 9, 10), timedelta(0), id="empty"),
        pytest.param(sp(2026, 3, 10), sp(2026, 3, 9), timedelta(0), id="end-before-start"),
    ],
)
def test_business_time_between_on_the_national_calendar(
    start: datetime, end: datetime, expected: timedelta
) -> None:
    assert business_time_between(NATIONAL, start, end) == expected


# --- is_open / next_opening ---------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param(sp(2026, 3, 9, 8), True, id="opening-instant"),
        pytest.param(sp(2026, 3, 9, 12) - US, True, id="last-microsecond-before-lunch"),
        pytest.param(sp(2026, 3, 9, 12), False, id="lunch-starts"),
        pytest.param(sp(2026, 3, 9, 18), False, id="closing-instant"),
        pytest.param(sp(2026, 3, 7, 10), False, id="saturday"),
        pytest.param(sp(2026, 11, 20, 10), False, id="holiday"),
    ],
)
def test_is_open(instant: datetime, expected: bool) -> None:
    assert is_open(NATIONAL, instant) is expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param(sp(2026, 3, 9, 10), sp(2026, 3, 9, 10), id="already-open"),
        pytest.param(sp(2026, 3, 9, 12), sp(2026, 3, 9, 13), id="lunch"),
        pytest.param(sp(2026, 3, 6, 18), sp(2026, 3, 9, 8), id="friday-closing"),
        pytest.param(sp(2026, 12, 31, 18), sp(2027, 1, 4, 8), id="new-year"),
    ],
)
def test_next_opening(instant: datetime, expected: datetime) -> None:
    assert next_opening(NATIONAL, instant) == expected


# --- daylight saving time (not in Brazil since 2019, but any zone must work) --


def test_spring_forward_day_holds_23_hours_on_a_round_the_clock_schedule() -> None:
    calendar = BusinessCalendar.from_spec(weekly={"mon-sun": [("00:00", "24:00")]}, tz=NY)
    # 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT.
    start = datetime(2026, 3, 8, tzinfo=NY)
    assert business_time_between(calendar, start, datetime(2026, 3, 9, tzinfo=NY)) == 23 * H
    assert add_business_time(calendar, start, 3 * H) == datetime(2026, 3, 8, 4, tzinfo=NY)
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    fall = datetime(2026, 11, 1, tzinfo=NY)
    assert business_time_between(calendar, fall, datetime(2026, 11, 2, tzinfo=NY)) == 25 * H


def test_interval_ending_in_a_skipped_hour_does_not_count_twice() -> None:
    calendar = BusinessCalendar.from_spec(
        weekly={"sun": [("01:00", "02:30"), ("03:00", "04:00")]}, tz=NY
    )
    # 2026-03-08: 02:30 does not exist and reads as 03:30 EDT (fold=0), so the
    # two intervals cover 01:00 EST (06:00 UTC) to 04:00 EDT (08:00 UTC): 2 h.
    day = datetime(2026, 3, 8, tzinfo=NY)
    assert business_time_between(calendar, day, day.replace(hour=5)) == 2 * H
    assert add_business_time(calendar, day, 2 * H) == datetime(2026, 3, 8, 4, tzinfo=NY)
    assert is_open(calendar, datetime(2026, 3, 8, 3, 15, tzinfo=NY))


def test_always_open_adds_real_time_across_a_dst_change() -> None:
    calendar = BusinessCalendar.from_spec(always_open=True, tz=NY)
    noon_est = datetime(2026, 3, 7, 12, tzinfo=NY)
    assert add_business_time(calendar, noon_est, 24 * H) == datetime(2026, 3, 8, 13, tzinfo=NY)


def test_office_hours_are_untouched_by_a_night_dst_change() -> None:
    calendar = BusinessCalendar.from_spec(weekly={"mon-sun": [("08:00", "18:00")]}, tz=NY)
    start = datetime(2026, 3, 8, tzinfo=NY)
    assert business_time_between(calendar, start, start + timedelta(days=1)) == 10 * H


def test_sao_paulo_historical_dst_start_at_midnight() -> None:
    # 2018-11-04 São Paulo: 00:00 (-03) jumped to 01:00 (-02).
    calendar = BusinessCalendar.from_spec(weekly={"mon-sun": [("00:00", "24:00")]})
    assert business_time_between(calendar, sp(2018, 11, 3, 12), sp(2018, 11, 4, 12)) == 23 * H
    assert next_opening(calendar, sp(2018, 11, 4, 1)) == sp(2018, 11, 4, 1)


# --- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        pytest.param({0: [(time(8), time(12)), (time(11), time(13))]}, "overlap", id="overlap"),
        pytest.param({0: [(time(13), time(18)), (time(8), time(12))]}, "sorted", id="unsorted"),
        pytest.param({0: [(time(8), time(8))]}, "does not end", id="empty-interval"),
        pytest.param({0: [(time(18), time(8))]}, "does not end", id="backwards"),
        pytest.param({7: [(time(8), time(18))]}, "weekday", id="bad-weekday"),
        pytest.param({}, "never open", id="never-open"),
        pytest.param({0: [(time(8, tzinfo=UTC), time(9))]}, "naive", id="aware-time"),
    ],
)
def test_bad_weekly_schedule_is_rejected(weekly: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(weekly=weekly, tz=SP)


def test_bad_specs_are_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        BusinessCalendar.from_spec(weekly={"mon-fri": [("08:00", "18:00")], "fri": []})
    with pytest.raises(ValueError, match="time of day"):
        BusinessCalendar.from_spec(weekly={"mon": [("24:00", "24:00")]})
    with pytest.raises(ValueError, match="weekday"):
        BusinessCalendar.from_spec(weekly={"fri-mon": [("08:00", "18:00")]})
    with pytest.raises(ValueError, match="24x7"):
        BusinessCalendar.from_spec(weekly=OFFICE, always_open=True)
    with pytest.raises(ValueError, match="not a date"):
        BusinessCalendar.from_spec(weekly=OFFICE, holidays=[datetime(2026, 1, 1)])


def test_calendars_from_the_same_values_are_equal_and_hashable() -> None:
    direct = BusinessCalendar(
        weekly={day: ((time(8), time(12)), (time(13), time(18))) for day in range(5)},
        holidays=brazil_holidays([2026, 2027]),
        tz=SP,
    )
    assert direct == NATIONAL
    assert hash(direct) == hash(NATIONAL)
    assert direct.weekly[0] == ((time(8), time(12)), (time(13), time(18)))
    assert direct.weekly[5] == ()


# --- properties ---------------------------------------------------------------

ZONES = ["America/Sao_Paulo", "UTC", "America/New_York", "Europe/Berlin", "America/Havana"]
PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def calendars(draw: st.DrawFn, zones: list[str] = ZONES) -> BusinessCalendar:
    """1-3 intervals on minute boundaries per weekday, some weekdays closed."""
    weekly = {}
    always_open_day = draw(st.integers(0, 6))
    for weekday in range(7):
        if weekday != always_open_day and draw(st.integers(0, 2)) == 0:
            continue
        count = draw(st.integers(1, 3))
        points = sorted(draw(st.sets(st.integers(0, 1440), min_size=2 * count, max_size=2 * count)))
        weekly[weekday] = tuple(
            (_clock(points[i]), _clock(points[i + 1])) for i in range(0, 2 * count, 2)
        )
    weekly_minutes = sum(_minutes(b) - _minutes(a) for day in weekly.values() for a, b in day)
    assume(weekly_minutes >= 180)  # keeps a 500 h amount within a few years
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2029, 12, 31)), max_size=40))
    return BusinessCalendar(
        weekly=weekly, holidays=holidays, tz=ZoneInfo(draw(st.sampled_from(zones)))
    )


def _clock(minutes: int) -> time:
    return time(0) if minutes == 1440 else time(minutes // 60, minutes % 60)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute or 1440


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31, 23, 59), timezones=st.just(UTC)
)
amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=500))


@PROPERTIES
@given(calendars(), instants, amounts)
def test_measuring_what_was_added_gives_back_the_amount(
    calendar: BusinessCalendar, start: datetime, amount: timedelta
) -> None:
    end = add_business_time(calendar, start, amount)
    assert end >= start
    assert business_time_between(calendar, start, end) == amount


@PROPERTIES
@given(calendars(), instants, amounts, amounts)
def test_later_deadlines_for_larger_amounts(
    calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    small, large = sorted([a, b])
    assert add_business_time(calendar, start, small) <= add_business_time(calendar, start, large)


@PROPERTIES
@given(calendars(), instants, instants, amounts)
def test_later_starts_give_later_deadlines(
    calendar: BusinessCalendar, a: datetime, b: datetime, amount: timedelta
) -> None:
    early, late = sorted([a, b])
    assert add_business_time(calendar, early, amount) <= add_business_time(calendar, late, amount)


@PROPERTIES
@given(calendars(), instants, amounts.filter(bool))
def test_deadline_is_never_strictly_inside_closed_time(
    calendar: BusinessCalendar, start: datetime, amount: timedelta
) -> None:
    end = add_business_time(calendar, start, amount)
    assert is_open(calendar, end) or is_open(calendar, end - US)


@PROPERTIES
@given(calendars(), instants, instants, instants)
def test_between_adds_up_over_split_points(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    start, middle, end = sorted([a, b, c])
    whole = business_time_between(calendar, start, end)
    parts = business_time_between(calendar, start, middle) + business_time_between(
        calendar, middle, end
    )
    assert whole == parts
    assert timedelta(0) <= whole <= end - start


@PROPERTIES
@given(calendars(), instants)
def test_next_opening_is_open_and_nothing_opens_before_it(
    calendar: BusinessCalendar, instant: datetime
) -> None:
    opening = next_opening(calendar, instant)
    assert opening >= instant
    assert is_open(calendar, opening)
    assert business_time_between(calendar, instant, opening) == timedelta(0)
    assert is_open(calendar, instant) is (
        business_time_between(calendar, instant, instant + US) == US
    )


@PROPERTIES
@given(calendars(zones=["America/New_York", "America/Havana"]), instants, instants, amounts)
def test_answers_do_not_depend_on_what_was_asked_before(
    calendar: BusinessCalendar, far: datetime, start: datetime, amount: timedelta
) -> None:
    # A zone object made with no_cache is equal to no other, so each calendar
    # below starts with no layout of its own and grows it in another order.
    def cold() -> BusinessCalendar:
        return BusinessCalendar(
            weekly=calendar.weekly,
            holidays=calendar.holidays,
            tz=ZoneInfo.no_cache(str(calendar.tz)),
        )

    warmed = cold()
    add_business_time(warmed, far, timedelta(hours=400))
    fresh = cold()
    # Compare instants in UTC: aware datetimes of two different zone objects
    # never compare equal inside a repeated (fold) hour (PEP 495).
    first = add_business_time(warmed, start, amount).astimezone(UTC)
    assert first == add_business_time(fresh, start, amount).astimezone(UTC)


def _reference_add(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """Walk day by day over wall-clock intervals; valid for zones without DST."""
    tz = calendar.tz
    if not amount:
        return start
    day = start.astimezone(tz).date() - timedelta(days=1)
    while True:
        if day not in calendar.holidays:
            for opens, closes in calendar.weekly[day.weekday()]:
                a = max(datetime.combine(day, opens, tz), start)
                b = datetime.combine(day + timedelta(days=closes == time(0)), closes, tz)
                if a < b:
                    if amount <= b - a:
                        return a + amount
                    amount -= b - a
        day += timedelta(days=1)


@PROPERTIES
@given(calendars(zones=["America/Sao_Paulo", "UTC"]), instants, amounts)
def test_add_matches_a_day_by_day_walk(
    calendar: BusinessCalendar, start: datetime, amount: timedelta
) -> None:
    # São Paulo has had no DST since 2019, so wall-clock arithmetic is exact.
    assert add_business_time(calendar, start, amount) == _reference_add(calendar, start, amount)
