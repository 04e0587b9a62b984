"""What a command of the messaging API is (docs/api/messaging-commands.md): its
parameters (:class:`Param`), one run of it (:class:`Invocation`), what it did
(:class:`Outcome`), the interface every command has (:class:`Command`), and :func:`may`,
the permission check of the built-in commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.permissions.registry import CHANNEL
from apps.permissions.services import can

#: The resource "any channel": what GET /commands/ asks about when no channel is named
#: (the member's organization role and its roles' rules for every channel).
ANY_CHANNEL = f"{CHANNEL}:*"

#: Parameter types shown by GET /commands/.
STRING, USER, DURATION = "string", "user", "duration"


@dataclass(frozen=True)
class Param:
    """One parameter of a command, as Corteza lists it."""

    name: str
    type: str = STRING
    required: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type, "required": self.required}


@dataclass
class Invocation:
    """One run of a command: who, where, and what was sent (``input`` as given, trimmed;
    ``params`` as given)."""

    member: Member
    channel: Channel
    input: str = ""
    params: list[str] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        return Actor.for_member(self.member)

    @property
    def organization(self) -> Organization:
        return self.member.organization

    def words(self) -> list[str]:
        """``params`` when given, else ``input`` split on whitespace."""
        return list(self.params) if self.params else self.input.split()

    def text(self) -> str:
        """``input`` when given, else the ``params`` joined by spaces."""
        return self.input if self.input else " ".join(self.params).strip()


@dataclass(frozen=True)
class Outcome:
    """What a command did: the message it posted (answered with the message), or None
    (answered with ``{"success": {"message": "OK"}}``)."""

    message: Message | None = None


@runtime_checkable
class Command(Protocol):
    name: str
    description: str
    params: Sequence[Param]

    def allowed(self, member: Member, channel: Channel | None) -> bool:
        """Whether ``member`` may run it in ``channel`` (None: in channels in general,
        for the list)."""
        ...

    def run(self, invocation: Invocation) -> Outcome: ...


def as_dict(command: Command) -> dict[str, object]:
    """The command as ``GET /commands/`` lists it."""
    return {
        "name": command.name,
        "params": [p.as_dict() for p in command.params],
        "description": command.description,
    }


def may(member: Member, operation: str, channel: Channel | None) -> bool:
    """``can`` on the channel, or on every channel (``messaging:channel:*``) for a list."""
    return can(member, operation, channel if channel is not None else ANY_CHANNEL)
