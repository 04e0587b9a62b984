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
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services import hiding
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
    hiding.message_hide(organization=org, actor=actor, message=message, reason="r")
    hiding.message_hide(organization=org, actor=actor, message=message, reason="r")
    message.refresh_from_db()
    assert message.hidden_at is not None
    entries = AuditEntry.objects.filter(action="message.hide")
    assert [(e.target_id, e.reason, e.actor_label) for e in entries] == [
        (str(message.public_id), "r", "mod@acme.test")
    ]
    hiding.message_unhide(organization=org, actor=actor, message=message, reason="ok")
    hiding.message_unhide(organization=org, actor=actor, message=message, reason="ok")
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
        hiding.message_hide(organization=org, actor=actor, message=message, reason="wave")
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


# --- undo of a job -----------------------------------------------------------------------------


def _finished_job(
    org: Organization, account: Account, action: str, unit: str, targets: list[Any], **spec: Any
) -> BulkJob:
    job = bulk.bulk_job_create(
        organization=org,
        account=account,
        spec=bulk.BulkSpec(action=action, reason="wave", **spec),
        unit=unit,
        targets=targets,
    )
    finished = bulk.bulk_job_run(job_pk=job.pk, chunk_size=3)
    assert finished is not None and finished.state == "finished"
    return finished


def test_a_job_records_each_targets_state_before_as_it_goes(
    org: Organization, messages: list[Message], account: Account
) -> None:
    already = timezone.now() - timedelta(days=1)
    Message.objects.filter(pk=messages[0].pk).update(hidden_at=already)
    job = _finished_job(org, account, bulk.HIDE, bulk.MESSAGE, [m.pk for m in messages])
    records = job.undo["records"]
    assert len(records) == 6  # the already hidden message did not change: nothing to undo
    assert {next(iter(r["b"]["m"])) for r in records} == {str(m.public_id) for m in messages[1:]}
    assert all(next(iter(r["b"]["m"].values())) is None for r in records)
    assert all(r["e"] for r in records)  # the audit entry of each target's hide


def test_undoing_a_job_runs_as_a_job_of_its_own_audited_per_target(
    org: Organization, messages: list[Message], account: Account
) -> None:
    job = _finished_job(org, account, bulk.HIDE, bulk.MESSAGE, [m.pk for m in messages])
    undo = bulk.bulk_job_undo(organization=org, job_id=job.pk, account=account)
    assert (undo.action, undo.unit, undo.total, undo.params["undoes"]) == (
        "undo",
        "undo",
        7,
        job.pk,
    )
    done = bulk.bulk_job_run(job_pk=undo.pk, chunk_size=3)
    assert done is not None and (done.state, done.done, done.failed) == ("finished", 7, 0)
    assert not Message.objects.filter(hidden_at__isnull=False).exists()
    entries = AuditEntry.objects.filter(action="message.hide.undo")
    assert entries.count() == 7 and {e.actor_label for e in entries} == {"mod@acme.test"}
    hides = set(AuditEntry.objects.filter(action="message.hide").values_list("pk", flat=True))
    assert {e.after["undoes"] for e in entries} == hides
    with pytest.raises(DomainError, match="already undone"):
        bulk.bulk_job_undo(organization=org, job_id=job.pk, account=account)
    assert not bulk.bulk_job_undoable(undo, account.pk)  # an undo is not undone in turn


def test_an_undo_job_puts_back_what_it_can_and_lists_targets_changed_since(
    org: Organization, messages: list[Message], account: Account
) -> None:
    job = _finished_job(org, account, bulk.DELETE, bulk.MESSAGE, [m.pk for m in messages])
    Message.objects.filter(pk=messages[0].pk).update(deleted_at=None)  # undeleted meanwhile
    undo = bulk.bulk_job_undo(organization=org, job_id=job.pk, account=account)
    done = bulk.bulk_job_run(job_pk=undo.pk, chunk_size=3)
    assert done is not None and (done.done, done.failed) == (6, 1)
    assert "changed since" in done.failures[0]["error"]
    assert done.failures[0]["target"] == str(messages[0].public_id)
    assert not Message.objects.filter(deleted_at__isnull=False).exists()


def test_an_undo_job_resumes_after_its_last_finished_chunk(
    org: Organization, messages: list[Message], account: Account
) -> None:
    """Its worker died after the first chunk (3 targets) had committed: the next run puts
    back the other four only, each audited once."""
    job = _finished_job(org, account, bulk.HIDE, bulk.MESSAGE, [m.pk for m in messages])
    undo = bulk.bulk_job_undo(organization=org, job_id=job.pk, account=account)
    bulk._undo_records(  # the first chunk, committed before the worker died
        organization=org,
        actor=Actor(account=account),
        action=bulk.HIDE,
        records=undo.targets[:3],
        outcome=bulk.BulkOutcome(),
    )
    BulkJob.objects.filter(pk=undo.pk).update(
        position=3, done=3, state="running", updated_at=timezone.now() - timedelta(hours=1)
    )
    assert bulk.bulk_jobs_resume() == 1
    bulk.bulk_job_run(job_pk=undo.pk, chunk_size=3)
    undo.refresh_from_db()
    assert (undo.state, undo.done, undo.failed) == ("finished", 7, 0)
    assert AuditEntry.objects.filter(action="message.hide.undo").count() == 7
    assert not Message.objects.filter(hidden_at__isnull=False).exists()


def test_undoing_a_job_of_mutes_and_global_bans_restores_each_earlier_state(
    org: Organization, account: Account
) -> None:
    general, random = (ChannelFactory(organization=org, channel_id=c) for c in ("g", "r"))
    members = [MemberFactory(organization=org, user_id=f"u{i}") for i in range(4)]
    for channel in (general, random):
        for member in members:
            Membership.objects.create(
                organization=org, channel=channel, member=member, joined_at=timezone.now()
            )
    week = timezone.now() + timedelta(days=7)
    Membership.objects.filter(member=members[0], channel=general).update(
        muted_at=timezone.now(), mute_expires_at=week
    )
    pairs = [[m.pk, c.pk] for m in members for c in (general, random)]
    mute = _finished_job(org, account, bulk.MUTE, bulk.MEMBER_CHANNEL, pairs, mute_period=60_000)
    ban = _finished_job(org, account, bulk.GLOBAL_BAN, bulk.MEMBER, [m.pk for m in members])
    for job in (mute, ban):
        undo = bulk.bulk_job_undo(organization=org, job_id=job.pk, account=account)
        assert bulk.bulk_job_run(job_pk=undo.pk, chunk_size=3).failed == 0  # type: ignore[union-attr]
    muted = Membership.objects.filter(muted_at__isnull=False)
    assert [(m.member.user_id, m.channel.channel_id, m.mute_expires_at) for m in muted] == [
        ("u0", "g", week)
    ]
    assert not Member.objects.filter(banned_at__isnull=False).exists()
    assert AuditEntry.objects.filter(action="channel.users.mute.undo").count() == 8
    assert AuditEntry.objects.filter(action="user.ban.undo").count() == 4


def test_only_the_actor_may_undo_a_job_within_the_time_and_only_in_its_organization(
    org: Organization, other_org: Organization, messages: list[Message], account: Account
) -> None:
    job = _finished_job(org, account, bulk.HIDE, bulk.MESSAGE, [m.pk for m in messages])
    colleague = AccountFactory(email="colleague@acme.test")
    assert bulk.bulk_job_undoable(job, account.pk)
    assert not bulk.bulk_job_undoable(job, colleague.pk)
    with pytest.raises(DomainError, match="Only the moderator who did it"):
        bulk.bulk_job_undo(organization=org, job_id=job.pk, account=colleague)
    with pytest.raises(DomainError) as not_found:
        bulk.bulk_job_undo(organization=other_org, job_id=job.pk, account=account)
    assert not_found.value.code == "not_found"
    BulkJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(seconds=31))
    job.refresh_from_db()
    assert not bulk.bulk_job_undoable(job, account.pk)
    with pytest.raises(DomainError, match="Too late to undo"):
        bulk.bulk_job_undo(organization=org, job_id=job.pk, account=account)
    assert BulkJob.objects.count() == 1
    assert Message.objects.filter(hidden_at__isnull=False).count() == 7
