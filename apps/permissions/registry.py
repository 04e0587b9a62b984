"""Every operation the product checks, in one registry (``GET /api/messaging/permissions/``).

An operation belongs to a resource type: ``messaging`` (the organization's chat as a
whole) or ``messaging:channel`` (one channel, named ``messaging:channel:<id>``; rules may
use ``messaging:channel:*`` for every channel). Defaults say what each organization
role may do when no rule of the member's roles decides (docs/api/messaging.md);
``owner`` marks what a channel's owner may do on that channel by default, whatever its
organization role.
"""

from __future__ import annotations

from dataclasses import dataclass

MESSAGING = "messaging"
CHANNEL = "messaging:channel"

ADMIN, MEMBER, GUEST, EXTERNAL = "admin", "member", "guest", "external"
_EVERYONE = frozenset({ADMIN, MEMBER, GUEST, EXTERNAL})
_STAFF = frozenset({ADMIN})
_MEMBERS = frozenset({ADMIN, MEMBER})
_INSIDERS = frozenset({ADMIN, MEMBER, GUEST})


@dataclass(frozen=True)
class Operation:
    resource: str
    operation: str
    description: str
    #: Organization roles allowed by default.
    roles: frozenset[str]
    #: Allowed by default to the channel's owner (channel operations only).
    owner: bool = False


OPERATIONS: tuple[Operation, ...] = (
    Operation(MESSAGING, "access", "Use the messaging API at all", _EVERYONE),
    Operation(MESSAGING, "grant", "Read and change roles' permission rules", _STAFF),
    Operation(MESSAGING, "channel.public.create", "Create public channels", _MEMBERS),
    Operation(MESSAGING, "channel.private.create", "Create private channels", _MEMBERS),
    Operation(MESSAGING, "channel.group.create", "Create group conversations", _INSIDERS),
    Operation(CHANNEL, "read", "Read the channel and its messages", _EVERYONE),
    Operation(CHANNEL, "join", "Join a public channel", _INSIDERS),
    Operation(CHANNEL, "leave", "Leave the channel", _EVERYONE),
    Operation(CHANNEL, "update", "Change name, topic and type", _STAFF, owner=True),
    Operation(CHANNEL, "archive", "Archive (read-only)", _STAFF, owner=True),
    Operation(CHANNEL, "unarchive", "Unarchive", _STAFF, owner=True),
    Operation(CHANNEL, "delete", "Delete (soft, undoable during the grace)", _STAFF, owner=True),
    Operation(CHANNEL, "undelete", "Undelete within the grace", _STAFF, owner=True),
    Operation(CHANNEL, "members.manage", "Add, invite and remove members", _STAFF, owner=True),
    Operation(CHANNEL, "members.mute", "Mute and unmute members (/mute, /unmute)", _STAFF),
    Operation(CHANNEL, "members.ban", "Ban and unban members (/ban, /unban)", _STAFF),
    Operation(CHANNEL, "message.send", "Post messages", _EVERYONE),
    Operation(CHANNEL, "message.reply", "Reply in threads", _EVERYONE),
    Operation(CHANNEL, "message.attach", "Attach files", _INSIDERS),
    Operation(CHANNEL, "message.react", "React to messages", _EVERYONE),
    Operation(CHANNEL, "message.pin", "Pin and unpin messages", _MEMBERS, owner=True),
    Operation(CHANNEL, "message.update.own", "Edit one's own messages", _EVERYONE),
    Operation(CHANNEL, "message.update.all", "Edit anyone's messages", _STAFF),
    Operation(CHANNEL, "message.delete.own", "Delete one's own messages", _EVERYONE),
    Operation(CHANNEL, "message.delete.all", "Delete anyone's messages", _STAFF, owner=True),
)

BY_NAME: dict[tuple[str, str], Operation] = {(op.resource, op.operation): op for op in OPERATIONS}
OPERATION_NAMES: frozenset[str] = frozenset(op.operation for op in OPERATIONS)


def operation_get(operation: str, resource: str) -> Operation:
    """The registered operation for ``operation`` on ``resource`` (a type such as
    ``messaging:channel`` or a concrete ``messaging:channel:42``); KeyError if the
    product never checks it (a programming error)."""
    return BY_NAME[(resource_type(resource), operation)]


def resource_type(resource: str) -> str:
    """``messaging:channel:42`` -> ``messaging:channel``; ``messaging`` -> ``messaging``."""
    parts = resource.split(":")
    return ":".join(parts[:2]) if len(parts) > 2 else resource
