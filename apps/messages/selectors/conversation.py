"""Reads of the messaging API's messages: one message of a channel the member sees, and
what rendering a page of messages needs, in a fixed number of queries however many
messages the page has (docs/api/messaging-messages.md).

Messages are named by their primary key here (``messageID``), not by the v2 ``public_id``.
A deleted message is gone (404 ``message_not_found``); a hidden one (automatically at the
report threshold, or by a moderator) too, except for organization admins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BigIntegerField,
    Exists,
    Expression,
    Min,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
)

from apps.channels.models import Channel, Membership, membership_current_q
from apps.core.errors import DomainError
from apps.core.expressions import JSONList
from apps.members.models import Member
from apps.messages.models import Bookmark, Message, MessageFile, Reaction
from apps.messages.selectors.messages import message_visible
from apps.organizations.models import Organization


def message_not_found(
    message_pk: int | str | None = None, *, field: str = "messageID"
) -> DomainError:
    shown = f" {message_pk}" if message_pk is not None else ""
    return DomainError("message_not_found", f"No message{shown}.", field=field)


def conversation_message_get(
    *,
    member: Member,
    channel: Channel,
    message_pk: int,
    field: str = "messageID",
    include_deleted: bool = False,
) -> Message:
    """The message ``message_pk`` of ``channel`` (a channel ``member`` sees, as the
    caller loaded it), with its stored files, or 404 ``message_not_found`` on ``field``:
    missing, another channel's or organization's, deleted (unless ``include_deleted``),
    or hidden and the member no organization admin. ``message.channel`` is ``channel``."""
    queryset = with_render_details(
        Message.objects.filter(
            organization_id=channel.organization_id, channel_id=channel.pk, pk=message_pk
        ),
        channel=False,
    )
    if not include_deleted:
        queryset = queryset.filter(deleted_at__isnull=True)
    if not member.is_org_admin:
        queryset = queryset.filter(hidden_at__isnull=True)
    message = queryset.first()
    if message is None:
        raise message_not_found(message_pk, field=field)
    message.channel = channel
    return message


def with_render_details(queryset: QuerySet[Message], *, channel: bool = True) -> QuerySet[Message]:
    """What :func:`apps.messaging.messages.shapes.render_messages` reads from a message:
    its channel (a join, unless the caller sets it) and its stored files (one prefetch
    query per page)."""
    if channel:
        queryset = queryset.select_related("channel")
    return queryset.prefetch_related(Prefetch("files", queryset=MessageFile.objects.order_by("pk")))


def messages_for_render(*, organization: Organization, message_pks: Sequence[int]) -> list[Message]:
    """The organization's visible messages with these primary keys, in that order (the
    missing ones left out), loaded for rendering: two queries whatever their number."""
    wanted = list(dict.fromkeys(message_pks))
    if not wanted:
        return []
    found = {
        m.pk: m
        for m in with_render_details(message_visible(organization=organization)).filter(
            pk__in=wanted
        )
    }
    return [found[pk] for pk in wanted if pk in found]


@dataclass
class RenderContext:
    """Per-page data of the messages of a page, as seen by one member: each loaded in one
    query for the whole page."""

    #: message pk -> [(reaction name, [member pks in reaction order])], names in the
    #: order of their first reaction.
    reactions: dict[int, list[tuple[str, list[int]]]] = field(default_factory=dict)
    #: messages the member bookmarked
    bookmarked: set[int] = field(default_factory=set)
    #: message pk -> member pks that replied (live replies), first replier first
    repliers: dict[int, list[int]] = field(default_factory=dict)
    #: channels (pks) the member owns, among the page's channels
    owned_channels: set[int] = field(default_factory=set)


def render_values(*, member: Member) -> dict[str, Expression]:
    """What :class:`RenderContext` holds of each message, as annotations read in the
    message's own statement: ``reaction_rows`` (``[name, member pk]`` in reaction order),
    ``is_bookmarked`` (by ``member``) and ``replier_pks`` (authors of its live replies,
    first replier first); ``rendered_for``: ``member``'s pk (a message loaded for one
    member is rendered for another by reading its values again)."""
    repliers = (
        Message.objects.filter(
            parent_id=OuterRef("pk"),
            deleted_at__isnull=True,
            hidden_at__isnull=True,
            author__isnull=False,
        )
        .values("author_id")
        .annotate(first_pk=Min("pk"))
        .order_by("first_pk")
    )
    return {
        "reaction_rows": JSONList(
            Reaction.objects.filter(message_id=OuterRef("pk"))
            .order_by("pk")
            .values("name", "member_id"),
            "name",
            "member_id",
        ),
        "is_bookmarked": Exists(Bookmark.objects.filter(member=member, message_id=OuterRef("pk"))),
        "replier_pks": JSONList(repliers, "author_id"),
        "rendered_for": Value(member.pk, output_field=BigIntegerField()),
    }


def with_render_context(queryset: QuerySet[Message], *, member: Member) -> QuerySet[Message]:
    """``queryset`` with :func:`render_values` annotated: :func:`render_context` then
    reads nothing more for these messages than the member's channel ownership."""
    return queryset.annotate(**render_values(member=member))


def render_context(*, member: Member, messages: Iterable[Message]) -> RenderContext:
    """Reactions, the member's bookmarks, the repliers and the member's ownership of the
    channels of ``messages``: the first three from :func:`render_values`, annotated when
    the messages were loaded for ``member`` (:func:`with_render_context`), else read in
    one query; the ownership in one more."""
    messages = list(messages)
    if not messages:
        return RenderContext()
    values: dict[int, tuple[Any, ...]] = {
        m.pk: (m.reaction_rows, m.is_bookmarked, m.replier_pks)
        for m in messages
        if getattr(m, "rendered_for", None) == member.pk
    }
    missing = [m.pk for m in messages if m.pk not in values]
    if missing:
        annotations = render_values(member=member)
        names = [name for name in annotations if name != "rendered_for"]
        values.update(
            (row[0], row[1:])
            for row in Message.objects.filter(pk__in=missing)
            .annotate(**annotations)
            .values_list("pk", *names)
        )
    context = RenderContext()
    for message in messages:
        reaction_rows, bookmarked, replier_pks = values.get(message.pk, ([], False, []))
        if reaction_rows:
            reactions: dict[str, list[int]] = {}
            for name, member_pk in reaction_rows:
                reactions.setdefault(name, []).append(member_pk)
            context.reactions[message.pk] = list(reactions.items())
        if bookmarked:
            context.bookmarked.add(message.pk)
        if message.children_count and message.parent_id is None and replier_pks:
            context.repliers[message.pk] = list(replier_pks)
    context.owned_channels = channels_owned(
        member=member, channel_pks={m.channel_id for m in messages}
    )
    return context


def channels_owned(*, member: Member, channel_pks: Iterable[int]) -> set[int]:
    """The channels among ``channel_pks`` that ``member`` owns (one query)."""
    return set(
        Membership.objects.filter(
            membership_current_q(),
            member=member,
            channel_id__in=list(channel_pks),
            is_owner=True,
        ).values_list("channel_id", flat=True)
    )
