"""Every operation the product checks, in one registry (``GET /api/messaging/permissions/``).

An operation belongs to a resource type: ``messaging`` (the organization's chat as a
whole) or ``messaging:channel`` (one channel, named ``messaging:channel:<id>``; rules may
use ``messaging:channel:*`` for every channel). Defaults say what each organization
role may do when no rule of the member's roles decides; ``owner`` marks what a
channel's owner may do on that channel by default, whatever its organization role.
The table of docs/api/messaging-permissions.md is :func:`markdown_table` (a test keeps
them equal).
"""

from __future__ import annotations

from dataclasses import dataclass

MESSAGING = "messaging"
CHANNEL = "messaging:channel"
#: Every channel: what a channel operation is decided on when no channel is at hand (a
#: list of commands, the effective rules), as a non-owner.
ANY_CHANNEL = f"{CHANNEL}:*"

ADMIN, MEMBER, GUEST, EXTERNAL = "admin", "member", "guest", "external"
#: The organization roles, in the order the docs show them.
ORG_ROLES: tuple[str, ...] = (ADMIN, MEMBER, GUEST, EXTERNAL)
#: The resource types, in the order the docs show them.
RESOURCE_TYPES: tuple[str, ...] = (MESSAGING, CHANNEL)
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
    Operation(
        MESSAGING, "integrations.incoming.manage", "Manage every incoming integration", _STAFF
    ),
    Operation(
        MESSAGING,
        "integrations.incoming.manage.own",
        "Manage one's own incoming integrations",
        _STAFF,
    ),
    Operation(
        MESSAGING, "integrations.outgoing.manage", "Manage every outgoing integration", _STAFF
    ),
    Operation(
        MESSAGING,
        "integrations.outgoing.manage.own",
        "Manage one's own outgoing integrations",
        _STAFF,
    ),
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


def operations_of(resource_type_name: str | None = None) -> tuple[Operation, ...]:
    """The registered operations, in registry order; only those of one resource type
    (``messaging`` or ``messaging:channel``) when given."""
    if resource_type_name is None:
        return OPERATIONS
    return tuple(op for op in OPERATIONS if op.resource == resource_type_name)


def markdown_table() -> str:
    """The operations and their defaults as a Markdown table, as in
    docs/api/messaging-permissions.md."""
    header = ["resource", "operation", "description", *ORG_ROLES, "owner"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for op in OPERATIONS:
        marks = ["yes" if role in op.roles else "no" for role in ORG_ROLES]
        owner = "yes" if op.owner else ("no" if op.resource == CHANNEL else "n/a")
        cells = [f"`{op.resource}`", f"`{op.operation}`", op.description, *marks, owner]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: The largest channel id a resource may name (ids are signed 64-bit in the database).
MAX_CHANNEL_ID = 2**63 - 1


@dataclass(frozen=True)
class Resource:
    """A resource name a rule or a query may use, parsed: ``name`` is canonical
    (``messaging:channel:042`` -> ``messaging:channel:42``); ``channel_pk`` is set for one
    concrete channel; ``wildcard`` for ``messaging:channel`` and ``messaging:channel:*``
    (every channel)."""

    name: str
    type: str
    channel_pk: int | None = None
    wildcard: bool = False


def resource_parse(resource: str) -> Resource | None:
    """The parsed resource, or None when it is not one of ``messaging``,
    ``messaging:channel``, ``messaging:channel:*``, ``messaging:channel:<id>``."""
    if resource == MESSAGING:
        return Resource(MESSAGING, MESSAGING)
    if resource in (CHANNEL, f"{CHANNEL}:*"):
        return Resource(resource, CHANNEL, wildcard=True)
    prefix = f"{CHANNEL}:"
    if not resource.startswith(prefix):
        return None
    digits = resource[len(prefix) :]
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    pk = int(digits)
    if not 1 <= pk <= MAX_CHANNEL_ID:
        return None
    return Resource(f"{prefix}{pk}", CHANNEL, channel_pk=pk)
