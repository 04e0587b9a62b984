"""apps/channels/services/states.py: undelete within the grace period, unarchive, for an
actor that acts for the organization (the console's staff)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.channels.services.conversations import channel_archive, conversation_state_set
from apps.channels.services.states import (
    channel_can_undelete,
    channel_unarchive,
    channel_undelete,
)
from apps.core.errors import DomainError
from apps.events.models import Event, EventType
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.retention.services import channel_close

from ..personas import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(org: Organization) -> Channel:
    return channel_create(
        organization=org, actor=Actor.system(), channel_id="lobby", user_ids=["ann", "bob"]
    )


def _delete(org: Organization, channel: Channel, grace: int = 3600) -> Channel:
    org.chatroom_deletion_grace_seconds = grace
    org.save(update_fields=["chatroom_deletion_grace_seconds"])
    admin = make_member(org, Member.OrgRole.ADMIN, user_id="boss")
    return conversation_state_set(channel=channel, member=admin, state="delete")


def test_undelete_within_the_grace_restores_the_channel_with_its_members(
    org: Organization, channel: Channel
) -> None:
    deleted = _delete(org, channel)
    assert channel_can_undelete(deleted)
    restored = channel_undelete(channel=deleted, actor=Actor.system(), reason="by mistake")
    assert restored.deleted_at is None and restored.scheduled_deletion_at is None
    channel.refresh_from_db()
    assert channel.deleted_at is None and channel.member_count == 2
    entry = AuditEntry.objects.get(action="channel.undelete")
    assert entry.reason == "by mistake" and entry.after == {"deletedAt": None}
    assert entry.before["scheduledDeletion"] is not None
    assert Event.objects.filter(type=EventType.CHANNEL_UNDELETED).count() == 1


def test_undelete_after_the_grace_is_refused_even_before_the_purge(
    org: Organization, channel: Channel
) -> None:
    deleted = _delete(org, channel)
    ended = timezone.now() - timedelta(seconds=1)
    Channel.objects.filter(pk=channel.pk).update(scheduled_deletion_at=ended)
    deleted.refresh_from_db()
    assert not channel_can_undelete(deleted)
    with pytest.raises(DomainError) as refused:
        channel_undelete(channel=deleted, actor=Actor.system())
    assert refused.value.code == "conflict"
    assert "can no longer be restored: its grace period ended at" in refused.value.message
    deleted.refresh_from_db()
    assert deleted.deleted_at is not None
    assert not AuditEntry.objects.filter(action="channel.undelete").exists()


def test_undelete_of_a_channel_that_is_not_deleted_or_is_closed_is_refused(
    org: Organization, channel: Channel
) -> None:
    with pytest.raises(DomainError) as live:
        channel_undelete(channel=channel, actor=Actor.system())
    assert live.value.code == "conflict"
    channel_close(channel=channel, actor=Actor.system())
    with pytest.raises(DomainError) as closed:
        channel_undelete(channel=channel, actor=Actor.system())
    assert closed.value.code == "channel_closed"


def test_unarchive_makes_the_channel_writable_again_and_is_audited(
    org: Organization, channel: Channel
) -> None:
    with pytest.raises(DomainError) as not_archived:
        channel_unarchive(channel=channel, actor=Actor.system())
    assert not_archived.value.code == "conflict"
    channel_archive(channel=channel, actor=Actor.system())
    unarchived = channel_unarchive(channel=channel, actor=Actor.system())
    assert unarchived.archived_at is None
    entry = AuditEntry.objects.get(action="channel.unarchive")
    assert entry.before["archivedAt"] is not None and entry.after == {"archivedAt": None}
    assert Event.objects.filter(type=EventType.CHANNEL_UNARCHIVED).count() == 1


def test_a_deleted_channel_is_not_unarchived_before_it_is_restored(
    org: Organization, channel: Channel
) -> None:
    channel_archive(channel=channel, actor=Actor.system())
    deleted = _delete(org, channel)
    with pytest.raises(DomainError) as refused:
        channel_unarchive(channel=deleted, actor=Actor.system())
    assert refused.value.code == "channel_not_found"
