"""Reads of the messaging API's channels ("conversations"): the channels one member sees,
with what it takes to render them (its own membership row, the current members, the
newest message) in a fixed number of queries, however many channels there are.

Who sees what (docs/api/messaging-channels.md):

- a live channel (not closed, not deleted, its scheduled deletion not due) that is
  public, or that the member belongs to or is invited to, is visible to that member;
- an organization admin also reaches any other channel of the organization by its id
  (moderation), but its list shows only what a member's would;
- a deny rule on ``read`` hides a channel like a missing one;
- anything else, including another organization's channel, is 404 ``channel_not_found``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet
from django.utils import timezone

from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.rules import post_refusal
from apps.channels.selectors.channels import channel_last_shown_message_subquery, channel_live_q
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.permissions.services import can

#: Longest ``query`` of the channel list (a name is at most 255 characters).
MAX_QUERY_LENGTH = 255


def channel_not_found(channel_pk: int | str | None = None) -> DomainError:
    """404 ``channel_not_found`` on the field ``channelID``: a missing channel, another
    organization's, or one this member may not see, alike."""
    shown = f" {channel_pk}" if channel_pk is not None else ""
    return DomainError("channel_not_found", f"No channel{shown}.", field="channelID")


#: The channel's columns a list leaves out: none of rendering, visibility and the posting
#: rule reads them (a service that writes re-reads the whole row under its lock).
_UNRENDERED_FIELDS = (
    "metadata",
    "avatar",
    "calendar_event",
    "purge_counts",
    "purged_at",
    "last_activity_at",
)


def _channels(member: Member, *, include_deleted: bool = False) -> QuerySet[Channel]:
    """The member's organization's open channels, each with the member's own row
    (``viewer``, None without one: one LEFT JOIN) and ``last_message_pk`` (the newest
    shown message's pk, a subquery). Rendering also needs :func:`_attach`."""
    now = timezone.now()
    if include_deleted:  # deleted but not purged, and still within its grace
        live = Q(scheduled_deletion_at__isnull=True) | Q(scheduled_deletion_at__gt=now)
    else:
        live = channel_live_q(now=now)
    return (
        Channel.objects.filter(live, organization_id=member.organization_id, closed_at__isnull=True)
        .annotate(
            viewer=FilteredRelation("memberships", condition=Q(memberships__member=member)),
            last_message_pk=channel_last_shown_message_subquery(),
        )
        .select_related("viewer")
        .defer(*_UNRENDERED_FIELDS)
    )


def _attach(channels: list[Channel]) -> list[Channel]:
    """Set what rendering ``channels`` (loaded by :func:`_channels`) needs: the viewer's
    row (``viewer_membership``; ``viewer_is_owner``, so
    :func:`apps.permissions.services.can` makes no query) and the current members' ids
    (``current_member_ids``, in the order they joined; one query for all channels)."""
    pks = [c.pk for c in channels]
    if not pks:
        return channels
    members: dict[int, list[int]] = {pk: [] for pk in pks}
    current = (
        Membership.objects.filter(membership_current_q(), channel_id__in=pks)
        .order_by("joined_at", "pk")
        .values_list("channel_id", "member_id")
    )
    for channel_pk, member_pk in current:
        members[channel_pk].append(member_pk)
    for channel in channels:
        channel.viewer_membership = row = getattr(channel, "viewer", None)
        channel.viewer_is_owner = bool(row is not None and row.is_member and row.is_owner)
        channel.current_member_ids = members[channel.pk]
    return channels


def _sees(member: Member, channel: Channel, *, by_id: bool) -> bool:
    row = channel.viewer_membership
    belongs = row is not None and (row.is_member or row.invited_at is not None)
    open_to = channel.visibility == Channel.Visibility.PUBLIC or belongs
    if not open_to and not (by_id and member.is_org_admin):
        return False
    channel.viewer_can_read = can(member, "read", channel)
    return channel.viewer_can_read


def conversations_visible(*, member: Member, query: str = "") -> list[Channel]:
    """The channels in ``member``'s list: public ones and those it belongs to or is
    invited to (admins alike), not closed nor deleted, that it may ``read``; ``query``
    narrows by name (case-insensitive substring). Ordered by name, then id. Two
    queries whatever the number of channels (the channels with the viewer's rows and the
    newest message's pk; the current members)."""
    if len(query) > MAX_QUERY_LENGTH:
        raise DomainError(
            "invalid_parameter",
            f"query: at most {MAX_QUERY_LENGTH} characters.",
            field="query",
        )
    channels = _channels(member).filter(
        Q(visibility=Channel.Visibility.PUBLIC)
        | Q(viewer__joined_at__isnull=False)
        | Q(viewer__invited_at__isnull=False)
    )
    if query.strip():
        channels = channels.filter(display_name__icontains=query.strip())
    loaded = _attach(list(channels.order_by("display_name", "pk")))
    return [channel for channel in loaded if _sees(member, channel, by_id=False)]


def conversation_get(*, member: Member, channel_pk: int, include_deleted: bool = False) -> Channel:
    """The channel ``channel_pk`` as ``member`` may see it (rendering data loaded), or 404
    ``channel_not_found``. ``include_deleted``: also a deleted channel still within its
    grace (to undelete it), if the member saw it before it was deleted."""
    channel = (
        _channels(member, include_deleted=include_deleted)
        # the whole row, with its organization: for the services and events that follow
        .defer(None)
        .select_related("organization")
        .filter(pk=channel_pk)
        .first()
    )
    if channel is None:
        raise channel_not_found(channel_pk)
    _attach([channel])
    if not _sees(member, channel, by_id=True):
        raise channel_not_found(channel_pk)
    return channel


def conversation_view_of(channel: Channel, *, loaded: Channel) -> Channel:
    """``channel`` (the row a write re-read) with what ``loaded`` (this module's load of the
    same channel, before the write) knew of the viewer, the members and the newest
    message: to answer a write whose channel is already gone for every reader (a delete
    without grace)."""
    for attr in ("viewer_membership", "viewer_is_owner", "current_member_ids"):
        setattr(channel, attr, getattr(loaded, attr))
    channel.last_message_pk = getattr(loaded, "last_message_pk", None)
    return channel


def conversation_members(*, channel: Channel) -> list[Membership]:
    """The channel's owners, members and invitees (not rows that only keep a ban or a
    mute), in the order they joined or were invited, with their members."""
    return list(
        Membership.objects.filter(channel=channel)
        .filter(membership_current_q() | Q(invited_at__isnull=False))
        .select_related("member")
        .order_by("pk")
    )


def conversation_member_rows(*, channel: Channel, members: Sequence[Member]) -> list[Membership]:
    """The channel's rows of these members (any state), in the members' order."""
    rows = {
        row.member_id: row
        for row in Membership.objects.filter(
            channel=channel, member__in=[m.pk for m in members]
        ).select_related("member")
    }
    return [rows[m.pk] for m in members if m.pk in rows]


def members_by_pk(
    *, organization: Organization, member_pks: Sequence[int], field: str
) -> list[Member]:
    """The organization's members with these numeric ids, in order, without duplicates;
    an unknown id (or another organization's) is 404 ``user_not_found`` on ``field``."""
    wanted = list(dict.fromkeys(member_pks))
    found = {m.pk: m for m in Member.objects.filter(organization=organization, pk__in=wanted)}
    unknown = [pk for pk in wanted if pk not in found]
    if unknown:
        shown = ", ".join(str(pk) for pk in unknown[:20])
        raise DomainError("user_not_found", f"{field}: no users {shown}.", field=field)
    return [found[pk] for pk in wanted]


def conversation_abilities(
    *, channel: Channel, member: Member, now: datetime | None = None
) -> dict[str, Any]:
    """What ``member`` may do on ``channel`` (loaded by this module, so nothing here makes
    a query): every permission through :func:`apps.permissions.services.can`, posting
    through the posting rule."""
    now = now or timezone.now()
    row = getattr(channel, "viewer_membership", None)
    is_member = row is not None and row.is_member
    invited = row is not None and not row.is_member and row.invited_at is not None
    banned = row is not None and row.is_banned(now)
    archived = channel.is_archived
    public = channel.visibility == Channel.Visibility.PUBLIC
    may_join = invited or (public and can(member, "join", channel))
    return {
        "join": not is_member and not banned and may_join,
        "part": is_member and can(member, "leave", channel),
        "observe": getattr(channel, "viewer_can_read", None) or can(member, "read", channel),
        "send": post_refusal(channel=channel, member=member, membership=row, now=now) is None
        and can(member, "message.send", channel),
        "delete_messages": can(member, "message.delete.all", channel),
        "change_members": can(member, "members.manage", channel),
        "update": not archived and can(member, "update", channel),
        "archive": can(member, "unarchive" if archived else "archive", channel),
        "delete": can(member, "delete", channel),
    }
