"""Undoing a moderator's delete or hide of messages (the console's "Undo",
apps/console/undo.py).

Each function puts ``deleted_at`` / ``hidden_at`` back to what it was before the action,
but only if every message still holds exactly what that action left (``expected``):
anything else means someone changed it since, and nothing is written (409 ``conflict``).
Undeleting puts back what :func:`~apps.messages.services.messages.message_delete` took
away (the channel's and the thread's counters, the readers' read counts). Each message
is audited as ``message.delete.undo`` / ``message.hide.undo``, with the undone audit
entry's id as ``undoes`` in ``after``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.db.models import F

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.messages.models import Message, ThreadRead
from apps.organizations.models import Organization


def _locked(organization: Organization, expected: Mapping[str, object]) -> dict[str, Message]:
    rows = (
        Message.objects.select_for_update(of=("self",))
        .select_related("channel", "author")
        .filter(organization=organization, public_id__in=list(expected))
    )
    return {str(message.public_id): message for message in rows}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _check(
    messages: dict[str, Message], field: str, expected: Mapping[str, datetime | None]
) -> None:
    for public_id, value in expected.items():
        message = messages.get(public_id)
        if message is None or getattr(message, field) != value:
            raise DomainError("conflict", f"Message {public_id} changed since: nothing was undone.")


@transaction.atomic
def messages_delete_restore(
    *,
    organization: Organization,
    actor: Actor,
    expected: Mapping[str, datetime | None],
    restore: Mapping[str, datetime | None],
    undoes: int | None = None,
) -> list[Message]:
    """Put ``deleted_at`` back (messageId -> value; None: not deleted) on messages whose
    ``deleted_at`` is still ``expected``; returns them."""
    messages = _locked(organization, expected)
    _check(messages, "deleted_at", expected)
    done = []
    for public_id in sorted(restore):
        message = messages[public_id]
        was, value = message.deleted_at, restore[public_id]
        message.deleted_at = value
        message.save(update_fields=["deleted_at"])
        if was is not None and value is None:
            _counted_again(message)
        audit_record(
            organization=organization,
            actor=actor,
            action="message.delete.undo",
            target_type="message",
            target_id=public_id,
            before={"deletedAt": _iso(was)},
            after={
                "channelId": message.channel.channel_id,
                "deletedAt": _iso(value),
                "isDeleted": value is not None,
                "undoes": undoes,
            },
        )
        done.append(message)
    return done


def _counted_again(message: Message) -> None:
    """The reverse of the delete's counting (``message_delete`` and ``reads_after_delete``)."""
    Channel.objects.filter(pk=message.channel_id).update(message_count=F("message_count") + 1)
    Membership.objects.filter(
        channel_id=message.channel_id, last_read_message_pk__gte=message.pk
    ).update(read_count=F("read_count") + 1)
    if message.parent_id is not None:
        Message.objects.filter(pk=message.parent_id).update(children_count=F("children_count") + 1)
        ThreadRead.objects.filter(
            thread_id=message.parent_id, last_read_message_pk__gte=message.pk
        ).update(read_count=F("read_count") + 1)


@transaction.atomic
def messages_hide_restore(
    *,
    organization: Organization,
    actor: Actor,
    expected: Mapping[str, datetime | None],
    restore: Mapping[str, datetime | None],
    undoes: int | None = None,
) -> list[Message]:
    """Undo a hide: put ``hidden_at`` back (messageId -> value; None: shown) on messages
    whose ``hidden_at`` is still ``expected``; returns them (``message.hide.undo``)."""
    return _restore_hidden("message.hide.undo", organization, actor, expected, restore, undoes)


@transaction.atomic
def messages_unhide_restore(
    *,
    organization: Organization,
    actor: Actor,
    expected: Mapping[str, datetime | None],
    restore: Mapping[str, datetime | None],
    undoes: int | None = None,
) -> list[Message]:
    """Undo an unhide, as :func:`messages_hide_restore` (``message.unhide.undo``)."""
    return _restore_hidden("message.unhide.undo", organization, actor, expected, restore, undoes)


def _restore_hidden(
    action: str,
    organization: Organization,
    actor: Actor,
    expected: Mapping[str, datetime | None],
    restore: Mapping[str, datetime | None],
    undoes: int | None,
) -> list[Message]:
    messages = _locked(organization, expected)
    _check(messages, "hidden_at", expected)
    done = []
    for public_id in sorted(restore):
        message = messages[public_id]
        was, value = message.hidden_at, restore[public_id]
        message.hidden_at = value
        message.save(update_fields=["hidden_at"])
        audit_record(
            organization=organization,
            actor=actor,
            action=action,
            target_type="message",
            target_id=public_id,
            before={"hiddenAt": _iso(was)},
            after={"hiddenAt": _iso(value), "undoes": undoes},
        )
        done.append(message)
    return done


#: The restore of messages, by the console's and the bulk jobs' action.
MESSAGES_RESTORES = {
    "delete": messages_delete_restore,
    "hide": messages_hide_restore,
    "unhide": messages_unhide_restore,
}
