"""PUT /api/v2/channel/:channelId/scheduledDeletion (extension) and the channel that is
gone for every read and write once its deletion time has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.events.models import Event
from apps.retention import services as retention
from apps.retention.tasks import channel_scheduled_deletion_finish, channel_scheduled_deletion_sweep
from tests.builders import form, last_audit, snapshot
from tests.personas import TokenClient

from .test_api_auth_and_tenancy import ENDPOINTS

URL = "/api/v2/channel/general/scheduledDeletion"


def _at(channel_id: str = "general") -> datetime | None:
    return Channel.objects.get(channel_id=channel_id).scheduled_deletion_at


def test_it_schedules_a_deletion_and_renders_it(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    response = api.put(URL, {"scheduledDeletion": "2031-05-04T10:30:00Z"}, format="json")
    assert response.status_code == 200
    body = response.json()["channel"]
    assert body["channelId"] == "general"
    assert body["scheduledDeletion"] == "2031-05-04T10:30:00Z"
    assert _at() == datetime(2031, 5, 4, 10, 30, tzinfo=UTC)
    entry = last_audit(org)
    assert entry.action == "channel.scheduledDeletion"
    assert entry.actor_account.email == "admin@acme.test"
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.before == {"scheduledDeletion": None}
    assert entry.after == {"scheduledDeletion": "2031-05-04T10:30:00Z"}
    event = Event.objects.filter(type="channel.updated").latest("pk")
    assert event.payload["scheduledDeletion"] == "2031-05-04T10:30:00Z"
    assert event.payload["organization"] == "acme"


def test_every_channel_renders_scheduled_deletion_null_by_default(
    api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    channels = api.get("/api/v2/channels").json()["channels"]
    assert channels[0]["scheduledDeletion"] is None


def test_an_offset_is_converted_to_utc(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    response = api.put(URL, {"scheduledDeletion": "2031-05-04T12:30:00+02:00"}, format="json")
    assert response.json()["channel"]["scheduledDeletion"] == "2031-05-04T10:30:00Z"


def test_null_clears_the_schedule(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.put(URL, {"scheduledDeletion": "2031-05-04T10:30:00Z"}, format="json")
    response = api.put(URL, {"scheduledDeletion": None}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["scheduledDeletion"] is None
    assert _at() is None
    entry = last_audit(org)
    assert entry.action == "channel.scheduledDeletion.clear"
    assert entry.before == {"scheduledDeletion": "2031-05-04T10:30:00Z"}


def test_it_accepts_a_form_body_and_an_empty_value_clears(
    api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    response = form(api, "put", URL, {"scheduledDeletion": "2031-05-04T10:30:00Z"})
    assert response.status_code == 200
    assert _at() == datetime(2031, 5, 4, 10, 30, tzinfo=UTC)
    response = form(api, "put", URL, {"scheduledDeletion": ""})
    assert response.status_code == 200
    assert _at() is None


def test_a_time_in_the_past_means_now_and_the_channel_is_gone_at_once(
    api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    before = timezone.now()
    response = api.put(URL, {"scheduledDeletion": "2001-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 200
    at = _at()
    assert at is not None and before <= at <= timezone.now()
    again = api.put(URL, {"scheduledDeletion": None}, format="json")
    assert again.status_code == 404 and again.json()["code"] == "channel_not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_parameter"),
        ({"scheduledDeletion": "2031-05-04T10:30:00"}, "invalid_parameter"),  # naive
        ({"scheduledDeletion": "tomorrow"}, "invalid_parameter"),
        ({"scheduledDeletion": "2031-13-45T10:30:00Z"}, "invalid_parameter"),
        ({"scheduledDeletion": 1_900_000_000}, "invalid_parameter"),
        ({"scheduledDeletion": ["2031-05-04T10:30:00Z"]}, "invalid_parameter"),
        ({"scheduledDeletion": "2031-05-04T10:30:00Z" + "0" * 100}, "invalid_parameter"),
        ({"scheduledDeletion": "2999-01-01T00:00:00Z"}, "invalid_parameter"),  # > 10 years
    ],
)
def test_it_refuses_bad_values_and_changes_nothing(
    org: Any, api: TokenClient, make_channel: Any, body: dict[str, Any], code: str
) -> None:
    make_channel("general")
    before = snapshot(org)
    response = api.put(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["field"] == "scheduledDeletion"
    assert snapshot(org) == before


def test_a_closed_channel_cannot_be_scheduled(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.post("/api/v2/channel/general/close", format="json")
    response = api.put(URL, {"scheduledDeletion": "2031-05-04T10:30:00Z"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "channel_closed")


def test_an_unknown_channel_is_404(api: TokenClient, make_channel: Any) -> None:
    response = api.put(
        "/api/v2/channel/nope/scheduledDeletion",
        {"scheduledDeletion": "2031-05-04T10:30:00Z"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (404, "channel_not_found")


def test_another_organizations_token_gets_404_and_changes_nothing(
    org: Any, other_api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    before = snapshot(org)
    for value in ("2001-01-01T00:00:00Z", None):
        response = other_api.put(URL, {"scheduledDeletion": value}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "channel_not_found")
    assert snapshot(org) == before
    assert _at() is None


def test_it_needs_a_valid_token(
    anon_api: TokenClient, bad_api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    for client in (anon_api, bad_api):
        response = client.put(URL, {"scheduledDeletion": None}, format="json")
        assert response.status_code == 401


# --- a due, not yet swept channel is gone everywhere ---------------------------------------------


@pytest.fixture
def due_channel(org: Any, make_channel: Any) -> Channel:
    channel = make_channel("general", user_ids=["u1"])
    Channel.objects.filter(pk=channel.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )
    return channel


@pytest.mark.parametrize(("method", "path", "body"), [*ENDPOINTS])
def test_a_due_channel_is_404_on_every_channel_endpoint(
    org: Any,
    api: TokenClient,
    due_channel: Channel,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    before = snapshot(org)
    response = getattr(api, method)(path, body, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    assert snapshot(org) == before


def test_a_due_channel_is_not_listed_or_queryable(
    org: Any, api: TokenClient, due_channel: Channel, make_channel: Any
) -> None:
    make_channel("other", user_ids=["u1"])
    listed = api.get("/api/v2/channels").json()["channels"]
    assert [c["channelId"] for c in listed] == ["other"]
    by_user = api.post("/api/v2/channels", {"userId": "u1"}, format="json").json()["channels"]
    assert [c["channelId"] for c in by_user] == ["other"]


def test_a_due_channel_is_404_for_messages(api: TokenClient, due_channel: Channel) -> None:
    posted = api.post(
        "/api/v2/message",
        {"channelId": "general", "type": "text", "data": {"text": "hi"}},
        format="json",
    )
    assert (posted.status_code, posted.json()["code"]) == (404, "channel_not_found")
    listed = api.get("/api/v2/messages", {"channelId": "general"})
    assert (listed.status_code, listed.json()["code"]) == (404, "channel_not_found")


def test_a_not_yet_due_channel_works_as_usual(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.put(URL, {"scheduledDeletion": "2031-05-04T10:30:00Z"}, format="json")
    response = api.put("/api/v2/channel/general/mute", {"mutePeriod": -1}, format="json")
    assert response.status_code == 200
    assert AuditEntry.objects.filter(action="channel.mute").count() == 1


def test_a_message_of_a_channel_due_for_deletion_is_gone_before_the_sweep(api, org) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.channels.models import Channel

    api.post("/api/v2/channel", {"channelId": "soon", "type": "standard"}, format="json")
    created = api.post(
        "/api/v2/message",
        {"channelId": "soon", "type": "text", "data": {"text": "hi"}},
        format="json",
    )
    message_id = created.json()["message"]["messageId"]
    Channel.objects.filter(organization=org, channel_id="soon").update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )

    response = api.get(f"/api/v2/message/{message_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "message_not_found"


# --- the purge takes a chatroom's avatar file with it --------------------------------------------


def _schedule_now(api: TokenClient, channel: Channel) -> None:
    response = api.put(
        f"/api/v2/channel/{channel.channel_id}/scheduledDeletion",
        {"scheduledDeletion": "2001-01-01T00:00:00Z"},  # in the past: now
        format="json",
    )
    assert response.status_code == 200


def test_the_purge_of_a_chatroom_scheduled_through_the_api_deletes_its_avatar_file(
    api: TokenClient, avatar_room: Channel
) -> None:
    name = avatar_room.avatar.name
    _schedule_now(api, avatar_room)
    assert default_storage.exists(name)  # gone for readers at once; the file goes with the purge

    assert channel_scheduled_deletion_sweep() == 1

    assert not Channel.objects.filter(pk=avatar_room.pk).exists()
    assert not default_storage.exists(name)
    # a rerun of the sweep or of the purge finds nothing and does no harm
    assert channel_scheduled_deletion_sweep() == 0
    assert channel_scheduled_deletion_finish(avatar_room.pk) is False


def test_a_purge_that_could_not_delete_the_avatar_file_keeps_the_row_and_the_rerun_finishes(
    api: TokenClient, avatar_room: Channel
) -> None:
    name = avatar_room.avatar.name
    _schedule_now(api, avatar_room)
    assert retention.channel_scheduled_deletions_claim() == [avatar_room.pk]
    storage = Channel._meta.get_field("avatar").storage

    with (
        mock.patch.object(storage, "delete", side_effect=OSError("storage unavailable")),
        pytest.raises(OSError),
    ):
        channel_scheduled_deletion_finish(avatar_room.pk)  # the task retries OSError

    # nothing is lost: the row still names the file, which is still there
    assert Channel.objects.get(pk=avatar_room.pk).avatar.name == name
    assert default_storage.exists(name)
    assert channel_scheduled_deletion_finish(avatar_room.pk) is True
    assert not default_storage.exists(name)
    assert not Channel.objects.filter(pk=avatar_room.pk).exists()


def test_a_purge_killed_after_deleting_the_avatar_file_is_finished_by_the_next_sweep(
    api: TokenClient, avatar_room: Channel
) -> None:
    name = avatar_room.avatar.name
    _schedule_now(api, avatar_room)
    assert retention.channel_scheduled_deletions_claim() == [avatar_room.pk]
    default_storage.delete(name)  # the worker deleted the file, then died
    Channel.objects.filter(pk=avatar_room.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert channel_scheduled_deletion_sweep() == 1  # the lease ran out: taken over

    assert not Channel.objects.filter(pk=avatar_room.pk).exists()
    assert not default_storage.exists(name)
