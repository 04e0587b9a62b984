"""The outbox: domain events written in the same transaction as the change they describe.

A row exists if and only if its transaction committed, so nothing is published for a
rolled-back change. The dispatcher (apps.events.tasks) delivers rows in id order to the
subscribers at least once and stamps ``dispatched_at``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.organizations.models import Organization


class EventType(models.TextChoices):
    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_DELETED = "message.deleted"
    MESSAGE_HIDDEN = "message.hidden"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_BANNED = "user.banned"
    USER_UNBANNED = "user.unbanned"
    USER_MUTED = "user.muted"
    USER_UNMUTED = "user.unmuted"
    CHANNEL_CREATED = "channel.created"
    CHANNEL_UPDATED = "channel.updated"
    CHANNEL_MUTED = "channel.muted"
    CHANNEL_UNMUTED = "channel.unmuted"
    CHANNEL_CLOSED = "channel.closed"
    CHANNEL_ARCHIVED = "channel.archived"
    CHANNEL_UNARCHIVED = "channel.unarchived"
    CHANNEL_UNDELETED = "channel.undeleted"
    CHANNEL_DELETED = "channel.deleted"
    MEMBER_JOINED = "member.joined"
    MEMBER_LEFT = "member.left"
    MEMBER_BANNED = "member.banned"
    MEMBER_UNBANNED = "member.unbanned"
    MEMBER_INVITED = "member.invited"
    REPORT_CREATED = "report.created"
    #: A member's activity (typing, reading...): messaging API POST /activity/, never stored
    #: as a message; for the subscribers (outgoing webhooks).
    ACTIVITY = "activity"


class Event(models.Model):
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64, choices=EventType.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    #: After a failed delivery: not retried before this time (exponential backoff); the
    #: organization's later events wait behind it, so their order is kept.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="event_pending"
            ),
            models.Index(fields=["organization", "id"], name="event_org"),
            # The few pending events that failed: which organizations are backing off.
            models.Index(
                fields=["next_attempt_at", "organization"],
                condition=Q(dispatched_at__isnull=True, next_attempt_at__isnull=False),
                name="event_retry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class DispatchLock(models.Model):
    """One row (pk 1): the lease that lets one dispatcher at a time deliver events.

    A dispatcher takes the lease in a short ``select_for_update()`` transaction (so two
    dispatchers never deliver the same event twice in normal operation), delivers
    outside any long transaction, and gives the lease back. A dispatcher that finds the
    lease taken sets ``rerun`` so the holder looks again before it lets go; a holder that
    died loses the lease when ``lease_until`` passes (its undelivered events stay
    pending: at-least-once).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    holder = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    rerun = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="dispatch_lock_single_row")]

    def __str__(self) -> str:
        return f"dispatch lock held by {self.holder or 'nobody'} until {self.lease_until}"
