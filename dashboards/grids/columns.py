"""A grid column: label, value, display, sort expression and header filter."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db.models import Expression, F, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _


class FilterKind(StrEnum):
    NONE = "none"
    TEXT = "text"  # contains, case-insensitive
    CHOICE = "choice"  # exact value from a list
    DATE_RANGE = "date_range"  # from/to local dates, both inclusive
    NUMBER = "number"  # exact number
    YES_NO = "yes_no"  # Sim / Não


@dataclass(frozen=True)
class Column:
    """One column of a grid.

    ``value(row)`` gives the typed value (exports write it as is: numbers stay
    numbers, datetimes are local); ``text(row)`` the cell text (defaults to
    the value formatted for pt-BR); ``html(row)`` optional markup for the
    screen. ``sort`` is a field path or expression (``None``: not sortable);
    ``nullable`` says the sort key may be NULL (NULLs sort last both ways).
    ``filter_field`` is the path the header filter applies to, or
    ``filter_method(queryset, value)`` does it. ``related`` lists the
    ``select_related`` paths the value needs, so a hidden column costs no join.
    """

    key: str
    label: str
    value: Callable[[Any], Any]
    sort: str | Expression | None = None
    nullable: bool = False
    filter: FilterKind = FilterKind.NONE
    filter_field: str = ""
    filter_method: Callable[[QuerySet, Any], QuerySet] | None = None
    choices: Sequence[tuple[str, str]] | Callable[[], Sequence[tuple[str, str]]] = ()
    related: tuple[str, ...] = ()
    text: Callable[[Any], str] | None = None
    html: Callable[[Any], SafeString | str] | None = None
    css: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sortable(self) -> bool:
        return self.sort is not None

    def sort_expression(self) -> Expression:
        return F(self.sort) if isinstance(self.sort, str) else self.sort

    def get_choices(self) -> Sequence[tuple[str, str]]:
        return self.choices() if callable(self.choices) else self.choices

    def cell_text(self, row: Any) -> str:
        if self.text is not None:
            return self.text(row)
        return format_value(self.value(row))

    def cell_html(self, row: Any) -> SafeString | str:
        if self.html is not None:
            return self.html(row)
        return self.cell_text(row)


def format_value(value: Any) -> str:
    """pt-BR text of a cell value: DD/MM/AAAA HH:MM:SS local, Sim/Não, decimal comma."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("SIM") if value else _("NÃO")
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "d/m/Y H:i:s")
    if isinstance(value, timedelta):
        return format_hours(value)
    if isinstance(value, Decimal | float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def hours(delta: timedelta | None) -> Decimal | None:
    """A duration as hours with one decimal (what "Horas de atraso" and "Restantes (hrs)" show)."""
    if delta is None:
        return None
    return (Decimal(delta.total_seconds()) / Decimal(3600)).quantize(Decimal("0.1"))


def format_hours(delta: timedelta | None) -> str:
    value = hours(delta)
    return "" if value is None else f"{value}".replace(".", ",")


def badge(text: str, style: str) -> SafeString:
    return format_html('<span class="badge text-bg-{}">{}</span>', style, text)
