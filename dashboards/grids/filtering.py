"""The header filters of a grid: one django-filter ``FilterSet`` generated from its columns."""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from dashboards.grids.columns import Column, FilterKind

YES_NO_CHOICES = (("1", _("SIM")), ("0", _("NÃO")))


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _attrs_html(attrs: dict[str, Any]) -> str:
    """What Django's ``attrs.html`` renders: `` name="value"``, a bare name for True, nothing for False."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class TextInput(forms.TextInput):
    """A ``TextInput`` written out directly, as ``input.html`` would: a grid header has a dozen
    filter inputs, and the form template engine took about a millisecond for each."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{conditional_escape(widget["value"])}"'
        return mark_safe(  # noqa: S308 - every piece above is escaped
            f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
            f"{shown}{_attrs_html(widget['attrs'])}>"
        )


class DateInput(forms.DateInput):
    render = TextInput.render


class Select(forms.Select):
    """A ``Select`` written out directly, as ``select.html`` and ``select_option.html`` would."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            parts.extend(
                f'\n  <option value="{conditional_escape(option["value"])}"{_attrs_html(option["attrs"])}>'
                f"{conditional_escape(option['label'])}</option>\n"
                for option in options
            )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped


def _text_widget(column: Column) -> forms.TextInput:
    return TextInput(
        attrs={
            "class": "form-control form-control-sm",
            "placeholder": _("Filtrar"),
            "aria-label": _("Filtrar %(column)s") % {"column": column.label},
            "autocomplete": "off",
        }
    )


def _select_widget(column: Column) -> forms.Select:
    return Select(
        attrs={"class": "form-select form-select-sm", "aria-label": _("Filtrar %(column)s") % {"column": column.label}}
    )


def _date_widget(column: Column, edge: str) -> forms.DateInput:
    label = _("%(column)s de") if edge == "from" else _("%(column)s até")
    return DateInput(
        format="%Y-%m-%d",
        attrs={"type": "date", "class": "form-control form-control-sm", "aria-label": label % {"column": column.label}},
    )


def _apply(column: Column, lookup: str):
    """A filter method: the column's own ``filter_method``, or ``filter_field__<lookup>``."""

    def method(qs: QuerySet, name: str, value: Any) -> QuerySet:
        if value in (None, ""):
            return qs
        if column.filter_method is not None:
            return column.filter_method(qs, value)
        return qs.filter(**{f"{column.filter_field}__{lookup}": value})

    return method


def _date_from(column: Column):
    def method(qs: QuerySet, name: str, value: date | None) -> QuerySet:
        if value is None:
            return qs
        return qs.filter(**{f"{column.filter_field}__gte": local_day_start(value)})

    return method


def _date_to(column: Column):
    def method(qs: QuerySet, name: str, value: date | None) -> QuerySet:
        if value is None:
            return qs
        if value >= date.max:
            return qs  # "until the end of time": no upper bound
        # Inclusive: up to the end of the local day.
        return qs.filter(**{f"{column.filter_field}__lt": local_day_start(value + timedelta(days=1))})

    return method


def filter_names(column: Column) -> list[str]:
    """The querystring names a column's filter reads."""
    if column.filter == FilterKind.NONE:
        return []
    if column.filter == FilterKind.DATE_RANGE:
        return [f"{column.key}_from", f"{column.key}_to"]
    return [column.key]


def filters_for(column: Column) -> dict[str, django_filters.Filter]:
    kind = column.filter
    if kind == FilterKind.NONE:
        return {}
    label = column.label
    if kind == FilterKind.TEXT:
        return {column.key: django_filters.CharFilter(label=label, method=_apply(column, "icontains"), widget=_text_widget(column))}
    if kind == FilterKind.NUMBER:
        widget = _text_widget(column)
        widget.input_type = "number"
        return {column.key: django_filters.NumberFilter(label=label, method=_apply(column, "exact"), widget=widget)}
    if kind == FilterKind.CHOICE:
        return {
            column.key: django_filters.ChoiceFilter(
                label=label,
                # A plain function, not the bound method: each request's form deep-copies its
                # fields, and deep-copying a bound method deep-copies the whole Column with it.
                choices=lambda: column.get_choices(),
                empty_label=_("Todos"),
                method=_apply(column, "exact"),
                widget=_select_widget(column),
            )
        }
    if kind == FilterKind.YES_NO:

        def yes_no(qs: QuerySet, name: str, value: str) -> QuerySet:
            if value not in ("0", "1"):
                return qs
            if column.filter_method is not None:
                return column.filter_method(qs, value == "1")
            return qs.filter(**{column.filter_field: value == "1"})

        return {
            column.key: django_filters.ChoiceFilter(
                label=label, choices=YES_NO_CHOICES, empty_label=_("Todos"), method=yes_no, widget=_select_widget(column)
            )
        }
    if kind == FilterKind.DATE_RANGE:
        return {
            f"{column.key}_from": django_filters.DateFilter(
                label=label, method=_date_from(column), widget=_date_widget(column, "from")
            ),
            f"{column.key}_to": django_filters.DateFilter(
                label=label, method=_date_to(column), widget=_date_widget(column, "to")
            ),
        }
    raise ValueError(f"unknown filter kind {kind!r}")


def build_filterset(name: str, columns: list[Column], extra: dict[str, django_filters.Filter] | None = None) -> type:
    """A ``FilterSet`` class with one filter (two for date ranges) per filterable column."""
    attrs: dict[str, Any] = {}
    for column in columns:
        attrs.update(filters_for(column))
    attrs.update(extra or {})
    return type(f"{name}FilterSet", (django_filters.FilterSet,), attrs)
