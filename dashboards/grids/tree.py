"""``TreeView``: a grid whose rows are grouped in an expandable tree ("Processo x Subprocesso").

The groups and their counts ("Quantidade", and how many of them are late)
come from one ``GROUP BY`` over the filtered rows; the rows of a leaf group
are fetched only when the user opens it (+), a page at a time, in the grid's
sort order, with the same header filters, so a tree over a million tickets
costs one aggregate plus one small page per opened group.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone

from dashboards.grids.columns import Column
from dashboards.grids.grid import GridResult, GridView, _per_page, _sort_expr
from dashboards.grids.paging import seek_page


@dataclass(frozen=True)
class Level:
    """One level of the tree: the group key path, its name path and the ordering of its groups."""

    key: str
    name: str
    order: tuple[str, ...] = ()


@dataclass
class Node:
    token: str  # "<key>" for the first level, "<key>.<key>" below
    name: str
    count: int
    late: int
    children: list["Node"]
    depth: int

    @property
    def is_leaf(self) -> bool:
        return not self.children and self.depth > 0


@dataclass(kw_only=True)
class TreeView(GridView):
    """A ``GridView`` shown as a tree of ``levels`` (here: processo → subprocesso).

    ``late_q(now)`` marks the rows counted as late in each group;
    ``export_prefix`` are columns written before the row columns in exports
    (the group names, which the tree shows as headings).
    """

    levels: tuple[Level, ...]
    late_q: Callable[[datetime], Q] | None = None
    export_prefix: tuple[Column, ...] = ()
    template: str = "dashboards/tree.html"

    def tree(self, qs: QuerySet, now: datetime) -> list[Node]:
        names: list[str] = []
        order: list[str] = []
        for level in self.levels:
            names += [level.key, level.name]
            order += list(level.order) + [level.name, level.key]
        measures: dict[str, Any] = {"n": Count("pk")}
        if self.late_q is not None:
            measures["late"] = Count("pk", filter=self.late_q(now))
        groups = qs.values(*names).annotate(**measures).order_by(*order)
        roots: dict[Any, Node] = {}
        for group in groups:
            parent: Node | None = None
            path: list[str] = []
            for depth, level in enumerate(self.levels):
                path.append(str(group[level.key]))
                siblings = roots if parent is None else {c.token: c for c in parent.children}
                token = ".".join(path)
                node = siblings.get(token)
                if node is None:
                    node = Node(token, group[level.name] or "", 0, 0, [], depth)
                    if parent is None:
                        roots[token] = node
                    else:
                        parent.children.append(node)
                node.count += group["n"]
                node.late += group.get("late", 0)
                parent = node
        return list(roots.values())

    def node_filter(self, token: str) -> Q | None:
        """The rows of the leaf group ``token`` ("<process id>.<subprocess id>"), or ``None`` if malformed."""
        parts = token.split(".")
        if len(parts) != len(self.levels) or not all(p.isdigit() and len(p) < 19 for p in parts):
            return None  # malformed, or beyond a database integer
        return Q(**{level.key: int(p) for level, p in zip(self.levels, parts, strict=True)})

    def leaves(
        self, request: HttpRequest, columns: list[Column], token: str, now: datetime | None = None
    ) -> "GridResult | None":
        """One page of the rows of the leaf group ``token``, or ``None`` when the token is malformed."""
        now = now or timezone.now()
        data = request.GET
        q = self.node_filter(token)
        sort_column, descending = self.sort_of(data)
        qs, filterset = self.filtered(self.base_queryset(request.user, now, columns), data)
        if q is None:
            return None
        page = seek_page(
            qs.filter(q),
            _sort_expr(sort_column),
            descending=descending,
            nullable=sort_column.nullable,
            size=_per_page(data.get("per_page")),
            after=data.get("after", ""),
            read=self.reader(now),
        )
        return GridResult(self, columns, filterset, sort_column, descending, _per_page(data.get("per_page")), True, page, None)

    def export_queryset(self, user: AbstractBaseUser, data: QueryDict, columns: list[Column], now: datetime) -> QuerySet:
        """Every row, grouped as the tree shows them, each group in the grid's sort order."""
        qs = super().export_queryset(user, data, columns, now)
        groups = [path for level in self.levels for path in (*level.order, level.name, level.key)]
        return qs.order_by(*groups, *qs.query.order_by)

    def export_columns(self, user: AbstractBaseUser) -> list[Column]:
        return list(self.export_prefix) + self.visible_columns(user)

    def respond(self, request: HttpRequest) -> HttpResponse:
        from dashboards.views import render_tree

        return render_tree(request, self)


def node_query(data: QueryDict) -> str:
    """The grid's querystring without the tree's own parameters (for the leaf requests)."""
    params = data.copy()
    for name in ("node", "after", "before", "last"):
        params.pop(name, None)
    return params.urlencode()
