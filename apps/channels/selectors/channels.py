"""Reads on channels and memberships, always scoped to an organization."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from apps.channels.filters import ChannelFilterSet
from apps.channels.models import Channel, ChannelTag, Membership, membership_current_q
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization


def channel_live_q(*, now: datetime | None = None, prefix: str = "") -> Q:
    """Channels that still exist for every reader and writer: not scheduled for deletion,
    or scheduled for a time still to come (DESIGN.md invariant 2: a due deletion hides the
    channel at once, before any sweep ran). ``prefix`` is e.g. ``"channel__"`` to filter
    rows that point to a channel (messages)."""
    now = now or timezone.now()
    not_due = Q(**{f"{prefix}scheduled_deletion_at__isnull": True}) | Q(
        **{f"{prefix}scheduled_deletion_at__gt": now}
    )
    # a chatroom removed through the chatroom service is hidden at once, whatever its
    # purge time (now + the organization's grace period)
    return not_due & Q(**{f"{prefix}deleted_at__isnull": True})


def channel_is_gone(channel: Channel, now: datetime | None = None) -> bool:
    """True once the channel's scheduled deletion time has passed (or it was removed)."""
    if channel.deleted_at is not None:
        return True
    at = channel.scheduled_deletion_at
    return at is not None and at <= (now or timezone.now())


def channel_get(
    *,
    organization: Organization,
    channel_id: str,
    field: str = "channelId",
    for_update: bool = False,
) -> Channel:
    """The channel, or DomainError(channel_not_found); another org's id looks the same,
    and so does a channel whose scheduled deletion time has passed."""
    qs = Channel.objects.filter(channel_live_q(), organization=organization, channel_id=channel_id)
    if for_update:
        qs = qs.select_for_update()
    channel = qs.first()
    if channel is None:
        raise DomainError(
            "channel_not_found", f"No channel with channelId {channel_id!r}.", field=field
        )
    return channel


def channel_list(*, organization: Organization, include_deleted: bool = False) -> QuerySet[Channel]:
    """The organization's live channels (a due scheduled deletion hides a channel) with
    their tags prefetched (one extra query per page). ``include_deleted`` adds the
    deleted ones (``deleted_at`` set) that are not purged yet, in or past their grace
    period (the console shows them, to restore them)."""
    live = channel_live_q()
    if include_deleted:
        live |= Q(deleted_at__isnull=False)
    return Channel.objects.filter(live, organization=organization).prefetch_related(
        Prefetch("tag_rows", queryset=ChannelTag.objects.order_by("name", "pk"))
    )


def channel_get_with_deleted(*, organization: Organization, channel_id: str) -> Channel:
    """Like :func:`channel_get`, deleted channels included until they are purged (in or
    past their grace period); a channel whose own scheduled deletion is due is still
    gone. For a door that shows and restores deleted channels (the console)."""
    channel = Channel.objects.filter(
        channel_live_q() | Q(deleted_at__isnull=False),
        organization=organization,
        channel_id=channel_id,
    ).first()
    if channel is None:
        raise DomainError(
            "channel_not_found", f"No channel with channelId {channel_id!r}.", field="channelId"
        )
    return channel


def channel_query(
    *,
    organization: Organization,
    filters: Mapping[str, Any],
    admin_member: Member | None = None,
    include_deleted: bool = False,
) -> QuerySet[Channel]:
    """The organization's channels narrowed by :class:`ChannelFilterSet` (closed included;
    deleted ones too with ``include_deleted``, see :func:`channel_list`).

    ``filters`` uses the API's names (``filter``, ``userId``, ``tags``, ``excludeTags``).
    """
    filterset = ChannelFilterSet(
        data=dict(filters),
        queryset=channel_list(organization=organization, include_deleted=include_deleted),
        admin_member=admin_member,
    )
    if not filterset.is_valid():
        field, messages = next(iter(filterset.errors.items()))
        raise DomainError("invalid_parameter", f"{field}: {' '.join(messages)}", field=field)
    return filterset.qs


def membership_map(*, channel: Channel, members: Sequence[Member]) -> dict[int, Membership]:
    """The channel's Membership rows of these members, keyed by member pk."""
    rows = Membership.objects.filter(channel=channel, member__in=[m.pk for m in members])
    return {row.member_id: row for row in rows}


def channel_current_member_count(*, channel: Channel) -> int:
    return Membership.objects.filter(membership_current_q(), channel=channel).count()


def channel_newest_live_message_pk(*, channel: Channel) -> int | None:
    """The primary key of the channel's newest live (not deleted) message, None without
    one: where a member who has read everything has read up to (the read state's
    invariant, apps.messages.services.reads). No query when the channel has no live
    message (``message_count`` 0)."""
    if not channel.message_count:
        return None
    return (
        Message.objects.filter(channel=channel, deleted_at__isnull=True)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def channel_last_shown_message_subquery(outer: str = "pk") -> Subquery:
    """The primary key of the (outer) channel's newest message a reader sees (neither
    deleted nor hidden), as a subquery to annotate a list of channels; ``outer`` names
    the channel's pk in the outer query."""
    shown = Message.objects.filter(
        channel=OuterRef(outer), deleted_at__isnull=True, hidden_at__isnull=True
    )
    return Subquery(shown.order_by("-pk").values("pk")[:1])
