"""Channels, their tags and memberships (with per-member mute and channel ban)."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from apps.core.sweeps import timed_active
from apps.members.models import Member
from apps.organizations.models import Organization


def membership_current_q(prefix: str = "") -> Q:
    """Memberships that make their member a current member of the channel (``joined_at``
    set); a row without it only keeps a mute or a channel ban. ``prefix`` is e.g.
    ``"memberships__"`` to filter channels through their memberships."""
    return Q(**{f"{prefix}joined_at__isnull": False})


def channel_avatar_path(instance: Channel, filename: str) -> str:
    return f"orgs/{instance.organization_id}/avatars/{instance.pk}-{filename}"


class Channel(models.Model):
    """A channel (chatroom). ``channel_id`` is the customer's name for it.

    Mute is time-based state (``muted_at`` + ``mute_expires_at``, null expiry = until
    unmuted). Closing is irreversible: ``closed_at`` set, members detached and messages
    deleted in the same transaction. ``member_count``/``message_count`` are kept by the
    services so lists never count rows.
    """

    class Type(models.TextChoices):
        STANDARD = "standard", "Standard"  # the Admin API v2's channels
        # chatrooms of the chatroom service (/api/messenger/)
        CUSTOM = "custom", "Custom chatroom"
        DEFAULT = "default", "Default chatroom of the organization"
        EVENT = "event", "Chatroom of an event"

    class Visibility(models.TextChoices):
        """Who sees the channel (the messaging API's ``type``), orthogonal to its kind:
        public channels are listed to and joinable by every member of the organization;
        private and group channels only exist for their members (and admins)."""

        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"
        GROUP = "group", "Group (direct conversation)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="channels"
    )
    channel_id = models.CharField(max_length=128)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.STANDARD)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    display_name = models.CharField(max_length=255, blank=True)
    topic = models.CharField(max_length=1000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    muted_at = models.DateTimeField(null=True, blank=True)
    mute_expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    #: Archived (messaging API): read-only for everyone until unarchived.
    archived_at = models.DateTimeField(null=True, blank=True)
    #: A chatroom removed through the chatroom service: hidden everywhere at once; the
    #: scheduled-deletion sweep purges it at ``scheduled_deletion_at`` (now + grace).
    deleted_at = models.DateTimeField(null=True, blank=True)
    #: The chatroom's avatar (Pillow-validated image), served at the chatroom's avatarURL.
    avatar = models.FileField(upload_to=channel_avatar_path, max_length=300, blank=True)
    #: For chatrooms of type ``event``: the event that owns it.
    calendar_event = models.OneToOneField(
        "calendar_events.CalendarEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chatroom",
    )
    #: When set, the channel is purged (with its memberships, messages, reactions and
    #: files) by the beat sweep once this time has passed.
    scheduled_deletion_at = models.DateTimeField(null=True, blank=True)
    #: What the purge has removed so far, added to in each batch's own transaction, so
    #: the final audit entry has exact totals even when a worker died half-way.
    purge_counts = models.JSONField(default=dict, blank=True)
    #: When the purge finished (and its audit entry was written).
    purged_at = models.DateTimeField(null=True, blank=True)
    member_count = models.PositiveIntegerField(default=0)
    message_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel_id"], name="channel_unique_channel_id"
            ),
            # one live default chatroom per organization (a removed one is scheduled for
            # deletion and no longer counts)
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(type="default", closed_at__isnull=True, deleted_at__isnull=True),
                name="channel_one_default_chatroom",
            ),
        ]
        indexes = [
            models.Index(
                fields=["mute_expires_at"],
                condition=Q(muted_at__isnull=False, mute_expires_at__isnull=False),
                name="channel_mute_expiry",
            ),
            models.Index(
                fields=["scheduled_deletion_at"],
                condition=Q(scheduled_deletion_at__isnull=False),
                name="channel_scheduled_deletion",
            ),
            models.Index(
                fields=["closed_at"], condition=Q(closed_at__isnull=False), name="channel_closed"
            ),
        ]

    def __str__(self) -> str:
        return self.channel_id

    def is_muted(self, now: datetime | None = None) -> bool:
        return timed_active(self.muted_at, self.mute_expires_at, now)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ChannelTag(models.Model):
    """One tag of a channel; a table (not JSON) so tag filters use an index on every DB."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="channeltag_unique"),
        ]
        indexes = [models.Index(fields=["name", "channel"], name="channeltag_name")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A member's standing in a channel.

    ``joined_at`` set means a current member. A row may exist without membership to
    keep a channel ban or a mute for someone who is not (or no longer) in the channel,
    or an invitation (``invited_at`` set, ``joined_at`` not yet).

    Unread counts are data, never a COUNT per request: the channel's ``message_count``
    minus ``read_count`` (the number of the channel's live messages this member had read
    when it last marked the channel read, kept exact by the services on posts and
    deletes), see :func:`apps.messages.services.reads`.
    """

    class Flag(models.TextChoices):
        """The member's own marking of the channel (messaging API ``membershipFlag``)."""

        NONE = "", "None"
        PINNED = "pinned", "Pinned"
        HIDDEN = "hidden", "Hidden"
        IGNORED = "ignored", "Ignored"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(null=True, blank=True)
    muted_at = models.DateTimeField(null=True, blank=True)
    mute_expires_at = models.DateTimeField(null=True, blank=True)
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_expires_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.TextField(blank=True)
    #: The channel's owner (its creator, through the messaging API).
    is_owner = models.BooleanField(default=False)
    #: Invited and not joined yet (the messaging API's member type ``invitee``).
    invited_at = models.DateTimeField(null=True, blank=True)
    flag = models.CharField(max_length=8, choices=Flag.choices, blank=True, default="")
    #: Live messages of the channel this member has read (see the class docstring).
    read_count = models.PositiveIntegerField(default=0)
    #: The newest message (primary key) this member has read in the channel.
    last_read_message_pk = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "member"], name="membership_unique"),
        ]
        indexes = [
            models.Index(
                fields=["channel", "joined_at"],
                condition=membership_current_q(),
                name="membership_current",
            ),
            models.Index(
                fields=["member", "channel"],
                condition=membership_current_q(),
                name="membership_by_member",
            ),
            models.Index(
                fields=["mute_expires_at"],
                condition=Q(muted_at__isnull=False, mute_expires_at__isnull=False),
                name="membership_mute_expiry",
            ),
            models.Index(
                fields=["ban_expires_at"],
                condition=Q(banned_at__isnull=False, ban_expires_at__isnull=False),
                name="membership_ban_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.channel}"

    @property
    def is_member(self) -> bool:
        return self.joined_at is not None

    @property
    def member_type(self) -> str:
        """``owner``, ``member`` or ``invitee`` (messaging API)."""
        if self.joined_at is None:
            return "invitee"
        return "owner" if self.is_owner else "member"

    def is_muted(self, now: datetime | None = None) -> bool:
        return timed_active(self.muted_at, self.mute_expires_at, now)

    def is_banned(self, now: datetime | None = None) -> bool:
        return timed_active(self.banned_at, self.ban_expires_at, now)
