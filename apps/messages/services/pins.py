"""Pins: a message pinned to its channel, a public bookmark (messaging API).

A pin is seen by everyone in the channel, so it is a write under the posting rule
(muted, banned, closed or archived refuse, with the same codes as a post), audited as
``message.pin`` / ``message.unpin`` and announced as ``message.updated`` (``changed``:
``["pinned"]``). Pinning a pinned message (unpinning an unpinned one) writes nothing.
Whether the member may pin at all (``message.pin``) is the surface's permission check.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.rules import check_can_post
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.selectors.messages import message_get
from apps.messages.services.messages import message_updated_event
from apps.organizations.models import Organization


def _locked(organization: Organization, message: Message) -> Message:
    return message_get(
        organization=organization,
        message_id=message.public_id,
        include_deleted=False,
        for_update=True,
    )


def _check(organization: Organization, member: Member, message: Message) -> None:
    if member.organization_id != organization.pk:
        raise DomainError("forbidden", "The member belongs to another organization.")
    check_can_post(channel=message.channel, member=member)


@transaction.atomic
def message_pin(
    *, organization: Organization, actor: Actor, member: Member, message: Message
) -> Message:
    """Pin ``message`` to its channel by ``member``; the message as it now is."""
    message = _locked(organization, message)
    _check(organization, member, message)
    if message.pinned_at is not None:
        return message
    message.pinned_at = timezone.now()
    message.pinned_by = member
    message.save(update_fields=["pinned_at", "pinned_by"])
    audit_record(
        organization=organization,
        actor=actor,
        action="message.pin",
        target_type="message",
        target_id=str(message.public_id),
        before={"isPinned": False},
        after={"isPinned": True, "pinnedBy": member.user_id},
    )
    message_updated_event(
        organization=organization, message=message, actor=actor, changed=["pinned"]
    )
    return message


@transaction.atomic
def message_unpin(
    *, organization: Organization, actor: Actor, member: Member, message: Message
) -> Message:
    """Unpin ``message`` (whoever pinned it) by ``member``; the message as it now is."""
    message = _locked(organization, message)
    _check(organization, member, message)
    if message.pinned_at is None:
        return message
    pinned_by = message.pinned_by.user_id if message.pinned_by_id else None
    message.pinned_at = None
    message.pinned_by = None
    message.save(update_fields=["pinned_at", "pinned_by"])
    audit_record(
        organization=organization,
        actor=actor,
        action="message.unpin",
        target_type="message",
        target_id=str(message.public_id),
        before={"isPinned": True, "pinnedBy": pinned_by},
        after={"isPinned": False},
    )
    message_updated_event(
        organization=organization, message=message, actor=actor, changed=["pinned"]
    )
    return message
