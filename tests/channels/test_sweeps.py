"""The beat sweeps of apps/channels/tasks.py: expired channel mutes, member mutes and
channel bans are lifted once, by the system, audited and with an event; due scheduled
deletions are purged with exact counts."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, ChannelTag, Membership
from apps.channels.services import channels as services
from apps.channels.tasks import (
    channel_mutes_expire_sweep,
    channel_users_bans_expire_sweep,
    channel_users_mutes_expire_sweep,
)
from apps.events.models import Event
from apps.messages.models import Message, MessageFile, MessageTag, Reaction
from apps.reports.models import Report
from apps.retention import services as retention
from apps.retention.tasks import channel_scheduled_deletion_finish, channel_scheduled_deletion_sweep
from tests.builders import membership
from tests.factories import MemberFactory, MessageFactory
from tests.personas import SYSTEM


def _past(**kwargs: Any) -> Any:
    return timezone.now() - timedelta(**kwargs)


def _future(**kwargs: Any) -> Any:
    return timezone.now() + timedelta(**kwargs)


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def _events(type: str) -> list[Event]:
    return list(Event.objects.filter(type=type).order_by("pk"))


# --- channel mutes -----------------------------------------------------------------------------


def test_an_expired_channel_mute_is_lifted_once_by_the_system(org: Any, make_channel: Any) -> None:
    channel = make_channel("general")
    services.channel_mute(channel=channel, actor=SYSTEM, mute_period=60_000)
    expired_at = _past(seconds=1)
    Channel.objects.filter(pk=channel.pk).update(mute_expires_at=expired_at)
    assert channel_mutes_expire_sweep() == 1
    channel.refresh_from_db()
    assert channel.muted_at is None and channel.mute_expires_at is None
    [entry] = _entries("channel.unmute.expired")
    assert (entry.actor_label, entry.actor_account, entry.actor_token) == ("system", None, None)
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.after == {"isMuted": False, "muteTimeout": None}
    [event] = _events("channel.unmuted")
    assert event.organization == org
    assert event.payload["organization"] == "acme"
    assert event.payload["channelId"] == "general"
    assert event.payload["actor"] == "system"
    assert event.payload["reason"] == "expired"
    # running it again changes nothing more
    assert channel_mutes_expire_sweep() == 0
    assert len(_entries("channel.unmute.expired")) == 1
    assert len(_events("channel.unmuted")) == 1


def test_running_mutes_and_open_ended_mutes_are_untouched(make_channel: Any) -> None:
    timed = make_channel("timed")
    forever = make_channel("forever")
    services.channel_mute(channel=timed, actor=SYSTEM, mute_period=60_000)
    services.channel_mute(channel=forever, actor=SYSTEM, mute_period=-1)
    assert channel_mutes_expire_sweep() == 0
    assert Channel.objects.get(pk=timed.pk).is_muted()
    assert Channel.objects.get(pk=forever.pk).is_muted()
    assert not _entries("channel.unmute.expired")


def test_the_sweep_reaches_channels_idle_for_months_in_several_batches(
    org: Any, make_channel: Any
) -> None:
    pks = [make_channel(f"idle{i}").pk for i in range(5)]
    Channel.objects.filter(pk__in=pks).update(
        muted_at=_past(days=400),
        mute_expires_at=_past(days=200),
        last_activity_at=_past(days=365),
        updated_at=_past(days=365),
    )
    assert channel_mutes_expire_sweep(batch_size=2) == 5
    assert not Channel.objects.filter(muted_at__isnull=False).exists()
    assert len(_entries("channel.unmute.expired")) == 5


def test_a_mute_renewed_after_expiry_is_not_lifted(make_channel: Any) -> None:
    channel = make_channel("general")
    Channel.objects.filter(pk=channel.pk).update(
        muted_at=_past(minutes=5), mute_expires_at=_past(minutes=1)
    )
    # an admin mutes it again before the sweep runs: the sweep's condition no longer holds
    services.channel_mute(channel=channel, actor=SYSTEM, mute_period=60_000)
    assert channel_mutes_expire_sweep() == 0
    assert Channel.objects.get(pk=channel.pk).is_muted()


# --- member mutes and channel bans --------------------------------------------------------------


def test_an_expired_member_mute_is_lifted_once_and_others_stay(org: Any, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice", "bob", "carol"])
    services.channel_users_mute(
        channel=channel, actor=SYSTEM, user_ids=["alice", "bob"], mute_period=60_000
    )
    services.channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["carol"], mute_period=-1)
    Membership.objects.filter(channel=channel, member__user_id="alice").update(
        mute_expires_at=_past(seconds=1)
    )
    assert channel_users_mutes_expire_sweep() == 1
    alice = membership(channel, "alice")
    assert alice.muted_at is None and alice.mute_expires_at is None
    assert membership(channel, "bob").is_muted()
    assert membership(channel, "carol").is_muted()
    [entry] = _entries("channel.users.unmute.expired")
    assert entry.actor_label == "system"
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.after == {"userIds": ["alice"], "lifted": True}
    [event] = _events("user.unmuted")
    assert event.payload["userIds"] == ["alice"]
    assert event.payload["channelId"] == "general"
    assert channel_users_mutes_expire_sweep() == 0
    assert len(_events("user.unmuted")) == 1


def test_an_expired_channel_ban_is_lifted_without_re_adding(org: Any, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    services.channel_users_ban(
        channel=channel, actor=SYSTEM, user_ids=["alice", "bob"], reason="spam", ban_period=60_000
    )
    Membership.objects.filter(channel=channel, member__user_id="alice").update(
        ban_expires_at=_past(seconds=1)
    )
    assert channel_users_bans_expire_sweep() == 1
    alice = membership(channel, "alice")
    assert (alice.banned_at, alice.ban_expires_at, alice.ban_reason) == (None, None, "")
    assert alice.joined_at is None  # not re-added
    assert membership(channel, "bob").is_banned()
    [entry] = _entries("channel.users.unban.expired")
    assert entry.actor_label == "system" and entry.reason == "spam"
    assert entry.before["userIds"] == ["alice"]
    [event] = _events("member.unbanned")
    assert event.payload["userIds"] == ["alice"] and event.payload["actor"] == "system"
    assert channel_users_bans_expire_sweep() == 0
    assert len(_entries("channel.users.unban.expired")) == 1


def test_two_sweeps_in_a_row_lift_each_thing_exactly_once(make_channel: Any) -> None:
    channels = [make_channel(f"c{i}", user_ids=["u1", "u2"]) for i in range(3)]
    Membership.objects.filter(channel__in=channels).update(
        muted_at=_past(hours=1), mute_expires_at=_past(minutes=1)
    )
    first = channel_users_mutes_expire_sweep(batch_size=4)
    second = channel_users_mutes_expire_sweep(batch_size=4)
    assert (first, second) == (6, 0)
    assert len(_entries("channel.users.unmute.expired")) == 6


def test_the_sweeps_take_their_batch_size_from_the_settings(
    settings: Any, make_channel: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "SWEEP_BATCH_SIZE": 1}
    channel = make_channel("general", user_ids=["a", "b", "c"])
    Membership.objects.filter(channel=channel).update(
        banned_at=_past(hours=1), ban_expires_at=_past(minutes=1)
    )
    assert channel_users_bans_expire_sweep() == 3
    assert not Membership.objects.filter(banned_at__isnull=False).exists()


# --- scheduled deletion ------------------------------------------------------------------------


def _stored_file(message: Message) -> MessageFile:
    stored = MessageFile(
        message=message, variant="file", name="a.txt", content_type="text/plain", size=5
    )
    stored.file.save("a.txt", ContentFile(b"hello"), save=False)
    stored.save()
    return stored


def _scene(org: Any, make_channel: Any) -> tuple[Channel, Channel, list[str]]:
    """A channel with 3 members, 4 messages (one a reply), 3 reactions, 2 files, a tag,
    a report and a banned non-member; and another channel that must stay intact."""
    channel = make_channel("doomed", user_ids=["alice", "bob", "carol"], tags=["x"])
    keep = make_channel("keep", user_ids=["alice"])
    services.channel_users_ban(channel=channel, actor=SYSTEM, user_ids=["troll"])
    alice = channel.memberships.get(member__user_id="alice").member
    bob = channel.memberships.get(member__user_id="bob").member
    messages = [MessageFactory(channel=channel, author=alice) for _ in range(3)]
    messages.append(MessageFactory(channel=channel, author=bob, parent=messages[0]))
    Reaction.objects.bulk_create(
        [
            Reaction(organization=org, message=messages[0], member=bob, name="like"),
            Reaction(organization=org, message=messages[1], member=bob, name="like"),
            Reaction(organization=org, message=messages[3], member=alice, name="wow"),
        ]
    )
    files = [_stored_file(messages[0]), _stored_file(messages[3])]
    MessageTag.objects.create(message=messages[1], name="t")
    Report.objects.create(organization=org, target_member=alice, target_message=messages[2])
    kept = MessageFactory(channel=keep, author=alice)
    _stored_file(kept)
    Channel.objects.filter(pk=channel.pk).update(message_count=4)
    return channel, keep, [f.file.name for f in files]


def test_a_due_scheduled_deletion_purges_everything_with_exact_counts(
    org: Any, make_channel: Any
) -> None:
    channel, keep, names = _scene(org, make_channel)
    assert all(default_storage.exists(name) for name in names)
    retention.channel_scheduled_deletion_set(channel=channel, actor=SYSTEM, at=_future(hours=1))
    Channel.objects.filter(pk=channel.pk).update(scheduled_deletion_at=_past(seconds=1))

    assert channel_scheduled_deletion_sweep() == 1

    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Message.objects.filter(channel_id=channel.pk).exists()
    assert not Membership.objects.filter(channel_id=channel.pk).exists()
    assert not ChannelTag.objects.filter(channel_id=channel.pk).exists()
    assert Reaction.objects.count() == 0
    assert MessageTag.objects.count() == 0
    assert Report.objects.count() == 0
    assert MessageFile.objects.count() == 1  # the other channel's
    assert not any(default_storage.exists(name) for name in names)
    # the other channel is intact
    assert Message.objects.filter(channel=keep).count() == 1
    assert Membership.objects.filter(channel=keep, joined_at__isnull=False).count() == 1
    [entry] = _entries("channel.delete.scheduled")
    assert entry.actor_label == "system"
    assert (entry.target_type, entry.target_id) == ("channel", "doomed")
    assert {k: entry.after[k] for k in ("messages", "reactions", "files", "members")} == {
        "messages": 4,
        "reactions": 3,
        "files": 2,
        "members": 3,
    }
    assert entry.after["reports"] == 1
    [event] = _events("channel.deleted")
    assert event.payload["channelId"] == "doomed" and event.payload["actor"] == "system"
    assert event.payload["counts"]["messages"] == 4


def test_the_deletion_sweep_is_idempotent_and_leaves_future_ones(
    org: Any, make_channel: Any
) -> None:
    due = make_channel("due")
    later = make_channel("later")
    retention.channel_scheduled_deletion_set(channel=later, actor=SYSTEM, at=_future(days=1))
    Channel.objects.filter(pk=due.pk).update(scheduled_deletion_at=_past(days=90))
    assert channel_scheduled_deletion_sweep() == 1
    assert channel_scheduled_deletion_sweep() == 0
    assert len(_entries("channel.delete.scheduled")) == 1
    assert len(_events("channel.deleted")) == 1
    assert Channel.objects.filter(pk=later.pk).exists()


def test_a_deletion_interrupted_after_its_claim_is_finished_later(
    org: Any, make_channel: Any
) -> None:
    channel, _keep, names = _scene(org, make_channel)
    Channel.objects.filter(pk=channel.pk).update(scheduled_deletion_at=_past(seconds=1))
    # phase 1 ran (audited with the counts), then the worker died before the purge
    assert retention.channel_scheduled_deletions_claim() == [channel.pk]
    assert Channel.objects.get(pk=channel.pk).is_closed
    assert retention.channel_scheduled_deletions_claim() == []  # claimed once only
    # a second sweep right away leaves it to its (possibly still running) owner
    assert channel_scheduled_deletion_sweep() == 0
    # after the lease, the next sweep takes it over and finishes
    Channel.objects.filter(pk=channel.pk).update(updated_at=_past(hours=1))
    assert channel_scheduled_deletion_sweep() == 1
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not any(default_storage.exists(name) for name in names)
    [entry] = _entries("channel.delete.scheduled")
    assert entry.after["messages"] == 4 and entry.after["reactions"] == 3
    # the finishing task on a deleted channel is a no-op
    assert channel_scheduled_deletion_finish(channel.pk) is False


def test_a_closed_channel_that_comes_due_is_deleted_too(org: Any, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice"])
    retention.channel_scheduled_deletion_set(channel=channel, actor=SYSTEM, at=_future(hours=1))
    retention.channel_close(channel=channel, actor=SYSTEM)
    # closed an hour ago (an admin can only close before the deletion time), now due
    Channel.objects.filter(pk=channel.pk).update(
        closed_at=_past(hours=1), scheduled_deletion_at=_past(seconds=1)
    )
    assert channel_scheduled_deletion_sweep() == 1
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert len(_entries("channel.delete.scheduled")) == 1


def test_the_finish_task_ignores_channels_that_are_not_claimed(make_channel: Any) -> None:
    channel = make_channel("general")
    MessageFactory(channel=channel, author=MemberFactory(organization=channel.organization))
    assert channel_scheduled_deletion_finish(channel.pk) is False
    Channel.objects.filter(pk=channel.pk).update(scheduled_deletion_at=_past(seconds=1))
    assert channel_scheduled_deletion_finish(channel.pk) is False  # due but not claimed
    assert Message.objects.filter(channel=channel).count() == 1


# --- two sweeps at once (PostgreSQL: SKIP LOCKED is real there) ----------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_sweeps_lift_each_expiry_exactly_once(org: Any) -> None:
    channels = [
        services.channel_create(
            organization=org,
            actor=SYSTEM,
            channel_id=f"c{i}",
            user_ids=[f"u{j}" for j in range(10)],
        )
        for i in range(10)
    ]
    Membership.objects.filter(channel__in=channels).update(
        muted_at=_past(hours=1), mute_expires_at=_past(minutes=1)
    )
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(channel_users_mutes_expire_sweep(batch_size=7))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 100
    assert len(_entries("channel.users.unmute.expired")) == 100
    assert len(_events("user.unmuted")) == 100
    assert not Membership.objects.filter(muted_at__isnull=False).exists()
