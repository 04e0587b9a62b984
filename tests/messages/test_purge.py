"""apps.retention.purge: a channel's messages deleted in batches, with exact counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message, MessageFile, MessageTag, Reaction
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.retention import services as retention
from apps.retention.purge import (
    PurgeResult,
    purge_batch_size,
    purge_channel_batch,
    purge_channel_messages,
)
from apps.retention.tasks import channel_purge
from tests.factories import ChannelFactory, MemberFactory, MessageFactory


@dataclass
class Scene:
    """What was put under one channel, to compare with what the purge reports."""

    channel: Channel
    messages: list[Message] = field(default_factory=list)
    file_names: list[str] = field(default_factory=list)
    expected: PurgeResult = field(default_factory=PurgeResult)


def _file(message: Message, variant: str = "file") -> MessageFile:
    stored = MessageFile(
        message=message, variant=variant, name="a.txt", content_type="text/plain", size=5
    )
    stored.file.save("a.txt", ContentFile(b"hello"), save=False)
    stored.save()
    return stored


def build(org: Organization, channel_id: str, count: int, *, replies: int = 1) -> Scene:
    """``count`` messages, every one with 2 reactions, 1 tag, 1 stored file and 1 report;
    plus ``replies`` replies to the first message, each with 1 reaction."""
    channel = ChannelFactory(organization=org, channel_id=channel_id)
    alice, bob = (MemberFactory(organization=org) for _ in range(2))
    scene = Scene(channel=channel)
    for _ in range(count):
        message = MessageFactory(channel=channel, author=alice)
        scene.messages.append(message)
        for member in (alice, bob):
            Reaction.objects.create(organization=org, message=message, member=member, name="+1")
        MessageTag.objects.create(message=message, name="news")
        scene.file_names.append(_file(message).file.name)
        Report.objects.create(
            organization=org, reporter=bob, target_member=alice, target_message=message
        )
    for _ in range(replies):
        reply = MessageFactory(channel=channel, author=bob, parent=scene.messages[0])
        Reaction.objects.create(organization=org, message=reply, member=alice, name="heart")
        scene.messages.append(reply)
    scene.expected = PurgeResult(
        messages=count + replies,
        reactions=2 * count + replies,
        files=count,
        reports=count,
        tags=count,
    )
    return scene


def close(channel: Channel) -> Channel:
    return retention.channel_close(channel=channel, actor=Actor.system())


def purge_audits(channel: Channel) -> Any:
    return AuditEntry.objects.filter(action="channel.purge", target_id=channel.channel_id)


def test_it_deletes_everything_under_the_channel_and_returns_exact_counts(
    org: Organization,
) -> None:
    scene = build(org, "general", 7, replies=2)
    kept = build(org, "other", 2)

    result = purge_channel_messages(channel=scene.channel, batch_size=3)

    assert result == scene.expected
    assert not Message.objects.filter(channel=scene.channel).exists()
    assert Reaction.objects.count() == kept.expected.reactions
    assert MessageFile.objects.count() == kept.expected.files
    assert MessageTag.objects.count() == kept.expected.tags
    assert Report.objects.count() == kept.expected.reports
    assert Message.objects.filter(channel=kept.channel).count() == kept.expected.messages
    # the reported and reacting members are untouched
    assert Member.objects.filter(organization=org).count() == 4


def test_it_deletes_the_stored_files_and_keeps_other_channels_files(org: Organization) -> None:
    scene = build(org, "general", 3)
    kept = build(org, "other", 1)
    assert all(default_storage.exists(name) for name in scene.file_names)

    purge_channel_messages(channel=scene.channel)

    assert not any(default_storage.exists(name) for name in scene.file_names)
    assert default_storage.exists(kept.file_names[0])


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_replies_are_counted_once_whatever_the_batches(org: Organization, batch_size: int) -> None:
    scene = build(org, "general", 3, replies=3)

    result = purge_channel_messages(channel=scene.channel, batch_size=batch_size)

    assert result.messages == 6
    assert result == scene.expected


def test_a_reply_removed_by_its_parents_cascade_is_counted(org: Organization) -> None:
    """A reply outside the batch (here: filed in another channel) still goes with its
    parent in the database; the counts include it and its reactions."""
    scene = build(org, "general", 1, replies=0)
    elsewhere = ChannelFactory(organization=org, channel_id="elsewhere")
    reply = MessageFactory(channel=elsewhere, author=None, parent=scene.messages[0])
    member = MemberFactory(organization=org)
    Reaction.objects.create(organization=org, message=reply, member=member, name="+1")

    result = purge_channel_messages(channel=scene.channel)

    assert result.messages == 2
    assert result.reactions == scene.expected.reactions + 1
    assert not Message.objects.filter(pk=reply.pk).exists()


def test_the_batch_size_comes_from_the_setting(settings: Any, org: Organization) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "PURGE_BATCH_SIZE": 2}
    scene = build(org, "general", 4, replies=1)
    assert purge_batch_size() == 2

    with CaptureQueriesContext(connection) as ctx:
        result = purge_channel_messages(channel=scene.channel)

    deletes = [q for q in ctx.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 5 messages, 2 per batch
    assert result == scene.expected


def test_the_default_batch_size_is_5000(settings: Any, db: None) -> None:
    settings.CHATADMIN = {k: v for k, v in settings.CHATADMIN.items() if k != "PURGE_BATCH_SIZE"}
    assert purge_batch_size() == 5_000
    assert purge_batch_size(7) == 7
    with pytest.raises(ValueError):
        purge_batch_size(-1)


def test_a_second_run_finds_nothing_and_returns_zeros(org: Organization) -> None:
    scene = build(org, "general", 3)
    assert purge_channel_messages(channel=scene.channel) == scene.expected

    again = purge_channel_messages(channel=scene.channel)

    assert again == PurgeResult()
    assert not again.deleted_anything


def test_an_empty_channel_costs_one_query(org: Organization) -> None:
    channel = ChannelFactory(organization=org, channel_id="empty")
    with CaptureQueriesContext(connection) as ctx:
        assert purge_channel_messages(channel=channel) == PurgeResult()
    assert len(ctx.captured_queries) == 1  # the id pick finds nothing


def test_the_close_purge_records_one_audit_entry_by_the_system_actor(
    org: Organization,
) -> None:
    scene = build(org, "general", 4, replies=2)
    channel = close(scene.channel)

    assert channel_purge(channel.pk, batch_size=3) == 6

    entry = purge_audits(channel).get()
    assert entry.actor_label == "system"
    assert entry.actor_account is None and entry.actor_token is None
    assert entry.target_type == "channel"
    assert entry.organization_id == org.pk
    assert entry.after == {
        "messages": 6,
        "reactions": 10,
        "files": 4,
        "reports": 4,
        "tags": 4,
    }


def test_a_rerun_of_the_close_purge_adds_no_audit_entry(org: Organization) -> None:
    scene = build(org, "general", 2)
    channel = close(scene.channel)
    assert channel_purge(channel.pk) == 3

    assert channel_purge(channel.pk) == 0
    assert retention.channel_purge_messages(channel=channel) == 0

    assert purge_audits(channel).count() == 1


def test_an_open_channel_is_not_purged_by_the_close_purge(org: Organization) -> None:
    scene = build(org, "general", 2)
    assert retention.channel_purge_messages(channel=scene.channel) == 0
    assert Message.objects.filter(channel=scene.channel).count() == 3
    assert not purge_audits(scene.channel).exists()


def test_a_purge_stopped_after_one_batch_completes_on_rerun(org: Organization) -> None:
    scene = build(org, "general", 6, replies=1)

    first = purge_channel_batch(channel=scene.channel, batch_size=2)  # then "killed"
    assert first is not None and first.messages == 2
    assert Message.objects.filter(channel=scene.channel).count() == 5

    rest = purge_channel_messages(channel=scene.channel, batch_size=2)

    assert first + rest == scene.expected
    assert not Message.objects.filter(channel=scene.channel).exists()
    assert not any(default_storage.exists(name) for name in scene.file_names)


def test_a_storage_failure_deletes_no_row_and_the_rerun_completes(org: Organization) -> None:
    scene = build(org, "general", 5, replies=0)
    storage = MessageFile._meta.get_field("file").storage
    real_delete = storage.delete
    calls = {"n": 0}

    def flaky(name: str) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # the second batch, after one file of it is gone
            raise OSError("storage unavailable")
        real_delete(name)

    with mock.patch.object(storage, "delete", side_effect=flaky), pytest.raises(OSError):
        purge_channel_messages(channel=scene.channel, batch_size=3)
    # the first batch (3 messages) is gone; the second kept its rows, even the one whose
    # file was already deleted
    assert Message.objects.filter(channel=scene.channel).count() == 2
    assert MessageFile.objects.count() == 2

    rest = purge_channel_messages(channel=scene.channel, batch_size=3)

    assert rest == PurgeResult(messages=2, reactions=4, files=2, reports=2, tags=2)
    assert not any(default_storage.exists(name) for name in scene.file_names)


def test_the_close_purge_after_an_interruption_audits_the_exact_totals_of_all_runs(
    org: Organization,
) -> None:
    scene = build(org, "general", 4, replies=0)
    channel = close(scene.channel)
    first = purge_channel_batch(channel=channel, batch_size=3)  # a killed run's batch
    assert first is not None

    assert channel_purge(channel.pk) == 1

    entry = purge_audits(channel).get()
    assert PurgeResult(**entry.after) == scene.expected
    # a finished purge records nothing more
    assert channel_purge(channel.pk) == 0
    assert purge_audits(channel).count() == 1


def _batch_queries(org: Organization, channel_id: str, size: int) -> list[str]:
    scene = build(org, channel_id, size, replies=2)
    with CaptureQueriesContext(connection) as ctx:
        result = purge_channel_batch(channel=scene.channel, batch_size=size + 2)
    assert result == scene.expected
    return [q["sql"] for q in ctx.captured_queries]


def test_a_batch_is_a_constant_number_of_queries_and_one_delete(org: Organization) -> None:
    small = _batch_queries(org, "small", 2)
    large = _batch_queries(org, "large", 50)

    # 9 SELECTs: the id range of the batch, its stored files, the lock, 5 counts (replies
    # elsewhere, reactions, files, reports, tags), the channel's progress row (locked);
    # ONE DELETE; one UPDATE of the progress; plus the savepoint statements of the
    # batch transaction. Never one per row.
    assert len(small) == len(large)
    for queries in (small, large):
        deletes = [sql for sql in queries if sql.startswith("DELETE")]
        assert len(deletes) == 1
        assert 'DELETE FROM "chat_messages_message" WHERE' in deletes[0]
        assert sum(sql.startswith("SELECT") for sql in queries) == 9
        assert sum(sql.startswith("UPDATE") for sql in queries) == 1
