"""Message search and history of the messaging API (``GET /api/messaging/search/messages``
and ``/search/threads``; docs/api/messaging-search.md).

Who reads what: a live channel (not closed, not deleted, its scheduled deletion not due)
that is public, or that the member belongs to or is invited to (as the channel list of
:mod:`apps.channels.selectors.conversations`), and that :func:`can` lets it ``read``. An
organization admin also reaches any other channel of the organization when it names the
channel in ``channel_ids``. Deleted and hidden messages are never returned.

Without ``query`` the search is a filtered list: how clients page a channel's history.
Keyset on the primary key (which grows with time), never an offset: a page of one
channel is one backward index range scan (on ``(channel, id)``, or on the primary key
from ``beforeMessageID`` down) that stops after ``limit`` hits, whatever the depth. With
``query``:

- PostgreSQL: full-text search on ``search_vector`` (a tsvector kept by a trigger in the
  organization's ``search_language``, GIN index ``message_search``; migration
  ``chat_messages.0004``) with ``websearch_to_tsquery`` in that language; the hits are
  read through the index first (:func:`_all_hits`), so a rare word never walks the table;
- SQLite (the embedded mode): a LIKE scan over the message's text (``data.text``, else
  ``data.caption``, else ``data.name``, as the trigger indexes), case-insensitive for
  ASCII, with ``websearch_to_tsquery``'s syntax read the same way (words all present,
  ``"a phrase"``, ``-word`` excluded, ``or``); LIKE wildcards in the query match
  themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Expression,
    F,
    Q,
    QuerySet,
    TextField,
    Value,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, RowNumber

from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import channel_live_q
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Bookmark, Message
from apps.messages.selectors.conversation import with_render_context
from apps.organizations.models import Organization
from apps.permissions.registry import CHANNEL
from apps.permissions.services import can

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: The longest ``query`` (characters).
MAX_QUERY_LENGTH = 500
#: The most words (or phrases) of a query on the LIKE fallback.
MAX_QUERY_TERMS = 16
#: Replies returned with each thread of :func:`threads_search` (its newest ones).
THREAD_REPLIES = 10

#: The messaging API's message types (Corteza's) -> ours. ``text`` is a plain message,
#: ``inlineImage`` an image, ``attachment`` a file; ``custom`` is the type of our other
#: surfaces; ``channelEvent`` (Corteza's join/part notices) is accepted and matches
#: nothing: we store no such messages. Our own names ``image`` and ``file`` are
#: accepted too.
TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "text": (Message.Type.TEXT,),
    "inlineImage": (Message.Type.IMAGE,),
    "attachment": (Message.Type.FILE,),
    "custom": (Message.Type.CUSTOM,),
    "channelEvent": (),
    "image": (Message.Type.IMAGE,),
    "file": (Message.Type.FILE,),
}


def message_types(names: Iterable[str], *, field: str = "type") -> list[str]:
    """Our message types for the API's ``type`` values, or 400 ``invalid_parameter``."""
    result: list[str] = []
    for name in names:
        if name not in TYPE_NAMES:
            raise DomainError(
                "invalid_parameter",
                f"{field}: {name[:64]!r} is not a message type; use {', '.join(TYPE_NAMES)}.",
                field=field,
            )
        result.extend(TYPE_NAMES[name])
    return list(dict.fromkeys(result))


# --- who reads which channel ---------------------------------------------------------------


def readable_channel_pks(
    *,
    organization: Organization,
    member: Member,
    channel_pks: Sequence[int] | None = None,
) -> list[int]:
    """The pks of the live channels of ``organization`` whose messages ``member`` may read
    (see the module docstring), narrowed to ``channel_pks`` when given (an unknown id,
    another organization's or an unreadable one is simply not there). One query; the
    ``read`` rules of the member's roles are applied by :func:`can` in Python (loaded once
    per member, no query without roles)."""
    if member.organization_id != organization.pk:
        return []
    channels = Channel.objects.filter(
        channel_live_q(), organization=organization, closed_at__isnull=True
    )
    open_to = Q(visibility=Channel.Visibility.PUBLIC) | Q(
        pk__in=Membership.objects.filter(
            membership_current_q() | Q(invited_at__isnull=False), member=member
        ).values("channel_id")
    )
    if channel_pks is not None:
        channels = channels.filter(pk__in=list(channel_pks))
        if not member.is_org_admin:  # an admin reaches any channel it names
            channels = channels.filter(open_to)
    else:
        channels = channels.filter(open_to)
    pks = channels.order_by("pk").values_list("pk", flat=True)
    return [pk for pk in pks if can(member, "read", f"{CHANNEL}:{pk}")]


# --- text matching --------------------------------------------------------------------------


class FullTextMatch(Expression):
    """``search_vector @@ websearch_to_tsquery(<language>, <query>)`` on the message table
    of the query being compiled (PostgreSQL only). The column is not a model field, so it
    is named through the compiled query's base alias: the expression works in a subquery
    too. Both values are parameters."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, language: str, query: str) -> None:
        super().__init__(output_field=BooleanField())
        self.language = language
        self.query = query

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.language!r}, {self.query!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        alias = compiler.query.get_initial_alias()
        column = f"{compiler.quote_name(alias)}.search_vector"
        return (
            f"{column} @@ websearch_to_tsquery(%s::regconfig, %s)",
            [self.language, self.query],
        )


_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def like_terms(query: str) -> list[list[tuple[str, bool]]]:
    """``query`` read like ``websearch_to_tsquery`` does, for the LIKE fallback: groups
    separated by ``or`` (any group matches), each a list of ``(text, excluded)`` terms
    that must all hold. ``"a phrase"`` is one term; a leading ``-`` excludes."""
    groups: list[list[tuple[str, bool]]] = [[]]
    count = 0
    for match in _TERM.finditer(query):
        minus, phrase, word = match.groups()
        if word is not None:
            if word.lower() == "or":
                if groups[-1]:
                    groups.append([])
                continue
            excluded = word.startswith("-") and len(word) > 1
            text = word[1:] if excluded else word
        else:
            excluded, text = bool(minus), " ".join(phrase.split())
        if not text:
            continue
        count += 1
        if count > MAX_QUERY_TERMS:
            raise DomainError(
                "invalid_parameter",
                f"query: at most {MAX_QUERY_TERMS} words or phrases.",
                field="query",
            )
        groups[-1].append((text, excluded))
    return [group for group in groups if group]


def _message_text() -> Expression:
    """The text the trigger indexes: data.text, else data.caption, else data.name."""
    return Coalesce(
        KeyTextTransform("text", "data"),
        KeyTextTransform("caption", "data"),
        KeyTextTransform("name", "data"),
        Value(""),
        output_field=TextField(),
    )


def _like_q(query: str) -> Q:
    """The LIKE fallback's condition on ``search_text`` (an annotation, see
    :func:`text_match`). ``icontains`` escapes ``%``, ``_`` and ``\\`` itself."""
    groups = like_terms(query)
    if not groups:
        return Q(pk__in=[])  # nothing searchable: nothing matches, as on PostgreSQL
    result = Q()
    for index, group in enumerate(groups):
        cond = Q()
        for text, excluded in group:
            term = Q(search_text__icontains=text)
            cond &= ~term if excluded else term
        result = cond if index == 0 else result | cond
    return result


def text_match(queryset: QuerySet[Message], *, organization: Organization, query: str) -> Any:
    """``queryset`` narrowed to the messages whose text matches ``query`` (see the module
    docstring for PostgreSQL and the SQLite fallback)."""
    if connection.vendor == "postgresql":
        return queryset.filter(FullTextMatch(organization.search_language or "simple", query))
    return queryset.annotate(search_text=_message_text()).filter(_like_q(query))


# --- the searches ---------------------------------------------------------------------------

#: Text hits read whole before ordering (see :func:`_all_hits`).
HITS_READ_WHOLE = 1_000


def _all_hits(pks: QuerySet[Message, int]) -> list[int] | None:
    """Every value of ``pks`` (the ids of a text search's hits, in no order), or None when
    there are more than :data:`HITS_READ_WHOLE` of them. PostgreSQL only (None elsewhere).

    Why: ``ORDER BY id DESC LIMIT 50`` over a text search lets PostgreSQL walk the primary
    key backwards and test each row, which is right for a frequent word (50 hits are near)
    and a full scan for a rare or absent one, whose frequency its statistics cannot know
    (measured at 1,000,000 messages: 0.3 ms through the GIN index, 400 ms walking the
    table). Here the hits are a MATERIALIZED CTE: planned as if all of them were wanted
    (so through the GIN index unless the word is frequent), and run only until
    ``HITS_READ_WHOLE + 1`` rows are read. When there are few (the common case of a
    search), the page is taken from them in Python; when there are many, the ordered
    query is left to the planner, whose statistics then know the word is frequent.
    """
    if connection.vendor != "postgresql":
        return None
    sql, params = pks.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH hits AS MATERIALIZED ({sql}) SELECT * FROM hits LIMIT %s",
            [*params, HITS_READ_WHOLE + 1],
        )
        hits = [row[0] for row in cursor.fetchall()]
    return hits if len(hits) <= HITS_READ_WHOLE else None


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise DomainError(
            "invalid_parameter", f"limit: a whole number from 1 to {MAX_LIMIT}.", field="limit"
        )
    return limit


def _clean_query(query: str | None) -> str | None:
    if query is None or not query.strip():
        return None
    if len(query) > MAX_QUERY_LENGTH:
        raise DomainError(
            "invalid_parameter", f"query: at most {MAX_QUERY_LENGTH} characters.", field="query"
        )
    return query.strip()


def _shown(*, organization: Organization, channel_pks: list[int]) -> QuerySet[Message]:
    """Messages of these channels a reader sees: not deleted, not hidden."""
    return Message.objects.filter(
        organization=organization,
        channel_id__in=channel_pks,
        deleted_at__isnull=True,
        hidden_at__isnull=True,
    )


def messages_search(
    *,
    organization: Organization,
    member: Member,
    channel_ids: Sequence[int] | None = None,
    thread_ids: Sequence[int] | None = None,
    user_ids: Sequence[int] | None = None,
    types: Sequence[str] | None = None,
    after: int | None = None,
    before: int | None = None,
    from_: int | None = None,
    to: int | None = None,
    pinned_only: bool = False,
    bookmarked_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    query: str | None = None,
) -> list[Message]:
    """Up to ``limit`` messages ``member`` may read, newest first.

    - ``channel_ids``, ``thread_ids`` (replies of these top-level messages), ``user_ids``
      (authors, numeric member ids), ``types`` (the API's names, :data:`TYPE_NAMES`):
      any of the given values; ids that are unknown, another organization's or not
      readable match nothing (no error, so nothing tells them apart).
    - Without ``thread_ids`` and without ``query`` only top-level messages are listed
      (a channel's history; a thread is read with ``thread_ids``). A ``query`` finds
      replies too.
    - ``after``/``before`` exclusive and ``from_``/``to`` inclusive bounds on the
      message id. With ``after`` or ``from_`` the window is the ``limit`` OLDEST messages
      of the range (page forward: the next ``after`` is the highest id returned);
      otherwise the ``limit`` newest (page back: the next ``before`` is the lowest id).
      Either way the answer is newest first.
    - ``pinned_only``: pinned messages; ``bookmarked_only``: the member's bookmarks.

    Queries: one for the readable channels, one for the page with its channels (plus one
    for the member's role rules when it has roles, and on PostgreSQL with ``query`` one
    for the hits, :func:`_all_hits`). The renderer loads the rest.
    """
    limit = _check_limit(limit)
    query = _clean_query(query)
    type_values = message_types(types) if types else None
    channel_pks = readable_channel_pks(
        organization=organization,
        member=member,
        channel_pks=list(channel_ids) if channel_ids else None,
    )
    if not channel_pks or (types and not type_values):
        return []
    qs = _shown(organization=organization, channel_pks=channel_pks)
    if thread_ids:
        qs = qs.filter(parent_id__in=list(thread_ids))
    elif query is None:
        qs = qs.filter(parent__isnull=True)
    if user_ids:
        qs = qs.filter(author_id__in=list(user_ids))
    if type_values:
        qs = qs.filter(type__in=type_values)
    bounds = {"pk__gt": after, "pk__gte": from_, "pk__lt": before, "pk__lte": to}
    qs = qs.filter(**{k: v for k, v in bounds.items() if v is not None})
    if pinned_only:
        qs = qs.filter(pinned_at__isnull=False)
    if bookmarked_only:
        qs = qs.filter(pk__in=Bookmark.objects.filter(member=member).values("message_id"))
    ascending = after is not None or from_ is not None
    if query is not None:
        qs = text_match(qs, organization=organization, query=query)
        hits = _all_hits(qs.values_list("pk", flat=True))
        if hits is not None:  # every hit is known: take the window by id, then the rows
            hits.sort(reverse=not ascending)
            window = hits[:limit]
            rows = {
                m.pk: m
                for m in with_render_context(
                    qs.filter(pk__in=window).select_related("channel"), member=member
                )
            }
            page = [rows[pk] for pk in window if pk in rows]
            return page[::-1] if ascending else page
    qs = with_render_context(qs.select_related("channel"), member=member)
    if ascending:
        return list(qs.order_by("pk")[:limit])[::-1]
    return list(qs.order_by("-pk")[:limit])


def threads_search(
    *,
    organization: Organization,
    member: Member,
    channel_ids: Sequence[int] | None = None,
    limit: int = DEFAULT_LIMIT,
    query: str | None = None,
) -> list[Message]:
    """Threads ``member`` may read: up to ``limit`` top-level messages with replies
    (newest thread first), each followed by its newest :data:`THREAD_REPLIES` replies in
    chronological order (the root's ``replies`` count says how many there are; the rest
    are read with ``messages_search(thread_ids=[root])``). With ``query``: threads whose
    root or a (shown) reply matches. Deleted and hidden messages never appear.

    Queries: readable channels, the roots, their replies, each with their channels (plus
    the member's role rules when it has roles, and on PostgreSQL with ``query`` the
    matching threads, :func:`_all_hits`).
    """
    limit = _check_limit(limit)
    query = _clean_query(query)
    channel_pks = readable_channel_pks(
        organization=organization,
        member=member,
        channel_pks=list(channel_ids) if channel_ids else None,
    )
    if not channel_pks:
        return []
    shown = _shown(organization=organization, channel_pks=channel_pks)
    roots = shown.filter(parent__isnull=True, children_count__gt=0)
    if query is not None:
        matching = text_match(shown, organization=organization, query=query).annotate(
            thread=Coalesce("parent_id", "pk", output_field=BigIntegerField())
        )
        threads = _all_hits(matching.values_list("thread", flat=True).distinct())
        roots = roots.filter(pk__in=matching.values("thread") if threads is None else threads)
    root_list = list(
        with_render_context(roots.select_related("channel"), member=member).order_by("-pk")[:limit]
    )
    if not root_list:
        return []
    replies = (
        shown.filter(parent_id__in=[root.pk for root in root_list])
        .annotate(
            newest=Window(RowNumber(), partition_by=[F("parent_id")], order_by=F("pk").desc())
        )
        .filter(newest__lte=THREAD_REPLIES)
        .select_related("channel")
        .order_by("parent_id", "pk")
    )
    replies = with_render_context(replies, member=member)
    by_thread: dict[int, list[Message]] = {}
    for reply in replies:
        by_thread.setdefault(reply.parent_id, []).append(reply)
    result: list[Message] = []
    for root in root_list:
        result.append(root)
        result.extend(by_thread.get(root.pk, []))
    return result
