"""Writes on messages: create (text, custom, image, file), edit and delete.

Every surface that creates a message comes here, so the posting rule
(:func:`apps.channels.rules.post_refusal`) and the content filter
(:func:`apps.moderation.filter.policy.filter_message_texts`, with the organization's
policy: block, flag or mask) are applied once, in one place; so is the filter on edited
text (:func:`message_text_update`). Creates and deletes keep the readers' unread counts
exact in the same transaction (:mod:`apps.messages.services.reads`).

A post is one transaction (an image's processing runs between its checks and its
writes, outside any): the channel's state, the author and its membership in one read,
the content filter, then the writes; the answer is rendered from what was written.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record, check_reason
from apps.channels.models import Channel, Membership
from apps.channels.rules import (
    channel_refusal,
    check_can_post,
    check_not_archived,
    post_refusal,
)
from apps.channels.selectors.channels import channel_live_q
from apps.core.errors import DomainError
from apps.core.images import process_image
from apps.core.text import is_invisible
from apps.events.models import EventType
from apps.events.services import event_record
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.messages.models import Message, MessageFile, MessageTag
from apps.messages.selectors.messages import message_get
from apps.messages.selectors.posting import posting_row
from apps.messages.services.reads import reads_after_delete, reads_after_post
from apps.moderation.filter.policy import FilterOutcome, filter_message_texts
from apps.moderation.services import filter_refusal_count
from apps.organizations.models import Organization
from apps.organizations.selectors import mark_row_read
from apps.reports.models import Report
from apps.reports.services import report_create

MAX_TEXT_LENGTH = 10_000
MAX_DATA_BYTES = 64 * 1024
MAX_TAGS = 50
MAX_TAG_LENGTH = 64

#: Content types served as themselves by GET .../files; anything else is served as
#: application/octet-stream (always as an attachment, with nosniff).
SAFE_FILE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/json",
        "text/plain",
        "text/csv",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "video/mp4",
        "video/webm",
    }
)
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")


@dataclass
class _StoredFile:
    variant: str
    content: File
    storage_name: str
    name: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None


def validate_message_data(*, type: str, data: Any) -> dict[str, Any]:
    """``data`` of a text or custom message, or DomainError with the offending field."""
    if not isinstance(data, dict):
        raise DomainError("invalid_parameter", "data must be a JSON object.", field="data")
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_DATA_BYTES:
        raise DomainError(
            "invalid_parameter", f"data must be at most {MAX_DATA_BYTES} bytes.", field="data"
        )
    if type == Message.Type.TEXT:
        text = data.get("text")
        if text is None:
            raise DomainError(
                "missing_parameter", "A text message needs data.text.", field="data.text"
            )
        # nothing visible (only whitespace, format characters such as U+200B, ...) is empty
        if not isinstance(text, str) or is_invisible(text):
            raise DomainError(
                "invalid_parameter", "data.text must be a non-empty string.", field="data.text"
            )
        if len(text) > MAX_TEXT_LENGTH:
            raise DomainError(
                "invalid_parameter",
                f"data.text must be at most {MAX_TEXT_LENGTH} characters.",
                field="data.text",
            )
    elif type != Message.Type.CUSTOM:
        raise DomainError("invalid_parameter", "type must be text or custom.", field="type")
    return data


def _clean_tags(tags: Sequence[str] | None) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in (tags or []) if t and t.strip()))
    if len(cleaned) > MAX_TAGS:
        raise DomainError("invalid_parameter", f"At most {MAX_TAGS} tags.", field="tags")
    if any(len(t) > MAX_TAG_LENGTH for t in cleaned):
        raise DomainError(
            "invalid_parameter", f"A tag is at most {MAX_TAG_LENGTH} characters.", field="tags"
        )
    return cleaned


@dataclass
class _Posting:
    """Who posts where: what :func:`_prepare` read and checked."""

    channel: Channel
    author: Member
    #: The author's row in the channel (None: it has none; an admin posts from outside).
    membership: Membership | None
    parent: Message | None


def _prepare(
    *,
    organization: Organization,
    actor: Actor,
    channel: Channel | str,
    parent_id: str | None,
    author: Member | None = None,
) -> _Posting:
    """The channel, author, its membership and the parent of a new message, with the
    posting rule (:func:`post_refusal`) applied. In the post's transaction (a refusal
    also undoes the author's provisioning).

    ``channel``: as the surface loaded it (e.g. with ``channel_get``), or its channelId
    (404 ``channel_not_found`` as ``channel_get``'s). ``author``: the member who posts
    (the chatroom service's user); else the acting account's member. The channel's
    current state, the member and its membership are read in ONE query
    (:func:`~apps.messages.selectors.posting.posting_row`)."""
    if isinstance(channel, Channel) and channel.organization_id != organization.pk:
        raise ValueError(f"{channel!r} belongs to another organization")
    if author is not None:
        if author.organization_id != organization.pk:
            raise DomainError("forbidden", "The author belongs to another organization.")
        poster = {"member_pk": author.pk}
    elif actor.account is None:
        raise DomainError("forbidden", "Only an account's token can post messages.")
    else:
        poster = {"account_pk": actor.account.pk}
    current = posting_row(organization=organization, channel=channel, **poster)
    if current is None:  # unknown, or purged meanwhile
        raise _channel_refusal(channel)
    if not isinstance(channel, Channel):
        channel = current
    # the content filter's version, read with the row: the filter needs no read of its own
    organization.filter_version = current.organization_filter_version
    mark_row_read(organization)
    found: Member | None = getattr(current, "poster", None)
    membership: Membership | None = getattr(current, "poster_in", None)
    if found is not None:
        author = found  # as it is now (a ban or a deactivation of a moment ago counts)
    elif author is not None:  # the given member was deleted meanwhile
        raise DomainError("user_deactivated", f"User {author.user_id!r} is deactivated.")
    else:  # the account's first post in the organization: its member is provisioned
        assert actor.account is not None
        author, _ = member_get_or_create_for_account(
            organization=organization,
            account=actor.account,
            actor=actor,
            role=Member.OrgRole.ADMIN,
        )
        membership = Membership.objects.filter(channel=channel, member=author).first()
    if author.is_inactive:  # deactivated or removed: its history stays, it cannot post
        raise DomainError("user_deactivated", f"User {author.user_id!r} is deactivated.")
    refusal = post_refusal(channel=current, member=author, membership=membership)
    if refusal is not None:
        raise refusal
    parent = None
    if parent_id:
        parent = message_get(
            organization=organization,
            message_id=parent_id,
            channel=channel,
            include_deleted=False,
            code="parent_not_found",
            field="parentId",
        )
        if parent.parent_id is not None:
            raise DomainError("invalid_parent", field="parentId")
    return _Posting(channel=channel, author=author, membership=membership, parent=parent)


def _channel_refusal(channel: Channel | str) -> DomainError:
    """Why a message cannot go into ``channel`` (re-read: the guarded insert found it
    changed): gone (404), closed or archived (403); a channelId: unknown (404)."""
    if isinstance(channel, Channel):
        channel_id, current = channel.channel_id, Channel.objects.filter(pk=channel.pk).first()
    else:
        channel_id, current = channel, None
    if current is None:  # unknown, or purged meanwhile
        return DomainError(
            "channel_not_found", f"No channel with channelId {channel_id!r}.", field="channelId"
        )
    return channel_refusal(current) or DomainError(
        "channel_closed", f"Channel {channel.channel_id!r} is closed."
    )


def _insert(
    *,
    organization: Organization,
    posting: _Posting,
    type: str,
    data: dict[str, Any],
    tags: list[str],
    files: Sequence[_StoredFile] = (),
    flag_reason: str | None = None,
) -> Message:
    """In the caller's transaction: counters (guarded, so a concurrent close or parent
    delete is seen), the message, its tags, the author's read state (when it has a row
    in the channel), its stored files and its event. Files written before a failure are
    removed again.

    Returns the message ready to render (as ``with_details`` loads it) from what the
    insert holds: nothing is read back. A new message has no reactions; its open
    reports are the content filter's one (flag policy) or none."""
    channel, author, parent = posting.channel, posting.author, posting.parent
    saved: list[MessageFile] = []
    try:
        now = timezone.now()
        bumped = Channel.objects.filter(
            channel_live_q(now=now),
            pk=channel.pk,
            closed_at__isnull=True,
            archived_at__isnull=True,
        ).update(message_count=F("message_count") + 1, last_activity_at=now)
        if not bumped:  # closed, archived, removed or due since it was read
            raise _channel_refusal(channel)
        if parent is not None:
            bumped = Message.objects.filter(pk=parent.pk, deleted_at__isnull=True).update(
                children_count=F("children_count") + 1
            )
            if not bumped:
                raise DomainError("parent_not_found", field="parentId")
        message = Message.objects.create(
            organization=organization,
            channel=channel,
            author=author,
            type=type,
            data=data,
            parent=parent,
        )
        tag_rows = MessageTag.objects.bulk_create(
            [MessageTag(message=message, name=t) for t in tags]
        )
        reads_after_post(message=message, author=author, in_channel=posting.membership is not None)
        message.flag_count = 0
        if flag_reason is not None:  # the content filter's flag policy
            report = _flag(organization=organization, message=message, reason=flag_reason)
            if report is not None:
                message.flag_count = 1
                message.hidden_at = report.target_message.hidden_at  # auto-hide at 1
        event_record(
            organization=organization,
            type=EventType.MESSAGE_CREATED,
            payload={
                "organization": organization.slug,
                "messageId": str(message.public_id),
                "channelId": channel.channel_id,
                "userId": author.user_id,
                "type": type,
                "data": data,
                "tags": tags,
                "parentId": str(parent.public_id) if parent is not None else None,
                "createdAt": message.created_at.isoformat(),
            },
        )
        for item in files:
            row = MessageFile(
                message=message,
                variant=item.variant,
                name=item.name,
                content_type=item.content_type,
                size=item.size,
                width=item.width,
                height=item.height,
            )
            row.file.save(item.storage_name, item.content, save=False)
            saved.append(row)
            row.save()
    except BaseException:
        for row in saved:
            row.file.delete(save=False)
        raise
    message.parent_public_id = parent.public_id if parent is not None else None
    _prefetched(message, "tag_rows", tag_rows)
    _prefetched(message, "files", saved)
    return message


def _prefetched(message: Message, name: str, rows: list[Any]) -> None:
    """Store ``rows`` as the prefetched ``message.<name>`` (what ``prefetch_related``
    stores), so rendering the new message reads nothing."""
    queryset = getattr(message, name).get_queryset()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    message.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset


class _FilterRefusal(Exception):
    """The content filter refused a post (carries its DomainError out of the post's
    transaction, which rolls back, to be counted: :func:`_refusals_counted`)."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.code)
        self.error = error


@contextmanager
def _refusals_counted(organization: Organization) -> Iterator[None]:
    """Around the post's transaction: a post the content filter refused is counted for
    the console's dashboard once the transaction rolled back, then the refusal goes on
    to the caller."""
    try:
        yield
    except _FilterRefusal as refusal:
        filter_refusal_count(organization=organization, code=refusal.error.code)
        raise refusal.error from None


def _filter_posted(*, organization: Organization, texts: dict[str, str]) -> FilterOutcome:
    """The content filter on a posting path, inside :func:`_refusals_counted`."""
    try:
        return filter_message_texts(organization=organization, texts=texts)
    except DomainError as exc:
        raise _FilterRefusal(exc) from exc


def message_create(
    *,
    organization: Organization,
    actor: Actor,
    channel: Channel | str,
    type: str,
    data: Any,
    tags: Sequence[str] | None = None,
    parent_id: str | None = None,
    author: Member | None = None,
) -> Message:
    """A text or custom message by the acting account's member, or by ``author`` when
    given (the chatroom service posts as the token's user); the same rules apply.
    ``channel``: as the surface loaded it, or its channelId (404 ``channel_not_found``).

    One transaction: the posting rule (one read), the content filter, the writes; the
    message returned is rendered from what was written."""
    data = validate_message_data(type=type, data=data)
    tags = _clean_tags(tags)
    with _refusals_counted(organization), transaction.atomic():
        posting = _prepare(
            organization=organization,
            actor=actor,
            channel=channel,
            parent_id=parent_id,
            author=author,
        )
        outcome = _filter_posted(organization=organization, texts=_visible_texts(data))
        data = _with_texts(data, outcome.texts)  # masked under the mask policy
        return _insert(
            organization=organization,
            posting=posting,
            type=type,
            data=data,
            tags=tags,
            flag_reason=outcome.flag_reason,
        )


#: The text fields of a message's Slack-style ``attachments`` (incoming webhooks) that a
#: client shows: the content filter reads them as it reads ``data.text``.
_ATTACHMENT_TEXTS = ("pretext", "title", "text", "author_name", "footer")
_ATTACHMENT_FIELD_TEXTS = ("title", "value")


def _visible_texts(data: dict[str, Any]) -> dict[str, str]:
    """Every text of ``data`` that clients show, by its path (``data.text``,
    ``data.attachments[0].title``, ``data.attachments[0].fields[1].value``)."""
    texts: dict[str, str] = {}
    if isinstance(data.get("text"), str):
        texts["data.text"] = data["text"]
    attachments = data.get("attachments")
    if not isinstance(attachments, list):
        return texts
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            continue
        for key in _ATTACHMENT_TEXTS:
            if isinstance(attachment.get(key), str):
                texts[f"data.attachments[{i}].{key}"] = attachment[key]
        fields = attachment.get("fields")
        for j, item in enumerate(fields if isinstance(fields, list) else []):
            for key in _ATTACHMENT_FIELD_TEXTS:
                if isinstance(item, dict) and isinstance(item.get(key), str):
                    texts[f"data.attachments[{i}].fields[{j}].{key}"] = item[key]
    return texts


def _with_texts(data: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
    """``data`` with the texts of :func:`_visible_texts` replaced (the mask policy)."""
    if texts == _visible_texts(data):
        return data
    data = copy.deepcopy(data)
    for path, text in texts.items():
        node: Any = data
        steps = path.removeprefix("data.").replace("]", "").replace("[", ".").split(".")
        for step in steps[:-1]:
            node = node[int(step)] if isinstance(node, list) else node[step]
        node[steps[-1]] = text
    return data


def message_create_image(
    *,
    organization: Organization,
    actor: Actor,
    channel: Channel,
    upload: File,
    caption: str = "",
    tags: Sequence[str] | None = None,
    parent_id: str | None = None,
    full_image: bool = False,
    author: Member | None = None,
) -> Message:
    """An image message: renditions small/medium/large (and the original if asked), by
    the acting account's member or by ``author`` (as :func:`message_create`)."""
    max_bytes = int(settings.CHATADMIN["MAX_IMAGE_BYTES"])
    if upload.size is not None and upload.size > max_bytes:
        raise DomainError(
            "payload_too_large", f"The image must be at most {max_bytes} bytes.", field="file"
        )
    if len(caption) > MAX_TEXT_LENGTH:
        raise DomainError(
            "invalid_parameter",
            f"caption must be at most {MAX_TEXT_LENGTH} characters.",
            field="caption",
        )
    tags = _clean_tags(tags)
    # The checks in one transaction, the image's work outside any, the writes in a second.
    with _refusals_counted(organization), transaction.atomic():
        posting = _prepare(
            organization=organization,
            actor=actor,
            channel=channel,
            parent_id=parent_id,
            author=author,
        )
        outcome = _filter_posted(organization=organization, texts={"caption": caption})
    caption = outcome.texts["caption"]  # masked under the mask policy
    upload.seek(0)
    content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise DomainError(
            "payload_too_large", f"The image must be at most {max_bytes} bytes.", field="file"
        )
    image = process_image(content, keep_original=full_image)  # outside the transaction
    files = [
        _StoredFile(
            variant=r.variant,
            content=ContentFile(r.content),
            storage_name=f"image.{r.extension}",
            name=f"{r.variant}.{r.extension}",
            content_type=r.content_type,
            size=len(r.content),
            width=r.width,
            height=r.height,
        )
        for r in image.renditions
    ]
    if full_image:
        files.append(
            _StoredFile(
                variant=MessageFile.Variant.FULL,
                content=ContentFile(image.original),
                storage_name=f"image.{image.original_extension}",
                name=f"full.{image.original_extension}",
                content_type=image.original_content_type,
                size=len(image.original),
                width=image.width,
                height=image.height,
            )
        )
    data = {
        "caption": caption,
        "image": {
            "width": image.width,
            "height": image.height,
            "sizes": [f.variant for f in files],
        },
    }
    with transaction.atomic():
        return _insert(
            organization=organization,
            posting=posting,
            type=Message.Type.IMAGE,
            data=data,
            tags=tags,
            files=files,
            flag_reason=outcome.flag_reason,
        )


def clean_file_name(name: str | None) -> str:
    """A display name: the last path part, no control characters, at most 255 chars."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return base[:255] or "file"


def clean_content_type(value: str | None) -> str:
    value = (value or "").split(";", 1)[0].strip().lower()
    return value if _MIME.match(value) else "application/octet-stream"


def message_create_file(
    *,
    organization: Organization,
    actor: Actor,
    channel: Channel,
    upload: File,
    tags: Sequence[str] | None = None,
    parent_id: str | None = None,
    author: Member | None = None,
) -> Message:
    """A file message: the file is stored as it came (variant ``file``), by the acting
    account's member or by ``author`` (as :func:`message_create`)."""
    max_bytes = int(settings.CHATADMIN["MAX_FILE_BYTES"])
    size = upload.size or 0
    if size > max_bytes:
        raise DomainError(
            "payload_too_large", f"The file must be at most {max_bytes} bytes.", field="file"
        )
    if size == 0:
        raise DomainError("invalid_file", "The file is empty.", field="file")
    tags = _clean_tags(tags)
    name = clean_file_name(getattr(upload, "name", None))
    content_type = clean_content_type(getattr(upload, "content_type", None))
    upload.seek(0)
    files = [
        _StoredFile(
            variant=MessageFile.Variant.FILE,
            content=upload,
            storage_name="file",
            name=name,
            content_type=content_type,
            size=size,
        )
    ]
    data = {"name": name, "size": size, "contentType": content_type}
    with transaction.atomic():
        posting = _prepare(
            organization=organization,
            actor=actor,
            channel=channel,
            parent_id=parent_id,
            author=author,
        )
        return _insert(
            organization=organization,
            posting=posting,
            type=Message.Type.FILE,
            data=data,
            tags=tags,
            files=files,
        )


@transaction.atomic
def message_delete(
    *, organization: Organization, actor: Actor, message: Message, reason: str = ""
) -> Message:
    """Soft delete ``message`` (as the surface loaded it), audited as ``message.delete``.
    Deleting a deleted message is a no-op (idempotent: no second audit entry, counters
    untouched); so is it when a concurrent request deleted it first (the row is re-read
    under a lock). The counters and the readers' read state stay exact
    (:func:`~apps.messages.services.reads.reads_after_delete`). A member acting for
    itself (messaging API) cannot change an archived channel
    (:func:`check_not_archived`); whether it may delete this message is the
    surface's permission check."""
    check_reason(reason)
    message = message_get(organization=organization, message_id=message.public_id, for_update=True)
    if message.deleted_at is not None:
        return message
    if actor.member is not None:
        check_not_archived(channel=message.channel)
    message.deleted_at = timezone.now()
    message.save(update_fields=["deleted_at"])
    Channel.objects.filter(pk=message.channel_id, message_count__gt=0).update(
        message_count=F("message_count") - 1
    )
    if message.parent_id is not None:
        Message.objects.filter(pk=message.parent_id, children_count__gt=0).update(
            children_count=F("children_count") - 1
        )
    reads_after_delete(message=message)
    audit_record(
        organization=organization,
        actor=actor,
        action="message.delete",
        target_type="message",
        target_id=str(message.public_id),
        reason=reason,
        before={
            "channelId": message.channel.channel_id,
            "type": message.type,
            "userId": message.author.user_id if message.author else None,
        },
        after={"isDeleted": True},
    )
    event_record(
        organization=organization,
        type=EventType.MESSAGE_DELETED,
        payload={
            "organization": organization.slug,
            "messageId": str(message.public_id),
            "channelId": message.channel.channel_id,
            "userId": message.author.user_id if message.author else None,
            "type": message.type,
            "actor": actor.label,
            "reason": reason,
            "deletedAt": message.deleted_at.isoformat(),
        },
    )
    return message


def _flag(*, organization: Organization, message: Message, reason: str) -> Report | None:
    """The content filter's ``flag`` policy: a report by the system on the message, in
    the caller's transaction (idempotent while the message has an open system report)."""
    if message.author is None:
        return None  # nobody to report (messages always have an author through the API)
    return report_create(
        organization=organization,
        actor=Actor.system(),
        reporter=None,
        target_member=message.author,
        target_message=message,
        reason=reason,
    )


#: Which ``data`` key holds the editable text of each message type.
TEXT_KEYS = {Message.Type.TEXT: "text", Message.Type.CUSTOM: "text", Message.Type.IMAGE: "caption"}


@transaction.atomic
def message_text_update(
    *, organization: Organization, actor: Actor, message: Message, text: str
) -> Message:
    """Replace the text of a message (``data.text``; an image's caption), with the
    content filter and the organization's policy applied exactly as on create: block
    raises ``blacklisted_content`` (field ``text``), flag stores the text and opens a
    system report on the message, mask stores the masked text. Audited as
    ``message.edit``, emits ``message.updated``; sets ``edited_at``. A deleted message
    is ``message_not_found``; a file message has no text (``invalid_parameter``). A
    member acting for itself (messaging API) edits under the posting rule (muted,
    banned, closed or archived: refused like a post). An unchanged text writes
    nothing."""
    message = message_get(
        organization=organization,
        message_id=message.public_id,
        include_deleted=False,
        for_update=True,
    )
    key = TEXT_KEYS.get(message.type)
    if key is None:
        raise DomainError(
            "invalid_parameter", f"A {message.type} message has no text.", field="text"
        )
    if not isinstance(text, str) or (
        key == "text" and message.type == Message.Type.TEXT and is_invisible(text)
    ):
        raise DomainError("invalid_parameter", "text must be a non-empty string.", field="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise DomainError(
            "invalid_parameter",
            f"text must be at most {MAX_TEXT_LENGTH} characters.",
            field="text",
        )
    if actor.member is not None:  # a member edits as it posts: mutes, bans, archive...
        check_can_post(channel=message.channel, member=actor.member)
    outcome = filter_message_texts(organization=organization, texts={"text": text})
    text = outcome.texts["text"]
    data = dict(message.data or {})
    before = data.get(key)
    if before == text:
        return message
    data[key] = text
    message.data = data
    message.edited_at = timezone.now()
    message.save(update_fields=["data", "edited_at"])
    audit_record(
        organization=organization,
        actor=actor,
        action="message.edit",
        target_type="message",
        target_id=str(message.public_id),
        before={key: before},
        after={key: text, "filter": outcome.policy if outcome.hits else None},
    )
    if outcome.flag_reason is not None:
        _flag(organization=organization, message=message, reason=outcome.flag_reason)
    message_updated_event(organization=organization, message=message, actor=actor, changed=["text"])
    return message


def message_updated_event(
    *, organization: Organization, message: Message, actor: Actor, changed: list[str]
) -> None:
    """``message.updated`` for ``message`` as it now is, in the caller's transaction
    (``changed``: ``text`` for an edit, ``pinned`` for a pin or an unpin)."""
    event_record(
        organization=organization,
        type=EventType.MESSAGE_UPDATED,
        payload={
            "organization": organization.slug,
            "messageId": str(message.public_id),
            "channelId": message.channel.channel_id,
            "userId": message.author.user_id if message.author else None,
            "type": message.type,
            "data": message.data,
            "changed": changed,
            "isPinned": message.pinned_at is not None,
            "actor": actor.label,
            "editedAt": message.edited_at.isoformat() if message.edited_at else None,
        },
    )
