"""Statuses as data (apps.presence): set, clear, read (ended ones are gone at once, in
SQL), the beat sweep (idempotent, batched), and activity events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.errors import DomainError
from apps.events.models import Event, EventType
from apps.presence import selectors, services
from apps.presence.models import Status
from apps.presence.tasks import statuses_expire_sweep
from tests.factories import ChannelFactory, MessageFactory
from tests.personas import make_member


@pytest.fixture
def ann(org):
    return make_member(org, user_id="ann")


@pytest.fixture
def ben(org):
    return make_member(org, user_id="ben")


def age(status: Status, **delta: float) -> None:
    """Move a status back in time (as if set ``delta`` ago)."""
    Status.objects.filter(pk=status.pk).update(
        updated_at=status.updated_at - timedelta(**delta),
        created_at=status.created_at - timedelta(**delta),
    )


# --- set and clear ---------------------------------------------------------------------------


def test_a_member_sets_and_replaces_its_status(ann) -> None:
    first = services.status_set(member=ann, icon=":coffee:", message="Back soon", expires="1h")
    assert first.expires_at is not None and not first.until_active

    second = services.status_set(member=ann, icon="", message="In a meeting", expires="")

    assert Status.objects.filter(member=ann).count() == 1
    second.refresh_from_db()
    assert (second.icon, second.message, second.expires_at) == ("", "In a meeting", None)
    assert second.organization_id == ann.organization_id


def test_a_replaced_status_is_a_new_one(ann) -> None:
    first = services.status_set(member=ann, message="a")
    age(first, hours=2)

    second = services.status_set(member=ann, message="b")

    assert timezone.now() - second.created_at < timedelta(minutes=1)


def test_expires_is_read_in_the_member_s_time_zone(org) -> None:
    tokyo = make_member(org, user_id="kenji", time_zone="Asia/Tokyo")
    now = datetime(2024, 5, 20, 1, tzinfo=UTC)  # 10:00 in Tokyo

    status = services.status_set(member=tokyo, message="lunch", expires="1 PM", now=now)

    assert status.expires_at == datetime(2024, 5, 20, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"icon": "x" * 65, "message": "m"}, "invalid_parameter", "icon"),
        ({"message": "x" * 281}, "invalid_parameter", "message"),
        ({"icon": "", "message": "  "}, "missing_parameter", "message"),
        ({"message": "m", "expires": "someday"}, "invalid_parameter", "expires"),
        ({"message": "m", "expires": "2000-01-01"}, "invalid_parameter", "expires"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(ann, kwargs, code, field) -> None:
    with pytest.raises(DomainError) as caught:
        services.status_set(member=ann, **kwargs)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert not Status.objects.exists()


def test_the_limits_are_the_model_s(ann) -> None:
    status = services.status_set(member=ann, icon="i" * 64, message="m" * 280)
    assert len(status.icon) == 64 and len(status.message) == 280


def test_clearing_is_idempotent(ann, ben) -> None:
    services.status_set(member=ann, message="away")
    services.status_set(member=ben, message="here")

    assert services.status_clear(member=ann) is True
    assert services.status_clear(member=ann) is False
    assert list(Status.objects.values_list("member__user_id", flat=True)) == ["ben"]


# --- reads: an ended status is gone at once -------------------------------------------------


def test_an_expired_status_is_gone_on_read_before_any_sweep(org, ann, ben) -> None:
    expiring = services.status_set(member=ann, message="brb", expires="30m")
    services.status_set(member=ben, message="here")
    Status.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    current = list(selectors.statuses_current(organization=org))

    assert [s.member.user_id for s in current] == ["ben"]
    assert selectors.status_of(member=ann) is None
    assert Status.objects.filter(pk=expiring.pk).exists()  # the sweep has not run


def test_a_when_active_status_ends_when_the_member_next_posts(org, ann, ben) -> None:
    status = services.status_set(member=ann, message="in a call", expires="when-active")
    age(status, minutes=5)
    channel = ChannelFactory(organization=org)
    MessageFactory(channel=channel, author=ben)  # someone else's message changes nothing
    assert selectors.status_of(member=ann) is not None

    MessageFactory(channel=channel, author=ann)

    assert selectors.status_of(member=ann) is None
    assert list(selectors.statuses_current(organization=org)) == []


def test_a_when_active_status_survives_messages_from_before_it(org, ann) -> None:
    channel = ChannelFactory(organization=org)
    old = MessageFactory(channel=channel, author=ann)
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))

    services.status_set(member=ann, message="focus", expires="when-active")

    assert selectors.status_of(member=ann) is not None


def test_the_list_is_the_organization_s_only_and_skips_deactivated_members(
    org, other_org, ann, ben
) -> None:
    services.status_set(member=ann, message="a")
    services.status_set(member=ben, message="b")
    services.status_set(member=make_member(other_org, user_id="zed"), message="z")
    type(ben).objects.filter(pk=ben.pk).update(deactivated_at=timezone.now())

    assert [s.member_id for s in selectors.statuses_current(organization=org)] == [ann.pk]


def test_the_list_is_one_query(org) -> None:
    for i in range(5):
        services.status_set(member=make_member(org, user_id=f"m{i}"), message="x")

    with CaptureQueriesContext(connection) as queries:
        rows = [(s.member.user_id, s.message) for s in selectors.statuses_current(organization=org)]

    assert len(rows) == 5
    assert len(queries) == 1  # statuses, their members joined, the ended ones filtered in SQL


# --- the sweep ------------------------------------------------------------------------------


def test_the_sweep_deletes_ended_statuses_only_and_is_idempotent(org, ann, ben) -> None:
    carl = make_member(org, user_id="carl")
    dora = make_member(org, user_id="dora")
    expired = services.status_set(member=ann, message="gone", expires="1h")
    Status.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    active = services.status_set(member=ben, message="call", expires="when-active")
    age(active, minutes=5)
    MessageFactory(channel=ChannelFactory(organization=org), author=ben)
    services.status_set(member=carl, message="stays", expires="2h")
    services.status_set(member=dora, message="stays too", expires="when-active")

    assert services.statuses_expire() == 2
    assert services.statuses_expire() == 0  # run twice: no harm
    assert sorted(Status.objects.values_list("member__user_id", flat=True)) == ["carl", "dora"]


def test_the_sweep_works_in_batches(org) -> None:
    past = timezone.now() - timedelta(minutes=1)
    for i in range(7):
        status = services.status_set(member=make_member(org, user_id=f"u{i}"), message="x")
        Status.objects.filter(pk=status.pk).update(expires_at=past)

    assert services.statuses_expire(batch_size=3) == 7
    assert not Status.objects.exists()


def test_the_sweep_keeps_a_status_renewed_after_the_claim(org, ann) -> None:
    status = services.status_set(member=ann, message="x", expires="1h")
    # the sweep's DELETE repeats the condition: a status that no longer ended stays
    Status.objects.filter(pk=status.pk).update(expires_at=timezone.now() + timedelta(hours=1))

    assert services.statuses_expire(now=timezone.now() + timedelta(minutes=30)) == 0
    assert Status.objects.filter(pk=status.pk).exists()


def test_the_beat_task_is_registered_under_its_schedule_name(settings, org, ann) -> None:
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert statuses_expire_sweep.name == "presence.statuses_expire_sweep" in names
    status = services.status_set(member=ann, message="x", expires="1h")
    Status.objects.filter(pk=status.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert statuses_expire_sweep.apply().get() == 1
    assert statuses_expire_sweep.apply().get() == 0


# --- activity -----------------------------------------------------------------------------------


def test_activity_is_an_event_and_nothing_else(org, ann) -> None:
    channel = ChannelFactory(organization=org)
    message = MessageFactory(channel=channel, author=ann)
    messages_before = type(message).objects.count()

    event = services.activity_record(member=ann, kind="typing", channel=channel, message=message)

    assert event.type == EventType.ACTIVITY
    assert event.payload["kind"] == "typing"
    assert event.payload["userId"] == "ann" and event.payload["userID"] == str(ann.pk)
    assert event.payload["channelId"] == channel.channel_id
    assert event.payload["channelID"] == str(channel.pk)
    assert event.payload["messageID"] == str(message.pk)
    assert event.payload["messageId"] == str(message.public_id)
    assert type(message).objects.count() == messages_before


def test_global_activity_names_no_channel(ann) -> None:
    event = services.activity_record(member=ann, kind="online")
    assert event.payload["channelID"] is None and event.payload["messageID"] is None


@pytest.mark.parametrize(
    ("kind", "code"), [("", "missing_parameter"), ("k" * 65, "invalid_parameter")]
)
def test_a_bad_kind_publishes_nothing(ann, kind, code) -> None:
    with pytest.raises(DomainError) as caught:
        services.activity_record(member=ann, kind=kind)
    assert caught.value.code == code
    assert not Event.objects.filter(type=EventType.ACTIVITY).exists()


def test_a_message_of_another_channel_is_refused(org, ann) -> None:
    message = MessageFactory(channel=ChannelFactory(organization=org), author=ann)
    with pytest.raises(DomainError) as caught:
        services.activity_record(
            member=ann, kind="typing", channel=ChannelFactory(organization=org), message=message
        )
    assert caught.value.code == "message_not_found"
