"""Template helpers of the calls screens."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def hms(value: timedelta | None) -> str:
    """A duration as ``HH:MM:SS`` (empty when there is none)."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
