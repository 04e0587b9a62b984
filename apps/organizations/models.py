"""Tenants, their console staff, and the tokens that act for them."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q


class Organization(models.Model):
    """One tenant: a customer's app or company. Every tenant row points here."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    #: Bumped whenever a blacklist or whitelist record changes, so every process
    #: rebuilds its cached matcher (see apps.moderation.filter.cache).
    filter_version = models.PositiveBigIntegerField(default=0)

    class FilterPolicy(models.TextChoices):
        BLOCK = "block", "Block the message (the error names the matched record)"
        FLAG = "flag", "Accept the message and open a report by the system"
        MASK = "mask", "Accept the message with the matched text replaced by ***"

    #: What the content filter does with a blacklisted message.
    filter_policy = models.CharField(
        max_length=8, choices=FilterPolicy.choices, default=FilterPolicy.BLOCK
    )
    #: Hide a message automatically once it has this many open reports (null: never).
    auto_hide_threshold = models.PositiveIntegerField(null=True, blank=True)
    #: A deleted custom chatroom is purged this long after its deletion (it is hidden at once).
    chatroom_deletion_grace_seconds = models.PositiveIntegerField(default=0)
    #: The PostgreSQL text search configuration of message search (pg_ts_config, e.g.
    #: ``simple``, ``english``, ``german``); message texts are indexed in it.
    search_language = models.CharField(max_length=32, default="simple")
    #: Bumped by every change of ``search_language``; the messages are indexed in it once
    #: ``search_indexed_generation`` has caught up (apps.messages.services.search_index:
    #: a batched re-index that a worker claims, and beat re-finds if it was lost).
    search_index_generation = models.PositiveIntegerField(default=0)
    search_indexed_generation = models.PositiveIntegerField(default=0)
    #: A worker re-indexing holds this lease (renewed per batch), so two never run at once.
    search_reindex_claimed_until = models.DateTimeField(null=True, blank=True)
    #: An event's chatroom is deleted this many days after the event ends.
    event_chatroom_retention_days = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class StaffRole(models.Model):
    """An Account's console role in an organization (a superuser acts as an owner in
    every organization: ``apps.organizations.selectors.staff_role_of``)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MODERATOR = "moderator", "Moderator"

        @property
        def rank(self) -> int:
            """A role may do everything the roles of a lower rank may do."""
            return _STAFF_ROLE_RANKS[self.value]

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="staff")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "account"], name="staffrole_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.role} of {self.organization}"

    @staticmethod
    def role_at_least(role: str | None, minimum: str) -> bool:
        """Whether ``role`` (None: no role) may do what ``minimum`` may."""
        return role is not None and StaffRole.Role(role).rank >= StaffRole.Role(minimum).rank


#: The staff roles' ranks (:attr:`StaffRole.Role.rank`), lowest first.
_STAFF_ROLE_RANKS = {"moderator": 1, "admin": 2, "owner": 3}


def hash_token(raw: str) -> str:
    """Tokens carry >=256 bits of randomness, so one fast hash is the right tool."""
    return hashlib.sha256(raw.encode()).hexdigest()


class AccessToken(models.Model):
    """A secret that acts for an organization (admin, API) or an Account (personal).

    Only the SHA-256 of the token is stored; the token is shown once at creation.
    """

    class Kind(models.TextChoices):
        ADMIN = "admin", "Admin API access token"
        API = "api", "API-TOKEN"
        PERSONAL = "personal", "Personal access token"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="tokens", null=True, blank=True
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="personal") | Q(organization__isnull=False),
                name="accesstoken_org_unless_personal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} token {self.prefix}… ({self.account})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
