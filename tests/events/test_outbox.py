"""Writing the outbox: in the transaction of the change, requested on commit, never for
a rolled-back change; message events; a broker outage never fails a request."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

from apps.channels.models import Channel
from apps.events.models import Event
from apps.events.services import event_record, events_dispatch
from apps.events.tasks import dispatch_pending, request_dispatch
from apps.messages.models import Message
from tests.factories import ChannelFactory

from .conftest import Recorder


@pytest.fixture
def channel(org) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


def post_message(api, text: str = "hello"):
    body = {"channelId": "general", "type": "text", "data": {"text": text}, "tags": ["a"]}
    return api.post("/api/v2/message", body, format="json")


# --- the transaction ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_is_requested_only_once_the_transaction_commits(org, dispatch_requests) -> None:
    with transaction.atomic():
        event_record(organization=org, type="user.created", payload={"userId": "u1"})
        dispatch_requests.assert_not_called()
    dispatch_requests.assert_called_once_with()
    assert Event.objects.get().payload == {"userId": "u1"}


@pytest.mark.django_db(transaction=True)
def test_one_dispatch_request_per_transaction_however_many_events(org, dispatch_requests) -> None:
    with transaction.atomic():
        for n in range(3):
            event_record(organization=org, type="user.created", payload={"n": n})
        with pytest.raises(RuntimeError), transaction.atomic():  # a rolled-back savepoint
            event_record(organization=org, type="user.created", payload={"n": "lost"})
            raise RuntimeError
    dispatch_requests.assert_called_once_with()
    assert Event.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_rollback_does_not_lose_the_request_of_a_later_event(
    org, dispatch_requests
) -> None:
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            event_record(organization=org, type="user.created", payload={"n": "lost"})
            raise RuntimeError
        event_record(organization=org, type="user.created", payload={"n": "kept"})
    dispatch_requests.assert_called_once_with()
    assert Event.objects.get().payload == {"n": "kept"}


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_for_a_rolled_back_transaction(
    org, dispatch_requests, recorder: Recorder
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        event_record(organization=org, type="user.created", payload={"userId": "u1"})
        raise RuntimeError("the change failed after the event was written")

    assert Event.objects.count() == 0
    dispatch_requests.assert_not_called()
    assert events_dispatch().delivered == 0
    assert recorder.received == []


@pytest.mark.django_db(transaction=True)
def test_a_message_created_in_a_rolled_back_transaction_leaves_no_event(
    org, api, channel, dispatch_requests
) -> None:
    from apps.audit.actor import Actor
    from apps.messages.services.messages import message_create

    actor = Actor(account=_admin_account(org))
    with pytest.raises(RuntimeError), transaction.atomic():
        message_create(
            organization=org, actor=actor, channel=channel, type="text", data={"text": "x"}
        )
        assert Event.objects.filter(type="message.created").count() == 1  # inside: written
        raise RuntimeError("rolled back")

    assert Message.objects.count() == 0
    assert Event.objects.count() == 0
    dispatch_requests.assert_not_called()


def _admin_account(org):
    from apps.accounts.models import Account

    return Account.objects.get(email="admin@acme.test")


# --- message events ----------------------------------------------------------------------


def test_posting_a_message_records_message_created_with_its_payload(api, channel) -> None:
    response = post_message(api)
    assert response.status_code == 201
    body = response.json()["message"]

    event = Event.objects.get(type="message.created")
    assert event.organization_id == channel.organization_id
    assert event.payload["messageId"] == body["messageId"]
    assert event.payload["channelId"] == "general"
    assert event.payload["userId"] == body["userId"]
    assert event.payload["type"] == "text"
    assert event.payload["data"] == {"text": "hello"}
    assert event.payload["tags"] == ["a"]
    assert event.payload["parentId"] is None
    assert event.dispatched_at is None


def test_a_refused_message_records_no_event(api, channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(closed_at=channel.created_at)
    assert post_message(api).status_code >= 400
    assert not Event.objects.filter(type__startswith="message.").exists()


def test_deleting_a_message_records_message_deleted_once(api, channel) -> None:
    message_id = post_message(api).json()["message"]["messageId"]

    for _ in range(2):  # the second delete is a no-op: no second event
        assert (
            api.delete(f"/api/v2/message/{message_id}", {"reason": "spam"}, format="json")
        ).status_code == 200

    (event,) = Event.objects.filter(type="message.deleted")
    assert event.payload["messageId"] == message_id
    assert event.payload["channelId"] == "general"
    assert event.payload["reason"] == "spam"
    assert event.payload["deletedAt"]
    messages = Event.objects.filter(type__startswith="message.").order_by("id")
    assert list(messages.values_list("type", flat=True)) == [
        "message.created",
        "message.deleted",
    ]


# --- the broker --------------------------------------------------------------------------


def test_request_dispatch_swallows_a_broker_error_with_a_warning(caplog) -> None:
    with (
        mock.patch.object(dispatch_pending, "apply_async", side_effect=BrokerError("down")),
        caplog.at_level(logging.WARNING, logger="chatadmin.events"),
    ):
        request_dispatch()  # does not raise
    assert "beat will catch up" in caplog.text


def test_request_dispatch_queues_the_task_without_publish_retries() -> None:
    with mock.patch.object(dispatch_pending, "apply_async") as apply_async:
        request_dispatch()
    apply_async.assert_called_once_with((), {}, retry=False)


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_does_not_fail_the_request_that_wrote_the_event(
    api, channel, dispatch_requests
) -> None:
    dispatch_requests.side_effect = request_dispatch  # the real request, on commit
    with mock.patch.object(dispatch_pending, "apply_async", side_effect=BrokerError("down")):
        response = post_message(api)
    assert response.status_code == 201
    assert Event.objects.filter(type="message.created", dispatched_at__isnull=True).count() == 1
    assert dispatch_requests.called  # (the author's member is created in its own transaction)


def test_the_beat_dispatches_every_five_seconds(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["events-dispatch"]
    assert entry["task"] == "events.dispatch_pending" == dispatch_pending.name
    assert entry["schedule"] == 5.0
