"""The periods of the panels, in local time (``settings.TIME_ZONE``, America/Sao_Paulo).

One definition each, used by every view and by the tests:

* "hoje": since local midnight today.
* "N dias" ("na semana" = 7, "últimos 30 dias" = 30, "há 7/15 dias"): the
  last N *calendar* days including today, i.e. since local midnight N-1 days
  ago. "Na semana" at 10:00 on a Wednesday therefore starts at 00:00 of the
  previous Thursday. Calendar days (not a rolling 7×24 h) so a view does not
  lose the morning of its first day during the afternoon, and so "hoje" is
  always a subset of "na semana".
* "últimas 24 horas": rolling, ``now - 24 h`` (the manual says hours, not days).

Local midnight is computed with the zone's rules, so a DST change in the
window (Brazil has none since 2019, but the zone database may) is honoured.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone


def local_midnight(now: datetime, days_ago: int = 0) -> datetime:
    """Aware datetime of local 00:00, ``days_ago`` calendar days before ``now``'s local date."""
    tz = timezone.get_current_timezone()
    day = timezone.localtime(now, tz).date() - timedelta(days=days_ago)
    return datetime.combine(day, time.min, tzinfo=tz)


def today_start(now: datetime) -> datetime:
    return local_midnight(now)


def days_start(now: datetime, days: int) -> datetime:
    """Start of the last ``days`` calendar days, today included."""
    return local_midnight(now, days - 1)


def hours_start(now: datetime, hours: int) -> datetime:
    return now - timedelta(hours=hours)
