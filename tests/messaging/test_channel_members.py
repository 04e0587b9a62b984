"""Messaging API: a channel's members and the caller's own flag (/channels/{channelID}/
flag, /members, /members/{userID}, /invite)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_users_ban
from apps.channels.services.conversations import conversation_create
from apps.events.models import Event
from apps.members.models import Member
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from tests.personas import SYSTEM, MessagingClient, make_member, session_client

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
def carol(org: Organization) -> Member:
    return make_member(org, user_id="carol")


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def row(channel: Channel, member: Member) -> Membership | None:
    return Membership.objects.filter(channel=channel, member=member).first()


def post(channel: Channel, author: Member) -> None:
    channel.refresh_from_db()
    message_create(
        organization=channel.organization,
        actor=SYSTEM,
        channel=channel,
        type="text",
        data={"text": "hello"},
        author=author,
    )


# --- flag --------------------------------------------------------------------------------------


def test_a_member_flags_a_channel_for_itself_only(
    as_bob: MessagingClient, as_alice: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(members=[bob])
    response = as_bob.put(f"{URL}{channel.pk}/flag", {"flag": "pinned"})
    assert response.status_code == 200
    assert response.json()["response"]["membershipFlag"] == "pinned"
    assert as_alice.get(f"{URL}{channel.pk}").json()["response"]["membershipFlag"] == ""
    assert as_bob.put(f"{URL}{channel.pk}/flag", {"flag": "ignored"}).status_code == 200
    assert row(channel, bob).flag == "ignored"
    cleared = as_bob.delete(f"{URL}{channel.pk}/flag")
    assert cleared.status_code == 200
    assert cleared.json() == {"success": {"message": "OK"}}
    assert row(channel, bob).flag == ""
    assert as_bob.delete(f"{URL}{channel.pk}/flag").status_code == 200  # idempotent


@pytest.mark.parametrize("flag", ["starred", "", None, 3])
def test_an_unknown_flag_is_400(
    as_alice: MessagingClient, make: Callable[..., Channel], flag: Any
) -> None:
    channel = make()
    response = as_alice.put(f"{URL}{channel.pk}/flag", {"flag": flag})
    assert response.status_code == 400
    assert error(response)["field"] == "flag"


def test_a_missing_flag_is_400(as_alice: MessagingClient, make: Callable[..., Channel]) -> None:
    channel = make()
    response = as_alice.put(f"{URL}{channel.pk}/flag", {})
    assert response.status_code == 400
    assert error(response)["code"] == "missing_parameter"


def test_a_non_member_cannot_flag_a_public_channel(
    as_bob: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make()
    for response in (
        as_bob.put(f"{URL}{channel.pk}/flag", {"flag": "hidden"}),
        as_bob.delete(f"{URL}{channel.pk}/flag"),
    ):
        assert response.status_code == 403
        assert error(response)["code"] == "not_a_member"


def test_flags_of_another_organizations_channel_are_404(
    as_outsider: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make()
    assert as_outsider.put(f"{URL}{channel.pk}/flag", {"flag": "pinned"}).status_code == 404
    assert as_outsider.delete(f"{URL}{channel.pk}/flag").status_code == 404


# --- members list ------------------------------------------------------------------------------


def test_the_members_list_has_owners_members_and_invitees(
    as_bob: MessagingClient,
    as_alice: MessagingClient,
    alice: Member,
    bob: Member,
    carol: Member,
    make: Callable[..., Channel],
) -> None:
    channel = make(type="private", members=[bob])
    as_alice.post(f"{URL}{channel.pk}/invite", {"userID": [str(carol.pk)]})
    response = as_bob.get(f"{URL}{channel.pk}/members")
    assert response.status_code == 200
    members = response.json()["response"]
    assert [(m["userID"], m["type"]) for m in members] == [
        (str(alice.pk), "owner"),
        (str(bob.pk), "member"),
        (str(carol.pk), "invitee"),
    ]
    assert all(m["createdAt"].endswith("Z") for m in members)


def test_a_banned_row_is_not_a_member(
    as_alice: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(members=[bob])
    channel_users_ban(channel=channel, actor=SYSTEM, user_ids=[bob.user_id])
    members = as_alice.get(f"{URL}{channel.pk}/members").json()["response"]
    assert [m["userID"] for m in members] == [str(channel.memberships.get(is_owner=True).member_id)]


def test_members_of_a_private_channel_are_404_to_a_non_member(
    as_bob: MessagingClient, as_outsider: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make(type="private")
    assert as_bob.get(f"{URL}{channel.pk}/members").status_code == 404
    assert as_outsider.get(f"{URL}{channel.pk}/members").status_code == 404


# --- join --------------------------------------------------------------------------------------


def test_a_member_joins_a_public_channel_with_nothing_unread(
    as_bob: MessagingClient, alice: Member, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make()
    post(channel, alice)
    post(channel, alice)
    response = as_bob.put(f"{URL}{channel.pk}/members/{bob.pk}")
    assert response.status_code == 200, response.content
    assert response.json()["response"]["userID"] == str(bob.pk)
    assert response.json()["response"]["type"] == "member"
    channel.refresh_from_db()
    assert channel.member_count == 2
    joined = row(channel, bob)
    assert joined.read_count == channel.message_count == 2
    assert joined.last_read_message_pk == channel.messages.order_by("-pk").first().pk
    body = as_bob.get(f"{URL}{channel.pk}").json()["response"]
    assert body["unread"]["count"] == 0
    assert body["unread"]["lastMessageID"] == body["lastMessageID"]
    assert AuditEntry.objects.get(action="channel.join").actor_label == "member bob"
    event = Event.objects.get(type="member.joined", payload__userIDs=[str(bob.pk)])
    assert event.payload["userIds"] == ["bob"]


def test_joining_twice_changes_nothing(
    as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make()
    as_bob.put(f"{URL}{channel.pk}/members/{bob.pk}")
    assert as_bob.put(f"{URL}{channel.pk}/members/{bob.pk}").status_code == 200
    assert AuditEntry.objects.filter(action="channel.join").count() == 1
    channel.refresh_from_db()
    assert channel.member_count == 2


def test_an_invited_member_joins_a_private_channel(
    as_alice: MessagingClient, as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(type="private")
    assert as_bob.put(f"{URL}{channel.pk}/members/{bob.pk}").status_code == 404
    invited = as_alice.post(f"{URL}{channel.pk}/invite", {"userID": [bob.pk]})
    assert invited.status_code == 200
    assert invited.json()["response"] == [
        {
            "userID": str(bob.pk),
            "type": "invitee",
            "createdAt": invited.json()["response"][0]["createdAt"],
        }
    ]
    assert as_bob.get(f"{URL}{channel.pk}").json()["response"]["canJoin"] is True
    assert as_bob.put(f"{URL}{channel.pk}/members/{bob.pk}").status_code == 200
    joined = row(channel, bob)
    assert joined.member_type == "member" and joined.invited_at is None


def test_adding_someone_else_needs_members_manage(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    bob: Member,
    carol: Member,
    make: Callable[..., Channel],
) -> None:
    channel = make(members=[bob])
    refused = as_bob.put(f"{URL}{channel.pk}/members/{carol.pk}")
    assert refused.status_code == 403
    assert error(refused)["code"] == "forbidden"
    assert row(channel, carol) is None
    added = as_alice.put(f"{URL}{channel.pk}/members/{carol.pk}")  # the owner may
    assert added.status_code == 200
    assert AuditEntry.objects.get(action="channel.members.add").after["userIDs"] == [str(carol.pk)]


def test_an_external_member_cannot_join_a_public_channel(
    org: Organization, make: Callable[..., Channel]
) -> None:
    channel = make()
    external = make_member(org, role=Member.OrgRole.EXTERNAL, user_id="ext")
    response = session_client(external).put(f"{URL}{channel.pk}/members/{external.pk}")
    assert response.status_code == 403


def test_a_banned_member_cannot_join_or_be_added_or_invited(
    as_alice: MessagingClient, as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make()
    channel_users_ban(channel=channel, actor=SYSTEM, user_ids=[bob.user_id])
    listed = as_bob.get(f"{URL}{channel.pk}").json()["response"]
    assert listed["canJoin"] is False
    for response in (
        as_bob.put(f"{URL}{channel.pk}/members/{bob.pk}"),
        as_alice.put(f"{URL}{channel.pk}/members/{bob.pk}"),
        as_alice.post(f"{URL}{channel.pk}/invite", {"userID": [bob.pk]}),
    ):
        assert response.status_code == 403
        assert error(response)["code"] == "user_banned"
    assert not row(channel, bob).is_member


def test_an_admin_may_enter_a_private_channel(
    as_admin: MessagingClient, org_admin: Member, make: Callable[..., Channel]
) -> None:
    channel = make(type="private")
    assert as_admin.put(f"{URL}{channel.pk}/members/{org_admin.pk}").status_code == 200


@pytest.mark.parametrize("user", ["999999", "99999999999999999999"])
def test_joining_an_unknown_user_is_404(
    as_alice: MessagingClient, make: Callable[..., Channel], user: str
) -> None:
    channel = make()
    response = as_alice.put(f"{URL}{channel.pk}/members/{user}")
    assert response.status_code == 404
    assert error(response)["code"] == "user_not_found"


def test_another_organizations_user_or_channel_is_404(
    as_alice: MessagingClient,
    as_outsider: MessagingClient,
    outsider: Member,
    make: Callable[..., Channel],
) -> None:
    channel = make()
    theirs = as_alice.put(f"{URL}{channel.pk}/members/{outsider.pk}")
    assert theirs.status_code == 404
    assert error(theirs)["code"] == "user_not_found"
    assert row(channel, outsider) is None
    assert as_outsider.put(f"{URL}{channel.pk}/members/{outsider.pk}").status_code == 404
    assert as_outsider.delete(f"{URL}{channel.pk}/members/{outsider.pk}").status_code == 404


def test_a_non_numeric_path_is_404(as_alice: MessagingClient, make: Callable[..., Channel]) -> None:
    channel = make()
    assert as_alice.put(f"{URL}{channel.pk}/members/bob").status_code == 404
    assert as_alice.put(f"{URL}abc/members/1").status_code == 404


# --- leave / remove ----------------------------------------------------------------------------


def test_a_member_leaves(
    as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(members=[bob])
    response = as_bob.delete(f"{URL}{channel.pk}/members/{bob.pk}")
    assert response.status_code == 200
    assert response.json() == {"success": {"message": "OK"}}
    channel.refresh_from_db()
    assert channel.member_count == 1
    assert not row(channel, bob).is_member
    assert AuditEntry.objects.get(action="channel.leave").actor_label == "member bob"
    assert Event.objects.get(type="member.left").payload["userIDs"] == [str(bob.pk)]
    # leaving again is a no-op
    assert as_bob.delete(f"{URL}{channel.pk}/members/{bob.pk}").status_code == 200
    assert AuditEntry.objects.filter(action="channel.leave").count() == 1


def test_removing_someone_else_needs_members_manage(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    alice: Member,
    bob: Member,
    carol: Member,
    make: Callable[..., Channel],
) -> None:
    channel = make(members=[bob, carol])
    refused = as_bob.delete(f"{URL}{channel.pk}/members/{carol.pk}")
    assert refused.status_code == 403
    assert row(channel, carol).is_member
    assert as_alice.delete(f"{URL}{channel.pk}/members/{carol.pk}").status_code == 200
    assert not row(channel, carol).is_member
    assert AuditEntry.objects.get(action="channel.members.remove").actor_label == "member alice"


def test_an_owner_who_leaves_is_no_longer_owner(
    as_alice: MessagingClient, alice: Member, make: Callable[..., Channel]
) -> None:
    channel = make()
    as_alice.delete(f"{URL}{channel.pk}/members/{alice.pk}")
    assert as_alice.put(f"{URL}{channel.pk}/members/{alice.pk}").status_code == 200
    assert row(channel, alice).member_type == "member"


def test_an_invitee_declines_by_leaving(
    as_alice: MessagingClient, as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make(type="private")
    as_alice.post(f"{URL}{channel.pk}/invite", {"userID": [bob.pk]})
    assert as_bob.delete(f"{URL}{channel.pk}/members/{bob.pk}").status_code == 200
    assert row(channel, bob).invited_at is None
    assert as_bob.get(f"{URL}{channel.pk}").status_code == 404


# --- invite ------------------------------------------------------------------------------------


def test_invite_makes_invitees_of_the_non_members(
    as_alice: MessagingClient, bob: Member, carol: Member, make: Callable[..., Channel]
) -> None:
    channel = make(type="private", members=[bob])
    response = as_alice.post(f"{URL}{channel.pk}/invite", {"userID": [str(bob.pk), carol.pk]})
    assert response.status_code == 200
    assert [(m["userID"], m["type"]) for m in response.json()["response"]] == [
        (str(bob.pk), "member"),
        (str(carol.pk), "invitee"),
    ]
    channel.refresh_from_db()
    assert channel.member_count == 2  # an invitee is not a member yet
    event = Event.objects.get(type="member.invited")
    assert event.payload["userIDs"] == [str(carol.pk)]
    assert AuditEntry.objects.get(action="channel.members.invite").actor_label == "member alice"


def test_invite_accepts_a_form_body(
    as_alice: MessagingClient, carol: Member, make: Callable[..., Channel]
) -> None:
    channel = make()
    response = as_alice.post(
        f"{URL}{channel.pk}/invite", {"userID": str(carol.pk)}, format="multipart"
    )
    assert response.status_code == 200
    assert row(channel, carol).member_type == "invitee"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_parameter"),
        ({"userID": []}, "invalid_parameter"),
        ({"userID": ["x"]}, "invalid_parameter"),
        ({"userID": [True]}, "invalid_parameter"),
        ({"userID": {"a": 1}}, "invalid_parameter"),
        ({"userID": [str(n) for n in range(1, 1002)]}, "invalid_parameter"),
    ],
)
def test_invite_refuses_bad_input(
    as_alice: MessagingClient, make: Callable[..., Channel], body: dict[str, Any], code: str
) -> None:
    channel = make()
    response = as_alice.post(f"{URL}{channel.pk}/invite", body)
    assert response.status_code == 400
    assert error(response)["code"] == code
    assert error(response)["field"].startswith("userID")


def test_invite_of_unknown_or_foreign_users_is_404_and_writes_nothing(
    as_alice: MessagingClient, outsider: Member, carol: Member, make: Callable[..., Channel]
) -> None:
    channel = make()
    for ids in ([carol.pk, outsider.pk], [carol.pk, 999999]):
        response = as_alice.post(f"{URL}{channel.pk}/invite", {"userID": ids})
        assert response.status_code == 404
        assert error(response)["code"] == "user_not_found"
    assert row(channel, carol) is None


def test_invite_needs_members_manage(
    as_bob: MessagingClient, bob: Member, carol: Member, make: Callable[..., Channel]
) -> None:
    channel = make(members=[bob])
    response = as_bob.post(f"{URL}{channel.pk}/invite", {"userID": [carol.pk]})
    assert response.status_code == 403
    assert row(channel, carol) is None


def test_invite_into_another_organizations_channel_is_404(
    as_outsider: MessagingClient, make: Callable[..., Channel], outsider: Member
) -> None:
    channel = make()
    response = as_outsider.post(f"{URL}{channel.pk}/invite", {"userID": [outsider.pk]})
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"
