"""The commands of the messaging API (``GET /commands/``, ``POST
/channels/{channelID}/messages/command/{command}/exec``; docs/api/messaging-commands.md).

A command is an object with ``name``, ``description``, ``params`` (Corteza's
``[{name, type, required}]``), ``allowed(member, channel)`` and ``run(invocation)``
(:class:`~apps.messaging.commands.types.Command`, with the other types in that module).
The built-in ones (:mod:`apps.messaging.commands.builtin`) are in :data:`BUILTIN`;
other apps add commands
of an organization (the integrations issue: outgoing-webhook commands) with
:func:`provider_register`, a function ``organization -> {name: command}`` asked on each
lookup. A built-in name cannot be shadowed.

Commands do nothing themselves: the posting ones go through
``apps.messages.services.messages.message_create`` as the member (every moderation rule
and the content filter apply), the moderation ones through the same channel services as
the console and the Admin API v2, acting as the member (``Actor.for_member``), so the
audit log names the member.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messaging.commands import builtin
from apps.messaging.commands.types import Command, Invocation, Outcome, Param, as_dict
from apps.organizations.models import Organization

__all__ = [
    "BUILTIN",
    "Command",
    "Invocation",
    "Outcome",
    "Param",
    "as_dict",
    "command_get",
    "commands_available",
    "commands_of",
    "provider_register",
    "provider_unregister",
    "register",
]

# --- the registry ---------------------------------------------------------------------------

#: name -> command: the built-in commands (apps.messaging.commands.builtin), and any
#: registered with :func:`register`.
BUILTIN: dict[str, Command] = {}

Provider = Callable[[Organization], Mapping[str, Command]]
_PROVIDERS: list[Provider] = []

#: What a command name may be (lower case; the path's name is lowered first).
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def register(command: Command) -> Command:
    """Add a built-in command (at import time; a name is registered once)."""
    if not NAME.match(command.name):
        raise ValueError(f"bad command name {command.name!r}")
    if command.name in BUILTIN:
        raise ValueError(f"command {command.name!r} is registered twice")
    BUILTIN[command.name] = command
    return command


def provider_register(provider: Provider) -> Provider:
    """Add a source of an organization's own commands (e.g. outgoing webhooks). Its
    commands never replace a built-in one of the same name."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def provider_unregister(provider: Provider) -> None:
    if provider in _PROVIDERS:
        _PROVIDERS.remove(provider)


def commands_of(organization: Organization) -> dict[str, Command]:
    """Every command defined for ``organization``: the built-ins, then its own, by name."""
    found: dict[str, Command] = dict(BUILTIN)
    for provider in _PROVIDERS:
        for name, command in provider(organization).items():
            found.setdefault(name, command)
    return found


def command_get(*, organization: Organization, name: str) -> Command:
    """The command called ``name`` (case-insensitive), or 404 ``command_not_found``."""
    command = commands_of(organization).get(name.lower()) if len(name) <= 64 else None
    if command is None:
        raise DomainError(
            "command_not_found", f"No command {name[:64]!r} is defined.", field="command"
        )
    return command


def commands_available(*, member: Member, channel: Channel | None = None) -> list[Command]:
    """The commands ``member`` may run (in ``channel``, or in channels in general), by
    name."""
    commands = commands_of(member.organization)
    return [commands[n] for n in sorted(commands) if commands[n].allowed(member, channel)]


for _command in builtin.COMMANDS:
    register(_command)
