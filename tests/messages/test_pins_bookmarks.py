"""Pins (public, audited), bookmarks (private), a member's reactions and a member's
edits: the domain services behind the messaging API."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create, channel_users_mute
from apps.core.errors import DomainError
from apps.events.models import Event, EventType
from apps.members.models import Member
from apps.messages.models import Bookmark, Message, Reaction
from apps.messages.services.bookmarks import message_bookmark, message_unbookmark
from apps.messages.services.messages import message_create, message_delete, message_text_update
from apps.messages.services.pins import message_pin, message_unpin
from apps.messages.services.reactions import reaction_create, reaction_delete
from tests.personas import make_member

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.fixture
def ann(org) -> Member:
    return make_member(org, user_id="ann")


@pytest.fixture
def ben(org) -> Member:
    return make_member(org, user_id="ben")


@pytest.fixture
def channel(org, ann: Member, ben: Member) -> Channel:
    return channel_create(
        organization=org, actor=SYSTEM, channel_id="room", user_ids=["ann", "ben"]
    )


@pytest.fixture
def message(channel: Channel, ann: Member) -> Message:
    return message_create(
        organization=channel.organization,
        actor=Actor.for_member(ann),
        channel=channel,
        type=Message.Type.TEXT,
        data={"text": "hello"},
        author=ann,
    )


def pin(member: Member, message: Message, *, unpin: bool = False) -> Message:
    service = message_unpin if unpin else message_pin
    return service(
        organization=message.organization,
        actor=Actor.for_member(member),
        member=member,
        message=message,
    )


def test_a_pin_is_audited_announced_and_idempotent(org, ben: Member, message: Message) -> None:
    pinned = pin(ben, message)
    assert pinned.pinned_at is not None and pinned.pinned_by_id == ben.pk
    pin(ben, message)
    entries = AuditEntry.objects.filter(action="message.pin")
    assert entries.count() == 1
    assert entries.get().after == {"isPinned": True, "pinnedBy": "ben"}
    events = Event.objects.filter(type=EventType.MESSAGE_UPDATED)
    assert events.count() == 1 and events.get().payload["changed"] == ["pinned"]

    unpinned = pin(ben, message, unpin=True)
    assert unpinned.pinned_at is None and unpinned.pinned_by_id is None
    pin(ben, message, unpin=True)
    assert AuditEntry.objects.get(action="message.unpin").before == {
        "isPinned": True,
        "pinnedBy": "ben",
    }
    assert Event.objects.filter(type=EventType.MESSAGE_UPDATED).count() == 2


def test_a_pin_follows_the_posting_rule(channel: Channel, ben: Member, message: Message) -> None:
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["ben"], mute_period=-1)
    with pytest.raises(DomainError) as refused:
        pin(ben, message)
    assert refused.value.code == "user_muted"
    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())
    with pytest.raises(DomainError) as refused:
        pin(ben, message)
    assert refused.value.code == "channel_archived"


def test_a_deleted_message_cannot_be_pinned(ben: Member, message: Message) -> None:
    message_delete(organization=message.organization, actor=SYSTEM, message=message)
    with pytest.raises(DomainError) as refused:
        pin(ben, message)
    assert refused.value.code == "message_not_found"


def test_another_organizations_member_cannot_pin(other_org, message: Message) -> None:
    stranger = make_member(other_org, user_id="ben")
    with pytest.raises(DomainError) as refused:
        pin(stranger, message)
    assert refused.value.code == "forbidden"


def test_bookmarks_are_idempotent_and_leave_no_trace(ben: Member, message: Message) -> None:
    assert message_bookmark(member=ben, message=message) is True
    assert message_bookmark(member=ben, message=message) is False
    assert Bookmark.objects.get().organization_id == message.organization_id
    assert message_unbookmark(member=ben, message=message) is True
    assert message_unbookmark(member=ben, message=message) is False
    assert not AuditEntry.objects.filter(action__contains="bookmark").exists()


def test_another_organizations_member_cannot_bookmark(other_org, message: Message) -> None:
    with pytest.raises(DomainError):
        message_bookmark(member=make_member(other_org, user_id="x"), message=message)


def test_a_member_reacts_as_itself_without_an_account(ben: Member, message: Message) -> None:
    actor = Actor.for_member(ben)
    reaction, created = reaction_create(
        organization=message.organization,
        actor=actor,
        message=message,
        reaction_name="tada",
        member=ben,
    )
    assert created and reaction.member_id == ben.pk
    _, again = reaction_create(
        organization=message.organization,
        actor=actor,
        message=message,
        reaction_name="tada",
        member=ben,
    )
    assert not again
    assert AuditEntry.objects.get(action="reaction.create").actor_label == "member ben"
    reaction_delete(
        organization=message.organization,
        actor=actor,
        message=message,
        reaction_name="tada",
        member=ben,
    )
    assert not Reaction.objects.exists()
    with pytest.raises(DomainError) as refused:
        reaction_delete(
            organization=message.organization,
            actor=actor,
            message=message,
            reaction_name="tada",
            member=ben,
        )
    assert refused.value.code == "reaction_not_found"


def test_without_a_member_a_reaction_still_needs_an_account(message: Message) -> None:
    with pytest.raises(DomainError) as refused:
        reaction_create(
            organization=message.organization, actor=SYSTEM, message=message, reaction_name="x"
        )
    assert refused.value.code == "forbidden"


def test_an_edit_announces_message_updated(ann: Member, message: Message) -> None:
    message_text_update(
        organization=message.organization,
        actor=Actor.for_member(ann),
        message=message,
        text="hello!",
    )
    event = Event.objects.get(type=EventType.MESSAGE_UPDATED)
    assert event.payload["messageId"] == str(message.public_id)
    assert event.payload["data"] == {"text": "hello!"}
    assert event.payload["actor"] == "member ann" and event.payload["editedAt"]
    # an unchanged text writes and announces nothing
    message_text_update(
        organization=message.organization,
        actor=Actor.for_member(ann),
        message=message,
        text="hello!",
    )
    assert Event.objects.filter(type=EventType.MESSAGE_UPDATED).count() == 1


def test_a_member_edits_under_the_posting_rule_and_staff_do_not(
    channel: Channel, ann: Member, message: Message
) -> None:
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["ann"], mute_period=-1)
    with pytest.raises(DomainError) as refused:
        message_text_update(
            organization=message.organization,
            actor=Actor.for_member(ann),
            message=message,
            text="sneaky",
        )
    assert refused.value.code == "user_muted"
    message_text_update(
        organization=message.organization, actor=SYSTEM, message=message, text="moderated"
    )


def test_a_member_deletes_nothing_in_an_archived_channel_but_staff_may(
    channel: Channel, ann: Member, message: Message
) -> None:
    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())
    with pytest.raises(DomainError) as refused:
        message_delete(
            organization=message.organization, actor=Actor.for_member(ann), message=message
        )
    assert refused.value.code == "channel_archived"
    message_delete(organization=message.organization, actor=SYSTEM, message=message)
