"""The retention of outgoing deliveries (apps.integrations.services.history
.deliveries_prune, the beat sweep integrations.deliveries_prune_sweep): finished ones are
removed WEBHOOK_DELIVERY_RETENTION_DAYS after they were made, pending ones never."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from apps.integrations.models import Delivery, Integration
from apps.integrations.services.delivery import NewDelivery, deliveries_create
from apps.integrations.services.history import deliveries_prune
from apps.integrations.tasks import deliveries_prune_sweep
from tests.integrations.receivers import allow_local, outgoing_hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(settings) -> Integration:
    allow_local(settings)
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_DELIVERY_RETENTION_DAYS": 30}
    return outgoing_hook("http://127.0.0.1:9/hook")


def _made(integration: Integration, count: int, *, days_ago: float, status: str) -> list[int]:
    """``count`` deliveries made ``days_ago`` days ago, in ``status``."""
    before = set(Delivery.objects.values_list("pk", flat=True))
    deliveries_create(NewDelivery(integration, "test", {"n": n}) for n in range(count))
    pks = sorted(set(Delivery.objects.values_list("pk", flat=True)) - before)
    Delivery.objects.filter(pk__in=pks).update(
        created_at=timezone.now() - timedelta(days=days_ago), status=status
    )
    return pks


def _left(pks: list[int]) -> set[int]:
    return set(Delivery.objects.filter(pk__in=pks).values_list("pk", flat=True))


def test_finished_deliveries_older_than_the_retention_are_removed_pending_and_young_stay(
    integration,
):
    succeeded = _made(integration, 3, days_ago=31, status=Delivery.Status.SUCCEEDED)
    failed = _made(integration, 2, days_ago=40, status=Delivery.Status.FAILED)
    cancelled = _made(integration, 1, days_ago=31, status=Delivery.Status.CANCELLED)
    still_retrying = _made(integration, 2, days_ago=45, status=Delivery.Status.PENDING)
    young = _made(integration, 2, days_ago=29, status=Delivery.Status.SUCCEEDED)
    assert deliveries_prune() == 6
    assert _left(succeeded + failed + cancelled) == set()
    assert _left(still_retrying + young) == set(still_retrying + young)


def test_a_run_goes_on_batch_after_batch_and_stops_at_the_first_row_made_after_the_cut(
    integration, django_assert_num_queries
):
    old = _made(integration, 25, days_ago=60, status=Delivery.Status.SUCCEEDED)
    young = _made(integration, 25, days_ago=1, status=Delivery.Status.SUCCEEDED)
    # batches of 10: two of old rows, then one with the last 5 old rows and the first
    # young ones (the last); each a read and a delete
    with django_assert_num_queries(3 * 2):
        assert deliveries_prune(batch_size=10) == 25
    assert _left(old) == set()
    assert _left(young) == set(young)


def test_with_nothing_to_remove_a_run_reads_one_batch(integration, django_assert_num_queries):
    _made(integration, 30, days_ago=1, status=Delivery.Status.SUCCEEDED)
    with django_assert_num_queries(1):
        assert deliveries_prune(batch_size=10) == 0


def test_a_retention_of_zero_keeps_every_delivery(integration, settings):
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_DELIVERY_RETENTION_DAYS": 0}
    old = _made(integration, 3, days_ago=400, status=Delivery.Status.SUCCEEDED)
    assert deliveries_prune() == 0
    assert _left(old) == set(old)


def test_the_beat_sweep_runs_the_prune_and_is_scheduled(integration):
    old = _made(integration, 2, days_ago=31, status=Delivery.Status.FAILED)
    assert deliveries_prune_sweep.apply().get() == 2
    assert _left(old) == set()
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "integrations.deliveries_prune_sweep" in tasks
