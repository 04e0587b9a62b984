"""Messaging API: PUT /channels/{channelID}/state (delete, undelete, archive, unarchive),
and what an archived channel refuses on every surface."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.chatrooms import chatroom_default_create
from apps.channels.services.conversations import conversation_create
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from apps.retention.tasks import channel_scheduled_deletion_sweep
from tests.personas import SYSTEM, MessagingClient, TokenClient

URL = "/api/messaging/channels/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def make(alice: Member) -> Callable[..., Channel]:
    def build(
        name: str = "General", *, type: str = "public", members: Sequence[Member] = ()
    ) -> Channel:
        return conversation_create(member=alice, name=name, visibility=type, members=list(members))

    return build


@pytest.fixture
def grace(org: Organization) -> timedelta:
    """The organization keeps a deleted channel for an hour."""
    org.chatroom_deletion_grace_seconds = 3600
    org.save(update_fields=["chatroom_deletion_grace_seconds"])
    return timedelta(hours=1)


def state(client: MessagingClient, channel: Channel, value: Any) -> Any:
    return client.put(f"{URL}{channel.pk}/state", {"state": value})


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def post(channel: Channel, author: Member, text: str = "hi") -> Message:
    return message_create(
        organization=channel.organization,
        actor=SYSTEM,
        channel=channel,
        type="text",
        data={"text": text},
        author=author,
    )


# --- delete / undelete -------------------------------------------------------------------------


def test_delete_is_soft_and_keeps_the_memberships(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    bob: Member,
    make: Callable[..., Channel],
    grace: timedelta,
) -> None:
    channel = make(members=[bob])
    response = state(as_alice, channel, "delete")
    assert response.status_code == 200, response.content
    assert response.json()["response"]["deletedAt"].endswith("Z")
    channel.refresh_from_db()
    assert channel.deleted_at is not None
    assert channel.scheduled_deletion_at == channel.deleted_at + grace
    assert channel.member_count == 2
    assert Membership.objects.filter(channel=channel, joined_at__isnull=False).count() == 2
    # hidden at once for everyone, the owner too
    assert as_bob.get(f"{URL}{channel.pk}").status_code == 404
    assert as_alice.get(f"{URL}{channel.pk}").status_code == 404
    assert as_alice.get(URL).json()["response"] == []
    entry = AuditEntry.objects.get(action="channel.delete")
    assert entry.actor_label == "member alice"
    assert Event.objects.filter(type="channel.deleted").count() == 1


def test_undelete_within_the_grace_restores_the_channel_as_it_was(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    bob: Member,
    make: Callable[..., Channel],
    grace: timedelta,
) -> None:
    channel = make("Team", type="private", members=[bob])
    post(channel, bob)
    state(as_alice, channel, "delete")
    response = state(as_alice, channel, "undelete")
    assert response.status_code == 200, response.content
    assert response.json()["response"]["deletedAt"] is None
    channel.refresh_from_db()
    assert channel.deleted_at is None and channel.scheduled_deletion_at is None
    assert channel.member_count == 2 and channel.message_count == 1
    body = as_bob.get(f"{URL}{channel.pk}").json()["response"]
    assert sorted(body["members"]) == sorted(
        [str(channel.memberships.first().member_id), str(bob.pk)]
    )
    assert AuditEntry.objects.filter(action="channel.undelete").count() == 1
    assert Event.objects.filter(type="channel.undeleted").count() == 1


def test_undelete_after_the_grace_is_404_and_the_sweep_purges_the_channel(
    as_alice: MessagingClient, bob: Member, make: Callable[..., Channel], grace: timedelta
) -> None:
    channel = make(members=[bob])
    post(channel, bob)
    state(as_alice, channel, "delete")
    Channel.objects.filter(pk=channel.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )
    response = state(as_alice, channel, "undelete")
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"
    assert channel_scheduled_deletion_sweep() == 1
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Membership.objects.filter(channel_id=channel.pk).exists()
    assert not Message.objects.filter(channel_id=channel.pk).exists()


def test_without_a_grace_a_deleted_channel_cannot_come_back(
    as_alice: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make()  # the organization's grace is 0 by default
    assert state(as_alice, channel, "delete").status_code == 200
    assert state(as_alice, channel, "undelete").status_code == 404
    assert channel_scheduled_deletion_sweep() == 1
    assert not Channel.objects.filter(pk=channel.pk).exists()


def test_delete_and_undelete_are_idempotent(
    as_alice: MessagingClient, make: Callable[..., Channel], grace: timedelta
) -> None:
    channel = make()
    assert state(as_alice, channel, "undelete").status_code == 200  # not deleted: no-op
    assert state(as_alice, channel, "delete").status_code == 200
    assert state(as_alice, channel, "delete").status_code == 200
    assert AuditEntry.objects.filter(action="channel.delete").count() == 1
    assert not AuditEntry.objects.filter(action="channel.undelete").exists()


def test_delete_keeps_an_earlier_scheduled_deletion(
    as_alice: MessagingClient, make: Callable[..., Channel], grace: timedelta
) -> None:
    channel = make()
    soon = timezone.now() + timedelta(minutes=5)
    Channel.objects.filter(pk=channel.pk).update(scheduled_deletion_at=soon)
    state(as_alice, channel, "delete")
    channel.refresh_from_db()
    assert channel.scheduled_deletion_at == soon


def test_a_member_who_is_not_the_owner_may_not_delete(
    as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(members=[bob])
    response = state(as_bob, channel, "delete")
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    channel.refresh_from_db()
    assert channel.deleted_at is None


def test_an_admin_may_delete_and_undelete_any_channel(
    as_admin: MessagingClient, make: Callable[..., Channel], grace: timedelta
) -> None:
    channel = make(type="private")
    assert state(as_admin, channel, "delete").status_code == 200
    assert state(as_admin, channel, "undelete").status_code == 200


def test_a_non_member_cannot_undelete_a_deleted_private_channel(
    as_alice: MessagingClient, as_bob: MessagingClient, make: Callable[..., Channel], grace: Any
) -> None:
    channel = make(type="private")
    state(as_alice, channel, "delete")
    assert state(as_bob, channel, "undelete").status_code == 404


def test_the_default_chatroom_is_not_deleted_here(
    as_admin: MessagingClient, org: Organization
) -> None:
    default = chatroom_default_create(organization=org, actor=SYSTEM)
    response = state(as_admin, default, "delete")
    assert response.status_code == 403
    assert error(response)["code"] == "chatroom_not_custom"
    default.refresh_from_db()
    assert default.deleted_at is None


# --- archive -----------------------------------------------------------------------------------


def test_archive_makes_the_channel_read_only_and_unarchive_undoes_it(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    alice: Member,
    bob: Member,
    make: Callable[..., Channel],
) -> None:
    channel = make(members=[bob])
    response = state(as_alice, channel, "archive")
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["archivedAt"].endswith("Z")
    assert body["canSendMessages"] is False and body["canUpdate"] is False
    assert body["canArchive"] is True  # may unarchive
    assert Event.objects.filter(type="channel.archived").count() == 1
    assert AuditEntry.objects.get(action="channel.archive").actor_label == "member alice"
    # still listed and readable, but nobody may post, the owner and admins included
    assert as_bob.get(f"{URL}{channel.pk}").status_code == 200
    channel.refresh_from_db()
    for author in (alice, bob):
        with pytest.raises(DomainError) as refused:
            post(channel, author)
        assert refused.value.code == "channel_archived"
    renamed = as_alice.put(f"{URL}{channel.pk}", {"name": "Other"})
    assert renamed.status_code == 403
    assert error(renamed)["code"] == "channel_archived"

    assert state(as_alice, channel, "unarchive").status_code == 200
    assert Event.objects.filter(type="channel.unarchived").count() == 1
    channel.refresh_from_db()
    post(channel, bob)


def test_an_archived_channel_refuses_posts_through_the_admin_api_too(
    as_alice: MessagingClient, api: TokenClient, make: Callable[..., Channel]
) -> None:
    channel = make()
    state(as_alice, channel, "archive")
    response = api.post(
        "/api/v2/message",
        {"channelId": channel.channel_id, "type": "text", "data": {"text": "hi"}},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "channel_archived"
    assert not Message.objects.filter(channel=channel).exists()


def test_archive_and_unarchive_are_idempotent(
    as_alice: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make()
    assert state(as_alice, channel, "unarchive").status_code == 200
    assert state(as_alice, channel, "archive").status_code == 200
    assert state(as_alice, channel, "archive").status_code == 200
    assert AuditEntry.objects.filter(action="channel.archive").count() == 1
    assert not AuditEntry.objects.filter(action="channel.unarchive").exists()


def test_a_plain_member_may_not_archive(
    as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(members=[bob])
    assert state(as_bob, channel, "archive").status_code == 403
    channel.refresh_from_db()
    assert channel.archived_at is None


# --- bad input and tenancy ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["destroy", "", "DELETE", 1, None, ["delete"]])
def test_an_unknown_state_is_400(
    as_alice: MessagingClient, make: Callable[..., Channel], value: Any
) -> None:
    channel = make()
    response = state(as_alice, channel, value)
    assert response.status_code == 400
    assert error(response)["field"] == "state"
    channel.refresh_from_db()
    assert channel.deleted_at is None and channel.archived_at is None


def test_a_missing_state_is_400(as_alice: MessagingClient, make: Callable[..., Channel]) -> None:
    channel = make()
    response = as_alice.put(f"{URL}{channel.pk}/state", {})
    assert response.status_code == 400
    assert error(response)["code"] == "missing_parameter"


def test_state_of_another_organizations_or_a_missing_channel_is_404(
    as_outsider: MessagingClient, as_alice: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make()
    for client, pk in ((as_outsider, channel.pk), (as_alice, channel.pk + 1000)):
        response = client.put(f"{URL}{pk}/state", {"state": "archive"})
        assert response.status_code == 404
        assert error(response)["code"] == "channel_not_found"
    channel.refresh_from_db()
    assert channel.archived_at is None


def test_state_of_a_private_channel_by_a_non_member_is_404(
    as_bob: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make(type="private")
    assert state(as_bob, channel, "delete").status_code == 404
