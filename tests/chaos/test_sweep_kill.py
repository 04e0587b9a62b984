"""A worker SIGKILLed in the middle of an expiry sweep: nothing lost, nothing applied twice.

Thousands of expired mutes or bans are seeded in bulk (plus some that have not expired,
and some without an end), a worker with an embedded beat sweeps them in small batches
(``CHATADMIN_SWEEP_BATCH_SIZE=50``), and once some but not all are lifted the whole worker
process group is SIGKILLed: no clean-up, the batch in flight is cut off mid-transaction.
A new worker finishes the job. Pinned (``apps/core/sweeps.py``): every expired row is
lifted, with exactly one audit entry and one outbox event per row (the killed batch left
nothing behind, the committed ones are not done again), the others are untouched, and
every event is dispatched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.events.models import Event
from apps.members.models import Member
from apps.organizations.models import Organization
from tests.integration.harness import Cluster, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

EXPIRED = 3000  # rows the sweep must lift: 60 batches
NOT_EXPIRED = 100  # expire tomorrow: must be left alone
UNENDING = 100  # no expiry (until lifted by hand): must be left alone
CHANNELS = 10
BATCH = 50
WORKER_ENV = {"CHATADMIN_SWEEP_BATCH_SIZE": str(BATCH)}


@dataclass(frozen=True)
class Sweep:
    """One expiry sweep: where its state lives and what it writes per lifted row."""

    model: type[Model]
    since: str  # the state's start column (set = muted / banned)
    until: str  # its expiry column
    action: str  # the audit action of a lift
    event: str  # the event type of a lift
    audit_key: Callable[[AuditEntry], str]
    event_key: Callable[[Event], str]
    row_key: Callable[[dict[str, Any]], str]  # from .values(*KEY_FIELDS[model])

    def rows(self) -> QuerySet[Any]:
        return self.model._default_manager.all()

    def set_rows(self) -> QuerySet[Any]:
        return self.rows().filter(**{f"{self.since}__isnull": False})

    def keys(self, rows: QuerySet[Any]) -> list[str]:
        return [self.row_key(r) for r in rows.values(*KEY_FIELDS[self.model])]


KEY_FIELDS: dict[type[Model], tuple[str, ...]] = {
    Membership: ("channel__channel_id", "member__user_id"),
    Member: ("user_id",),
    Channel: ("channel_id",),
}


def _membership_key(row: dict[str, Any]) -> str:
    return f"{row['channel__channel_id']}/{row['member__user_id']}"


def _audit_membership_key(entry: AuditEntry) -> str:
    (user_id,) = entry.before["userIds"]
    return f"{entry.target_id}/{user_id}"


def _event_membership_key(event: Event) -> str:
    (user_id,) = event.payload["userIds"]
    return f"{event.payload['channelId']}/{user_id}"


SWEEPS = {
    "member-mutes": Sweep(
        model=Membership,
        since="muted_at",
        until="mute_expires_at",
        action="channel.users.unmute.expired",
        event="user.unmuted",
        audit_key=_audit_membership_key,
        event_key=_event_membership_key,
        row_key=_membership_key,
    ),
    "channel-bans": Sweep(
        model=Membership,
        since="banned_at",
        until="ban_expires_at",
        action="channel.users.unban.expired",
        event="member.unbanned",
        audit_key=_audit_membership_key,
        event_key=_event_membership_key,
        row_key=_membership_key,
    ),
    "global-bans": Sweep(
        model=Member,
        since="banned_at",
        until="ban_expires_at",
        action="user.unban.expired",
        event="user.unbanned",
        audit_key=lambda entry: entry.target_id,
        event_key=lambda event: event.payload["userIds"][0],
        row_key=lambda row: row["user_id"],
    ),
    "channel-mutes": Sweep(
        model=Channel,
        since="muted_at",
        until="mute_expires_at",
        action="channel.unmute.expired",
        event="channel.unmuted",
        audit_key=lambda entry: entry.target_id,
        event_key=lambda event: event.payload["channelId"],
        row_key=lambda row: row["channel_id"],
    ),
}


def seed(org: Organization, sweep: Sweep) -> tuple[set[str], dict[str, Any]]:
    """Bulk-insert the rows: EXPIRED expired ones (their expiries spread over the last
    hour), NOT_EXPIRED ending tomorrow and UNENDING without an end. Returns the keys of
    the expired rows and a snapshot of the others' state."""
    now = timezone.now()
    total = EXPIRED + NOT_EXPIRED + UNENDING

    def state(n: int) -> dict[str, Any]:
        since = now - timedelta(hours=2)
        if n < EXPIRED:
            until: Any = now - timedelta(hours=1) + timedelta(seconds=n)
        elif n < EXPIRED + NOT_EXPIRED:
            until = now + timedelta(days=1)
        else:
            until = None
        return {sweep.since: since, sweep.until: until}

    with transaction.atomic():
        if sweep.model is Channel:
            Channel.objects.bulk_create(
                [
                    Channel(organization=org, channel_id=f"room-{n:05}", **state(n))
                    for n in range(total)
                ],
                batch_size=1000,
            )
        else:
            members = Member.objects.bulk_create(
                [
                    Member(
                        organization=org,
                        user_id=f"user-{n:05}",
                        **(state(n) if sweep.model is Member else {}),
                    )
                    for n in range(total)
                ],
                batch_size=1000,
            )
            if sweep.model is Membership:
                channels = Channel.objects.bulk_create(
                    [Channel(organization=org, channel_id=f"room-{c}") for c in range(CHANNELS)]
                )
                Membership.objects.bulk_create(
                    [
                        Membership(
                            organization=org,
                            channel=channels[n % CHANNELS],
                            member=member,
                            joined_at=None if sweep.since == "banned_at" else now,
                            **state(n),
                        )
                        for n, member in enumerate(members)
                    ],
                    batch_size=1000,
                )
    expired = set(sweep.keys(sweep.rows().filter(**{f"{sweep.until}__lte": now})))
    assert len(expired) == EXPIRED
    return expired, untouched_snapshot(sweep, now)


def untouched_snapshot(sweep: Sweep, now: Any) -> dict[str, Any]:
    """The state of the rows that must not be lifted (not expired, or without an end)."""
    others = sweep.set_rows().filter(Q(**{f"{sweep.until}__gt": now}) | Q(**{sweep.until: None}))
    fields = (*KEY_FIELDS[sweep.model], sweep.since, sweep.until)
    return {
        sweep.row_key(row): (row[sweep.since], row[sweep.until]) for row in others.values(*fields)
    }


def lifted(sweep: Sweep, expired: set[str]) -> int:
    still_set = set(sweep.keys(sweep.set_rows()))
    return len(expired - still_set)


@pytest.mark.parametrize("name", list(SWEEPS))
def test_a_sweep_whose_worker_is_killed_mid_batch_lifts_every_row_exactly_once_after_a_restart(
    cluster: Cluster, org: Organization, name: str
) -> None:
    sweep = SWEEPS[name]
    expired, others = seed(org, sweep)
    first = cluster.worker(beat=True, env=WORKER_ENV)

    at_kill = wait_for(
        lambda: (n := lifted(sweep, expired)) >= EXPIRED // 3 and n,
        timeout=60,
        interval=0.02,  # a batch of 50 takes about a tenth of a second
        what="the sweep to be a third of the way",
    )
    first.kill()  # SIGKILL to the main process, its pool and its beat, mid-sweep

    # What the killed worker committed is whole: one audit entry and one event per lifted
    # row, the batch in flight rolled back. (Polled: a COMMIT already on its way when the
    # kill came may still land; nothing else can.)
    def committed() -> tuple[int, int, int]:
        return (
            lifted(sweep, expired),
            AuditEntry.objects.filter(action=sweep.action).count(),
            Event.objects.filter(type=sweep.event).count(),
        )

    done, _, _ = wait_for(
        lambda: (counts := committed())[0] == counts[1] == counts[2] and counts,
        timeout=10,
        what="as many audit entries and events as lifted rows",
    )
    assert at_kill <= done < EXPIRED, "killed in the middle of the sweep"
    assert done % BATCH == 0, "whole batches only: the batch in flight was rolled back"

    cluster.worker(beat=True, env=WORKER_ENV)
    wait_for(
        lambda: lifted(sweep, expired) == EXPIRED,
        timeout=120,
        what="the new worker to lift the rest",
    )
    wait_for(
        lambda: not Event.objects.filter(dispatched_at__isnull=True).exists(),
        timeout=60,
        what="every event to be dispatched",
    )

    audits = Counter(sweep.audit_key(e) for e in AuditEntry.objects.filter(action=sweep.action))
    events = Counter(sweep.event_key(e) for e in Event.objects.filter(type=sweep.event))
    assert set(audits) == expired and set(audits.values()) == {1}, "one audit entry per row"
    assert set(events) == expired and set(events.values()) == {1}, "one event per row"
    assert untouched_snapshot(sweep, timezone.now()) == others, "the others are untouched"
