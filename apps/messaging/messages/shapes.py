"""The messaging API's message shape (docs/api/messaging-messages.md).

``render_messages(messages, member=...)`` renders a page as ``member`` sees it in a
fixed number of queries whatever the page's size: the channels and the stored files of
image and file messages if not loaded yet
(:func:`apps.messages.selectors.conversation.messages_for_render` loads both), then
reactions, the member's bookmarks, the repliers and the member's ownership of the page's
channels (:func:`apps.messages.selectors.conversation.render_context`), and the member's
role rules once. Other areas (search, commands) render messages with these two
functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects

from apps.members.models import Member
from apps.messages.models import Message, MessageFile
from apps.messages.selectors.conversation import (
    RenderContext,
    channels_owned,
    render_context,
)
from apps.messaging.attachments.links import attachment_of
from apps.messaging.base import id_str, time_str
from apps.messaging.messages.access import (
    MessageAbilities,
    may_delete,
    may_edit,
    may_reply,
    message_abilities,
)

#: Corteza's mention markup: ``<@123>`` or ``<@123 Display Name>`` (123: the member's id).
MENTION = re.compile(r"<@([0-9]{1,19})(?:\s[^<>]{0,255})?>")
#: Most mentions listed per message.
MAX_MENTIONS = 100


def message_text(message: Message) -> str:
    """What Corteza calls ``message``: the text (text, custom), the caption (image), the
    file's name (file)."""
    data = message.data if isinstance(message.data, dict) else {}
    key = {
        Message.Type.IMAGE: "caption",
        Message.Type.FILE: "name",
    }.get(message.type, "text")
    value = data.get(key)
    return value if isinstance(value, str) else ""


def mentions_in(text: str) -> list[str]:
    """The member ids mentioned in ``text``, first mention first, without duplicates (as
    written: an id that names nobody is listed too; nothing is looked up)."""
    found: dict[str, None] = {}
    for match in MENTION.finditer(text):
        found.setdefault(str(int(match.group(1))), None)
        if len(found) >= MAX_MENTIONS:
            break
    return list(found)


_WITH_FILES = (Message.Type.IMAGE, Message.Type.FILE)


def _load(messages: list[Message]) -> None:
    """The channels and the stored files of image and file messages, unless already
    loaded (one query each)."""
    prefetch_related_objects(messages, "channel")
    prefetch_related_objects(
        [m for m in messages if m.type in _WITH_FILES],
        Prefetch("files", queryset=MessageFile.objects.order_by("pk")),
    )


def _fresh_context(messages: list[Message], member: Member) -> RenderContext:
    """A message just created has no reactions, bookmarks or replies; whether the member
    owns its channel is known when the channel came from the channel selector
    (``viewer_is_owner``), else read (one query)."""
    channels = {m.channel_id: m.channel for m in messages}
    known = {pk: getattr(ch, "viewer_is_owner", None) for pk, ch in channels.items()}
    if any(value is None for value in known.values()):
        return RenderContext(owned_channels=channels_owned(member=member, channel_pks=channels))
    return RenderContext(owned_channels={pk for pk, owned in known.items() if owned})


def _abilities(
    messages: list[Message], member: Member, context: RenderContext
) -> dict[int, MessageAbilities]:
    result: dict[int, MessageAbilities] = {}
    for message in messages:
        if message.channel_id in result:
            continue
        channel = message.channel
        channel.viewer_is_owner = message.channel_id in context.owned_channels
        result[message.channel_id] = message_abilities(member, channel)
    return result


def _render(
    message: Message, member: Member, context: RenderContext, abilities: MessageAbilities
) -> dict[str, Any]:
    text = message_text(message)
    reactions = [
        {"reaction": name, "userIDs": [id_str(pk) for pk in pks], "count": len(pks)}
        for name, pks in context.reactions.get(message.pk, [])
    ]
    return {
        "messageID": id_str(message.pk),
        "type": message.type,
        "message": text,
        "channelID": id_str(message.channel_id),
        "userID": id_str(message.author_id),
        "replyTo": id_str(message.parent_id),
        "replies": message.children_count,
        "repliesFrom": [id_str(pk) for pk in context.repliers.get(message.pk, [])],
        "att": attachment_of(message, member=member),
        "mentions": mentions_in(text),
        "reactions": reactions,
        "isBookmarked": message.pk in context.bookmarked,
        "isPinned": message.pinned_at is not None,
        "canReply": may_reply(abilities, message),
        "canEdit": may_edit(abilities, member, message),
        "canDelete": may_delete(abilities, member, message),
        "createdAt": time_str(message.created_at),
        "updatedAt": time_str(message.edited_at),
        "deletedAt": time_str(message.deleted_at),
    }


def render_messages(
    messages: Sequence[Message], *, member: Member, fresh: bool = False
) -> list[dict[str, Any]]:
    """Messages in the messaging API's shape, as ``member`` sees them, in their order.
    ``fresh``: messages just created (no reactions, bookmarks or replies to read)."""
    messages = list(messages)
    if not messages:
        return []
    _load(messages)
    if fresh:
        context = _fresh_context(messages, member)
    else:
        context = render_context(member=member, messages=messages)
    abilities = _abilities(messages, member, context)
    return [_render(m, member, context, abilities[m.channel_id]) for m in messages]


def render_message(message: Message, *, member: Member, fresh: bool = False) -> dict[str, Any]:
    """One message in the messaging API's shape, as ``member`` sees it (``fresh``: just
    created, see :func:`render_messages`)."""
    return render_messages([message], member=member, fresh=fresh)[0]
