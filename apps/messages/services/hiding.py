"""Hiding a message from members and showing it again (``hidden_at``), on a moderator's
behalf (the console's single and bulk actions), audited (their undo:
apps.messages.services.restore). The report threshold's automatic hide is apps.moderation's."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record, check_reason
from apps.events.models import EventType
from apps.events.services import event_record
from apps.messages.models import Message
from apps.organizations.models import Organization


@transaction.atomic
def message_hide(
    *, organization: Organization, actor: Actor, message: Message, reason: str = ""
) -> Message:
    """Hide ``message`` from members (``hidden_at``), audited as ``message.hide`` (as the
    report threshold's hide) with a ``message.hidden`` event. Hiding a hidden message is
    a no-op (no second audit entry)."""
    reason = check_reason(reason)
    message = Message.objects.select_for_update(of=("self",)).get(
        pk=message.pk, organization=organization
    )
    if message.hidden_at is not None:
        return message
    message.hidden_at = timezone.now()
    message.save(update_fields=["hidden_at"])
    payload = {"messageId": str(message.public_id), "hiddenAt": message.hidden_at.isoformat()}
    audit_record(
        organization=organization,
        actor=actor,
        action="message.hide",
        target_type="message",
        target_id=str(message.public_id),
        reason=reason,
        before={"hiddenAt": None},
        after=payload,
    )
    event_record(
        organization=organization,
        type=EventType.MESSAGE_HIDDEN,
        payload={**payload, "actor": actor.label, "reason": reason},
    )
    return message


@transaction.atomic
def message_unhide(
    *, organization: Organization, actor: Actor, message: Message, reason: str = ""
) -> Message:
    """Show a hidden message again, audited as ``message.unhide``; a no-op for a message
    that is not hidden."""
    reason = check_reason(reason)
    message = Message.objects.select_for_update(of=("self",)).get(
        pk=message.pk, organization=organization
    )
    if message.hidden_at is None:
        return message
    before = message.hidden_at.isoformat()
    message.hidden_at = None
    message.save(update_fields=["hidden_at"])
    audit_record(
        organization=organization,
        actor=actor,
        action="message.unhide",
        target_type="message",
        target_id=str(message.public_id),
        reason=reason,
        before={"hiddenAt": before},
        after={"hiddenAt": None},
    )
    return message
