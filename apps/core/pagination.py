"""Keyset pagination with opaque, signed page tokens (DESIGN.md invariant 7).

Every list is ordered by the table's primary key (ascending), so a page is
``WHERE id > :last ORDER BY id LIMIT n`` and page 10,000 costs what page 1 costs.
Tokens are signed with the project's secret, bound to the organization and to the
endpoint (the ``scope``), so a token cannot be forged nor replayed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Model, QuerySet

from apps.core.errors import DomainError

_SALT = "chatadmin.pagination"


def encode_token(scope: str, payload: dict[str, Any]) -> str:
    return signing.dumps({"s": scope, **payload}, salt=_SALT, compress=True)


def decode_token(scope: str, token: str, *, field: str = "token") -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > 512:
        raise DomainError("invalid_page_token", field=field)
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature as exc:
        raise DomainError("invalid_page_token", field=field) from exc
    if not isinstance(payload, dict) or payload.get("s") != scope:
        raise DomainError("invalid_page_token", field=field)
    return payload


@dataclass
class Page[T: Model]:
    items: list[T]
    next: str | None
    previous: str | None

    def paging(self) -> dict[str, str | None]:
        return {"next": self.next, "previous": self.previous}


def keyset_page[T: Model](
    queryset: QuerySet[T],
    *,
    scope: str,
    limit: int,
    token: str | None = None,
    token_field: str = "token",
    skip: int = 0,
) -> Page[T]:
    """One page of ``queryset`` in primary-key order.

    ``scope`` names the endpoint, the organization and the filters, so that a token is
    only accepted by the query that issued it. ``skip`` (bounded by the caller) applies
    only to the first page.
    """
    direction = "next"
    if token:
        payload = decode_token(scope, token, field=token_field)
        direction = payload.get("d")
        pivot = payload.get("k")
        if direction not in ("next", "prev") or not isinstance(pivot, int):
            raise DomainError("invalid_page_token", field=token_field)
        if direction == "next":
            rows = list(queryset.filter(pk__gt=pivot).order_by("pk")[: limit + 1])
        else:
            rows = list(queryset.filter(pk__lt=pivot).order_by("-pk")[: limit + 1])
    else:
        rows = list(queryset.order_by("pk")[skip : skip + limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "prev":
        rows.reverse()
    if not rows:
        return Page(items=[], next=None, previous=None)
    first, last = rows[0].pk, rows[-1].pk
    has_next = more if direction == "next" else bool(token)
    has_prev = more if direction == "prev" else bool(token) or skip > 0
    return Page(
        items=rows,
        next=encode_token(scope, {"d": "next", "k": last}) if has_next else None,
        previous=encode_token(scope, {"d": "prev", "k": first}) if has_prev else None,
    )
