"""Reads for the messaging API's attachments: which stored file of a message is its
attachment and which its preview, and the lookup behind a signed attachment link.

An image or file message has one attachment, named by the primary key of its primary
stored file: the file of a file message; the original (``full``) rendition of an image
message if it was kept, else its ``large`` one. An image's preview is its ``small``
rendition (a thumbnail made once, with Pillow, when the image was posted); a file
message has no preview.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.channels.selectors.conversations import conversation_get
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message, MessageFile

#: The renditions that stand for an image message, best first.
IMAGE_PRIMARY = (MessageFile.Variant.FULL, MessageFile.Variant.LARGE, MessageFile.Variant.MEDIUM)
IMAGE_PREVIEW = MessageFile.Variant.SMALL


@dataclass(frozen=True)
class Attachment:
    message: Message
    original: MessageFile
    preview: MessageFile | None


def primary_and_preview(
    message: Message, files: list[MessageFile] | None = None
) -> tuple[MessageFile | None, MessageFile | None]:
    """The stored file that is ``message``'s attachment and the one that is its preview
    (from ``files``, else ``message.files.all()``: prefetch it for a list)."""
    if files is None:
        files = list(message.files.all())
    by_variant = {f.variant: f for f in files}
    if message.type == Message.Type.FILE:
        return by_variant.get(MessageFile.Variant.FILE), None
    if message.type == Message.Type.IMAGE:
        primary = next((by_variant[v] for v in IMAGE_PRIMARY if v in by_variant), None)
        return primary, by_variant.get(IMAGE_PREVIEW)
    return None, None


def link_member_get(*, member_pk: int) -> Member:
    """The member a valid link was signed for: 403 ``invalid_signature`` if it no longer
    exists or was deactivated, 403 ``user_globally_banned`` while it is banned (its links
    stop working at once, like its sessions)."""
    member = (
        Member.objects.select_related("organization")
        .filter(pk=member_pk, deactivated_at__isnull=True, removed_at__isnull=True)
        .first()
    )
    if member is None:
        raise DomainError("invalid_signature")
    if member.is_globally_banned():
        raise DomainError("user_globally_banned")
    return member


def attachment_get(*, member: Member, attachment_pk: int) -> Attachment:
    """The attachment ``attachment_pk`` as ``member`` may see it: of its organization, of
    a message neither deleted nor hidden, in a channel it sees
    (:func:`apps.channels.selectors.conversations.conversation_get` decides, a ``read``
    deny included); else 404 ``attachment_not_found`` (another organization's id, or a
    channel the member may not see, looks exactly like a missing id)."""
    row = (
        MessageFile.objects.select_related("message")
        .filter(
            pk=attachment_pk,
            message__organization_id=member.organization_id,
            message__deleted_at__isnull=True,
            message__hidden_at__isnull=True,
            message__type__in=[Message.Type.FILE, Message.Type.IMAGE],
        )
        .first()
    )
    if row is None:
        raise _not_found()
    message = row.message
    try:
        message.channel = conversation_get(member=member, channel_pk=message.channel_id)
    except DomainError as exc:
        raise _not_found() from exc
    original, preview = primary_and_preview(message)
    if original is None or original.pk != row.pk:  # a rendition, not the attachment
        raise _not_found()
    return Attachment(message=message, original=original, preview=preview)


def _not_found() -> DomainError:
    return DomainError("attachment_not_found", field="attachmentID")
