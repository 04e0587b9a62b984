"""The attachment object of a message (Corteza's ``att``) and its signed links.

Which stored file is the attachment (its id) and which its preview is
:func:`apps.messages.selectors.attachments.primary_and_preview`'s: the file of a file
message, an image's original (else ``large``) rendition with its ``small`` one as the
preview; a file message has no preview (``previewUrl`` null; the route answers 404).

Links are signed for the member who reads them (apps.core.signing), so a client can put
them in an ``<img src>``; they expire after ``CHATADMIN["SIGNED_URL_TTL_SECONDS"]``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from apps.core import signing
from apps.core.sweeps import iso
from apps.members.models import Member
from apps.messages.models import Message, MessageFile
from apps.messages.selectors.attachments import primary_and_preview

#: The kind signed into an attachment link (signing.sign's first value).
SIGN_KIND = "attachment"
#: Where the messaging API is mounted (chatadmin/urls.py).
PREFIX = "/api/messaging"


def extension(name: str) -> str:
    """The lower-case extension of a file name, without the dot ("" if none)."""
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot and ext and len(ext) <= 16 and ext.isalnum() else ""


def _meta(stored: MessageFile) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "size": stored.size,
        "ext": extension(stored.name),
        "mimetype": stored.content_type,
    }
    if stored.width and stored.height:
        meta["image"] = {"width": stored.width, "height": stored.height}
    return meta


def original_url(attachment_id: int, name: str, params: dict[str, str]) -> str:
    return f"{PREFIX}/attachment/{attachment_id}/original/{quote(name, safe='')}?" + urlencode(
        params
    )


def preview_url(attachment_id: int, ext: str, params: dict[str, str]) -> str:
    return f"{PREFIX}/attachment/{attachment_id}/preview.{ext}?" + urlencode(params)


def attachment_of(message: Message, *, member: Member) -> dict[str, Any] | None:
    """Corteza's attachment object of ``message`` with links signed for ``member``;
    None for text and custom messages. Reads ``message.files.all()`` (prefetch it)."""
    if message.type not in (Message.Type.FILE, Message.Type.IMAGE):
        return None
    primary, preview = primary_and_preview(message)
    if primary is None:
        return None
    params = signing.signed_params(SIGN_KIND, primary.pk, member.pk)
    preview_ext = extension(preview.name) if preview is not None else ""
    return {
        "attachmentID": str(primary.pk),
        "userID": None if message.author_id is None else str(message.author_id),
        "url": original_url(primary.pk, primary.name, params),
        "previewUrl": preview_url(primary.pk, preview_ext, params) if preview else None,
        "meta": {
            "original": _meta(primary),
            "preview": _meta(preview) if preview is not None else None,
        },
        "name": primary.name,
        "createdAt": iso(message.created_at),
    }
