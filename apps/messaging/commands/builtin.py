"""The built-in commands: the original four that post a message (``me``, ``shrug``,
``tableflip``, ``unflip``) and the moderation commands (``mute``, ``unmute``, ``ban``,
``unban``, ``topic``). docs/api/messaging-commands.md has the grammar."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from apps.audit.services import check_reason
from apps.channels.models import Channel
from apps.channels.selectors.conversations import members_by_pk
from apps.channels.services.channels import (
    MAX_MUTE_PERIOD_MS,
    MUTE_FOREVER,
    channel_users_ban,
    channel_users_mute,
    channel_users_unban,
)
from apps.channels.services.conversations import conversation_update
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.members.selectors import member_get
from apps.members.services import MAX_BAN_PERIOD_MS
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.messaging.base import MAX_ID
from apps.messaging.commands.types import (
    DURATION,
    STRING,
    USER,
    Invocation,
    Outcome,
    Param,
    may,
)

# --- posting commands -----------------------------------------------------------------------

#: Markdown text: the shrug's backslash is doubled so that it shows (``\_`` is an escaped
#: underscore in Markdown, which would eat the arm).
SHRUG = "¯\\\\_(ツ)_/¯"
TABLEFLIP = "(╯°□°）╯︵ ┻━┻"  # noqa: RUF001  (the art is the point)
UNFLIP = "┬─┬ ノ( ゜-゜ノ)"  # noqa: RUF001


@dataclass(frozen=True)
class PostingCommand:
    """Posts ``compose(text)`` as the member, like ``POST /channels/{id}/messages/``:
    ``message.send`` on the channel, then ``message_create`` (every posting rule, the
    content filter)."""

    name: str
    description: str
    compose: Callable[[str], str]
    text_required: bool = False

    @property
    def params(self) -> tuple[Param, ...]:
        return (Param("text", STRING, self.text_required),)

    def allowed(self, member: Member, channel: Channel | None) -> bool:
        return may(member, "message.send", channel)

    def run(self, invocation: Invocation) -> Outcome:
        text = invocation.text().strip()
        if self.text_required and not text:
            raise DomainError(
                "missing_parameter", f"/{self.name} needs a text (input).", field="input"
            )
        return Outcome(message=post_text(invocation, self.compose(text)))


def post_text(invocation: Invocation, text: str) -> Message:
    """``text`` posted by the invoking member in the invocation's channel. Refusals of
    the message's text (too long, blacklisted, ...) name ``input``, what the caller sent."""
    try:
        return message_create(
            organization=invocation.organization,
            actor=invocation.actor,
            channel=invocation.channel,
            type=Message.Type.TEXT,
            data={"text": text},
            author=invocation.member,
        )
    except DomainError as exc:
        if exc.field in ("data", "data.text"):
            message = exc.message.replace("data.text", "input")
            raise DomainError(exc.code, message, field="input") from exc
        raise


def _suffixed(suffix: str) -> Callable[[str], str]:
    return lambda text: f"{text} {suffix}" if text else suffix


POSTING: tuple[PostingCommand, ...] = (
    PostingCommand(
        "me",
        "Posts the text as an action (in italics: _waves_)",
        lambda text: f"_{text}_",
        text_required=True,
    ),
    PostingCommand("shrug", f"Appends {SHRUG} to the text", _suffixed(SHRUG)),
    PostingCommand("tableflip", f"Appends {TABLEFLIP} to the text", _suffixed(TABLEFLIP)),
    PostingCommand("unflip", f"Appends {UNFLIP} to the text", _suffixed(UNFLIP)),
)


# --- moderation commands -----------------------------------------------------------------------

#: A duration: a whole number (ASCII digits) and a unit (s, m, h, d, w).
_DURATION = re.compile(r"^([0-9]{1,12})([smhdw])$")
#: What looks like an attempt at a duration (so "10" or "0m" is an error, not a reason).
_DURATION_LIKE = re.compile(r"^[0-9]+[a-zA-Z]?$")
MAX_USER_ID_LENGTH = Member._meta.get_field("user_id").max_length
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@dataclass(frozen=True)
class Arguments:
    """A moderation command's arguments: the target, the duration in ms (None: until
    lifted) and the reason."""

    target: Member
    period_ms: int | None
    reason: str


def _field(invocation: Invocation) -> str:
    return "params" if invocation.params else "input"


def _words(invocation: Invocation, *, max_split: int) -> list[str]:
    """``params`` as given, or ``input`` split on whitespace into at most ``max_split``
    + 1 words (the last one keeps its spaces: a reason, a topic)."""
    if invocation.params:
        return list(invocation.params)
    return invocation.input.split(None, max_split)


def target_get(*, invocation: Invocation, word: str) -> Member:
    """The member ``@<numeric id>`` or ``@<userId>`` names (the ``@`` is optional), in the
    invoker's organization: a numeric id is the messaging API's userID first, then a
    userId. 404 ``user_not_found`` if there is none (never provisioned)."""
    name = word[1:] if word.startswith("@") else word
    organization = invocation.organization
    field = _field(invocation)
    if name.isascii() and name.isdigit() and 1 <= int(name) <= MAX_ID:
        try:
            return members_by_pk(organization=organization, member_pks=[int(name)], field=field)[0]
        except DomainError:
            pass  # not a userID: perhaps a userId made of digits
    if not name or len(name) > MAX_USER_ID_LENGTH:
        raise DomainError("user_not_found", f"No user {word[:130]!r} here.", field=field)
    return member_get(organization=organization, user_id=name, field=field)


def duration_ms(*, word: str, longest_ms: int, field: str) -> int:
    """``30s``, ``10m``, ``2h``, ``1d``, ``1w`` in milliseconds (at least 1 s, at most
    ``longest_ms``), or 400 ``invalid_parameter``."""
    match = _DURATION.match(word)
    milliseconds = int(match.group(1)) * _UNIT_MS[match.group(2)] if match else 0
    if not 0 < milliseconds <= longest_ms:
        raise DomainError(
            "invalid_parameter",
            f"{word[:32]!r} is not a duration: use a number and s, m, h, d or w (30s, 10m, "
            f"2h, 1d), at most {longest_ms // _UNIT_MS['d']} days.",
            field=field,
        )
    return milliseconds


def parse_arguments(
    invocation: Invocation, *, timed: bool, longest_ms: int = 0, usage: str
) -> Arguments:
    """``@user [duration] [reason]`` (``timed``) or ``@user [reason]``."""
    words = _words(invocation, max_split=2 if timed else 1)
    field = _field(invocation)
    if not words:
        raise DomainError("missing_parameter", f"Usage: {usage}", field=field)
    target = target_get(invocation=invocation, word=words[0])
    rest = words[1:]
    period = None
    if timed and rest and _DURATION_LIKE.match(rest[0]):
        period = duration_ms(word=rest[0], longest_ms=longest_ms, field=field)
        rest = rest[1:]
    reason = check_reason(" ".join(rest).strip(), field=field)
    return Arguments(target, period, reason)


@dataclass(frozen=True)
class ModerationCommand:
    """A moderation command: allowed by ``operation`` on the channel (the member's
    organization role, its roles' rules); runs ``action`` acting as the member."""

    name: str
    description: str
    operation: str
    params: tuple[Param, ...]
    action: Callable[[Invocation], None]

    def allowed(self, member: Member, channel: Channel | None) -> bool:
        return may(member, self.operation, channel)

    def run(self, invocation: Invocation) -> Outcome:
        self.action(invocation)
        return Outcome()


def _mute(invocation: Invocation) -> None:
    args = parse_arguments(
        invocation,
        timed=True,
        longest_ms=MAX_MUTE_PERIOD_MS,
        usage="/mute @user [duration: 30s, 10m, 2h, 1d] [reason]",
    )
    channel_users_mute(
        channel=invocation.channel,
        actor=invocation.actor,
        user_ids=[args.target.user_id],
        mute_period=args.period_ms or MUTE_FOREVER,
        reason=args.reason,
    )


def _unmute(invocation: Invocation) -> None:
    args = parse_arguments(invocation, timed=False, usage="/unmute @user [reason]")
    channel_users_mute(
        channel=invocation.channel,
        actor=invocation.actor,
        user_ids=[args.target.user_id],
        mute_period=0,
        reason=args.reason,
    )


def _ban(invocation: Invocation) -> None:
    args = parse_arguments(
        invocation,
        timed=True,
        longest_ms=MAX_BAN_PERIOD_MS,
        usage="/ban @user [duration: 30s, 10m, 2h, 1d] [reason]",
    )
    channel_users_ban(
        channel=invocation.channel,
        actor=invocation.actor,
        user_ids=[args.target.user_id],
        reason=args.reason,
        ban_period=args.period_ms,
    )


def _unban(invocation: Invocation) -> None:
    args = parse_arguments(invocation, timed=False, usage="/unban @user")
    channel_users_unban(
        channel=invocation.channel, actor=invocation.actor, user_ids=[args.target.user_id]
    )


def _topic(invocation: Invocation) -> None:
    topic = invocation.text().strip()
    if not topic:
        raise DomainError("missing_parameter", "Usage: /topic new topic", field=_field(invocation))
    try:
        conversation_update(channel=invocation.channel, member=invocation.member, topic=topic)
    except DomainError as exc:
        if exc.field == "topic":
            raise DomainError(exc.code, exc.message, field=_field(invocation)) from exc
        raise


_TARGET = Param("user", USER, True)
_TIMED = (_TARGET, Param("duration", DURATION), Param("reason", STRING))

MODERATION: tuple[ModerationCommand, ...] = (
    ModerationCommand(
        "mute",
        "Mutes a user in this channel, for a time (30s, 10m, 2h, 1d) or until "
        "unmuted: /mute @user 10m reason",
        "members.mute",
        _TIMED,
        _mute,
    ),
    ModerationCommand(
        "unmute",
        "Unmutes a user in this channel: /unmute @user",
        "members.mute",
        (_TARGET, Param("reason", STRING)),
        _unmute,
    ),
    ModerationCommand(
        "ban",
        "Bans a user from this channel, for a time (30s, 10m, 2h, 1d) or until "
        "unbanned: /ban @user 1d reason",
        "members.ban",
        _TIMED,
        _ban,
    ),
    ModerationCommand(
        "unban",
        "Lifts a user's ban from this channel: /unban @user",
        "members.ban",
        (_TARGET,),
        _unban,
    ),
    ModerationCommand(
        "topic",
        "Sets this channel's topic: /topic new topic",
        "update",
        (Param("topic", STRING, True),),
        _topic,
    ),
)

#: Every built-in command (registered by apps.messaging.commands.registry).
COMMANDS: tuple[PostingCommand | ModerationCommand, ...] = (*POSTING, *MODERATION)
