"""Members (chat users of one organization, the API's ``userId``) and roles."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.sweeps import timed_active
from apps.organizations.models import Organization


class Member(models.Model):
    """One chat identity inside one organization.

    ``user_id`` is chosen by the customer's systems (or generated) and unique in the
    organization; the numeric primary key is the id other surfaces use.
    A global ban is time-based state: ``banned_at`` set and ``ban_expires_at`` null
    (until unbanned) or in the future.
    """

    class OrgRole(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        GUEST = "guest", "Guest"
        EXTERNAL = "external", "External"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user_id = models.CharField(max_length=128)
    display_name = models.CharField(max_length=255, blank=True)
    roles = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    org_role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.MEMBER)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_expires_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.TextField(blank=True)
    #: A deactivated member can no longer act (its sessions stop working at once, its
    #: posts are refused); its history stays. Stackfield's ``DeactivateUser``.
    deactivated_at = models.DateTimeField(null=True, blank=True)
    #: A member removed from the organization (Stackfield's ``RemoveUser``): like a
    #: deactivated one, it keeps its history and can no longer act.
    removed_at = models.DateTimeField(null=True, blank=True)
    #: A bot: the member an integration posts as (apps.integrations).
    is_bot = models.BooleanField(default=False)
    #: An IANA time zone name for the member's status expiries ("" = UTC).
    time_zone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user_id"], name="member_unique_user_id"
            ),
            models.UniqueConstraint(
                fields=["organization", "account"],
                condition=Q(account__isnull=False),
                name="member_unique_account",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "display_name"], name="member_org_name"),
            # The admin site's search across organizations: an exact userId or a display
            # name "beginning with" (LIKE 'x%'). PostgreSQL serves LIKE from a btree only
            # with a pattern operator class unless the collation is C (it is not);
            # SQLite ignores the class (see docs/performance.md, "Console at scale").
            models.Index(
                fields=["user_id"], name="member_user_id_prefix", opclasses=["text_pattern_ops"]
            ),
            models.Index(
                fields=["display_name"], name="member_name_prefix", opclasses=["text_pattern_ops"]
            ),
            models.Index(
                fields=["ban_expires_at"],
                condition=Q(banned_at__isnull=False, ban_expires_at__isnull=False),
                name="member_ban_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.user_id

    def is_globally_banned(self, now: datetime | None = None) -> bool:
        return timed_active(self.banned_at, self.ban_expires_at, now)

    @property
    def is_inactive(self) -> bool:
        """Deactivated or removed: it keeps its history but can no longer act."""
        return self.deactivated_at is not None or self.removed_at is not None

    @property
    def is_org_admin(self) -> bool:
        """An organization admin: manages the organization's chatrooms, sees all of them,
        and posts without being a member of a channel, even while it is muted."""
        return self.org_role == self.OrgRole.ADMIN


class Role(models.Model):
    """A named role with a list of permissions (the v2 Roles API)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    role_id = models.CharField(max_length=64)
    permissions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "role_id"], name="role_unique_id"),
        ]

    def __str__(self) -> str:
        return self.role_id


class MemberSession(models.Model):
    """A session token of the messaging API: acts as exactly one member of one
    organization. Only the SHA-256 of the token is stored (shown once at issue); it
    expires at ``expires_at`` and stops working at once when revoked, or when its member
    is banned or deactivated (checked on every request)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="sessions")
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["member"], condition=Q(revoked_at__isnull=True), name="session_live"
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.prefix}… of {self.member_id}"
