"""Data for the integration tests: channels full of messages, reactions and stored files
(bulk inserts, committed), and helpers to look at what the processes did."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.events.models import Event
from apps.messages.models import Message, MessageFile, Reaction
from apps.organizations.models import Organization
from tests.factories import AccountFactory, ChannelFactory, MemberFactory


@dataclass
class Scene:
    channel: Channel
    messages: int
    reactions: int
    files: int
    paths: list[Path] = field(default_factory=list)

    def remaining(self) -> int:
        return Message.objects.filter(channel_id=self.channel.pk).count()

    def rows_left(self) -> dict[str, int]:
        return {
            "messages": self.remaining(),
            "reactions": Reaction.objects.filter(message__channel_id=self.channel.pk).count(),
            "files": MessageFile.objects.filter(message__channel_id=self.channel.pk).count(),
        }

    def files_on_disk(self) -> list[Path]:
        return [p for p in self.paths if p.exists()]


def moderator() -> Actor:
    account: Account = AccountFactory()
    return Actor(account=account)


def channel_with_messages(
    organization: Organization,
    *,
    messages: int,
    reactions: int = 0,
    files: int = 0,
    channel_id: str | None = None,
) -> Scene:
    """A committed channel with ``messages`` messages, ``reactions`` reactions (one on
    each of the first messages) and ``files`` stored files (on real storage)."""
    assert reactions <= messages and files <= messages
    channel = ChannelFactory(
        organization=organization, **({"channel_id": channel_id} if channel_id else {})
    )
    author = MemberFactory(organization=organization)
    with transaction.atomic():
        rows = Message.objects.bulk_create(
            [
                Message(
                    organization=organization,
                    channel=channel,
                    author=author,
                    type=Message.Type.TEXT,
                    data={"text": f"message {n}"},
                )
                for n in range(messages)
            ],
            batch_size=2000,
        )
        Reaction.objects.bulk_create(
            [
                Reaction(organization=organization, message=m, member=author, name="like")
                for m in rows[:reactions]
            ],
            batch_size=2000,
        )
        Channel.objects.filter(pk=channel.pk).update(message_count=F("message_count") + messages)
    scene = Scene(channel=channel, messages=messages, reactions=reactions, files=files)
    for message in rows[:files]:
        stored = MessageFile(
            message=message,
            variant=MessageFile.Variant.FILE,
            name="notes.txt",
            content_type="text/plain",
            size=5,
        )
        stored.file.save("notes.txt", ContentFile(b"notes"), save=True)
        scene.paths.append(Path(default_storage.path(stored.file.name)))
    assert all(p.exists() for p in scene.paths)
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would keep them
        for model in (Message, Reaction, MessageFile):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    channel.refresh_from_db()
    return scene


def require_task(name: str) -> None:
    """Skip (saying so) when a task another part of the issue provides is missing."""
    from chatadmin.celery import app

    app.loader.import_default_modules()
    if name not in app.tasks:
        pytest.skip(f"the task {name!r} does not exist yet")


def pending_events() -> int:
    return Event.objects.filter(dispatched_at__isnull=True).count()
