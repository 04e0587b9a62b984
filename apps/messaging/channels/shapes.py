"""The messaging API's Channel and Member objects (docs/api/messaging-channels.md).

The channels come from :mod:`apps.channels.selectors.conversations` as light rows
(:class:`ConversationRow`: the list reads values, one channel read by id is turned into
the same row), with what rendering needs (the viewer's row, the current members, the
newest message), so rendering makes no query whatever the number of channels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.channels.models import Membership
from apps.channels.selectors.conversations import (
    ConversationRow,
    ViewerRow,
    conversation_abilities,
)
from apps.members.models import Member
from apps.messaging.base import id_str, time_str
from apps.permissions.services import ChannelLike, channel_decider


def _unread(channel: ConversationRow, row: ViewerRow | None) -> dict[str, Any]:
    """``{lastMessageID, count}``: the last message the member has read and how many it
    has not (kept as data: the channel's ``message_count`` minus the member's
    ``read_count``). A non-member has nothing unread."""
    if row is None or not row.is_member:
        return {"lastMessageID": None, "count": 0}
    return {
        "lastMessageID": id_str(row.last_read_message_pk),
        "count": max(channel.message_count - row.read_count, 0),
    }


def render_channel(
    channel: ConversationRow,
    *,
    member: Member,
    now: datetime | None = None,
    decide: Callable[[ChannelLike], Mapping[str, bool]] | None = None,
) -> dict[str, Any]:
    """One Channel object as ``member`` sees it (``decide``: see
    :func:`conversation_abilities`)."""
    row = channel.viewer_membership
    may = conversation_abilities(channel=channel, member=member, now=now, decide=decide)
    return {
        "channelID": id_str(channel.pk),
        "name": channel.display_name,
        "topic": channel.topic,
        "type": channel.visibility,
        "membershipFlag": row.flag if row is not None and row.is_member else "",
        "members": [id_str(pk) for pk in channel.current_member_ids],
        "unread": _unread(channel, row),
        "lastMessageID": id_str(channel.last_message_pk),
        "canJoin": may["join"],
        "canPart": may["part"],
        "canObserve": may["observe"],
        "canSendMessages": may["send"],
        "canDeleteMessages": may["delete_messages"],
        "canChangeMembers": may["change_members"],
        "canUpdate": may["update"],
        "canArchive": may["archive"],
        "canDelete": may["delete"],
        "createdAt": time_str(channel.created_at),
        "updatedAt": time_str(channel.updated_at),
        "archivedAt": time_str(channel.archived_at),
        "deletedAt": time_str(channel.deleted_at),
    }


def render_channels(channels: Iterable[ConversationRow], *, member: Member) -> list[dict[str, Any]]:
    """Channel objects, in the order given (one time and one decider for them all)."""
    now = timezone.now()
    decide = channel_decider(member)
    return [render_channel(channel, member=member, now=now, decide=decide) for channel in channels]


def render_member(row: Membership) -> dict[str, Any]:
    """One Member object: the member's numeric id, ``owner|member|invitee``, and when it
    joined (or was invited)."""
    return {
        "userID": id_str(row.member_id),
        "type": row.member_type,
        "createdAt": time_str(row.joined_at or row.invited_at),
    }


def render_members(rows: Sequence[Membership]) -> list[dict[str, Any]]:
    return [render_member(row) for row in rows]
