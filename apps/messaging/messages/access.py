"""Who may do what with a message, in one place for the routes (403) and for the
message shape (``canReply``, ``canEdit``, ``canDelete``). Every decision is
:func:`apps.permissions.services.can`'s; this module only says which operation applies:
one's own message needs ``message.update.own`` / ``message.delete.own`` (or the
``.all`` operation), anyone else's the ``.all`` one."""

from __future__ import annotations

from dataclasses import dataclass

from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import TEXT_KEYS
from apps.permissions.services import can


@dataclass(frozen=True)
class MessageAbilities:
    """The member's message operations on one channel (computed once per channel)."""

    reply: bool
    update_own: bool
    update_all: bool
    delete_own: bool
    delete_all: bool


def message_abilities(member: Member, channel: Channel) -> MessageAbilities:
    """Set ``channel.viewer_is_owner`` first (as the channel selector does) to make no
    query for the owner's defaults."""
    return MessageAbilities(
        reply=can(member, "message.reply", channel),
        update_own=can(member, "message.update.own", channel),
        update_all=can(member, "message.update.all", channel),
        delete_own=can(member, "message.delete.own", channel),
        delete_all=can(member, "message.delete.all", channel),
    )


def _own(member: Member, message: Message) -> bool:
    return message.author_id is not None and message.author_id == member.pk


def may_reply(abilities: MessageAbilities, message: Message) -> bool:
    """A thread starts at a top-level message: a reply to a reply is refused."""
    return abilities.reply and message.parent_id is None and message.deleted_at is None


def may_edit(abilities: MessageAbilities, member: Member, message: Message) -> bool:
    """Only a message with text (text, custom; an image's caption) can be edited."""
    if message.deleted_at is not None or message.type not in TEXT_KEYS:
        return False
    if abilities.update_all:
        return True
    return abilities.update_own and _own(member, message)


def may_delete(abilities: MessageAbilities, member: Member, message: Message) -> bool:
    if message.deleted_at is not None:
        return False
    if abilities.delete_all:
        return True
    return abilities.delete_own and _own(member, message)


def check_edit(member: Member, channel: Channel, message: Message) -> None:
    """403 ``forbidden`` unless ``member`` may edit ``message`` (whose text it has)."""
    if message.type not in TEXT_KEYS:
        raise DomainError(
            "invalid_parameter", f"A {message.type} message has no text.", field="message"
        )
    if not may_edit(message_abilities(member, channel), member, message):
        raise DomainError("forbidden", "You may not edit this message.")


def check_delete(member: Member, channel: Channel, message: Message) -> None:
    """403 ``forbidden`` unless ``member`` may delete ``message``."""
    if not may_delete(message_abilities(member, channel), member, message):
        raise DomainError("forbidden", "You may not delete this message.")
