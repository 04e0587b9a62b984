"""Keyset pagination for console lists, sortable by one column (ties broken by id).

A page is ``WHERE (col, id) > (:v, :id) ORDER BY col, id LIMIT n``, so the 1,000th page
of a 1,000,000-row table costs what the first costs, and no page ever COUNTs the table.
Cursors are signed (apps.core.pagination) and bound to the list and its sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from apps.core.errors import DomainError
from apps.core.pagination import decode_token, encode_token

PER_PAGE = 50


@dataclass
class ConsolePage:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None
    sort: str

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(value: Any, sample: Any) -> Any:
    if isinstance(sample, datetime) and isinstance(value, str):
        return parse_datetime(value)
    return value


def console_page[M: Model](
    request: HttpRequest,
    queryset: QuerySet[M],
    *,
    scope: str,
    sorts: dict[str, str],
    default_sort: str,
    per_page: int = PER_PAGE,
) -> ConsolePage:
    """One page of ``queryset``. ``sorts`` maps the ``?sort=`` values offered to a field
    name, with ``-`` for descending (e.g. ``{"newest": "-created_at", "name": "name"}``).
    ``?cursor=`` moves between pages; a bad cursor starts over from the first page."""
    sort = request.GET.get("sort", default_sort)
    if sort not in sorts:
        sort = default_sort
    spec = sorts[sort]
    desc = spec.startswith("-")
    field = spec.lstrip("-")
    scope = f"console:{scope}:{sort}"
    ordering = [f"-{field}", "-pk"] if desc else [field, "pk"]
    reverse = [f"{field}", "pk"] if desc else [f"-{field}", "-pk"]

    direction, value, pk = "next", None, None
    cursor = request.GET.get("cursor")
    if cursor:
        try:
            payload = decode_token(scope, cursor, field="cursor")
            direction, value, pk = payload["d"], payload["v"], payload["k"]
        except (DomainError, KeyError):
            direction, value, pk = "next", None, None

    qs = queryset
    if pk is not None:
        after = direction == "next"
        forward = after != desc  # moving towards larger values
        op = "gt" if forward else "lt"
        if value is None:
            boundary = Q(**{f"pk__{op}": pk})
        else:
            boundary = Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk})
        qs = qs.filter(boundary)
        rows = list(qs.order_by(*(ordering if after else reverse))[: per_page + 1])
    else:
        rows = list(qs.order_by(*ordering)[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if direction == "prev":
        rows.reverse()

    def cursor_for(row: Any, d: str) -> str:
        return encode_token(scope, {"d": d, "v": _encode(getattr(row, field)), "k": row.pk})

    has_next = more if direction == "next" else pk is not None
    has_prev = more if direction == "prev" else pk is not None
    return ConsolePage(
        items=rows,
        next_cursor=cursor_for(rows[-1], "next") if rows and has_next else None,
        prev_cursor=cursor_for(rows[0], "prev") if rows and has_prev else None,
        sort=sort,
    )
