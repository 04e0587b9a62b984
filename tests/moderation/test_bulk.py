"""apps/moderation/bulk.py: hide and unhide, selections turned into units, and bulk jobs
run in chunks that a dead worker never doubles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Membership
from apps.core.errors import DomainError
from apps.messages.models import Message
from apps.moderation import bulk
from apps.moderation.models import BulkJob
from apps.organizations.models import Organization

from ..factories import AccountFactory, ChannelFactory, MemberFactory, MessageFactory


@pytest.fixture
def account(db: None) -> Account:
    return AccountFactory(email="mod@acme.test")


@pytest.fixture
def messages(org: Organization) -> list[Message]:
    channel = ChannelFactory(organization=org, channel_id="general")
    return [MessageFactory(channel=channel) for _ in range(7)]


def deletes(org: Organization) -> list[str]:
    return list(
        AuditEntry.objects.filter(organization=org, action="message.delete").values_list(
            "target_id", flat=True
        )
    )


def test_hiding_a_message_is_audited_once_and_hiding_it_again_is_a_no_op(
    org: Organization, messages: list[Message], account: Account
) -> None:
    actor = Actor(account=account)
    message = messages[0]
    bulk.message_hide(organization=org, actor=actor, message=message, reason="r")
    bulk.message_hide(organization=org, actor=actor, message=message, reason="r")
    message.refresh_from_db()
    assert message.hidden_at is not None
    entries = AuditEntry.objects.filter(action="message.hide")
    assert [(e.target_id, e.reason, e.actor_label) for e in entries] == [
        (str(message.public_id), "r", "mod@acme.test")
    ]
    bulk.message_unhide(organization=org, actor=actor, message=message, reason="ok")
    bulk.message_unhide(organization=org, actor=actor, message=message, reason="ok")
    message.refresh_from_db()
    assert message.hidden_at is None
    assert AuditEntry.objects.filter(action="message.unhide").count() == 1


def test_messages_become_one_unit_per_author_and_channel_for_a_mute() -> None:
    rows = [(1, 10, 100), (2, 10, 100), (3, 11, 100), (4, 10, 200), (5, None, 100)]
    assert bulk.bulk_units(source=bulk.MESSAGE, action=bulk.MUTE, rows=rows) == (
        bulk.MEMBER_CHANNEL,
        [[10, 100], [11, 100], [10, 200]],
    )
    assert bulk.bulk_units(source=bulk.MESSAGE, action=bulk.GLOBAL_BAN, rows=rows) == (
        bulk.MEMBER,
        [10, 11],
    )
    assert bulk.bulk_units(source=bulk.MESSAGE, action=bulk.DELETE, rows=rows) == (
        bulk.MESSAGE,
        [1, 2, 3, 4, 5],
    )


def test_an_action_that_does_not_fit_the_units_is_refused_before_anything_is_done(
    org: Organization, messages: list[Message], account: Account
) -> None:
    spec = bulk.BulkSpec(action=bulk.GLOBAL_BAN, reason="x")
    with pytest.raises(DomainError):
        bulk.bulk_apply(
            organization=org,
            actor=Actor(account=account),
            spec=spec,
            unit=bulk.MESSAGE,
            targets=[messages[0].pk],
        )
    assert not AuditEntry.objects.exists()


def test_a_job_runs_every_chunk_and_audits_each_target_once(
    org: Organization, messages: list[Message], account: Account
) -> None:
    job = bulk.bulk_job_create(
        organization=org,
        account=account,
        spec=bulk.BulkSpec(action=bulk.DELETE, reason="wave"),
        unit=bulk.MESSAGE,
        targets=[m.pk for m in messages],
    )
    done = bulk.bulk_job_run(job_pk=job.pk, chunk_size=3)
    assert done is not None
    assert (done.state, done.position, done.done, done.failed) == ("finished", 7, 7, 0)
    assert done.finished_at is not None
    assert sorted(deletes(org)) == sorted(str(m.public_id) for m in messages)
    assert set(AuditEntry.objects.values_list("actor_label", flat=True)) == {"mod@acme.test"}
    # a rerun (a redelivered task) does nothing
    bulk.bulk_job_run(job_pk=job.pk, chunk_size=3)
    assert len(deletes(org)) == 7


def test_a_job_resumes_after_its_last_finished_chunk(
    org: Organization, messages: list[Message], account: Account
) -> None:
    """A worker died after its first chunk had committed (position 3): the next run does
    the other four targets only, and a target it reaches that is already done (a chunk
    interrupted before its commit is rolled back, so this is the service's own no-op) is
    not audited twice."""
    job = bulk.bulk_job_create(
        organization=org,
        account=account,
        spec=bulk.BulkSpec(action=bulk.HIDE, reason="wave"),
        unit=bulk.MESSAGE,
        targets=[m.pk for m in messages],
    )
    actor = Actor(account=account)
    for message in messages[:3]:  # the first chunk, committed before the worker died
        bulk.message_hide(organization=org, actor=actor, message=message, reason="wave")
    BulkJob.objects.filter(pk=job.pk).update(
        position=3, done=3, state="running", updated_at=timezone.now() - timedelta(hours=1)
    )
    assert bulk.bulk_jobs_resume() == 1
    bulk.bulk_job_run(job_pk=job.pk, chunk_size=3)
    job.refresh_from_db()
    assert (job.state, job.position, job.done) == ("finished", 7, 7)
    assert AuditEntry.objects.filter(action="message.hide").count() == 7
    assert bulk.bulk_jobs_resume() == 0  # nothing unfinished


def test_a_chunk_that_fails_to_commit_leaves_the_job_where_it_was(
    org: Organization, messages: list[Message], account: Account
) -> None:
    job = bulk.bulk_job_create(
        organization=org,
        account=account,
        spec=bulk.BulkSpec(action=bulk.DELETE, reason="wave"),
        unit=bulk.MESSAGE,
        targets=[m.pk for m in messages],
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        bulk.bulk_job_run(job_pk=job.pk, chunk_size=100)
        raise RuntimeError("the worker died before the commit")
    job.refresh_from_db()
    assert (job.position, job.done, job.state) == (0, 0, "queued")
    assert deletes(org) == []
    assert not Message.objects.filter(deleted_at__isnull=False).exists()


def test_failures_are_counted_and_kept_and_the_other_targets_are_done(
    org: Organization, account: Account
) -> None:
    channel = ChannelFactory(organization=org, channel_id="general")
    alice = MemberFactory(organization=org, user_id="alice")
    Membership.objects.create(
        organization=org, channel=channel, member=alice, joined_at=timezone.now()
    )
    job = bulk.bulk_job_create(
        organization=org,
        account=account,
        spec=bulk.BulkSpec(action=bulk.MUTE, reason="r", mute_period=60_000),
        unit=bulk.MEMBER_CHANNEL,
        targets=[[alice.pk, channel.pk], [alice.pk, 10**12]],
    )
    done = bulk.bulk_job_run(job_pk=job.pk)
    assert done is not None
    assert (done.done, done.failed) == (1, 1)
    assert done.failures == [
        {"target": f"{alice.pk}/{10**12}", "error": "The channel no longer exists."}
    ]
    assert Membership.objects.get(member=alice).muted_at is not None


def test_a_job_over_the_limit_is_refused(
    org: Organization, messages: list[Message], account: Account, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_MAX_TARGETS": 3}
    with pytest.raises(DomainError):
        bulk.bulk_job_create(
            organization=org,
            account=account,
            spec=bulk.BulkSpec(action=bulk.DELETE, reason="r"),
            unit=bulk.MESSAGE,
            targets=[m.pk for m in messages],
        )
    assert not BulkJob.objects.exists()


def test_a_job_acts_only_on_its_own_organizations_rows(
    org: Organization, other_org: Organization, account: Account
) -> None:
    theirs = MessageFactory(channel=ChannelFactory(organization=other_org))
    job = bulk.bulk_job_create(
        organization=org,
        account=account,
        spec=bulk.BulkSpec(action=bulk.DELETE, reason="r"),
        unit=bulk.MESSAGE,
        targets=[theirs.pk],
    )
    done = bulk.bulk_job_run(job_pk=job.pk)
    assert done is not None and (done.done, done.failed) == (0, 1)
    theirs.refresh_from_db()
    assert theirs.deleted_at is None
