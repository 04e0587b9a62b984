"""Reads of the messaging API's messages: one message of a channel the member sees, and
what rendering a page of messages needs, in a fixed number of queries however many
messages the page has (docs/api/messaging-messages.md).

Messages are named by their primary key here (``messageID``), not by the v2 ``public_id``.
A deleted message is gone (404 ``message_not_found``); a hidden one (automatically at the
report threshold, or by a moderator) too, except for organization admins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Min, Prefetch, QuerySet

from apps.channels.models import Channel, Membership, membership_current_q
from apps.core.errors import DomainError
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


def render_context(*, member: Member, messages: Iterable[Message]) -> RenderContext:
    """Reactions, the member's bookmarks, the repliers and the member's ownership of the
    channels of ``messages``: at most four queries, whatever the page's size."""
    messages = list(messages)
    if not messages:
        return RenderContext()
    pks = [m.pk for m in messages]
    context = RenderContext()
    reactions: dict[int, dict[str, list[int]]] = defaultdict(dict)
    rows = (
        Reaction.objects.filter(message_id__in=pks)
        .order_by("message_id", "pk")
        .values_list("message_id", "name", "member_id")
    )
    for message_pk, name, member_pk in rows:
        reactions[message_pk].setdefault(name, []).append(member_pk)
    context.reactions = {pk: list(names.items()) for pk, names in reactions.items()}
    context.bookmarked = set(
        Bookmark.objects.filter(member=member, message_id__in=pks).values_list(
            "message_id", flat=True
        )
    )
    threads = [m.pk for m in messages if m.children_count and m.parent_id is None]
    if threads:
        repliers = (
            Message.objects.filter(
                parent_id__in=threads,
                deleted_at__isnull=True,
                hidden_at__isnull=True,
                author__isnull=False,
            )
            .values("parent_id", "author_id")
            .annotate(first=Min("pk"))
            .order_by("parent_id", "first")
        )
        for row in repliers:
            context.repliers.setdefault(row["parent_id"], []).append(row["author_id"])
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
