"""``GridView``: a list view of the panel, declared by its columns and membership rule."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import django_filters
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from dashboards.grids.columns import Column
from dashboards.grids.counting import CountFamily, family_aggregate, split_count
from dashboards.grids.filtering import build_filterset, filter_names
from dashboards.grids.paging import Page, read_by_pk, seek_page
from dashboards.grids.registry import PanelView
from dashboards.models import GridPreference

PER_PAGE_CHOICES = (10, 25, 50, 100)
DEFAULT_PER_PAGE = 25
LIST_ALL = "all"
# Up to this many rows a page sorted by a column other than the default is read by sorting the
# filtered rows (their sort keys only, see ``paging.seek_page``), not by walking an index.
SORT_AFTER_FILTER_MAX = 20_000


@dataclass(kw_only=True)
class GridView(PanelView):
    """A grid of the panel.

    ``rule(user, now)`` is the membership rule: the rows of the view for that
    user at that instant, always built on ``tickets.selectors.visible_tickets``
    (its docstring states the rule in words). ``default_sort`` is a column key,
    ``-`` for descending. ``search_mode`` views ("modo pesquisa") list nothing
    until the user filters or asks to list all. ``ticket_attr`` names the
    attribute of a row holding the ticket's id (rows may be stages or events).
    ``base_related`` are ``select_related`` paths every row needs.
    """

    columns: list[Column]
    rule: Callable[[AbstractBaseUser, datetime], QuerySet]
    default_sort: str
    search_mode: bool = False
    ticket_attr: str = "pk"
    base_related: tuple[str, ...] = ()
    # Filters above the grid (the advanced search form), beyond the header ones.
    form_filters: dict[str, django_filters.Filter] = field(default_factory=dict)
    # Annotations some columns sort or filter on, computed with the request's "now".
    annotations: Callable[[datetime], dict[str, Any]] | None = None
    # Count the rows one visibility branch at a time (``counting.split_count``): for views
    # with many rows, where the supervised teams' index range beats filtering every row.
    count_by_branch: bool = False
    # The badges count a family's views together: the rule must equal
    # ``family.base(user, now).filter(family_q(now))`` (``family_q`` None: the whole base).
    family: CountFamily | None = None
    family_q: Callable[[datetime], Q] | None = None
    # The rule's rows, unfiltered, counted as an aggregate over the family's base when that
    # is cheaper than counting them: the events of the open tickets are the sum of the open
    # tickets' ``event_count`` (one pass over the open tickets, not over ~180,000 events at a
    # million tickets). Used for the badge and for the grid's total while no header filter is set.
    family_total: Callable[[datetime], Any] | None = None
    template: str = "dashboards/panel.html"
    # The same rows as ``rule`` in another SQL shape, for reading a page sorted by these column
    # keys (the count keeps ``rule``): e.g. events sorted by their ticket's SLA deadline read
    # best joined to their tickets, walking the open tickets' deadline index.
    sort_rules: dict[str, Callable[[AbstractBaseUser, datetime], QuerySet]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate column keys in {self.key}")
        if self.default_sort.lstrip("-") not in keys:
            raise ValueError(f"default sort of {self.key} is not a column")

    # --- declarations ---------------------------------------------------------------

    @cached_property
    def column_map(self) -> dict[str, Column]:
        return {c.key: c for c in self.columns}

    @cached_property
    def filterset_class(self) -> type:
        name = "".join(part.title() for part in self.key.replace("-", "/").split("/"))
        return build_filterset(name, self.columns, self.form_filters)

    @cached_property
    def filter_param_names(self) -> list[str]:
        names = [n for c in self.columns for n in filter_names(c)]
        return names + list(self.form_filters)

    # --- data -----------------------------------------------------------------------

    def base_queryset(
        self, user: AbstractBaseUser, now: datetime, columns: list[Column] | None = None, *, sort_key: str = ""
    ) -> QuerySet:
        """Membership rule (``sort_rules``' for ``sort_key``) + the joins the shown columns need + the annotations."""
        qs = self.sort_rules.get(sort_key, self.rule)(user, now)
        related = set(self.base_related)
        for column in columns if columns is not None else self.columns:
            related.update(column.related)
        if related:
            qs = qs.select_related(*sorted(related))
        if self.annotations is not None:
            qs = qs.annotate(**self.annotations(now))
        return qs

    def count(self, user: AbstractBaseUser, now: datetime) -> int | None:
        if self.family is not None and self.family_total is not None:
            return family_aggregate(user, self.family, now, {"n": self.family_total(now)})["n"]
        return self.exact_count(user, lambda: self.rule(user, now))

    def has_filter_values(self, data: QueryDict) -> bool:
        return any(data.get(name) for name in self.filter_param_names)

    def exact_count(self, user: AbstractBaseUser, build: Callable[[], QuerySet]) -> int:
        """The number of rows of ``build()`` (a queryset built on ``counting.visible``)."""
        if self.count_by_branch:
            return split_count(user, build)
        return build().count()

    def filtered(self, qs: QuerySet, data: QueryDict) -> tuple[QuerySet, Any]:
        apply, filterset = self.filters(qs, data)
        return apply(qs), filterset

    def filters(self, qs: QuerySet, data: QueryDict) -> tuple[Callable[[QuerySet], QuerySet], Any]:
        """The header filters of ``data`` as a function of a queryset, and their ``FilterSet``.

        One ``FilterSet`` (it deep-copies its filters and form fields, a few ms) serves
        every queryset a request filters: the page's, and its count's, branch by branch.
        """
        if not self.has_filter_values(data):
            # No header filter has a value: nothing to validate or apply. The FilterSet is
            # built only if the page's headers show its inputs (a live update never does).
            return (lambda other: other), SimpleLazyObject(
                lambda: self.filterset_class(data or None, queryset=qs)
            )
        filterset = self.filterset_class(data, queryset=qs)
        if not filterset.is_bound:
            return (lambda other: other), filterset
        if filterset.is_valid():
            return filterset.filter_queryset, filterset
        return (lambda other: other.none()), filterset

    def sort_of(self, data: QueryDict) -> tuple[Column, bool]:
        raw = data.get("o") or self.default_sort
        key = raw.lstrip("-")
        column = self.column_map.get(key)
        if column is None or not column.sortable:
            raw = self.default_sort
            column = self.column_map[raw.lstrip("-")]
        return column, raw.startswith("-")

    def is_searched(self, data: QueryDict) -> bool:
        return data.get(LIST_ALL) == "1" or any(data.get(name) for name in self.filter_param_names)

    # --- columns chosen by the user --------------------------------------------------------

    def visible_columns(self, user: AbstractBaseUser) -> list[Column]:
        """The user's columns in the user's order ("Visualização de colunas"), or all."""
        saved = (
            GridPreference.objects.filter(user=user, view_slug=self.key).values_list("columns", flat=True).first()
        )
        return self.columns_from(saved)

    def export_columns(self, user: AbstractBaseUser) -> list[Column]:
        """The columns an export writes: the user's visible ones, in the user's order."""
        return self.visible_columns(user)

    def columns_from(self, keys: list[str] | None) -> list[Column]:
        if not keys:
            return list(self.columns)
        chosen = [self.column_map[k] for k in keys if k in self.column_map]
        return chosen or list(self.columns)

    # --- one request -----------------------------------------------------------------------

    def page(self, request: HttpRequest, *, columns: list[Column], now: datetime | None = None) -> "GridResult":
        now = now or timezone.now()
        data = request.GET
        per_page = _per_page(data.get("per_page"))
        sort_column, descending = self.sort_of(data)
        searched = not self.search_mode or self.is_searched(data)
        base = self.base_queryset(request.user, now, columns, sort_key=sort_column.key)
        apply, filterset = self.filters(base, data)
        if not searched:
            return GridResult(self, columns, filterset, sort_column, descending, per_page, searched, None, None)
        qs = apply(base)
        if self.family_total is not None and not self.has_filter_values(data):
            total = self.count(request.user, now)
        else:
            total = self.exact_count(request.user, lambda: apply(self.base_queryset(request.user, now, columns)))
        if total == 0:
            # Nothing to read; and a sorted read of nothing may walk a whole index to find that out.
            return GridResult(self, columns, filterset, sort_column, descending, per_page, searched, Page([], False, False), 0)
        expr = _sort_expr(sort_column)
        if sort_column.key != self.default_sort.lstrip("-") and total <= SORT_AFTER_FILTER_MAX:
            # Sorted by another column than the one the view's indexes serve, and few rows:
            # read their sort keys and sort them. Left to itself the planner may walk an index
            # on that column (the customers' names, the protocols) hoping to meet the rows soon,
            # and walks the whole table when they are few or all at its far end.
            # COALESCE(x, x) is x, in x's type and collation, but no index offers its order.
            expr = Coalesce(expr, expr)
        page = seek_page(
            qs,
            expr,
            descending=descending,
            nullable=sort_column.nullable,
            size=per_page,
            after=data.get("after", ""),
            before=data.get("before", ""),
            last=data.get("last") == "1",
            read=self.reader(now),
        )
        return GridResult(self, columns, filterset, sort_column, descending, per_page, searched, page, total)

    def reader(self, now: datetime) -> Callable[[QuerySet, QuerySet], QuerySet]:
        """For ``seek_page``: the rows of a page's pks, with the joins and annotations of ``qs``."""

        def read(qs: QuerySet, pks: QuerySet) -> QuerySet:
            rows = read_by_pk(qs, pks)
            return rows.annotate(**self.annotations(now)) if self.annotations is not None else rows

        return read

    def export_queryset(self, user: AbstractBaseUser, data: QueryDict, columns: list[Column], now: datetime) -> QuerySet:
        """Every row of the filtered grid in its sort order (no page)."""
        sort_column, descending = self.sort_of(data)
        qs, _fs = self.filtered(self.base_queryset(user, now, columns), data)
        expr = _sort_expr(sort_column)
        nulls = {"nulls_last": True} if sort_column.nullable else {}
        key = expr.desc(**nulls) if descending else expr.asc(**nulls)
        return qs.order_by(key, "-pk" if descending else "pk")

    def respond(self, request: HttpRequest) -> HttpResponse:
        from dashboards.views import render_grid

        return render_grid(request, self)


def _sort_expr(column: Column):
    expr = column.sort_expression()
    return expr if expr is not None else F("pk")


def _per_page(raw: str | None) -> int:
    try:
        value = int(raw or DEFAULT_PER_PAGE)
    except ValueError:
        return DEFAULT_PER_PAGE
    return value if value in PER_PAGE_CHOICES else DEFAULT_PER_PAGE


@dataclass
class GridResult:
    view: GridView
    columns: list[Column]
    filterset: Any
    sort_column: Column
    descending: bool
    per_page: int
    searched: bool
    page: Page | None
    total: int | None

    @cached_property
    def headers(self) -> list[dict[str, Any]]:
        """Per shown column: its sort parameter for a click (toggling asc/desc) and its filter inputs
        (computed once: the page's two header rows both read it)."""
        form = self.filterset.form
        cells = []
        for column in self.columns:
            state = ""
            if column.sortable:
                if column is self.sort_column:
                    state = "desc" if self.descending else "asc"
                    next_sort = column.key if self.descending else f"-{column.key}"
                else:
                    next_sort = column.key
            else:
                next_sort = ""
            fields = [form[name] for name in filter_names(column) if name in form.fields]
            label = self.view.extra.get("filter_labels", {}).get(column.key, column.label)
            cells.append(
                {"column": column, "sort": next_sort, "state": state, "fields": fields, "filter_label": label}
            )
        return cells

    def rows(self) -> list[dict[str, Any]]:
        if self.page is None:
            return []
        attr = self.view.ticket_attr
        opening = [format_html('<td class="{}">', column.css) for column in self.columns]
        result = []
        for row in self.page.rows:
            cells = [(column, column.cell_html(row)) for column in self.columns]
            # The row's <td>s joined here, not by a template loop (300 cells a page): each
            # value escaped unless already safe, as the template's {{ }} would.
            html = "".join(
                f"{start}{conditional_escape(value)}</td>" for start, (_c, value) in zip(opening, cells, strict=True)
            )
            result.append({"pk": row.pk, "ticket_id": getattr(row, attr), "cells": cells, "cells_html": mark_safe(html)})  # noqa: S308
        return result
