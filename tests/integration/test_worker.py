"""The real parts: a Celery worker (and beat) process on a real broker and PostgreSQL.

Run by ``.ci/run``; locally:
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_integration
CELERY_BROKER_URL=redis://127.0.0.1:6379/14 .venv/bin/pytest tests/integration``.
"""

from __future__ import annotations

import os
import re
import signal
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import (
    channel_display_name_set,
    channel_mute,
    channel_users_add,
    channel_users_mute,
)
from apps.events.models import Event
from apps.events.tasks import dispatch_pending
from apps.retention.services import channel_close, channel_scheduled_deletion_set
from tests.factories import ChannelFactory, MemberFactory

from .conftest import Cluster, Process, wait_for
from .scenes import channel_with_messages, moderator, pending_events, require_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def succeeded(process: Process, task: str) -> int:
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", process.output()))


def all_dispatched() -> bool:
    return Event.objects.exists() and pending_events() == 0


# --- (a) the outbox ----------------------------------------------------------------------


def test_an_event_is_dispatched_once_per_committed_change_and_never_for_a_rolled_back_one(
    cluster: Cluster, org
) -> None:
    # DEBUG: the built-in subscriber logs every delivery, so the log counts deliveries
    worker = cluster.worker(loglevel="DEBUG", env={"DJANGO_LOG_LEVEL": "DEBUG"})
    actor = moderator()
    channel = ChannelFactory(organization=org, channel_id="general")

    for n in range(3):  # three committed changes, each dispatched on its commit
        channel_display_name_set(channel=channel, actor=actor, display_name=f"General {n}")
    with pytest.raises(RuntimeError), transaction.atomic():
        channel_display_name_set(channel=channel, actor=actor, display_name="never")
        rolled_back = list(Event.objects.values_list("event_id", flat=True).order_by("-id")[:1])
        raise RuntimeError("the change is rolled back with its event")
    channel_display_name_set(channel=channel, actor=actor, display_name="after")

    events = list(Event.objects.order_by("id"))
    assert [e.payload["displayName"] for e in events] == [
        "General 0",
        "General 1",
        "General 2",
        "after",
    ]
    assert rolled_back and rolled_back[0] not in {e.event_id for e in events}
    wait_for(all_dispatched, what="the worker to dispatch every committed event")

    # Two more dispatch runs (as beat would send) deliver nothing a second time.
    runs = succeeded(worker, "events.dispatch_pending")
    dispatch_pending.delay()
    dispatch_pending.delay()
    wait_for(
        lambda: succeeded(worker, "events.dispatch_pending") >= runs + 2,
        what="two more dispatch runs",
    )

    log = worker.output()
    for event in Event.objects.order_by("id"):
        assert event.dispatched_at is not None and event.attempts == 1
        assert log.count(f"event {event.type} {event.event_id} ") == 1, event
    assert str(rolled_back[0]) not in log
    positions = [log.index(str(e.event_id)) for e in events]
    assert positions == sorted(positions)  # delivered in order


# --- (b) a mute lifted by the worker -----------------------------------------------------


def test_a_two_second_mute_is_lifted_by_the_worker_and_audited_by_the_system(
    cluster: Cluster, org
) -> None:
    require_task("channels.channel_mutes_expire_sweep")
    require_task("channels.channel_users_mutes_expire_sweep")
    actor = moderator()
    channel = ChannelFactory(organization=org, channel_id="general")
    member = MemberFactory(organization=org, user_id="alice")
    channel_users_add(channel=channel, actor=actor, user_ids=["alice"])
    cluster.worker(beat=True)  # sweeps every second (CHATADMIN_SWEEP_INTERVAL_SECONDS=1)

    channel = channel_mute(channel=channel, actor=actor, mute_period=2000)
    channel_users_mute(channel=channel, actor=actor, user_ids=["alice"], mute_period=2000)
    expires_at = Channel.objects.get(pk=channel.pk).mute_expires_at
    assert expires_at is not None

    wait_for(
        lambda: (
            Channel.objects.filter(pk=channel.pk, muted_at__isnull=True).exists()
            and Membership.objects.filter(
                channel=channel, member=member, muted_at__isnull=True
            ).exists()
        ),
        what="the sweeps to lift both mutes",
    )
    lifted = AuditEntry.objects.get(action="channel.unmute.expired", target_id="general")
    assert lifted.actor_label == "system"
    assert lifted.created_at >= expires_at  # not before its time
    member_lifted = AuditEntry.objects.get(action="channel.users.unmute.expired")
    assert member_lifted.actor_label == "system"
    wait_for(
        lambda: (
            Event.objects.filter(type="channel.unmuted", dispatched_at__isnull=False).exists()
            and Event.objects.filter(type="user.unmuted", dispatched_at__isnull=False).exists()
        ),
        what="the unmute events to be dispatched",
    )


# --- (c) two beats -----------------------------------------------------------------------


def test_two_beat_processes_at_once_apply_each_expiry_once(cluster: Cluster, org) -> None:
    require_task("channels.channel_mutes_expire_sweep")
    require_task("channels.channel_users_mutes_expire_sweep")
    actor = moderator()
    members = [MemberFactory(organization=org, user_id=f"user-{n}") for n in range(10)]
    channels = [ChannelFactory(organization=org, channel_id=f"room-{n}") for n in range(20)]
    cluster.worker(concurrency=2)  # two sweeps can run at the same moment
    beats = [cluster.beat(), cluster.beat()]

    for channel in channels:
        channel_mute(channel=channel, actor=actor, mute_period=2000)
    channel_users_mute(
        channel=channels[0], actor=actor, user_ids=[m.user_id for m in members], mute_period=2000
    )

    wait_for(
        lambda: (
            not Channel.objects.filter(muted_at__isnull=False).exists()
            and not Membership.objects.filter(muted_at__isnull=False).exists()
        ),
        what="every mute to be lifted",
    )
    # Both beats keep sending the sweeps afterwards: let each send two more of each.
    sweep = "channels.channel_mutes_expire_sweep"
    sent = [b.output().count(f"({sweep})") for b in beats]
    assert all(sent), "both beats sent the sweep"
    wait_for(
        lambda: all(
            b.output().count(f"({sweep})") >= n + 2 for b, n in zip(beats, sent, strict=True)
        ),
        what="two more sweeps from each beat",
    )
    for channel in channels:
        assert (
            AuditEntry.objects.filter(
                action="channel.unmute.expired", target_id=channel.channel_id
            ).count()
            == 1
        ), channel.channel_id
    assert AuditEntry.objects.filter(action="channel.unmute.expired").count() == 20
    assert Event.objects.filter(type="channel.unmuted").count() == 20
    member_audits = AuditEntry.objects.filter(action="channel.users.unmute.expired")
    lifted_users = [u for entry in member_audits for u in _user_ids(entry)]
    assert sorted(lifted_users) == sorted(m.user_id for m in members)


def _user_ids(entry: AuditEntry) -> list[str]:
    for side in (entry.after or {}, entry.before or {}):
        if "userIds" in side:
            return list(side["userIds"])
    return [entry.target_id]


# --- (d) a scheduled deletion ------------------------------------------------------------


def test_a_scheduled_deletion_is_purged_with_its_files(cluster: Cluster, org) -> None:
    require_task("channels.channel_scheduled_deletion_sweep")
    doomed = channel_with_messages(org, messages=300, reactions=40, files=6, channel_id="doomed")
    neighbour = channel_with_messages(org, messages=5, reactions=1, files=2, channel_id="keep")
    channel_scheduled_deletion_set(
        channel=doomed.channel, actor=moderator(), at=timezone.now() + timedelta(seconds=1)
    )
    cluster.worker(beat=True)

    wait_for(
        lambda: not Channel.objects.filter(pk=doomed.channel.pk).exists(),
        what="the scheduled deletion to be purged",
    )
    assert doomed.rows_left() == {"messages": 0, "reactions": 0, "files": 0}
    assert doomed.files_on_disk() == []
    assert not Membership.objects.filter(channel_id=doomed.channel.pk).exists()
    entry = AuditEntry.objects.get(action="channel.delete.scheduled", target_id="doomed")
    assert entry.actor_label == "system"
    assert (entry.after["messages"], entry.after["reactions"], entry.after["files"]) == (
        300,
        40,
        6,
    )
    # the neighbour is untouched
    assert neighbour.rows_left() == {"messages": 5, "reactions": 1, "files": 2}
    assert len(neighbour.files_on_disk()) == 2
    wait_for(
        lambda: Event.objects.filter(type="channel.deleted", dispatched_at__isnull=False).exists(),
        what="channel.deleted to be dispatched",
    )


# --- (e) a worker killed in the middle of a purge ----------------------------------------

BIG = {"messages": 10_000, "reactions": 2_500, "files": 20}


def _close_and_wait_for_the_purge_to_be_under_way(cluster: Cluster, org) -> tuple:
    big = channel_with_messages(org, **BIG, channel_id="big")
    neighbour = channel_with_messages(org, messages=10, reactions=2, files=2, channel_id="keep")
    worker = cluster.worker(env={"CHATADMIN_PURGE_BATCH_SIZE": "50"})  # 200 batches
    channel_close(channel=big.channel, actor=moderator())  # queues channels.channel_purge
    wait_for(
        lambda: 0 < big.remaining() < BIG["messages"] * 0.9,
        interval=0.02,
        what="the purge to be under way",
    )
    return big, neighbour, worker


def _assert_purged_exactly(big, neighbour) -> None:
    assert big.rows_left() == {"messages": 0, "reactions": 0, "files": 0}
    assert big.files_on_disk() == []
    assert neighbour.rows_left() == {"messages": 10, "reactions": 2, "files": 2}
    assert len(neighbour.files_on_disk()) == 2
    close = AuditEntry.objects.get(action="channel.close", target_id="big")
    assert close.after["messagesRemoved"] == BIG["messages"]
    purges = AuditEntry.objects.filter(action="channel.purge", target_id="big")
    assert purges.exists() and all(p.actor_label == "system" for p in purges)
    removed = {k: sum(p.after.get(k, 0) for p in purges) for k in BIG}
    assert removed == BIG, (
        "the channel.purge audit entries must add up to what was in the channel, including"
        " the batches the killed run deleted before it died"
    )


def test_a_purge_whose_worker_process_is_killed_is_redelivered_and_completes_exactly(
    cluster: Cluster, org
) -> None:
    big, neighbour, worker = _close_and_wait_for_the_purge_to_be_under_way(cluster, org)
    (pool_process,) = worker.children()
    os.kill(pool_process, signal.SIGKILL)  # the process running the purge, mid-batch

    # acks_late + reject_on_worker_lost: the worker requeues the task, a new pool
    # process takes it and finishes from whatever is left.
    wait_for(lambda: big.remaining() == 0, timeout=90, what="the purge to complete")
    assert "SIGKILL" in worker.output() or "signal 9" in worker.output()
    _assert_purged_exactly(big, neighbour)


def test_a_purge_whose_whole_worker_is_killed_completes_after_a_restart_and_the_sweep(
    cluster: Cluster, org
) -> None:
    from apps.retention.tasks import channel_purge_sweep

    big, neighbour, worker = _close_and_wait_for_the_purge_to_be_under_way(cluster, org)
    worker.kill()  # SIGKILL to the main process and its pool: nothing is acknowledged
    left = big.remaining()
    assert 0 < left < BIG["messages"]

    cluster.worker(env={"CHATADMIN_PURGE_BATCH_SIZE": "500"})  # the restarted worker
    channel_purge_sweep.delay()  # as beat does: re-queue purges of closed channels
    wait_for(lambda: big.remaining() == 0, timeout=90, what="the purge to complete")
    _assert_purged_exactly(big, neighbour)
