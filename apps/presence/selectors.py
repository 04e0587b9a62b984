"""Reads on statuses, scoped to an organization. A status that has ended is gone at once
on every read, decided in SQL (DESIGN.md invariant 2), whether or not the sweep ran:
its ``expires_at`` has passed, or it was set ``when-active`` and its member has posted
a message since it was set."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.presence.models import Status


def member_active_since_q() -> Exists:
    """The status's member posted a message after the status was last set."""
    return Exists(
        Message.objects.filter(author=OuterRef("member_id"), created_at__gt=OuterRef("updated_at"))
    )


def status_ended_q(*, now: datetime | None = None) -> Q:
    """Statuses that have ended at ``now``: expired, or ``when-active`` and active since."""
    now = now or timezone.now()
    return Q(expires_at__isnull=False, expires_at__lte=now) | Q(
        member_active_since_q(), until_active=True
    )


def status_current_q(*, now: datetime | None = None) -> Q:
    """The complement of :func:`status_ended_q`: statuses that still hold at ``now``."""
    now = now or timezone.now()
    not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return not_expired & (Q(until_active=False) | ~Q(member_active_since_q()))


def statuses_current(
    *, organization: Organization, now: datetime | None = None
) -> QuerySet[Status]:
    """The organization's current statuses (of members not deactivated), by member."""
    return (
        Status.objects.filter(
            organization=organization,
            member__deactivated_at__isnull=True,
            member__removed_at__isnull=True,
        )
        .filter(status_current_q(now=now))
        .select_related("member")
        .order_by("member_id")
    )


def status_of(*, member: Member, now: datetime | None = None) -> Status | None:
    """The member's current status, or None."""
    return (
        Status.objects.filter(organization_id=member.organization_id, member=member)
        .filter(status_current_q(now=now))
        .first()
    )


# --- activity targets ------------------------------------------------------------------
# The channel of an activity is found by apps.channels.selectors.conversations
# (conversation_get: who sees which channel is decided there, once).


def channel_message_get(*, channel: Channel, message_pk: int, field: str = "messageID") -> Message:
    """A live message (not deleted, not hidden) of ``channel``, else 404 message_not_found."""
    message = Message.objects.filter(
        channel=channel,
        organization_id=channel.organization_id,
        pk=message_pk,
        deleted_at__isnull=True,
        hidden_at__isnull=True,
    ).first()
    if message is None:
        raise DomainError("message_not_found", field=field)
    return message
