"""A large console bulk action run by a real worker on a real broker (apps/moderation/bulk.py):
it completes, and a worker killed in the middle of it neither loses nor doubles a target.

Locally: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_integration
CELERY_BROKER_URL=redis://127.0.0.1:6379/14 .venv/bin/pytest tests/integration/test_bulk.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from apps.audit.models import AuditEntry
from apps.messages.models import Message
from apps.moderation import bulk
from apps.moderation.models import BulkJob
from tests.factories import AccountFactory

from .conftest import Cluster, wait_for
from .scenes import channel_with_messages

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TARGETS = 400
CHUNK = {"CHATADMIN_BULK_CHUNK_SIZE": "20"}  # 20 chunks


def _hide_job(org) -> tuple[BulkJob, object]:  # type: ignore[no-untyped-def]
    scene = channel_with_messages(org, messages=TARGETS, channel_id="flood")
    pks = list(Message.objects.filter(channel=scene.channel).values_list("pk", flat=True))
    with transaction.atomic():  # the task is queued when this commits, as from a request
        job = bulk.bulk_job_create(
            organization=org,
            account=AccountFactory(email="mod@acme.test"),
            spec=bulk.BulkSpec(action=bulk.HIDE, reason="flood"),
            unit=bulk.MESSAGE,
            targets=pks,
        )
    return job, scene


def _position(job: BulkJob) -> int:
    return BulkJob.objects.get(pk=job.pk).position


def _finished(job: BulkJob) -> bool:
    return BulkJob.objects.get(pk=job.pk).state == BulkJob.State.FINISHED


def _assert_done_exactly_once(job: BulkJob) -> None:
    job.refresh_from_db()
    assert (job.state, job.position, job.done, job.failed) == ("finished", TARGETS, TARGETS, 0)
    assert Message.objects.filter(hidden_at__isnull=False).count() == TARGETS
    hides = AuditEntry.objects.filter(action="message.hide")
    assert hides.count() == TARGETS, "one audit entry per target, none doubled"
    assert hides.values("target_id").distinct().count() == TARGETS
    assert set(hides.values_list("actor_label", flat=True)) == {"mod@acme.test"}


def test_a_large_bulk_job_is_done_by_the_worker_in_chunks(cluster: Cluster, org) -> None:
    cluster.worker(env=CHUNK)
    job, _ = _hide_job(org)
    wait_for(lambda: _finished(job), timeout=120, what="the bulk job to finish")
    _assert_done_exactly_once(job)


def test_a_bulk_job_whose_worker_is_killed_resumes_and_completes_exactly(
    cluster: Cluster, org
) -> None:
    worker = cluster.worker(env=CHUNK)
    job, _ = _hide_job(org)
    wait_for(
        lambda: 0 < _position(job) < TARGETS * 0.8,
        interval=0.02,
        timeout=60,
        what="the bulk job to be under way",
    )
    worker.kill()  # SIGKILL to the main process and its pool: its chunk is rolled back
    left = TARGETS - _position(job)
    assert left > 0
    assert Message.objects.filter(hidden_at__isnull=False).count() == _position(job)

    cluster.worker(env=CHUNK)  # the restarted worker
    assert bulk.bulk_jobs_resume(stale_after=timedelta(0)) == 1  # as beat does
    wait_for(lambda: _finished(job), timeout=120, what="the bulk job to finish")
    _assert_done_exactly_once(job)


def test_a_finished_bulk_job_is_undone_by_the_worker_as_a_job_of_its_own(
    cluster: Cluster, org, settings
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "CONSOLE_UNDO_SECONDS": 600}
    cluster.worker(env=CHUNK)
    job, _ = _hide_job(org)
    wait_for(lambda: _finished(job), timeout=120, what="the bulk job to finish")
    job.refresh_from_db()
    assert len(job.undo["records"]) == TARGETS  # each target's state before, chunk by chunk
    with transaction.atomic():  # the undo job is queued when this commits
        undo = bulk.bulk_job_undo(organization=org, job_id=job.pk, account=job.actor_account)
    wait_for(lambda: _finished(undo), timeout=120, what="the undo job to finish")
    undo.refresh_from_db()
    assert (undo.position, undo.done, undo.failed) == (TARGETS, TARGETS, 0)
    assert not Message.objects.filter(hidden_at__isnull=False).exists()
    undos = AuditEntry.objects.filter(action="message.hide.undo")
    assert undos.count() == TARGETS and undos.values("target_id").distinct().count() == TARGETS
