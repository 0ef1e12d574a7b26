"""Pivot views ("Gráfico sintético", "Informações sintéticas"): tickets counted by dimensions.

The user drags dimensions (operador, processo, subprocesso, origem, cidade,
empresa, classificação, dia …) to rows, columns and filters and picks a
measure: the number of tickets or their mean age in hours. The result is one
``GROUP BY`` in the database over the dimensions on rows and columns
(``values(...).annotate(...)``); Python only arranges the aggregated groups
into a table (and its totals) and a chart. The configuration is kept per user
and view in ``PivotPreference``.

Mean age ("Idade média (h)"): hours from the opening to the finalization, or
to now for a ticket still open; totals are weighted (sum of ages / tickets),
never a mean of means.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboards.grids.registry import PanelView
from dashboards.models import PivotPreference

MEASURES = {"count": gettext_lazy("Quantidade de atendimentos"), "age": gettext_lazy("Idade média (h)")}
CHARTS = {"bar": gettext_lazy("Barras"), "stacked": gettext_lazy("Barras empilhadas"), "line": gettext_lazy("Linhas")}
MAX_ROW_DIMS = 3
MAX_COL_DIMS = 2
MAX_FILTER_VALUES = 50
MAX_GROUPS = 5000
MAX_OPTIONS = 200
MAX_DATASETS = 12
EMPTY = "-"  # the filter value standing for an empty dimension (no assignee, no city …)


@dataclass(frozen=True)
class Dimension:
    """A way to group tickets.

    ``key_expr`` is the group key (a field path or an expression);
    ``label_fields`` are the extra paths read to name a group (fetched in the
    same ``GROUP BY``); ``display(key, labels)`` names a group; ``empty`` is the
    name of the NULL / blank group. ``parse`` turns a filter value from the
    querystring into a key (``ValueError`` when it is not one).
    """

    key: str
    label: Any
    key_expr: Any
    label_fields: tuple[str, ...] = ()
    display: Callable[[Any, tuple], str] | None = None
    empty: Any = gettext_lazy("(vazio)")
    parse: Callable[[str], Any] = str
    blank_is_empty: bool = False

    @property
    def alias(self) -> str:
        return f"d_{self.key}"

    def label_alias(self, i: int) -> str:
        return f"d_{self.key}_{i}"

    def annotations(self) -> dict[str, Any]:
        ann = {self.alias: F(self.key_expr) if isinstance(self.key_expr, str) else self.key_expr}
        for i, path in enumerate(self.label_fields):
            ann[self.label_alias(i)] = F(path)
        return ann

    def names(self) -> list[str]:
        return [self.alias] + [self.label_alias(i) for i in range(len(self.label_fields))]

    def is_empty(self, key: Any) -> bool:
        return key is None or (self.blank_is_empty and key == "")

    def name_of(self, key: Any, labels: tuple) -> str:
        if self.is_empty(key):
            return str(self.empty)
        if self.display is not None:
            return self.display(key, labels)
        return str(labels[0]) if labels else str(key)

    def token(self, key: Any) -> str:
        """The key as a filter value in a querystring."""
        if self.is_empty(key):
            return EMPTY
        if isinstance(key, date):
            return key.isoformat()
        return str(key)

    def filter_q(self, tokens: Sequence[str]) -> Q:
        """Rows whose key is one of ``tokens`` (``ValidationError`` for a malformed one)."""
        keys = []
        empty = False
        for token in tokens:
            if token == EMPTY:
                empty = True
                continue
            try:
                keys.append(self.parse(token))
            except (ValueError, TypeError) as exc:
                raise ValidationError(
                    _("Valor inválido no filtro %(dimension)s.") % {"dimension": self.label}
                ) from exc
        q = Q(**{f"{self.alias}__in": keys}) if keys else Q(pk__in=[])
        if empty:
            q |= Q(**{f"{self.alias}__isnull": True})
            if self.blank_is_empty:
                q |= Q(**{self.alias: ""})
        return q


# --- the dimensions of the manual -------------------------------------------------------------


def _user_display(key: Any, labels: tuple) -> str:
    first, last, username = labels
    return f"{first} {last}".strip() or username


def _day_display(key: Any, labels: tuple) -> str:
    return date_format(key, "d/m/Y")


def choice_display(choices) -> Callable[[Any, tuple], str]:
    names = dict(choices)
    return lambda key, labels: str(names.get(key, key))


def operator(key: str = "operator", path: str = "assignee", label=gettext_lazy("Operador"), empty=None) -> Dimension:
    return Dimension(
        key=key,
        label=label,
        key_expr=f"{path}_id",
        label_fields=(f"{path}__first_name", f"{path}__last_name", f"{path}__username"),
        display=_user_display,
        empty=empty if empty is not None else gettext_lazy("Sem resgate"),
        parse=int,
    )


def named(key: str, label, path: str, empty) -> Dimension:
    return Dimension(key=key, label=label, key_expr=f"{path}_id", label_fields=(f"{path}__name",), empty=empty, parse=int)


def choice(key: str, label, path: str, choices) -> Dimension:
    return Dimension(key=key, label=label, key_expr=path, display=choice_display(choices))


def text(key: str, label, path: str, empty) -> Dimension:
    return Dimension(key=key, label=label, key_expr=path, empty=empty, blank_is_empty=True)


def day(key: str = "day", label=gettext_lazy("Dia"), path: str = "opened_at") -> Dimension:
    """The local calendar day (America/Sao_Paulo) of ``path``."""
    return Dimension(
        key=key,
        label=label,
        key_expr=TruncDate(path, tzinfo=timezone.get_default_timezone()),
        display=_day_display,
        parse=date.fromisoformat,
    )


# --- configuration ----------------------------------------------------------------------------


@dataclass
class PivotConfig:
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    measure: str = "count"
    chart: str = "bar"

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "cols": self.cols, "filters": self.filters, "measure": self.measure, "chart": self.chart}

    @property
    def used(self) -> set[str]:
        return set(self.rows) | set(self.cols) | set(self.filters)


def config_from_json(raw: Any, dimensions: dict[str, Dimension], default: PivotConfig) -> PivotConfig:
    """A saved configuration, leniently: unknown dimensions and values are dropped."""
    if not isinstance(raw, dict):
        return default
    seen: set[str] = set()

    def keys(value: Any, limit: int) -> list[str]:
        out = []
        for key in value if isinstance(value, list) else []:
            if isinstance(key, str) and key in dimensions and key not in seen and len(out) < limit:
                seen.add(key)
                out.append(key)
        return out

    rows = keys(raw.get("rows"), MAX_ROW_DIMS)
    cols = keys(raw.get("cols"), MAX_COL_DIMS)
    filters: dict[str, list[str]] = {}
    raw_filters = raw.get("filters") if isinstance(raw.get("filters"), dict) else {}
    for key, values in raw_filters.items():
        if key in dimensions and key not in seen and isinstance(values, list):
            seen.add(key)
            filters[key] = [str(v) for v in values if isinstance(v, str | int)][:MAX_FILTER_VALUES]
    measure = raw.get("measure") if raw.get("measure") in MEASURES else default.measure
    chart = raw.get("chart") if raw.get("chart") in CHARTS else default.chart
    return PivotConfig(rows=rows, cols=cols, filters=filters, measure=measure, chart=chart)


def config_from_post(data: QueryDict, dimensions: dict[str, Dimension]) -> PivotConfig:
    """The configuration the user applied, strictly: anything malformed is a ``ValidationError``."""
    rows = data.getlist("rows")
    cols = data.getlist("cols")
    filter_keys = data.getlist("filters")
    every = rows + cols + filter_keys
    unknown = [k for k in every if k not in dimensions]
    if unknown:
        raise ValidationError(_("Dimensão desconhecida: %(name)s.") % {"name": unknown[0][:40]})
    if len(every) != len(set(every)):
        raise ValidationError(_("Cada dimensão pode estar em um só lugar: linhas, colunas ou filtros."))
    if len(rows) > MAX_ROW_DIMS:
        raise ValidationError(_("Use no máximo %(n)s dimensões nas linhas.") % {"n": MAX_ROW_DIMS})
    if len(cols) > MAX_COL_DIMS:
        raise ValidationError(_("Use no máximo %(n)s dimensões nas colunas.") % {"n": MAX_COL_DIMS})
    measure = data.get("measure", "count")
    if measure not in MEASURES:
        raise ValidationError(_("Medida inválida."))
    chart = data.get("chart", "bar")
    if chart not in CHARTS:
        raise ValidationError(_("Tipo de gráfico inválido."))
    filters = {}
    for key in filter_keys:
        values = list(dict.fromkeys(v for v in data.getlist(f"f_{key}") if v))
        if len(values) > MAX_FILTER_VALUES:
            raise ValidationError(
                _("Escolha no máximo %(n)s valores no filtro %(dimension)s.")
                % {"n": MAX_FILTER_VALUES, "dimension": dimensions[key].label}
            )
        dimensions[key].filter_q(values)  # validates the tokens
        filters[key] = values
    return PivotConfig(rows=rows, cols=cols, filters=filters, measure=measure, chart=chart)


# --- the result -----------------------------------------------------------------------------------


@dataclass
class Cell:
    count: int = 0
    age: timedelta = timedelta(0)

    def add(self, count: int, age: timedelta | None) -> None:
        self.count += count
        self.age += age or timedelta(0)

    def value(self, measure: str) -> int | Decimal | None:
        if measure == "count":
            return self.count
        if not self.count:
            return None
        hours = Decimal((self.age / self.count).total_seconds()) / Decimal(3600)
        return hours.quantize(Decimal("0.1"))


@dataclass
class PivotTable:
    config: PivotConfig
    row_dims: list[Dimension]
    col_dims: list[Dimension]
    row_keys: list[tuple]  # each: ((key, name), ...) per row dimension
    col_keys: list[tuple]
    cells: dict[tuple[tuple, tuple], Cell]
    row_totals: dict[tuple, Cell]
    col_totals: dict[tuple, Cell]
    total: Cell
    too_big: bool = False

    @property
    def measure(self) -> str:
        return self.config.measure

    def body(self) -> list[dict[str, Any]]:
        m = self.measure
        out = []
        for rk in self.row_keys or ([()] if self.total.count else []):
            out.append(
                {
                    "names": [name for _key, name in rk] or [str(_("Total"))],
                    "cells": [_cell_value(self._cell(rk, ck), m) for ck in self.col_keys],
                    "total": _cell_value(self._cell(rk, ()), m),
                }
            )
        return out

    def header(self) -> list[str]:
        return [" · ".join(name for _key, name in ck) for ck in self.col_keys]

    def footer(self) -> list[Any]:
        return [_cell_value(self.col_totals.get(ck), self.measure) for ck in self.col_keys]

    def grand_total(self) -> Any:
        return _cell_value(self.total, self.measure)

    def chart(self) -> dict[str, Any]:
        """Chart.js data: one label per row, one dataset per column (the largest ``MAX_DATASETS``)."""
        m = self.measure
        labels = [" · ".join(name for _k, name in rk) for rk in self.row_keys] or [str(_("Total"))]
        rows = self.row_keys or [()]
        if self.col_keys:
            ranked = sorted(self.col_keys, key=lambda ck: -self.col_totals[ck].count)[:MAX_DATASETS]
            ranked.sort(key=self.col_keys.index)
            datasets = [
                {
                    "label": " · ".join(name for _k, name in ck),
                    "data": [_number(self._cell(rk, ck), m) for rk in rows],
                }
                for ck in ranked
            ]
        else:
            datasets = [{"label": str(MEASURES[m]), "data": [_number(self._cell(rk, ()), m) for rk in rows]}]
        return {
            "type": self.config.chart,
            "labels": labels,
            "datasets": datasets,
            "measure": str(MEASURES[m]),
            "integer": m == "count",
        }

    def _cell(self, rk: tuple, ck: tuple) -> Cell | None:
        if rk and ck:
            return self.cells.get((rk, ck))
        if rk:
            return self.row_totals.get(rk)
        if ck:
            return self.col_totals.get(ck)
        return self.total


def _cell_value(cell: Cell | None, measure: str) -> Any:
    return None if cell is None else cell.value(measure)


def _number(cell: Cell | None, measure: str) -> float | int | None:
    value = _cell_value(cell, measure)
    return float(value) if isinstance(value, Decimal) else value


def age_expression(now: datetime) -> ExpressionWrapper:
    end = Coalesce(F("closed_at"), Value(now, output_field=DateTimeField()))
    return ExpressionWrapper(end - F("opened_at"), output_field=DurationField())


def aggregate(qs: QuerySet, config: PivotConfig, dimensions: dict[str, Dimension], now: datetime) -> PivotTable:
    """The pivot of ``qs`` (tickets): one ``GROUP BY`` over the row and column dimensions."""
    row_dims = [dimensions[k] for k in config.rows]
    col_dims = [dimensions[k] for k in config.cols]
    qs = filter_queryset(qs, config, dimensions)
    annotations: dict[str, Any] = {}
    names: list[str] = []
    for dim in row_dims + col_dims:
        annotations.update(dim.annotations())
        names += dim.names()
    grouped = qs.annotate(**annotations).values(*names) if names else qs.values()
    measures: dict[str, Any] = {"n": Count("pk")}
    if config.measure == "age":
        measures["age"] = Sum(age_expression(now))
    if names:
        groups = list(grouped.annotate(**measures).order_by()[: MAX_GROUPS + 1])
    else:
        groups = [qs.aggregate(**measures)]
    table = PivotTable(config, row_dims, col_dims, [], [], {}, {}, {}, Cell())
    if len(groups) > MAX_GROUPS:
        table.too_big = True
        return table
    row_set: dict[tuple, tuple] = {}
    col_set: dict[tuple, tuple] = {}
    for group in groups:
        if not group["n"]:
            continue
        rk = _key(group, row_dims)
        ck = _key(group, col_dims)
        row_set.setdefault(rk, _sort_key(rk, row_dims))
        col_set.setdefault(ck, _sort_key(ck, col_dims))
        age = group.get("age")
        table.cells.setdefault((rk, ck), Cell()).add(group["n"], age)
        table.row_totals.setdefault(rk, Cell()).add(group["n"], age)
        table.col_totals.setdefault(ck, Cell()).add(group["n"], age)
        table.total.add(group["n"], age)
    table.row_keys = sorted((k for k in row_set if k), key=row_set.__getitem__)
    table.col_keys = sorted((k for k in col_set if k), key=col_set.__getitem__)
    return table


def filter_queryset(qs: QuerySet, config: PivotConfig, dimensions: dict[str, Dimension]) -> QuerySet:
    for key, values in config.filters.items():
        if not values:
            continue
        dim = dimensions[key]
        qs = qs.annotate(**{dim.alias: dim.annotations()[dim.alias]}).filter(dim.filter_q(values))
    return qs


def _key(group: dict[str, Any], dims: list[Dimension]) -> tuple:
    out = []
    for dim in dims:
        key = group[dim.alias]
        labels = tuple(group[dim.label_alias(i)] for i in range(len(dim.label_fields)))
        out.append((dim.token(key), dim.name_of(key, labels)))
    return tuple(out)


def _sort_key(key: tuple, dims: list[Dimension]) -> tuple:
    # Empty groups last; days in calendar order (their tokens are ISO dates); the rest by name.
    out = []
    for (token, name), dim in zip(key, dims, strict=True):
        empty = token == EMPTY
        out.append((empty, token if dim.key == "day" else name.casefold()))
    return tuple(out)


def options(qs: QuerySet, dim: Dimension) -> list[tuple[str, str]]:
    """The values of a dimension in ``qs`` (for a filter), most frequent first, at most ``MAX_OPTIONS``."""
    rows = (
        qs.annotate(**dim.annotations())
        .values(*dim.names())
        .annotate(n=Count("pk"))
        .order_by("-n")[:MAX_OPTIONS]
    )
    found = []
    for row in rows:
        key = row[dim.alias]
        labels = tuple(row[dim.label_alias(i)] for i in range(len(dim.label_fields)))
        found.append((dim.token(key), dim.name_of(key, labels)))
    return sorted(found, key=lambda o: (o[0] == EMPTY, o[0] if dim.key == "day" else o[1].casefold()))


# --- the view ---------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class PivotView(PanelView):
    """A pivot of the panel; ``base(request, now)`` gives the tickets and the search form (or ``None``).

    ``base`` returns ``(queryset or None, form or None)``: ``None`` rows mean
    "not searched yet" (Busca opens in search mode); a bound invalid form is
    answered with its messages and HTTP 400.
    """

    dimensions: list[Dimension]
    base: Callable[[HttpRequest, datetime], tuple[QuerySet | None, Any]]
    default: PivotConfig
    template: str = "dashboards/pivot.html"

    @property
    def dimension_map(self) -> dict[str, Dimension]:
        return {d.key: d for d in self.dimensions}

    def config_for(self, user: AbstractBaseUser) -> PivotConfig:
        saved = PivotPreference.objects.filter(user=user, view_slug=self.key).values_list("config", flat=True).first()
        if saved is None:
            return self.default
        return config_from_json(saved, self.dimension_map, self.default)

    def respond(self, request: HttpRequest) -> HttpResponse:
        from dashboards.views import render_pivot

        return render_pivot(request, self)
