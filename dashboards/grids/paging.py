"""Keyset ("seek") pagination: a page is "the N rows after (or before) this row".

OFFSET walks every skipped row, so page 20,000 of a million-row grid costs
as much as reading them all. Seeking from the last row seen by (sort key, pk)
costs the same on every page: with an index on the sort key the database
starts right at the cursor. The price is that pages are reached by
first/previous/next/last rather than by number; the row count is shown apart.

The cursor is the sort value and pk of the edge row, in an opaque urlsafe
token; a bad token is ignored (first page).
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Expression, F, Func, Q, QuerySet

SORT_ALIAS = "_grid_sort"


def encode_cursor(value: Any, pk: Any) -> str:
    if isinstance(value, datetime):
        tagged = ["dt", value.isoformat()]
    elif isinstance(value, timedelta):
        tagged = ["td", value.total_seconds()]
    elif isinstance(value, Decimal):
        tagged = ["dec", str(value)]
    else:
        tagged = ["v", value]
    raw = json.dumps([tagged, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[Any, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        (tag, value), pk = json.loads(raw)
        if tag == "dt":
            value = datetime.fromisoformat(value)
        elif tag == "td":
            value = timedelta(seconds=float(value))
        elif tag == "dec":
            value = Decimal(value)
        elif tag != "v":
            return None
        if not isinstance(pk, int) or isinstance(value, list | dict):
            return None
        return value, pk
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _beyond(name: str, value: Any, descending: bool) -> Q:
    return Q(**{f"{name}__{'lt' if descending else 'gt'}": value})


def seek_q(value: Any, pk: Any, *, descending: bool, forward: bool, nullable: bool) -> Q:
    """Rows after (``forward``) or before the cursor row in the display order.

    Display order: sort key ascending/descending with NULLs last, then pk in
    the same direction. Non-nullable keys get the index-friendly form
    ``key <= v AND (key < v OR pk < p)`` (for a descending scan).
    """
    key = SORT_ALIAS
    # Going backwards is going forwards in the opposite direction, except for NULLs.
    desc = descending if forward else not descending
    if not nullable:
        inclusive = Q(**{f"{key}__{'lte' if desc else 'gte'}": value})
        return inclusive & (_beyond(key, value, desc) | _beyond("pk", pk, desc))
    is_null = Q(**{f"{key}__isnull": True})
    if forward:
        if value is None:
            return is_null & _beyond("pk", pk, desc)
        return _beyond(key, value, desc) | (Q(**{key: value}) & _beyond("pk", pk, desc)) | is_null
    if value is None:
        return ~is_null | (is_null & _beyond("pk", pk, desc))
    return _beyond(key, value, desc) | (Q(**{key: value}) & _beyond("pk", pk, desc))


def ordering(*, descending: bool, forward: bool, nullable: bool) -> list:
    desc = descending if forward else not descending
    key = F(SORT_ALIAS)
    if nullable:
        # NULLs last in display order, so first when reading backwards.
        nulls = {"nulls_last": True} if forward else {"nulls_first": True}
        key = key.desc(**nulls) if desc else key.asc(**nulls)
    else:
        key = key.desc() if desc else key.asc()
    return [key, "-pk" if desc else "pk"]


def pk_in(qs: QuerySet, pks: QuerySet) -> Q:
    """``pk IN (pks)``; on PostgreSQL as ``pk = ANY(ARRAY(pks))``, which it computes first and
    then reads by the primary key, where a plain ``IN`` may be planned as a semi-join that
    joins every row of the table before testing it."""
    if connections[qs.db].vendor != "postgresql":
        return Q(pk__in=pks)
    from django.contrib.postgres.expressions import ArraySubquery

    return Q(_AnyOf(F("pk"), ArraySubquery(pks)))


class _AnyOf(Func):
    """``(value = ANY(array))``."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def read_by_pk(qs: QuerySet, pks: QuerySet) -> QuerySet:
    """The rows of ``pks`` with ``qs``'s joins, without repeating its filters."""
    rows = qs.model._default_manager.filter(pk_in(qs, pks))
    related = qs.query.select_related
    if related is True:
        rows = rows.select_related()
    elif related:
        rows = rows.select_related(*_paths(related))
    return rows


def _paths(tree: dict, prefix: str = "") -> list[str]:
    """``select_related`` paths from the nested dict a query keeps them in."""
    paths = []
    for name, sub in tree.items():
        path = f"{prefix}{name}"
        paths += _paths(sub, f"{path}__") if sub else [path]
    return paths


@dataclass
class Page:
    rows: list
    has_next: bool
    has_previous: bool
    next_cursor: str = ""
    previous_cursor: str = ""


def seek_page(
    qs: QuerySet,
    expr: Expression,
    *,
    descending: bool,
    nullable: bool,
    size: int,
    after: str = "",
    before: str = "",
    last: bool = False,
    read: Callable[[QuerySet, QuerySet], QuerySet] | None = None,
) -> Page:
    """One page of ``qs`` (already filtered) in the order of ``expr`` then pk.

    The page's pks are found first, in a subquery that sorts only (sort key, pk)
    and none of the joined columns the cells show; the rows are then read by pk
    in the same statement. Sorting narrow pairs is what keeps a page cheap when
    the sort cannot walk an index (a sort key of another table, few rows sorted
    after filtering). ``read(qs, pks)`` gives the rows of those pks with what
    the cells need (``read_by_pk`` plus the caller's annotations, see
    ``GridView.reader``); without it, ``qs`` itself narrowed to those pks.
    """
    keyed = qs.annotate(**{SORT_ALIAS: expr})
    forward = True
    cursor = None
    if before or last:
        forward = False
        cursor = decode_cursor(before) if before else None
    elif after:
        cursor = decode_cursor(after)
    if cursor is not None:
        keyed = keyed.filter(seek_q(cursor[0], cursor[1], descending=descending, forward=forward, nullable=nullable))
    order = ordering(descending=descending, forward=forward, nullable=nullable)
    keys = keyed.order_by(*order).values("pk")[: size + 1]
    # The rows by pk alone: with the rule's filters repeated around the subquery the planner
    # may again walk an index and test each row against the subquery.
    rows_qs = read(qs, keys) if read is not None else qs.filter(pk_in(qs, keys))
    rows = list(rows_qs.annotate(**{SORT_ALIAS: expr}).order_by(*order))
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    if forward:
        has_next, has_previous = more, cursor is not None
    else:
        has_next, has_previous = cursor is not None, more
    page = Page(rows=rows, has_next=has_next, has_previous=has_previous)
    if rows:
        page.next_cursor = encode_cursor(getattr(rows[-1], SORT_ALIAS), rows[-1].pk)
        page.previous_cursor = encode_cursor(getattr(rows[0], SORT_ALIAS), rows[0].pk)
    return page
