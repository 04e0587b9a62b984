"""Celery tasks of the moderation app: thin, idempotent, take ids and call
apps/moderation/bulk.py."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.moderation import bulk


@shared_task(
    name="moderation.bulk_job_run",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def bulk_job_run(job_pk: int, chunk_size: int | None = None) -> int:
    """Run a bulk job's remaining chunks (a rerun resumes where it stopped); returns how
    many targets are done so far."""
    job = bulk.bulk_job_run(job_pk=job_pk, chunk_size=chunk_size)
    return job.position if job is not None else 0


@shared_task(name="moderation.bulk_jobs_resume", **SWEEP_TASK_OPTIONS)
def bulk_jobs_resume() -> int:
    """Re-queue bulk jobs whose worker went away (beat)."""
    return bulk.bulk_jobs_resume()
