"""Reads on messages, always scoped to an organization.

Messages of a closed channel are invisible everywhere (closing deletes them at once; a
task purges the rows later). Soft-deleted messages are hidden from queries but still
answered by :func:`message_get` (the API renders them with ``isDeleted: true``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, JSONField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_live_q
from apps.core.compiled import CompiledRead
from apps.core.errors import DomainError
from apps.core.expressions import JSONList
from apps.core.pagination import decode_token, encode_token
from apps.messages.filters import MessageFilterSet
from apps.messages.models import Message, MessageFile, MessageTag, Reaction
from apps.organizations.models import Organization
from apps.reports.selectors import open_report_count

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def parse_message_id(value: Any) -> uuid.UUID | None:
    """The UUID of a ``messageId``, or None when it cannot be one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def _visible_q(organization: Organization) -> Q:
    return channel_live_q(prefix="channel__") & Q(
        organization=organization, channel__closed_at__isnull=True
    )


def message_visible(*, organization: Organization) -> QuerySet[Message]:
    """Every message of the organization that may be seen (deleted ones included): not in
    a closed channel, nor in one whose scheduled deletion time has passed (gone at once,
    before the sweep purges it)."""
    return Message.objects.filter(_visible_q(organization))


def message_get(
    *,
    organization: Organization,
    message_id: Any,
    channel: Channel | None = None,
    include_deleted: bool = True,
    for_update: bool = False,
    code: str = "message_not_found",
    field: str = "messageId",
) -> Message:
    """The message, or DomainError(code); another org's id looks exactly the same."""
    public_id = parse_message_id(message_id)
    qs = message_visible(organization=organization)
    if channel is not None:
        qs = qs.filter(channel=channel)
    if not include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    message = qs.filter(public_id=public_id).first() if public_id else None
    if message is None:
        raise DomainError(code, f"No message with messageId {str(message_id)[:64]!r}.", field=field)
    return message


def with_details(queryset: QuerySet[Message]) -> QuerySet[Message]:
    """What rendering a message needs, in a constant number of queries:
    the channel and author (joins), the parent's messageId and the open-report count
    (annotations) and the tags (one prefetch query)."""
    return (
        queryset.select_related("channel", "author")
        .annotate(
            parent_public_id=F("parent__public_id"),
            flag_count=open_report_count("target_message"),
        )
        .prefetch_related(Prefetch("tag_rows", queryset=MessageTag.objects.order_by("pk")))
    )


class TagNames(JSONList):
    """The outer message's tag names, in the order they were added (``order_by="name"``:
    by name)."""

    def __init__(self, order_by: str = "pk") -> None:
        super().__init__(
            MessageTag.objects.filter(message_id=OuterRef("pk")).order_by(order_by).values("name"),
            "name",
        )


class ReactionCounts(Subquery):
    """``{reaction name: count}`` of the outer message, names in order (the database's
    collation, as :func:`message_reaction_counts`), as one JSON object read in the
    message's own statement: a grouped subquery aggregated by ``json_object_agg``
    (PostgreSQL, ``json``: keeps the order, where ``jsonb`` would sort the keys by
    length) or ``json_group_object`` over the ordered groups (SQLite)."""

    output_field = JSONField()

    def __init__(self) -> None:
        super().__init__(
            Reaction.objects.filter(message_id=OuterRef("pk"))
            .order_by("name")
            .values("name")
            .annotate(n=Count("pk"))
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        template = "(SELECT json_object_agg(name, n ORDER BY name) FROM (%(subquery)s) counts)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        template = "(SELECT json_group_object(name, n) FROM (%(subquery)s))"
        return self.as_sql(compiler, connection, template=template, **extra)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [_json_object]


def _json_object(value: Any, expression: Any, connection: Any) -> dict[str, Any]:
    if isinstance(value, str):  # SQLite's JSON text
        return json.loads(value)
    return value or {}  # PostgreSQL's json, already decoded; NULL without rows


def with_render_values(queryset: QuerySet[Message]) -> QuerySet[dict[str, Any]]:
    """What rendering a message needs, as dicts, in ONE statement however many messages:
    its columns, the channel's ``channel_key`` and the author's ``user_key`` (joins),
    ``parent_public_id`` (a join), ``flag_count`` (open reports), ``tag_names`` (a list)
    and ``reaction_counts`` (``{name: count}``) (correlated subqueries). No model
    instances are built: the surfaces render the dicts (the API v2 message lists and
    detail read this; ``with_details`` stays for the pages that render models)."""
    return queryset.values(
        "pk",
        "public_id",
        "type",
        "data",
        "children_count",
        "created_at",
        "edited_at",
        "deleted_at",
        "hidden_at",
        channel_key=F("channel__channel_id"),
        user_key=F("author__user_id"),
        parent_public_id=F("parent__public_id"),
        flag_count=open_report_count("target_message"),
        tag_names=TagNames(),
        reaction_counts=ReactionCounts(),
    )


@functools.cache
def _all_render_values() -> QuerySet[dict[str, Any]]:
    """:func:`with_render_values` of every message, built once per process: a read adds
    its filters to a copy. Building and resolving the three subqueries was half the time
    of a one-message read (7.6 of 15.4 ms, benchmarks/api.py's machine)."""
    return with_render_values(Message.objects.all())


def _not_found(message_id: Any) -> DomainError:
    return DomainError(
        "message_not_found",
        f"No message with messageId {str(message_id)[:64]!r}.",
        field="messageId",
    )


def message_detail(*, organization: Organization, message_id: Any) -> Message:
    """One message with everything needed to render it (deleted ones included)."""
    public_id = parse_message_id(message_id)
    message = (
        with_details(message_visible(organization=organization)).filter(public_id=public_id).first()
        if public_id
        else None
    )
    if message is None:
        raise _not_found(message_id)
    return message


#: :func:`message_detail_values`' statement, compiled once per process (building it was
#: 1.5 ms of CPU, more than the rest of the request: docs/performance.md, "Request path").
_detail_read = CompiledRead(
    lambda organization, public_id, now: with_render_values(
        Message.objects.filter(
            channel_live_q(now=now, prefix="channel__"),
            organization=organization,
            channel__closed_at__isnull=True,
            public_id=public_id,
        ).order_by()
    )[:1],
    organization=Message._meta.get_field("organization"),
    public_id=Message._meta.get_field("public_id"),
    now=Channel._meta.get_field("scheduled_deletion_at"),
)


def message_detail_values(*, organization: Organization, message_id: Any) -> dict[str, Any]:
    """One message as :func:`with_render_values` reads it (deleted ones included), in
    one statement, or 404 ``message_not_found``."""
    public_id = parse_message_id(message_id)
    row = (
        _detail_read.first_dict(
            organization=organization.pk, public_id=public_id, now=timezone.now()
        )
        if public_id
        else None
    )
    if row is None:
        raise _not_found(message_id)
    return row


def message_reaction_counts(*, message_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{message pk: {reaction name: count}}`` for a page, in ONE grouped query."""
    if not message_ids:
        return {}
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Reaction.objects.filter(message_id__in=message_ids)
        .order_by()
        .values("message_id", "name")
        .annotate(n=Count("pk"))
        .order_by("message_id", "name")
    )
    for row in rows:
        counts[row["message_id"]][row["name"]] = row["n"]
    return dict(counts)


def message_file_get(*, message: Message, variant: str) -> MessageFile | None:
    return MessageFile.objects.filter(message=message, variant=variant).first()


@dataclass
class MessagePage:
    """A page of messages as :func:`with_render_values` reads them (dicts)."""

    items: list[dict[str, Any]]
    next: str | None = None
    previous: str | None = None

    def paging(self) -> dict[str, str | None]:
        return {"next": self.next, "previous": self.previous}


def _scope(
    *,
    organization: Organization,
    channel: Channel,
    parent: Message | None,
    top_level: bool,
    tags: list[str],
    exclude_tags: list[str],
) -> str:
    """A token only works for the query that issued it: same endpoint, organization,
    channel and filters (hashed, so the token stays short)."""
    filters = json.dumps(
        [parent.pk if parent else None, top_level, sorted(tags), sorted(exclude_tags)]
    )
    digest = hashlib.sha256(filters.encode()).hexdigest()[:16]
    return f"v2.messages:{organization.pk}:{channel.pk}:{digest}"


def _page(
    scoped: Q,
    filters: dict[str, Any] | None,
    ascending: bool,
    limit: int,
    lower: Any,
    upper: Any,
) -> QuerySet[dict[str, Any]]:
    """A page of :func:`message_query` as one statement: the rows of ``scoped`` (narrowed
    by the filter set's ``filters``) between the pivots ``lower`` and ``upper`` (message
    pks, or None), ``limit`` + 1 of them from the side it walks (``ascending``: from
    ``lower`` up), rendered values, with ``beyond``: the nearest listed row at or past the
    pivot of the other side, when there is one (the neighbour check: an uncorrelated
    scalar subquery, an index walk from the pivot that stops at the first row, whatever
    the depth; tests/messages/test_paging_plan.py)."""

    def narrowed(queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = queryset.filter(scoped)
        return MessageFilterSet(data=filters, queryset=queryset).qs if filters else queryset

    bounds = Q()
    if lower is not None:
        bounds &= Q(pk__gt=lower)
    if upper is not None:
        bounds &= Q(pk__lt=upper)
    window = narrowed(_all_render_values()).filter(bounds)
    base = narrowed(Message.objects.all())
    if ascending and lower is not None:
        beyond = base.filter(pk__lte=lower).order_by("-pk")
        window = window.annotate(beyond=Subquery(beyond.values("pk")[:1]))
    elif not ascending and upper is not None:
        beyond = base.filter(pk__gte=upper).order_by("pk")
        window = window.annotate(beyond=Subquery(beyond.values("pk")[:1]))
    return window.order_by("pk" if ascending else "-pk")[: limit + 1]


@functools.cache
def _page_read(ascending: bool, limit: int, lower: bool, upper: bool) -> CompiledRead:
    """:func:`_page` of a channel's whole list (no parent, tag or top-level filter), as a
    statement compiled once per process and shape (building it was ~1.5 ms of CPU, more
    than the statement: docs/performance.md, "Request path")."""
    pk = Message._meta.get_field("id")
    pivots = {name: pk for name, used in (("lower", lower), ("upper", upper)) if used}
    return CompiledRead(
        lambda organization, channel, lower=None, upper=None: _page(
            Q(organization=organization, channel=channel, deleted_at__isnull=True),
            None,
            ascending,
            limit,
            lower,
            upper,
        ),
        organization=Message._meta.get_field("organization"),
        channel=Message._meta.get_field("channel"),
        **pivots,
    )


def message_query(
    *,
    organization: Organization,
    channel: Channel,
    parent_id: str | None = None,
    top_level: bool = False,
    tags: list[str] | None = None,
    exclude_tags: list[str] | None = None,
    first: int | None = None,
    last: int | None = None,
    before: str | None = None,
    after: str | None = None,
    token: str | None = None,
) -> MessagePage:
    """One page of a channel's messages, always in chronological order.

    Keyset on the primary key (which grows with time): ``first``/``last`` pick the
    oldest/newest end of the window, ``before``/``after`` (messageIds) bound it, and
    ``token`` continues from a previous page (``next`` = newer, ``previous`` = older).
    Default: the last 25. Deleted messages are not listed; replies are listed with
    their top-level messages unless ``top_level`` or ``parent_id`` narrows.
    """
    tags = tags or []
    exclude_tags = exclude_tags or []
    if channel.is_closed:
        return MessagePage(items=[])
    parent = None
    if parent_id:
        parent = message_get(
            organization=organization, message_id=parent_id, channel=channel, field="parentId"
        )
    filters = {"tags": tags, "excludeTags": exclude_tags, "filterByParentId": top_level}
    scope = _scope(
        organization=organization,
        channel=channel,
        parent=parent,
        top_level=top_level,
        tags=tags,
        exclude_tags=exclude_tags,
    )
    limit = first or last or DEFAULT_PAGE_SIZE
    lower = upper = None  # the pivots bounding the window below / above
    if token:
        payload = decode_token(scope, token, field="options.token")
        direction, pivot, size = payload.get("d"), payload.get("k"), payload.get("n")
        if direction not in ("next", "prev") or not isinstance(pivot, int):
            raise DomainError("invalid_page_token", field="options.token")
        if not first and not last and isinstance(size, int):
            limit = max(1, min(size, MAX_PAGE_SIZE))
        if direction == "next":
            ascending, lower = True, pivot
        else:
            ascending, upper = False, pivot
    else:
        if before:
            upper = message_get(
                organization=organization,
                message_id=before,
                channel=channel,
                field="options.before",
            ).pk
        if after:
            lower = message_get(
                organization=organization,
                message_id=after,
                channel=channel,
                field="options.after",
            ).pk
        if first:
            ascending = True
        elif last:
            ascending = False
        else:
            ascending = bool(after) and not before

    if parent is None and not tags and not exclude_tags and not top_level:
        # the common page (a channel's list, scrolled either way): its statement compiled
        # once per process and shape
        read = _page_read(ascending, limit, lower is not None, upper is not None)
        pivots = {k: v for k, v in (("lower", lower), ("upper", upper)) if v is not None}
        rows = read.all_dicts(organization=organization.pk, channel=channel.pk, **pivots)
    else:
        scoped = Q(organization=organization, channel=channel, deleted_at__isnull=True)
        if parent is not None:
            scoped &= Q(parent=parent)
        rows = list(_page(scoped, filters, ascending, limit, lower, upper))
    more = len(rows) > limit
    rows = rows[:limit]
    if not ascending:
        rows.reverse()
    if not rows:
        return MessagePage(items=[])
    beyond_pk = rows[0].get("beyond")
    for row in rows:
        row.pop("beyond", None)
    first_pk, last_pk = rows[0]["pk"], rows[-1]["pk"]
    has_next = more if ascending else beyond_pk is not None
    has_prev = beyond_pk is not None if ascending else more
    return MessagePage(
        items=rows,
        next=encode_token(scope, {"d": "next", "k": last_pk, "n": limit}) if has_next else None,
        previous=(
            encode_token(scope, {"d": "prev", "k": first_pk, "n": limit}) if has_prev else None
        ),
    )
