"""apps.core.publishing: tasks queued by a request never fail it (the broker may be down).

The same with a real worker and a real broker that is killed or frozen under requests:
tests/chaos/test_broker_outage.py.
"""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.core import publishing
from apps.core.publishing import PUBLISH_OPTIONS, publish, publish_on_commit
from apps.events.tasks import dispatch_pending
from apps.messages.tasks import search_reindex_sweep
from apps.retention.tasks import channel_purge, channel_purge_sweep
from tests.factories import MessageFactory
from tests.personas import TokenClient

BROKER_DOWN = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_publish_queues_the_task_once_without_kombu_retries() -> None:
    with mock.patch.object(channel_purge, "apply_async") as apply_async:
        assert publish(channel_purge.name, 7, batch_size=3, recovered_by="the sweep") is True
    apply_async.assert_called_once_with((7,), {"batch_size": 3}, **PUBLISH_OPTIONS)
    assert PUBLISH_OPTIONS == {"retry": False}


def test_publish_swallows_a_broker_error_with_a_warning_naming_who_catches_up(caplog) -> None:
    with (
        mock.patch.object(channel_purge, "apply_async", side_effect=BROKER_DOWN),
        caplog.at_level(logging.WARNING, logger="chatadmin.tasks"),
    ):
        assert publish(channel_purge.name, 7, recovered_by="channels.channel_purge_sweep") is False
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "channels.channel_purge(7,)" in record.getMessage()
    assert "Connection refused" in record.getMessage()
    assert "beat will catch up (channels.channel_purge_sweep)" in record.getMessage()


def test_after_a_failed_publish_the_process_skips_the_broker_for_a_while(
    monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    now = [1000.0]
    monkeypatch.setattr(publishing.time, "monotonic", lambda: now[0])
    with mock.patch.object(channel_purge, "apply_async", side_effect=BROKER_DOWN) as apply_async:
        assert publish(channel_purge.name, 1, recovered_by="sweep") is False
        with caplog.at_level(logging.INFO, logger="chatadmin.tasks"):
            now[0] += publishing.PAUSE_AFTER_FAILURE_SECONDS - 0.1
            assert publish(channel_purge.name, 2, recovered_by="sweep") is False
        assert apply_async.call_count == 1  # the second never waited on the broker
        assert "the broker failed moments ago" in caplog.records[-1].getMessage()
    with mock.patch.object(channel_purge, "apply_async") as apply_async:
        now[0] += 0.2
        assert publish(channel_purge.name, 3, recovered_by="sweep") is True
        apply_async.assert_called_once()
        assert publish(channel_purge.name, 4, recovered_by="sweep") is True  # a success: no pause
        assert apply_async.call_count == 2


@pytest.mark.django_db
def test_publish_on_commit_publishes_after_the_commit_and_never_for_a_rollback(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with mock.patch.object(dispatch_pending, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            publish_on_commit(dispatch_pending.name, recovered_by="beat")
            apply_async.assert_not_called()
        apply_async.assert_called_once()

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            publish_on_commit(dispatch_pending.name, recovered_by="beat")
            raise RuntimeError("rolled back")
        assert callbacks == []
        apply_async.assert_called_once()


@pytest.mark.django_db(transaction=True)
def test_closing_a_channel_succeeds_with_the_broker_down_and_the_sweep_requeues_its_purge(
    org: Any, api: TokenClient
) -> None:
    channel = channel_create(organization=org, actor=Actor.system(), channel_id="general")
    MessageFactory(channel=channel, organization=org, author=None)
    with (
        mock.patch.object(channel_purge, "apply_async", side_effect=BROKER_DOWN) as purge,
        mock.patch.object(dispatch_pending, "apply_async", side_effect=BROKER_DOWN) as dispatch,
    ):
        response = api.post("/api/v2/channel/general/close", format="json")
    assert response.status_code == 200
    # After the commit the first publish tried the broker; the failure paused the others.
    assert purge.call_count + dispatch.call_count == 1
    assert Channel.objects.get(pk=channel.pk).closed_at is not None
    with mock.patch.object(channel_purge, "delay") as delay:  # beat's channel-purge-sweep
        assert channel_purge_sweep() == 1
    delay.assert_called_once_with(channel.pk)


def test_workers_and_beat_never_give_up_on_the_broker(settings: Any) -> None:
    assert settings.CELERY_BROKER_CONNECTION_RETRY is True
    assert settings.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP is True
    assert settings.CELERY_BROKER_CONNECTION_MAX_RETRIES is None
    assert settings.CELERY_BEAT_SCHEDULE["channel-purge-sweep"]["task"] == channel_purge_sweep.name
    assert settings.CELERY_BEAT_SCHEDULE["search-reindex"]["task"] == search_reindex_sweep.name
