"""POST /api/v2/channel/:channelId/close and the purge that follows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.messages.models import Message, MessageFile
from apps.retention import services as retention
from apps.retention.tasks import channel_purge, channel_purge_sweep
from tests.builders import form, last_audit, snapshot
from tests.factories import MessageFactory
from tests.personas import SYSTEM, TokenClient

URL = "/api/v2/channel/general/close"


def add_messages(channel: Channel, count: int) -> list[Message]:
    messages = [MessageFactory(channel=channel, author=None) for _ in range(count)]
    Channel.objects.filter(pk=channel.pk).update(message_count=count)
    return messages


def attach_file(message: Message, variant: str = "file") -> MessageFile:
    stored = MessageFile(
        message=message, variant=variant, name="a.txt", content_type="text/plain", size=5
    )
    stored.file.save("a.txt", ContentFile(b"hello"), save=False)
    stored.save()
    return stored


def test_it_closes_detaches_members_and_hides_messages_at_once(
    org: Any, api: TokenClient, make_channel: Any, django_capture_on_commit_callbacks: Any
) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    add_messages(channel, 3)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(URL, {"reason": "shut down"}, format="json")
    assert response.status_code == 200
    body = response.json()["channel"]
    assert body["isClosed"] is True
    assert body["memberCount"] == 0
    assert body["messageCount"] == 0
    assert not Membership.objects.filter(channel=channel, joined_at__isnull=False).exists()
    channel.refresh_from_db()
    assert channel.closed_at is not None
    assert len(callbacks) == 1  # the purge is queued only once the close is committed


def test_closing_is_audited_with_the_counts(org: Any, api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    add_messages(channel, 3)
    api.post(URL, {"reason": "shut down"}, format="json")
    entry = last_audit(org)
    assert entry.action == "channel.close"
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.reason == "shut down"
    assert entry.before == {"memberCount": 2, "messageCount": 3}
    assert entry.after["membersRemoved"] == 2
    assert entry.after["messagesRemoved"] == 3
    assert entry.after["closedAt"].endswith("Z")


def test_close_accepts_a_form_body_and_an_empty_body(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    make_channel("other")
    assert form(api, "post", URL, {"reason": "r"}).status_code == 200
    assert api.post("/api/v2/channel/other/close").status_code == 200


def test_closing_twice_is_a_conflict_that_writes_nothing(
    org: Any, api: TokenClient, make_channel: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_channel("general", user_ids=["alice"])
    api.post(URL, format="json")
    before = snapshot(org)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(URL, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert snapshot(org) == before
    assert callbacks == []


def test_an_oversized_reason_is_400(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    response = api.post(URL, {"reason": "x" * 1001}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "reason")
    assert Channel.objects.get(channel_id="general").closed_at is None


def test_the_purge_runs_after_commit_when_tasks_are_eager(
    settings: Any, api: TokenClient, make_channel: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    channel = make_channel("general", user_ids=["alice"])
    messages = add_messages(channel, 4)
    stored = attach_file(messages[0])
    name = stored.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, format="json")
    assert not Message.objects.filter(channel=channel).exists()
    assert not MessageFile.objects.exists()
    assert not default_storage.exists(name)


def test_closing_a_chatroom_purges_its_avatar_file_once_committed(
    settings: Any,
    api: TokenClient,
    avatar_room: Channel,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    name = avatar_room.avatar.name
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"/api/v2/channel/{avatar_room.channel_id}/close", format="json")
    assert response.status_code == 200
    assert default_storage.exists(name)  # nothing is deleted before the close committed

    for callback in callbacks:  # the commit: the purge runs
        callback()

    assert not default_storage.exists(name)
    closed = Channel.objects.get(pk=avatar_room.pk)  # the closed row stays, without avatar
    assert closed.is_closed and not closed.avatar and closed.purged_at is not None


def test_a_rerun_of_the_close_purge_after_the_avatar_went_does_no_harm(
    avatar_room: Channel,
) -> None:
    name = avatar_room.avatar.name
    retention.channel_close(channel=avatar_room, actor=SYSTEM)
    assert channel_purge(avatar_room.pk) == 0  # no message; the avatar file goes
    assert not default_storage.exists(name)
    assert channel_purge(avatar_room.pk) == 0
    assert retention.channel_avatar_purge(channel_pk=avatar_room.pk) == ""
    assert not Channel.objects.get(pk=avatar_room.pk).avatar


def test_a_close_purge_killed_after_deleting_the_avatar_file_is_finished_by_a_rerun(
    avatar_room: Channel,
) -> None:
    name = avatar_room.avatar.name
    retention.channel_close(channel=avatar_room, actor=SYSTEM)
    default_storage.delete(name)  # the worker deleted the file, then died
    with mock.patch.object(channel_purge, "delay") as delay:
        assert channel_purge_sweep() == 1  # the row still names it: re-queued
    delay.assert_called_once_with(avatar_room.pk)

    assert channel_purge(avatar_room.pk) == 0

    assert not Channel.objects.get(pk=avatar_room.pk).avatar
    with mock.patch.object(channel_purge, "delay") as delay:
        assert channel_purge_sweep() == 0
    delay.assert_not_called()


def test_the_sweep_requeues_the_purge_of_a_closed_chatroom_that_still_has_its_avatar(
    api: TokenClient, avatar_room: Channel, make_channel: Any
) -> None:
    # the purge task of the close was lost (e.g. the broker was down): no message left to
    # find it by, but the avatar file is still there
    retention.channel_close(channel=avatar_room, actor=SYSTEM)
    open_room = make_channel("open")
    Channel.objects.filter(pk=open_room.pk).update(avatar=avatar_room.avatar.name)
    with mock.patch.object(channel_purge, "delay") as delay:
        assert channel_purge_sweep() == 1
    delay.assert_called_once_with(avatar_room.pk)


def test_the_purge_sweep_leaves_a_claimed_scheduled_deletion_to_its_own_sweep(
    avatar_room: Channel,
) -> None:
    Channel.objects.filter(pk=avatar_room.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )
    assert retention.channel_scheduled_deletions_claim() == [avatar_room.pk]
    with mock.patch.object(channel_purge, "delay") as delay:
        assert channel_purge_sweep() == 0
    delay.assert_not_called()


def test_the_purge_task_deletes_messages_files_and_replies_in_batches(
    org: Any, make_channel: Any
) -> None:
    channel = make_channel("general")
    other = make_channel("other")
    messages = add_messages(channel, 5)
    reply = MessageFactory(channel=channel, author=None, parent=messages[0])
    reply_file = attach_file(reply)
    parent_file = attach_file(messages[3], variant="full")
    kept = MessageFactory(channel=other, author=None)
    retention.channel_close(channel=channel, actor=SYSTEM)
    assert channel_purge(channel.pk, batch_size=2) == 6
    assert not Message.objects.filter(channel=channel).exists()
    assert Message.objects.filter(pk=kept.pk).exists()
    assert not default_storage.exists(reply_file.file.name)
    assert not default_storage.exists(parent_file.file.name)


def test_the_purge_task_is_idempotent_and_ignores_open_or_missing_channels(
    make_channel: Any,
) -> None:
    channel = make_channel("general")
    add_messages(channel, 2)
    assert channel_purge(channel.pk) == 0  # still open: nothing deleted
    assert Message.objects.filter(channel=channel).count() == 2
    retention.channel_close(channel=channel, actor=SYSTEM)
    assert channel_purge(channel.pk) == 2
    assert channel_purge(channel.pk) == 0
    assert channel_purge(10**9) == 0


def test_the_sweep_requeues_purges_of_closed_channels_with_messages(
    make_channel: Any,
) -> None:
    closed = make_channel("closed")
    add_messages(closed, 2)
    open_ = make_channel("open")
    add_messages(open_, 1)
    Channel.objects.filter(pk=closed.pk).update(closed_at=open_.created_at)
    with mock.patch.object(channel_purge, "delay") as delay:
        assert channel_purge_sweep() == 1
    delay.assert_called_once_with(closed.pk)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v2/channel/general/users", {"userIds": ["x"]}),
        ("delete", "/api/v2/channel/general/users", {"userIds": ["alice"]}),
        ("put", "/api/v2/channel/general/mute", {"mutePeriod": 0}),
        ("put", "/api/v2/channel/general/users/mute", {"userIds": ["alice"], "mutePeriod": -1}),
    ],
)
def test_every_write_on_a_closed_channel_is_refused(
    org: Any, api: TokenClient, make_channel: Any, method: str, url: str, body: dict[str, Any]
) -> None:
    make_channel("general", user_ids=["alice"])
    api.post(URL, format="json")
    before = snapshot(org)
    response = getattr(api, method)(url, body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
    assert snapshot(org) == before
