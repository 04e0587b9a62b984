"""Member states (Stackfield's DeactivateUser and RemoveUser): the member keeps its history,
can no longer post, its sessions end; the last active admin stays; a removed member can be
brought back."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Membership
from apps.core.errors import DomainError
from apps.events.models import Event, EventType
from apps.members.models import Member, MemberSession
from apps.members.services import (
    member_deactivate,
    member_remove,
    member_restore,
    member_session_issue,
)
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from tests.factories import ChannelFactory
from tests.personas import make_member, session_client

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def post(member: Member, text: str = "hi") -> Message:
    channel = ChannelFactory(organization=member.organization)
    Membership.objects.get_or_create(
        organization=member.organization, channel=channel, member=member, joined_at=timezone.now()
    )  # a plain row: joining is not what these tests are about
    return message_create(
        organization=member.organization,
        actor=Actor.for_member(member),
        channel=channel,
        type="text",
        data={"text": text},
        author=member,
    )


@pytest.fixture
def admin(org: Organization) -> Member:
    return make_member(org, Member.OrgRole.ADMIN, user_id="boss")


def test_a_deactivated_member_keeps_its_messages_and_can_no_longer_post(
    org: Organization, admin: Member
) -> None:
    alice = make_member(org, user_id="alice")
    message = post(alice)
    member_deactivate(actor=SYSTEM, member=alice)
    alice.refresh_from_db()
    assert alice.deactivated_at is not None and alice.removed_at is None
    assert Message.objects.filter(pk=message.pk, deleted_at__isnull=True).exists()
    with pytest.raises(DomainError) as exc:
        post(alice)
    assert exc.value.code == "user_deactivated"


def test_deactivating_ends_the_members_sessions_at_once(org: Organization, admin: Member) -> None:
    alice = make_member(org, user_id="alice")
    client = session_client(alice)
    assert client.get("/api/messaging/commands/").status_code == 200
    member_deactivate(actor=SYSTEM, member=alice)
    assert not MemberSession.objects.filter(member=alice, revoked_at__isnull=True).exists()
    assert client.get("/api/messaging/commands/").status_code == 401
    with pytest.raises(DomainError) as exc:
        member_session_issue(actor=SYSTEM, member=Member.objects.get(pk=alice.pk))
    assert exc.value.code == "forbidden"


def test_deactivating_is_audited_and_emits_user_updated(org: Organization, admin: Member) -> None:
    alice = make_member(org, user_id="alice")
    member_deactivate(actor=SYSTEM, member=alice)
    entry = AuditEntry.objects.get(organization=org, action="user.deactivate")
    assert entry.target_id == "alice"
    assert entry.before["deactivatedAt"] is None and entry.after["deactivatedAt"]
    event = Event.objects.get(organization=org, type=EventType.USER_UPDATED)
    assert event.payload["userIds"] == ["alice"] and event.payload["fields"] == ["deactivatedAt"]


def test_deactivating_twice_is_409_already_deactivated(org: Organization, admin: Member) -> None:
    alice = make_member(org, user_id="alice")
    member_deactivate(actor=SYSTEM, member=alice)
    with pytest.raises(DomainError) as exc:
        member_deactivate(actor=SYSTEM, member=alice)
    assert exc.value.code == "user_already_deactivated"
    assert AuditEntry.objects.filter(action="user.deactivate").count() == 1


def test_the_last_active_admin_can_be_neither_deactivated_nor_removed(
    org: Organization, admin: Member
) -> None:
    make_member(org, Member.OrgRole.ADMIN, user_id="bot-admin", is_bot=True)  # does not count
    for service in (member_deactivate, member_remove):
        with pytest.raises(DomainError) as exc:
            service(actor=SYSTEM, member=admin)
        assert exc.value.code == "last_admin"
    admin.refresh_from_db()
    assert not admin.is_inactive
    assert not AuditEntry.objects.filter(organization=org).exists()


def test_an_admin_may_go_while_another_active_admin_stays(org: Organization, admin: Member) -> None:
    other = make_member(org, Member.OrgRole.ADMIN, user_id="second")
    member_deactivate(actor=SYSTEM, member=other)
    with pytest.raises(DomainError) as exc:  # now the last one
        member_remove(actor=SYSTEM, member=admin)
    assert exc.value.code == "last_admin"


def test_a_removed_member_keeps_its_history_and_cannot_act(
    org: Organization, admin: Member
) -> None:
    alice = make_member(org, user_id="alice")
    message = post(alice)
    client = session_client(alice)
    member_remove(actor=SYSTEM, member=alice)
    alice.refresh_from_db()
    assert alice.removed_at is not None
    assert Message.objects.filter(pk=message.pk).exists()
    assert client.get("/api/messaging/commands/").status_code == 401
    with pytest.raises(DomainError) as exc:
        post(alice)
    assert exc.value.code == "user_deactivated"
    assert AuditEntry.objects.filter(action="user.remove", target_id="alice").exists()


def test_a_deactivated_member_can_be_removed_but_not_deactivated_after_removal(
    org: Organization, admin: Member
) -> None:
    alice = make_member(org, user_id="alice")
    member_deactivate(actor=SYSTEM, member=alice)
    member_remove(actor=SYSTEM, member=alice)
    for service in (member_deactivate, member_remove):
        with pytest.raises(DomainError) as exc:
            service(actor=SYSTEM, member=alice)
        assert exc.value.code == "user_not_found"


def test_restoring_brings_a_removed_member_back_active(org: Organization, admin: Member) -> None:
    alice = make_member(org, user_id="alice")
    member_deactivate(actor=SYSTEM, member=alice)
    member_remove(actor=SYSTEM, member=alice)
    restored = member_restore(actor=SYSTEM, member=alice)
    assert not restored.is_inactive
    post(restored)
    assert AuditEntry.objects.filter(action="user.restore", target_id="alice").exists()


def test_restoring_a_member_that_was_not_removed_writes_nothing(
    org: Organization, admin: Member
) -> None:
    alice = make_member(org, user_id="alice")
    member_restore(actor=SYSTEM, member=alice)
    assert not AuditEntry.objects.filter(organization=org).exists()
    assert not Event.objects.filter(organization=org, type=EventType.USER_UPDATED).exists()
