"""The posting rule, written once: every surface that creates a message calls it.

It reads a channel and the member's row in it through what :class:`PostingChannel` and
:class:`PostingMembership` name: the models, or the light rows a list reads as values
(:mod:`apps.channels.selectors.conversations`), so one rule decides for both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.channels.selectors.channels import channel_is_gone
from apps.core.errors import DomainError
from apps.members.models import Member


class PostingChannel(Protocol):
    """What the posting rule reads of a channel (a :class:`Channel` has it all)."""

    @property
    def channel_id(self) -> str: ...
    @property
    def deleted_at(self) -> datetime | None: ...
    @property
    def scheduled_deletion_at(self) -> datetime | None: ...
    @property
    def is_closed(self) -> bool: ...
    @property
    def is_archived(self) -> bool: ...
    def is_muted(self, now: datetime | None = None) -> bool: ...


class PostingMembership(Protocol):
    """What the posting rule reads of the member's row (a :class:`Membership` has it)."""

    @property
    def is_member(self) -> bool: ...
    def is_muted(self, now: datetime | None = None) -> bool: ...
    def is_banned(self, now: datetime | None = None) -> bool: ...


def post_refusal(
    *,
    channel: PostingChannel,
    member: Member,
    membership: PostingMembership | None,
    now: datetime | None = None,
) -> DomainError | None:
    """Why ``member`` (whose row in the channel is ``membership``, None if it has none)
    may not post in ``channel`` right now, or None if it may. Makes no query: a list that
    renders many channels (the messaging API's ``canSendMessages``) passes the rows it
    loaded (as values: light rows, not models); :func:`check_can_post` loads the one row
    itself.

    A channel whose scheduled deletion time has passed is gone (404). Closed and archived
    (read-only) channels refuse everyone. Global and channel bans refuse everyone.
    Organization admins may post without being members and while the channel or they are
    muted ("while muted, nobody but admins can post"). Expired mutes and bans no
    longer count, whether or not a sweep has run (DESIGN.md invariant 2).
    """
    now = now or timezone.now()
    return _standing_refusal(channel, member, now) or _membership_refusal(
        channel, member, membership, now
    )


def check_can_post(*, channel: Channel, member: Member, now: datetime | None = None) -> None:
    """Raise DomainError unless ``member`` may post in ``channel`` right now (the rule is
    :func:`post_refusal`'s; the member's row is read only when the channel and the member
    themselves do not already refuse)."""
    now = now or timezone.now()
    refusal = _standing_refusal(channel, member, now)
    if refusal is None:
        membership = Membership.objects.filter(channel=channel, member=member).first()
        refusal = _membership_refusal(channel, member, membership, now)
    if refusal is not None:
        raise refusal


def channel_refusal(channel: PostingChannel, now: datetime | None = None) -> DomainError | None:
    """Why nobody may write in ``channel`` now, whoever they are: gone (404), closed or
    archived (403); None if it is open."""
    if channel_is_gone(channel, now):
        return DomainError(
            "channel_not_found",
            f"No channel with channelId {channel.channel_id!r}.",
            field="channelId",
        )
    if channel.is_closed:
        return DomainError("channel_closed", f"Channel {channel.channel_id!r} is closed.")
    return _archived_refusal(channel)


def _archived_refusal(channel: PostingChannel) -> DomainError | None:
    if channel.is_archived:
        return DomainError(
            "channel_archived", f"Channel {channel.channel_id!r} is archived (read-only)."
        )
    return None


def check_not_archived(*, channel: Channel) -> None:
    """403 ``channel_archived``: a member acting for itself (messaging API) changes
    nothing in an archived (read-only) channel, even where the posting rule does not
    apply (renaming it, deleting its message, removing its reaction); staff (Admin API,
    console) may still clean up an archived channel."""
    refusal = _archived_refusal(channel)
    if refusal is not None:
        raise refusal


def _standing_refusal(channel: PostingChannel, member: Member, now: datetime) -> DomainError | None:
    """The refusals that do not depend on the member's row in the channel."""
    refusal = channel_refusal(channel, now)
    if refusal is None and member.is_globally_banned(now):
        return DomainError("user_globally_banned", f"User {member.user_id!r} is banned.")
    return refusal


def _membership_refusal(
    channel: PostingChannel, member: Member, membership: PostingMembership | None, now: datetime
) -> DomainError | None:
    """The refusals that depend on the member's row (bans, membership, mutes)."""
    if membership is not None and membership.is_banned(now):
        return DomainError(
            "user_banned", f"User {member.user_id!r} is banned from {channel.channel_id!r}."
        )
    if member.is_org_admin:
        return None
    if membership is None or not membership.is_member:
        return DomainError(
            "not_a_member", f"User {member.user_id!r} is not a member of {channel.channel_id!r}."
        )
    if channel.is_muted(now):
        return DomainError("channel_muted", f"Channel {channel.channel_id!r} is muted.")
    if membership.is_muted(now):
        return DomainError(
            "user_muted", f"User {member.user_id!r} is muted in {channel.channel_id!r}."
        )
    return None
