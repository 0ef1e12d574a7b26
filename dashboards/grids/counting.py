"""Exact row counts of the grids, cheap enough for a million tickets.

A grid shows its exact row count. For a supervisor "visible" is an OR of
branches (the supervised teams, the tickets assigned to or watched by the
user, ...), and an OR with an ``EXISTS`` in it cannot use an index: counting
half a million visible tickets scanned the whole table. The same count split
into disjoint branches, ``A``, ``B and not A``, ``C and not A and not B``,
lets each branch use its own index (the supervised teams' index range, the
user's assignments, the user's watch list) and adds up to the same number:
the branches partition the visible tickets, so no row is counted twice or
missed, whatever the view's own rule and filters.

Rules build their tickets on ``visible(user)``; ``split_count`` rebuilds the
view's queryset once per branch, with ``visible`` answering that branch only,
and sums the counts in one SQL statement.
"""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Q, QuerySet

from tickets.models import Ticket
from tickets.selectors import visibility_q, visible_tickets

_BRANCH: ContextVar[Q | None] = ContextVar("panel_visibility_branch", default=None)


def visible(user: AbstractBaseUser) -> QuerySet[Ticket]:
    """``visible_tickets(user)``, or only the branch being counted inside ``split_count``."""
    branch = _BRANCH.get()
    return visible_tickets(user) if branch is None else Ticket.objects.filter(branch)


def in_branch() -> bool:
    """Whether ``split_count`` is counting one branch now (``visible`` answers only that branch)."""
    return _BRANCH.get() is not None


def _is_team_range(child: object) -> bool:
    return isinstance(child, tuple) and child[0] in ("team_id__in", "team__in")


def visibility_branches(user: AbstractBaseUser) -> list[Q] | None:
    """Disjoint filters whose union is ``visibility_q(user)``, or ``None`` when it has no branches.

    The team ranges go first, so the big branch is a plain index range and the
    others (few rows each) carry its negation.
    """
    q = visibility_q(user)
    if q is None or q.negated or q.connector != Q.OR or len(q.children) < 2:
        return None
    children = sorted(q.children, key=lambda child: not _is_team_range(child))
    branches: list[Q] = []
    before = Q()
    for child in children:
        this = child if isinstance(child, Q) else Q(child)
        branches.append(this & ~before if before else this)
        before = before | this if before else this
    return branches


@contextmanager
def _only(branch: Q):
    token = _BRANCH.set(branch)
    try:
        yield
    finally:
        _BRANCH.reset(token)


def sum_of_counts(querysets: list[QuerySet]) -> int:
    """``sum(qs.count() for qs in querysets)`` in one statement."""
    selects, params = [], []
    for qs in querysets:
        try:
            sql, p = qs.order_by().values("pk").query.get_compiler(using=qs.db).as_sql()
        except EmptyResultSet:
            continue
        # Compiled by the ORM, parameters apart: nothing here comes from the request as text.
        selects.append(f"(SELECT COUNT(*) FROM ({sql}) _part{len(selects)})")  # noqa: S608
        params.extend(p)
    if not selects:
        return 0
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute("SELECT " + " + ".join(selects), params)
        return int(cursor.fetchone()[0])


def split_count(user: AbstractBaseUser, build: Callable[[], QuerySet]) -> int:
    """The exact count of ``build()``, counted one visibility branch at a time."""
    branches = visibility_branches(user)
    if not branches:
        return build().count()
    querysets = []
    for branch in branches:
        with _only(branch):
            querysets.append(build())
    return sum_of_counts(querysets)


# --- the badges: many views' counts at once ------------------------------------------------------


@dataclass(frozen=True)
class CountFamily:
    """Views whose rows are one base queryset narrowed by a condition each (``GridView.family_q``).

    The badges count a family's views in one pass over the base, with a filtered
    ``COUNT`` per view, instead of one query per view. ``split``: count the base
    one visibility branch at a time (see ``split_count``).
    """

    key: str
    base: Callable[[AbstractBaseUser, datetime], QuerySet]
    split: bool = False


def family_aggregate(
    user: AbstractBaseUser, family: CountFamily, now: datetime, counts: dict[str, Any]
) -> dict[str, int]:
    """``family.base(user, now).aggregate(**counts)``, summed over the visibility branches when
    the family is ``split``; an empty aggregate (a sum over no rows) is 0."""
    branches = visibility_branches(user) if family.split else None
    totals = dict.fromkeys(counts, 0)
    for branch in branches or [None]:
        if branch is None:
            qs = family.base(user, now)
        else:
            with _only(branch):
                qs = family.base(user, now)
        for name, value in qs.aggregate(**counts).items():
            totals[name] += value or 0
    return totals


def view_counts(views: list[Any], user: AbstractBaseUser, now: datetime) -> dict[str, int | None]:
    """``{view.key: view.count(user, now)}``, with each family's views counted together and
    views sharing one rule (and no family) counted once."""
    result: dict[str, int | None] = {}
    families: dict[str, tuple[CountFamily, list[Any]]] = {}
    by_rule: dict[Any, str] = {}
    for view in views:
        family = getattr(view, "family", None)
        if family is not None:
            families.setdefault(family.key, (family, []))[1].append(view)
            continue
        rule = getattr(view, "rule", None)
        if rule is not None and rule in by_rule:
            result[view.key] = result[by_rule[rule]]
            continue
        result[view.key] = view.count(user, now)
        if rule is not None:
            by_rule[rule] = view.key
    for family, members in families.values():
        if len(members) == 1:
            result[members[0].key] = members[0].count(user, now)
            continue
        counts = {}
        for i, view in enumerate(members):
            if getattr(view, "family_total", None) is not None:
                counts[f"n{i}"] = view.family_total(now)
                continue
            q = view.family_q(now) if view.family_q is not None else None
            counts[f"n{i}"] = Count("pk", filter=q) if q is not None else Count("pk")
        totals = family_aggregate(user, family, now, counts)
        for i, view in enumerate(members):
            result[view.key] = totals[f"n{i}"]
    return result
