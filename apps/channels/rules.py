"""The posting rule, written once: every surface that creates a message calls it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.channels.selectors.channels import channel_is_gone
from apps.core.errors import DomainError
from apps.members.models import Member


def check_can_post(*, channel: Channel, member: Member, now: datetime | None = None) -> None:
    """Raise DomainError unless ``member`` may post in ``channel`` right now.

    A channel whose scheduled deletion time has passed is gone (404). Closed channels
    refuse everyone. Global and channel bans refuse everyone.
    Organization admins may post without being members and while the channel or they are
    muted ("while muted, nobody but admins can post"). Expired mutes and bans no
    longer count, whether or not a sweep has run (DESIGN.md invariant 2).
    """
    now = now or timezone.now()
    if channel_is_gone(channel, now):
        raise DomainError(
            "channel_not_found",
            f"No channel with channelId {channel.channel_id!r}.",
            field="channelId",
        )
    if channel.is_closed:
        raise DomainError("channel_closed", f"Channel {channel.channel_id!r} is closed.")
    if member.is_globally_banned(now):
        raise DomainError("user_globally_banned", f"User {member.user_id!r} is banned.")
    membership = Membership.objects.filter(channel=channel, member=member).first()
    if membership is not None and membership.is_banned(now):
        raise DomainError(
            "user_banned", f"User {member.user_id!r} is banned from {channel.channel_id!r}."
        )
    if member.is_org_admin:
        return
    if membership is None or not membership.is_member:
        raise DomainError(
            "not_a_member", f"User {member.user_id!r} is not a member of {channel.channel_id!r}."
        )
    if channel.is_muted(now):
        raise DomainError("channel_muted", f"Channel {channel.channel_id!r} is muted.")
    if membership.is_muted(now):
        raise DomainError(
            "user_muted", f"User {member.user_id!r} is muted in {channel.channel_id!r}."
        )
