"""apps.channels conversations (the messaging API's channels): services and selectors,
and the rules they share with every surface (archived = read-only, read state on join,
the purge of a soft-deleted channel)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.rules import check_can_post, post_refusal
from apps.channels.selectors.conversations import (
    conversation_get,
    conversation_members,
    conversations_visible,
)
from apps.channels.services.channels import channel_users_add, channel_users_remove
from apps.channels.services.chatrooms import chatroom_create_custom, chatroom_delete
from apps.channels.services.conversations import (
    conversation_create,
    conversation_flag_set,
    conversation_member_join,
    conversation_member_remove,
    conversation_members_invite,
    conversation_state_set,
    conversation_update,
)
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create, message_delete
from apps.organizations.models import Organization
from apps.retention.services import (
    channel_scheduled_deletion_finish,
    channel_scheduled_deletions_claim,
)
from tests.factories import MemberFactory
from tests.personas import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="alice")


@pytest.fixture
def bob(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="bob")


@pytest.fixture
def admin(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="root", org_role=Member.OrgRole.ADMIN)


@pytest.fixture
def channel(alice: Member, bob: Member) -> Channel:
    return conversation_create(member=alice, name="Team", visibility="public", members=[bob])


def post(channel: Channel, author: Member, text: str = "hi") -> Message:
    channel.refresh_from_db()
    return message_create(
        organization=channel.organization,
        actor=SYSTEM,
        channel=channel,
        type="text",
        data={"text": text},
        author=author,
    )


def code_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(DomainError) as refused:
        call(**kwargs)
    return refused.value.code


# --- create, update ----------------------------------------------------------------------------


def test_create_makes_the_creator_the_only_owner(channel: Channel, alice: Member) -> None:
    assert channel.member_count == 2
    owners = Membership.objects.filter(channel=channel, is_owner=True)
    assert [m.member_id for m in owners] == [alice.pk]
    assert channel.visibility == "public" and channel.type == Channel.Type.STANDARD


def test_create_refuses_members_of_another_organization(
    alice: Member, other_org: Organization
) -> None:
    stranger = MemberFactory(organization=other_org)
    code = code_of(conversation_create, member=alice, name="x", members=[stranger])
    assert code == "user_not_found"
    assert not Channel.objects.exists()


def test_update_audits_before_and_after_and_emits_channel_updated(
    channel: Channel, alice: Member
) -> None:
    conversation_update(channel=channel, member=alice, topic="New topic")
    entry = AuditEntry.objects.get(action="channel.update")
    assert entry.before["topic"] == "" and entry.after["topic"] == "New topic"
    event = Event.objects.get(type="channel.updated")
    assert event.payload["channelID"] == str(channel.pk)
    assert event.payload["after"]["topic"] == "New topic"


def test_update_without_a_change_records_nothing(channel: Channel, alice: Member) -> None:
    conversation_update(channel=channel, member=alice, name="Team")
    assert not AuditEntry.objects.filter(action="channel.update").exists()


# --- archived: read-only everywhere ------------------------------------------------------------


def test_an_archived_channel_refuses_every_poster_with_channel_archived(
    channel: Channel, alice: Member, bob: Member, admin: Member
) -> None:
    conversation_state_set(channel=channel, member=alice, state="archive")
    channel.refresh_from_db()
    for member in (alice, bob, admin):
        assert code_of(check_can_post, channel=channel, member=member) == "channel_archived"
    assert Event.objects.filter(type="channel.archived").count() == 1


def test_post_refusal_makes_no_query(channel: Channel, bob: Member) -> None:
    row = Membership.objects.get(channel=channel, member=bob)
    with CaptureQueriesContext(connection) as queries:
        assert post_refusal(channel=channel, member=bob, membership=row) is None
        assert post_refusal(channel=channel, member=bob, membership=None).code == "not_a_member"
    assert queries.captured_queries == []


AGO = timedelta(minutes=-5)


@pytest.mark.parametrize(
    ("row", "channel_state", "code"),
    [
        pytest.param({}, {}, None, id="member"),
        pytest.param({"muted_at": AGO}, {}, "user_muted", id="muted"),
        pytest.param(
            {"muted_at": AGO, "mute_expires_at": timedelta(minutes=-1)}, {}, None, id="mute-over"
        ),
        pytest.param({"banned_at": AGO}, {}, "user_banned", id="banned"),
        pytest.param({"joined_at": None}, {}, "not_a_member", id="left"),
        pytest.param({}, {"muted_at": AGO}, "channel_muted", id="channel-muted"),
        pytest.param({}, {"archived_at": AGO}, "channel_archived", id="archived"),
    ],
)
def test_the_posting_rule_decides_alike_on_the_lists_rows_and_on_the_models(
    channel: Channel,
    bob: Member,
    row: dict[str, timedelta | None],
    channel_state: dict[str, timedelta],
    code: str | None,
) -> None:
    now = timezone.now()
    if row:
        changes = {k: None if ago is None else now + ago for k, ago in row.items()}
        Membership.objects.filter(channel=channel, member=bob).update(**changes)
    if channel_state:
        Channel.objects.filter(pk=channel.pk).update(
            **{k: now + ago for k, ago in channel_state.items()}
        )
    channel.refresh_from_db()
    model_row = Membership.objects.get(channel=channel, member=bob)
    [listed] = conversations_visible(member=bob)  # a public channel: listed in any standing
    refusals = [
        post_refusal(channel=channel, member=bob, membership=model_row, now=now),
        post_refusal(channel=listed, member=bob, membership=listed.viewer_membership, now=now),
    ]
    assert [None if r is None else r.code for r in refusals] == [code, code]


def test_a_closed_channel_still_says_closed_before_archived(channel: Channel) -> None:
    channel.closed_at = channel.archived_at = timezone.now()
    refusal = post_refusal(
        channel=channel, member=channel.memberships.first().member, membership=None
    )
    assert refusal.code == "channel_closed"


# --- read state on join ------------------------------------------------------------------------


def test_a_member_added_through_the_admin_api_starts_with_nothing_unread(
    org: Organization, channel: Channel, alice: Member
) -> None:
    post(channel, alice)
    post(channel, alice)
    channel.refresh_from_db()
    channel_users_add(channel=channel, actor=SYSTEM, user_ids=["carol"])
    row = Membership.objects.get(channel=channel, member__user_id="carol")
    assert row.read_count == 2
    assert row.last_read_message_pk == Message.objects.filter(channel=channel).latest("pk").pk


def test_a_rejoining_member_starts_again_with_nothing_unread(
    channel: Channel, alice: Member, bob: Member
) -> None:
    channel_users_remove(channel=channel, actor=SYSTEM, user_ids=["bob"])
    kept = post(channel, alice)
    gone = post(channel, alice)
    message_delete(organization=channel.organization, actor=SYSTEM, message=gone)
    channel.refresh_from_db()
    conversation_member_join(channel=channel, member=bob, target=bob)
    row = Membership.objects.get(channel=channel, member=bob)
    channel.refresh_from_db()
    assert row.read_count == channel.message_count == 1
    # the newest live message: the deleted one is not counted and not pointed at
    assert row.last_read_message_pk == kept.pk


def test_join_and_leave_keep_the_member_count_and_emit_events(
    channel: Channel, bob: Member, org: Organization
) -> None:
    carol = MemberFactory(organization=org, user_id="carol")
    conversation_member_join(channel=channel, member=carol, target=carol)
    channel.refresh_from_db()
    assert channel.member_count == 3
    conversation_member_remove(channel=channel, member=bob, target=bob)
    channel.refresh_from_db()
    assert channel.member_count == 2
    assert Event.objects.filter(type="member.joined", payload__userIds=["carol"]).exists()
    assert Event.objects.filter(type="member.left", payload__userIds=["bob"]).exists()


def test_an_invitation_is_used_up_by_an_admin_api_add(
    channel: Channel, alice: Member, org: Organization
) -> None:
    carol = MemberFactory(organization=org, user_id="carol")
    conversation_members_invite(channel=channel, member=alice, targets=[carol])
    channel.refresh_from_db()
    channel_users_add(channel=channel, actor=SYSTEM, user_ids=["carol"])
    channel_users_remove(channel=channel, actor=SYSTEM, user_ids=["carol"])
    # left: not shown as an invitee any more
    assert carol.pk not in [r.member_id for r in conversation_members(channel=channel)]


def test_a_flag_needs_membership(channel: Channel, org: Organization) -> None:
    carol = MemberFactory(organization=org, user_id="carol")
    code = code_of(conversation_flag_set, channel=channel, member=carol, flag="pinned")
    assert code == "not_a_member"


# --- visibility --------------------------------------------------------------------------------


def test_visibility_for_members_invitees_admins_and_others(
    alice: Member, bob: Member, admin: Member, org: Organization
) -> None:
    secret = conversation_create(member=alice, name="Secret", visibility="private")
    carol = MemberFactory(organization=org, user_id="carol")
    assert conversations_visible(member=bob) == []
    assert code_of(conversation_get, member=bob, channel_pk=secret.pk) == "channel_not_found"
    assert conversation_get(member=admin, channel_pk=secret.pk).pk == secret.pk
    assert conversations_visible(member=admin) == []
    conversation_members_invite(channel=secret, member=alice, targets=[carol])
    assert [c.pk for c in conversations_visible(member=carol)] == [secret.pk]


def test_a_chatroom_removed_by_the_chatroom_service_is_gone_here_too(
    org: Organization, alice: Member
) -> None:
    room = chatroom_create_custom(organization=org, actor=SYSTEM, name="Room", members=[alice])
    assert conversation_get(member=alice, channel_pk=room.pk).pk == room.pk
    chatroom_delete(channel=room, actor=SYSTEM)
    assert code_of(conversation_get, member=alice, channel_pk=room.pk) == "channel_not_found"


# --- delete, undelete, purge -------------------------------------------------------------------


def test_a_soft_deleted_channel_is_purged_by_the_sweep_once_its_time_has_passed(
    channel: Channel, alice: Member, bob: Member, org: Organization
) -> None:
    org.chatroom_deletion_grace_seconds = 60
    org.save(update_fields=["chatroom_deletion_grace_seconds"])
    post(channel, bob)
    conversation_state_set(channel=channel, member=alice, state="delete")
    assert channel_scheduled_deletions_claim() == []  # not due yet: kept for the grace
    Channel.objects.filter(pk=channel.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )
    assert channel_scheduled_deletions_claim() == [channel.pk]
    claimed = AuditEntry.objects.get(action="channel.delete.scheduled")
    assert claimed.after["messages"] == 1 and claimed.after["members"] == 2
    assert channel_scheduled_deletion_finish(channel_pk=channel.pk) is True
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Membership.objects.filter(channel_id=channel.pk).exists()
    assert not Message.objects.filter(channel_id=channel.pk).exists()


def test_undelete_is_refused_once_the_grace_has_passed(
    channel: Channel, alice: Member, org: Organization
) -> None:
    org.chatroom_deletion_grace_seconds = 60
    org.save(update_fields=["chatroom_deletion_grace_seconds"])
    conversation_state_set(channel=channel, member=alice, state="delete")
    deleted = conversation_get(member=alice, channel_pk=channel.pk, include_deleted=True)
    Channel.objects.filter(pk=channel.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )
    code = code_of(conversation_state_set, channel=deleted, member=alice, state="undelete")
    assert code == "channel_not_found"


def test_an_unknown_state_is_refused_by_the_service(channel: Channel, alice: Member) -> None:
    code = code_of(conversation_state_set, channel=channel, member=alice, state="purge")
    assert code == "invalid_parameter"


def test_the_current_members_ids_come_in_the_order_they_joined_in_a_list_and_by_id(
    org: Organization, alice: Member, bob: Member
) -> None:
    carol = MemberFactory(organization=org, user_id="carol")
    dave = MemberFactory(organization=org, user_id="dave")
    channel = conversation_create(member=alice, name="Order", visibility="private")
    empty = conversation_create(member=alice, name="Empty", visibility="public")
    Membership.objects.filter(channel=empty).update(joined_at=None)  # nobody current
    start = timezone.now()
    for minutes, member in ((3, bob), (1, carol), (2, dave)):  # not in pk order
        Membership.objects.create(
            organization=org,
            channel=channel,
            member=member,
            joined_at=start + timedelta(minutes=minutes),
        )
    Membership.objects.create(
        organization=org,
        channel=channel,
        member=MemberFactory(organization=org, user_id="invitee"),
        invited_at=start,
    )  # an invitee is not current
    expected = [alice.pk, carol.pk, dave.pk, bob.pk]
    rows = {row.pk: row for row in conversations_visible(member=alice)}
    assert rows[channel.pk].current_member_ids == expected
    assert rows[empty.pk].current_member_ids == []
    assert conversation_get(member=alice, channel_pk=channel.pk).current_member_ids == expected
    assert conversation_get(member=alice, channel_pk=empty.pk).current_member_ids == []
