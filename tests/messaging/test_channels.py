"""Messaging API channels: list, create, read, update (/api/messaging/channels/...).

State (delete, archive...) is in test_channels_state.py, membership and flags in
test_channel_members.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.conversations import (
    conversation_create,
    conversation_flag_set,
    conversation_members_invite,
    conversation_state_set,
)
from apps.events.models import Event
from apps.members.models import Member, Role
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from tests.factories import ChannelFactory
from tests.personas import SYSTEM, MessagingClient, make_member, session_client

URL = "/api/messaging/channels/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def make(alice: Member) -> Callable[..., Channel]:
    """A channel made through the service by ``by`` (alice unless given)."""

    def build(
        name: str = "General",
        *,
        type: str = "public",
        by: Member | None = None,
        members: Sequence[Member] = (),
        topic: str = "",
    ) -> Channel:
        return conversation_create(
            member=by or alice, name=name, topic=topic, visibility=type, members=list(members)
        )

    return build


def give_rule(
    org: Organization, member: Member, resource: str, operation: str, access: str
) -> None:
    """A role of its own for ``member`` with one rule."""
    role = Role.objects.create(organization=org, role_id=f"role-of-{member.user_id}")
    Rule.objects.create(
        organization=org, role=role, resource=resource, operation=operation, access=access
    )
    member.roles = [*member.roles, role.role_id]
    member.save(update_fields=["roles"])


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def post(channel: Channel, author: Member, text: str = "hello") -> None:
    message_create(
        organization=channel.organization,
        actor=SYSTEM,
        channel=channel,
        type="text",
        data={"text": text},
        author=author,
    )


# --- list --------------------------------------------------------------------------------------


def test_the_list_shows_public_channels_and_the_callers_own(
    as_bob: MessagingClient, make: Callable[..., Channel], alice: Member, bob: Member
) -> None:
    public = make("Lobby", type="public")
    secret = make("Secret", type="private")
    mine = make("Mine", type="private", members=[bob])
    group = make("", type="group", members=[bob])
    response = as_bob.get(URL)
    assert response.status_code == 200
    ids = [c["channelID"] for c in response.json()["response"]]
    assert str(public.pk) in ids and str(mine.pk) in ids and str(group.pk) in ids
    assert str(secret.pk) not in ids


def test_the_list_shows_a_private_channel_the_caller_is_invited_to(
    as_bob: MessagingClient, alice: Member, bob: Member, make: Callable[..., Channel]
) -> None:
    secret = make("Secret", type="private")
    assert as_alice_invites(alice, secret, bob).status_code == 200
    ids = [c["channelID"] for c in as_bob.get(URL).json()["response"]]
    assert ids == [str(secret.pk)]


def as_alice_invites(alice: Member, channel: Channel, who: Member) -> Any:
    return session_client(alice).post(f"{URL}{channel.pk}/invite", {"userID": [str(who.pk)]})


def test_the_list_leaves_out_closed_deleted_and_other_organizations_channels(
    as_alice: MessagingClient,
    alice: Member,
    make: Callable[..., Channel],
    other_org: Organization,
    outsider: Member,
) -> None:
    kept = make("Kept")
    deleted = make("Deleted")
    conversation_state_set(channel=deleted, member=alice, state="delete")
    Channel.objects.filter(pk=make("Closed").pk).update(closed_at=deleted.created_at)
    make("Theirs", by=outsider)
    ids = [c["channelID"] for c in as_alice.get(URL).json()["response"]]
    assert ids == [str(kept.pk)]


def test_the_list_does_not_show_an_admin_other_peoples_private_channels(
    as_admin: MessagingClient, make: Callable[..., Channel]
) -> None:
    make("Secret", type="private")
    assert as_admin.get(URL).json()["response"] == []


def test_query_filters_the_list_by_name(
    as_alice: MessagingClient, make: Callable[..., Channel]
) -> None:
    make("Marketing")
    wanted = make("Support desk")
    response = as_alice.get(URL, {"query": "SUPPORT"})
    assert [c["channelID"] for c in response.json()["response"]] == [str(wanted.pk)]
    assert as_alice.get(URL, {"query": "nothing-like-it"}).json()["response"] == []


def test_an_oversized_query_is_400(as_alice: MessagingClient) -> None:
    response = as_alice.get(URL, {"query": "x" * 256})
    assert response.status_code == 400
    assert error(response)["field"] == "query"


def test_a_deny_rule_on_read_hides_a_channel_from_the_list_and_by_id(
    as_bob: MessagingClient, bob: Member, make: Callable[..., Channel], org: Organization
) -> None:
    hidden = make("Hidden")
    give_rule(org, bob, f"messaging:channel:{hidden.pk}", "read", "deny")
    assert as_bob.get(URL).json()["response"] == []
    assert as_bob.get(f"{URL}{hidden.pk}").status_code == 404


def test_the_list_needs_a_session(anon: MessagingClient) -> None:
    assert anon.get(URL).status_code == 401


def test_the_list_renders_the_channel_shape(
    as_alice: MessagingClient, alice: Member, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make("General", topic="All things", members=[bob])
    post(channel, bob, "first")
    [item] = as_alice.get(URL).json()["response"]
    assert set(item) == {
        "channelID",
        "name",
        "topic",
        "type",
        "membershipFlag",
        "members",
        "unread",
        "lastMessageID",
        "canJoin",
        "canPart",
        "canObserve",
        "canSendMessages",
        "canDeleteMessages",
        "canChangeMembers",
        "canUpdate",
        "canArchive",
        "canDelete",
        "createdAt",
        "updatedAt",
        "archivedAt",
        "deletedAt",
    }
    newest = channel.messages.order_by("-pk").first()
    assert item["channelID"] == str(channel.pk)
    assert item["name"] == "General" and item["topic"] == "All things"
    assert item["type"] == "public" and item["membershipFlag"] == ""
    assert sorted(item["members"]) == sorted([str(alice.pk), str(bob.pk)])
    assert item["lastMessageID"] == str(newest.pk)
    assert item["unread"] == {"lastMessageID": None, "count": 1}
    # the owner may do everything an owner may; she is a member, so not join
    assert item["canJoin"] is False and item["canPart"] is True
    assert item["canUpdate"] is item["canArchive"] is item["canDelete"] is True
    assert item["canChangeMembers"] is item["canDeleteMessages"] is True
    assert item["canSendMessages"] is item["canObserve"] is True
    assert item["createdAt"].endswith("Z") and item["deletedAt"] is None


def test_a_non_member_sees_what_it_may_do_on_a_public_channel(
    as_bob: MessagingClient, make: Callable[..., Channel]
) -> None:
    make("Lobby")
    [item] = as_bob.get(URL).json()["response"]
    assert item["canJoin"] is True and item["canPart"] is False
    assert item["canSendMessages"] is False  # not a member: the posting rule says no
    assert item["canUpdate"] is item["canDelete"] is item["canChangeMembers"] is False
    assert item["unread"] == {"lastMessageID": None, "count": 0}


def test_the_list_renders_each_channel_as_reading_it_by_id_does(
    as_bob: MessagingClient,
    alice: Member,
    bob: Member,
    org: Organization,
    make: Callable[..., Channel],
) -> None:
    # The list reads values into light rows, a read by id reads the models: the same
    # rendering, abilities and posting rule must come out of both, whatever the standing.
    now = timezone.now()
    joined = make("Joined", topic="Ours", members=[bob])
    post(joined, alice)
    conversation_flag_set(channel=joined, member=bob, flag="pinned")
    make("Lobby")  # public, bob not in it: he may join
    invited = make("Invited", type="private")
    conversation_members_invite(channel=invited, member=alice, targets=[bob])
    archived = make("Archived", members=[bob])
    conversation_state_set(channel=archived, member=alice, state="archive")
    quiet = make("Quiet", members=[bob])
    Channel.objects.filter(pk=quiet.pk).update(muted_at=now)
    gagged = make("Gagged", members=[bob])
    Membership.objects.filter(channel=gagged, member=bob).update(muted_at=now)
    expired = make("Expired mute", members=[bob])
    Membership.objects.filter(channel=expired, member=bob).update(
        muted_at=now - timedelta(hours=2),
        mute_expires_at=now - timedelta(hours=1),
    )
    banned = make("Banned")  # public: listed, but he may neither join nor post
    Membership.objects.create(organization=org, channel=banned, member=bob, banned_at=now)
    make("Owned", by=bob, type="private", members=[alice])

    listed = as_bob.get(URL).json()["response"]
    assert len(listed) == 9
    for item in listed:
        assert as_bob.get(f"{URL}{item['channelID']}").json()["response"] == item
    by_name = {item["name"]: item for item in listed}
    assert by_name["Joined"]["membershipFlag"] == "pinned"
    assert by_name["Joined"]["unread"] == {"lastMessageID": None, "count": 1}
    assert by_name["Lobby"]["canJoin"] is True and by_name["Lobby"]["canSendMessages"] is False
    assert by_name["Invited"]["canJoin"] is True
    assert by_name["Invited"]["members"] == [str(alice.pk)]  # an invitee is not a member yet
    assert by_name["Archived"]["canSendMessages"] is by_name["Archived"]["canUpdate"] is False
    assert by_name["Quiet"]["canSendMessages"] is by_name["Gagged"]["canSendMessages"] is False
    assert by_name["Expired mute"]["canSendMessages"] is True
    assert by_name["Banned"]["canJoin"] is by_name["Banned"]["canSendMessages"] is False
    assert by_name["Owned"]["canDelete"] is True and by_name["Joined"]["canDelete"] is False


def test_the_list_runs_the_same_number_of_queries_for_5_and_50_channels(
    org: Organization, alice: Member, bob: Member, django_assert_num_queries: Any
) -> None:
    def add(count: int) -> None:
        for n in range(count):
            channel = conversation_create(
                member=alice,
                name=f"c{n}",
                visibility="public" if n % 2 else "private",
                members=[bob],
            )
            if n % 3 == 0:
                post(channel, alice)

    client = session_client(bob)
    add(5)
    client.get(URL)  # the session's first use is stamped once; the counts below follow it
    # Whatever authentication and the access check cost, plus 2 for the list itself:
    # the channels with the caller's rows in them (a join) and the newest message's id (a
    # subquery), then their current members. Nothing per channel (can() reads no row: the caller's
    # ownership comes with its rows).
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(URL).json()["response"]) == 5
    add(45)
    with django_assert_num_queries(len(five.captured_queries)):
        response = client.get(URL)
    assert len(response.json()["response"]) == 50


# --- create ------------------------------------------------------------------------------------


def test_create_makes_the_creator_owner_and_adds_the_members(
    as_alice: MessagingClient, alice: Member, bob: Member
) -> None:
    response = as_alice.post(
        URL, {"name": "Team", "topic": "Work", "type": "private", "members": [str(bob.pk)]}
    )
    assert response.status_code == 201
    body = response.json()["response"]
    channel = Channel.objects.get(pk=body["channelID"])
    assert (channel.display_name, channel.topic, channel.visibility) == ("Team", "Work", "private")
    assert channel.member_count == 2
    owner = Membership.objects.get(channel=channel, member=alice)
    assert owner.is_owner and owner.member_type == "owner"
    assert Membership.objects.get(channel=channel, member=bob).member_type == "member"
    assert sorted(body["members"]) == sorted([str(alice.pk), str(bob.pk)])
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"channel.create", "conversation.create"} <= actions
    assert AuditEntry.objects.get(action="conversation.create").actor_label == "member alice"
    assert Event.objects.filter(type="channel.created").exists()


def test_create_accepts_numbers_and_a_form_body(
    as_alice: MessagingClient, bob: Member, org: Organization
) -> None:
    carol = make_member(org, user_id="carol")
    response = as_alice.post(URL, {"name": "A", "type": "public", "members": [bob.pk, carol.pk]})
    assert response.status_code == 201
    assert len(response.json()["response"]["members"]) == 3
    form = as_alice.post(URL, {"name": "B", "members": str(bob.pk)}, format="multipart")
    assert form.status_code == 201, form.content
    assert form.json()["response"]["type"] == "private"  # the default type


def test_a_group_may_have_no_name(as_alice: MessagingClient, bob: Member) -> None:
    response = as_alice.post(URL, {"type": "group", "members": [str(bob.pk)]})
    assert response.status_code == 201
    assert response.json()["response"]["name"] == ""


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"type": "public"}, "missing_parameter", "name"),
        ({"name": "   ", "type": "private"}, "missing_parameter", "name"),
        ({"name": "x" * 256}, "invalid_parameter", "name"),
        ({"name": "ok", "topic": "t" * 1001}, "invalid_parameter", "topic"),
        ({"name": "ok", "type": "secret"}, "invalid_parameter", "type"),
        ({"name": 42}, "invalid_parameter", "name"),
        ({"name": "ok", "members": "not-a-list"}, "invalid_parameter", "members"),
        ({"name": "ok", "members": ["abc"]}, "invalid_parameter", "members"),
        ({"name": "ok", "members": ["0"]}, "invalid_parameter", "members"),
        (
            {"name": "ok", "members": [str(n) for n in range(1, 1003)]},
            "invalid_parameter",
            "members",
        ),
    ],
)
def test_create_refuses_bad_input(
    as_alice: MessagingClient, body: dict[str, Any], code: str, field: str
) -> None:
    response = as_alice.post(URL, body)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == code
    assert error(response)["field"].startswith(field)
    assert not Channel.objects.exists()


def test_create_accepts_the_longest_name_and_topic(as_alice: MessagingClient) -> None:
    response = as_alice.post(URL, {"name": "n" * 255, "topic": "t" * 1000})
    assert response.status_code == 201


def test_create_refuses_unknown_and_other_organizations_members_with_404(
    as_alice: MessagingClient, outsider: Member
) -> None:
    for ids in ([str(outsider.pk)], ["999999"]):
        response = as_alice.post(URL, {"name": "x", "members": ids})
        assert response.status_code == 404
        assert error(response) | {"message": ""} == {
            "message": "",
            "code": "user_not_found",
            "field": "members",
        }
    assert not Channel.objects.exists()


def test_create_needs_the_permission_of_the_type(org: Organization) -> None:
    guest = session_client(make_member(org, role=Member.OrgRole.GUEST, user_id="guest"))
    refused = guest.post(URL, {"name": "x", "type": "public"})
    assert refused.status_code == 403
    assert error(refused)["code"] == "forbidden"
    assert guest.post(URL, {"type": "group"}).status_code == 201  # guests may start groups


def test_a_rule_can_allow_a_guest_to_create_a_public_channel(org: Organization) -> None:
    guest = make_member(org, role=Member.OrgRole.GUEST, user_id="guest")
    give_rule(org, guest, "messaging", "channel.public.create", "allow")
    assert session_client(guest).post(URL, {"name": "x", "type": "public"}).status_code == 201


# --- read --------------------------------------------------------------------------------------


def test_read_answers_the_channel(
    as_bob: MessagingClient, make: Callable[..., Channel], bob: Member
) -> None:
    channel = make("Team", type="private", members=[bob])
    response = as_bob.get(f"{URL}{channel.pk}")
    assert response.status_code == 200
    assert response.json()["response"]["channelID"] == str(channel.pk)


def test_a_private_channel_is_404_to_a_non_member_but_not_to_an_admin(
    as_bob: MessagingClient, as_admin: MessagingClient, make: Callable[..., Channel]
) -> None:
    secret = make("Secret", type="private")
    response = as_bob.get(f"{URL}{secret.pk}")
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"
    assert error(response)["field"] == "channelID"
    assert as_admin.get(f"{URL}{secret.pk}").status_code == 200


@pytest.mark.parametrize("path", ["999999", "99999999999999999999", "0"])
def test_read_of_a_missing_channel_is_404(as_alice: MessagingClient, path: str) -> None:
    response = as_alice.get(f"{URL}{path}")
    assert response.status_code == 404
    assert error(response)["code"] in ("channel_not_found", "not_found")


def test_another_organizations_channel_is_404_like_a_missing_one(
    as_outsider: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make("Lobby", type="public")
    theirs = as_outsider.get(f"{URL}{channel.pk}")
    missing = as_outsider.get(f"{URL}{channel.pk + 1000}")
    assert theirs.status_code == missing.status_code == 404
    assert error(theirs)["code"] == error(missing)["code"] == "channel_not_found"


def test_a_channel_made_elsewhere_is_private_and_visible_to_its_members(
    as_alice: MessagingClient, as_bob: MessagingClient, org: Organization, alice: Member
) -> None:
    channel = ChannelFactory(organization=org)
    Membership.objects.create(
        organization=org, channel=channel, member=alice, joined_at=channel.created_at
    )
    assert as_alice.get(f"{URL}{channel.pk}").json()["response"]["type"] == "private"
    assert as_bob.get(f"{URL}{channel.pk}").status_code == 404


# --- update ------------------------------------------------------------------------------------


def test_the_owner_updates_name_topic_and_type(
    as_alice: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make("Old", type="private")
    response = as_alice.put(
        f"{URL}{channel.pk}", {"name": "New", "topic": "Fresh", "type": "public"}
    )
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert (body["name"], body["topic"], body["type"]) == ("New", "Fresh", "public")
    entry = AuditEntry.objects.get(action="channel.update")
    assert entry.before == {"name": "Old", "topic": "", "type": "private"}
    assert entry.after == {"name": "New", "topic": "Fresh", "type": "public"}
    assert entry.actor_label == "member alice"
    assert Event.objects.filter(type="channel.updated").count() == 1


def test_an_update_changes_only_what_is_given(
    as_alice: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make("Keep", topic="Old topic")
    response = as_alice.put(f"{URL}{channel.pk}", {"topic": "New topic"})
    assert response.json()["response"]["name"] == "Keep"
    assert as_alice.put(f"{URL}{channel.pk}", {}).status_code == 200
    assert AuditEntry.objects.filter(action="channel.update").count() == 1


def test_update_refuses_to_move_a_channel_to_another_organisation(
    as_alice: MessagingClient, make: Callable[..., Channel], other_org: Organization
) -> None:
    channel = make("Here")
    response = as_alice.put(f"{URL}{channel.pk}", {"name": "x", "organisationID": other_org.pk})
    assert response.status_code == 400
    assert error(response)["field"] == "organisationID"
    assert "organisation" in error(response)["message"]
    channel.refresh_from_db()
    assert channel.organization_id != other_org.pk and channel.display_name == "Here"
    # the Go zero value and the channel's own organisation change nothing
    for same in ("0", str(channel.organization_id)):
        assert as_alice.put(f"{URL}{channel.pk}", {"organisationID": same}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 256}, "name"),
        ({"name": ""}, "name"),
        ({"topic": "t" * 1001}, "topic"),
        ({"type": "hidden"}, "type"),
        ({"name": ["a"]}, "name"),
    ],
)
def test_update_refuses_bad_input(
    as_alice: MessagingClient, make: Callable[..., Channel], body: dict[str, Any], field: str
) -> None:
    channel = make("Same")
    response = as_alice.put(f"{URL}{channel.pk}", body)
    assert response.status_code == 400
    assert error(response)["field"] == field
    channel.refresh_from_db()
    assert channel.display_name == "Same"


def test_a_member_who_is_not_the_owner_may_not_update(
    as_bob: MessagingClient, bob: Member, make: Callable[..., Channel]
) -> None:
    channel = make("Team", members=[bob])
    response = as_bob.put(f"{URL}{channel.pk}", {"name": "Mine"})
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"


def test_an_admin_may_update_any_channel(
    as_admin: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make("Secret", type="private")
    assert as_admin.put(f"{URL}{channel.pk}", {"name": "Renamed"}).status_code == 200


def test_making_a_channel_public_needs_the_right_to_create_public_channels(
    org: Organization,
) -> None:
    guest = make_member(org, role=Member.OrgRole.GUEST, user_id="guest")
    group = conversation_create(member=guest, name="", visibility="group")
    response = session_client(guest).put(f"{URL}{group.pk}", {"type": "public"})
    assert response.status_code == 403


def test_update_of_another_organizations_channel_is_404(
    as_outsider: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make("Lobby")
    assert as_outsider.put(f"{URL}{channel.pk}", {"name": "pwned"}).status_code == 404
    channel.refresh_from_db()
    assert channel.display_name == "Lobby"


def test_update_of_a_private_channel_by_a_non_member_is_404(
    as_bob: MessagingClient, make: Callable[..., Channel]
) -> None:
    channel = make("Secret", type="private")
    assert as_bob.put(f"{URL}{channel.pk}", {"name": "x"}).status_code == 404


# --- the schema --------------------------------------------------------------------------------


def test_every_channels_route_is_in_the_openapi_schema(client: Any) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    expected = {
        "/api/messaging/channels/": {"get", "post"},
        "/api/messaging/channels/{channelID}": {"get", "put"},
        "/api/messaging/channels/{channelID}/state": {"put"},
        "/api/messaging/channels/{channelID}/flag": {"put", "delete"},
        "/api/messaging/channels/{channelID}/members": {"get"},
        "/api/messaging/channels/{channelID}/members/{userID}": {"put", "delete"},
        "/api/messaging/channels/{channelID}/invite": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
