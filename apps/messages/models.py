"""Messages, their tags, stored files and reactions."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.channels.models import Channel
from apps.members.models import Member
from apps.organizations.models import Organization


class Message(models.Model):
    """A message in a channel. ``public_id`` is the API's ``messageId``.

    Lists are ordered by the primary key, which grows with time, so keyset pages stay
    stable while new messages arrive. Deletion is soft (``deleted_at``); closing a
    channel deletes its messages for real.
    """

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        CUSTOM = "custom", "Custom"
        IMAGE = "image", "Image"
        FILE = "file", "File"

    # DO_NOTHING on the way up: messages are deleted explicitly, in batches, before their
    # channel (purge), so Django never collects them in Python. Everything below a
    # message (tags, files, reactions, reports, replies) goes with it in the database
    # (DB_CASCADE), so a purge is one DELETE per batch.
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.DO_NOTHING, related_name="messages")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    author = models.ForeignKey(
        Member, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="messages"
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    data = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.DB_CASCADE, null=True, blank=True, related_name="children"
    )
    children_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    #: Hidden automatically at the organization's report threshold (or by a moderator).
    hidden_at = models.DateTimeField(null=True, blank=True)
    #: Pinned to its channel (a public bookmark, messaging API).
    pinned_at = models.DateTimeField(null=True, blank=True)
    pinned_by = models.ForeignKey(
        Member, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    # On PostgreSQL the table also has a ``search_vector`` tsvector column with a GIN
    # index, kept by a trigger from data.text / data.caption / data.name in the
    # organization's ``search_language`` (migration 0003); not a model field, so the
    # model stays the same on SQLite. See apps.messages.selectors.search.

    class Meta:
        indexes = [
            models.Index(fields=["channel", "id"], name="message_channel_id"),
            models.Index(
                fields=["parent", "id"], condition=Q(parent__isnull=False), name="message_parent"
            ),
            models.Index(fields=["author", "id"], name="message_author"),
            models.Index(
                fields=["channel", "id"],
                condition=Q(pinned_at__isnull=False),
                name="message_pinned",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def message_id(self) -> str:
        return str(self.public_id)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MessageTag(models.Model):
    message = models.ForeignKey(Message, on_delete=models.DB_CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "name"], name="messagetag_unique"),
        ]
        indexes = [models.Index(fields=["name", "message"], name="messagetag_name")]

    def __str__(self) -> str:
        return self.name


def message_file_path(instance: MessageFile, filename: str) -> str:
    msg = instance.message
    return f"orgs/{msg.organization_id}/messages/{msg.public_id}/{instance.variant}-{filename}"


class MessageFile(models.Model):
    """A stored file of an image or file message: one row per rendition."""

    class Variant(models.TextChoices):
        SMALL = "small", "Small"
        MEDIUM = "medium", "Medium"
        LARGE = "large", "Large"
        FULL = "full", "Full (original)"
        FILE = "file", "File"

    message = models.ForeignKey(Message, on_delete=models.DB_CASCADE, related_name="files")
    variant = models.CharField(max_length=16, choices=Variant.choices)
    file = models.FileField(upload_to=message_file_path, max_length=300)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "variant"], name="messagefile_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.variant}"


class Reaction(models.Model):
    class ReferenceType(models.TextChoices):
        MESSAGE = "message", "Message"

    # A model may not mix database- and Python-level on_delete: reactions go with their
    # message in the database; organizations and members are never deleted under them.
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.DB_CASCADE, related_name="reactions")
    member = models.ForeignKey(Member, on_delete=models.DO_NOTHING, related_name="reactions")
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "member", "name"], name="reaction_unique"),
        ]
        indexes = [
            models.Index(fields=["message", "name", "id"], name="reaction_message_name"),
            models.Index(fields=["organization", "name", "message"], name="reaction_org_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.message_id}"


class Bookmark(models.Model):
    """A member's private bookmark on a message (messaging API)."""

    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.DO_NOTHING, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.DB_CASCADE, related_name="bookmarks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "message"], name="bookmark_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} bookmarked {self.message_id}"


class ThreadRead(models.Model):
    """How far a member has read a thread (the replies of ``thread``): unread replies
    are ``thread.children_count - read_count``, like a channel's (Membership)."""

    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.DO_NOTHING, related_name="+")
    thread = models.ForeignKey(Message, on_delete=models.DB_CASCADE, related_name="thread_reads")
    read_count = models.PositiveIntegerField(default=0)
    last_read_message_pk = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "thread"], name="threadread_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} read {self.thread_id}"
