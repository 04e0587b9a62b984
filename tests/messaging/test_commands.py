"""``GET /commands/`` and ``POST /channels/{channelID}/messages/command/{command}/exec``:
the original four post as the member through the posting rule and the content filter;
the moderation commands call the console's services as the member (audited so)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import (
    channel_create,
    channel_users_add,
    channel_users_mute,
)
from apps.channels.services.conversations import conversation_create, conversation_state_set
from apps.events.models import Event
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import MAX_TEXT_LENGTH
from apps.messaging.commands.builtin import SHRUG, TABLEFLIP, UNFLIP
from apps.messaging.commands.registry import (
    Invocation,
    Outcome,
    Param,
    provider_register,
    provider_unregister,
)
from apps.organizations.models import Organization
from apps.retention.services import channel_close
from tests.builders import blacklist
from tests.factories import RoleFactory
from tests.personas import SYSTEM, MessagingClient, make_member, session_client

pytestmark = pytest.mark.django_db

COMMANDS = "/api/messaging/commands/"
POSTING = ["me", "shrug", "tableflip", "unflip"]
MODERATION = ["ban", "mute", "topic", "unban", "unmute"]


def exec_url(channel: Channel | int, command: str) -> str:
    pk = channel.pk if isinstance(channel, Channel) else channel
    return f"/api/messaging/channels/{pk}/messages/command/{command}/exec"


def run(client: MessagingClient, channel: Channel | int, command: str, **body: object):
    return client.post(exec_url(channel, command), body, format="json")


def error_of(response) -> dict:
    return response.json()["error"]


def names(client: MessagingClient) -> list[str]:
    response = client.get(COMMANDS)
    assert response.status_code == 200
    return [c["name"] for c in response.json()["response"]]


def membership(channel: Channel, member: Member) -> Membership:
    return Membership.objects.get(channel=channel, member=member)


def audit(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("pk")


@pytest.fixture
def room(org: Organization, alice: Member, bob: Member, org_admin: Member) -> Channel:
    """A private channel of alice, bob and root (the org admin), made by the system."""
    return channel_create(
        organization=org, actor=SYSTEM, channel_id="room", user_ids=["alice", "bob", "root"]
    )


@pytest.fixture
def moderator(org: Organization) -> Member:
    """A plain member whose v2 role grants muting only."""
    RoleFactory(organization=org, role_id="mods", permissions=["members.mute"])
    return make_member(org, user_id="mod", roles=["mods"])


@pytest.fixture
def as_moderator(moderator: Member, room: Channel) -> MessagingClient:
    channel_users_add(channel=room, actor=SYSTEM, user_ids=[moderator.user_id])
    return session_client(moderator)


# --- GET /commands/ ------------------------------------------------------------------------


def test_a_member_lists_the_four_posting_commands_with_corteza_shape(
    as_alice: MessagingClient,
) -> None:
    response = as_alice.get(COMMANDS)
    assert response.status_code == 200
    commands = response.json()["response"]
    assert [c["name"] for c in commands] == sorted(POSTING)
    shrug = next(c for c in commands if c["name"] == "shrug")
    assert set(shrug) == {"name", "params", "description"}
    assert shrug["params"] == [{"name": "text", "type": "string", "required": False}]
    assert shrug["description"]


def test_an_admin_lists_the_moderation_commands_too(as_admin: MessagingClient) -> None:
    assert names(as_admin) == sorted(POSTING + MODERATION)


def test_the_moderation_commands_describe_their_params(as_admin: MessagingClient) -> None:
    commands = {c["name"]: c for c in as_admin.get(COMMANDS).json()["response"]}
    assert commands["mute"]["params"] == [
        {"name": "user", "type": "user", "required": True},
        {"name": "duration", "type": "duration", "required": False},
        {"name": "reason", "type": "string", "required": False},
    ]
    assert commands["topic"]["params"] == [{"name": "topic", "type": "string", "required": True}]


def test_a_role_permission_lists_exactly_what_it_allows(
    as_moderator: MessagingClient,
) -> None:
    assert names(as_moderator) == sorted([*POSTING, "mute", "unmute"])


def test_a_deny_rule_on_sending_hides_the_posting_commands(
    org: Organization, alice: Member
) -> None:
    from apps.permissions.services import role_rules_set

    role = RoleFactory(organization=org, role_id="readers")
    role_rules_set(
        actor=SYSTEM,
        role=role,
        rules=[{"resource": "messaging:channel:*", "operation": "message.send", "access": "deny"}],
    )
    Member.objects.filter(pk=alice.pk).update(roles=["readers"])
    alice.refresh_from_db()
    assert names(session_client(alice)) == []


def test_a_member_denied_the_messaging_api_gets_403_on_both_routes(
    org: Organization, alice: Member, room: Channel
) -> None:
    from apps.permissions.services import role_rules_set

    role = RoleFactory(organization=org, role_id="banned-from-api")
    role_rules_set(
        actor=SYSTEM,
        role=role,
        rules=[{"resource": "messaging", "operation": "access", "access": "deny"}],
    )
    Member.objects.filter(pk=alice.pk).update(roles=["banned-from-api"])
    client = session_client(Member.objects.get(pk=alice.pk))
    for response in (client.get(COMMANDS), run(client, room, "shrug", input="hi")):
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"
    assert not Message.objects.exists()


def test_listing_costs_two_queries(as_alice: MessagingClient, as_admin: MessagingClient) -> None:
    # The session (with its member, organization and account), and the organization's
    # outgoing webhooks (their commands: apps.messaging.webhooks.commands): a member without
    # roles has no rules to load, and "any channel" needs no ownership lookup.
    as_alice.get(COMMANDS)  # last_used_at is refreshed once a minute: not in the count
    as_admin.get(COMMANDS)
    for client in (as_alice, as_admin):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(COMMANDS).status_code == 200
        assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_listing_needs_a_session(anon: MessagingClient) -> None:
    response = anon.get(COMMANDS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


# --- the posting commands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("shrug", f"hi {SHRUG}"),
        ("tableflip", f"hi {TABLEFLIP}"),
        ("unflip", f"hi {UNFLIP}"),
        ("me", "_hi_"),
    ],
)
def test_a_posting_command_posts_as_the_member_and_answers_the_message(
    as_alice: MessagingClient, alice: Member, room: Channel, command: str, text: str
) -> None:
    response = run(as_alice, room, command, input="hi")
    assert response.status_code == 200, response.content
    message = response.json()["response"]
    assert message["message"] == text
    assert message["userID"] == str(alice.pk)
    assert message["channelID"] == str(room.pk)
    assert message["type"] == "text"
    assert message["canEdit"] is True
    row = Message.objects.get(pk=int(message["messageID"]))
    assert row.author == alice and row.data == {"text": text}
    event = Event.objects.get(type="message.created")
    assert event.payload["userId"] == "alice"
    room.refresh_from_db()
    assert room.message_count == 1


def test_the_shrug_keeps_its_arm_in_markdown(as_alice: MessagingClient, room: Channel) -> None:
    text = run(as_alice, room, "shrug").json()["response"]["message"]
    assert text == "¯\\\\_(ツ)_/¯"  # two backslashes: Markdown shows one


def test_a_command_without_input_posts_the_art_alone(
    as_alice: MessagingClient, room: Channel
) -> None:
    assert run(as_alice, room, "tableflip").json()["response"]["message"] == TABLEFLIP


def test_params_stand_for_the_input_when_there_is_none(
    as_alice: MessagingClient, room: Channel
) -> None:
    response = run(as_alice, room, "unflip", params=["all", "good", "good"])
    assert response.json()["response"]["message"] == f"all good good {UNFLIP}"


def test_a_form_body_works_too(as_alice: MessagingClient, room: Channel) -> None:
    response = as_alice.post(
        exec_url(room, "shrug"), "input=ok", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.json()["response"]["message"] == f"ok {SHRUG}"


def test_params_in_a_form_body_may_be_repeated_or_json_encoded(
    as_alice: MessagingClient, room: Channel
) -> None:
    form = "application/x-www-form-urlencoded"
    repeated = as_alice.post(exec_url(room, "shrug"), "params=a&params=b", content_type=form)
    assert repeated.json()["response"]["message"] == f"a b {SHRUG}"
    encoded = as_alice.post(exec_url(room, "shrug"), 'params=["c","d"]', content_type=form)
    assert encoded.json()["response"]["message"] == f"c d {SHRUG}"
    hostile = as_alice.post(exec_url(room, "shrug"), 'params=["x\\u0000"]', content_type=form)
    assert hostile.status_code == 400


def test_me_needs_a_text(as_alice: MessagingClient, room: Channel) -> None:
    response = run(as_alice, room, "me", input="   ")
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "missing_parameter",
        "field": "input",
        "message": error_of(response)["message"],
    }
    assert not Message.objects.exists()


def test_the_command_name_is_case_insensitive(as_alice: MessagingClient, room: Channel) -> None:
    assert run(as_alice, room, "SHRUG", input="x").status_code == 200


# --- moderation rules apply to posting commands ------------------------------------------------


def test_a_muted_members_shrug_is_refused_like_a_post(
    as_alice: MessagingClient, room: Channel
) -> None:
    channel_users_mute(channel=room, actor=SYSTEM, user_ids=["alice"], mute_period=-1)
    response = run(as_alice, room, "shrug", input="hi")
    assert response.status_code == 403
    assert error_of(response)["code"] == "user_muted"
    assert not Message.objects.exists()


def test_a_muted_channel_refuses_a_member_but_not_an_admin(
    as_alice: MessagingClient, as_admin: MessagingClient, room: Channel
) -> None:
    Channel.objects.filter(pk=room.pk).update(muted_at=timezone.now())
    assert error_of(run(as_alice, room, "shrug"))["code"] == "channel_muted"
    assert run(as_admin, room, "shrug").status_code == 200


def test_the_content_filter_applies(as_alice: MessagingClient, room: Channel, org) -> None:
    blacklist(org, "darn")
    response = run(as_alice, room, "shrug", input="darn it")
    assert response.status_code == 400
    assert error_of(response)["code"] == "blacklisted_content"
    assert not Message.objects.exists()


def test_an_archived_channel_refuses_posting_commands(
    as_alice: MessagingClient, org_admin: Member, room: Channel
) -> None:
    conversation_state_set(channel=room, member=org_admin, state="archive")
    response = run(as_alice, room, "shrug")
    assert response.status_code == 403
    assert error_of(response)["code"] == "channel_archived"


def test_a_non_member_of_a_public_channel_cannot_post_by_command(
    org: Organization, alice: Member, bob: Member
) -> None:
    public = conversation_create(member=alice, name="lobby", visibility="public")
    response = run(session_client(bob), public, "shrug")
    assert response.status_code == 403
    assert error_of(response)["code"] == "not_a_member"


# --- input limits ----------------------------------------------------------------------------


def test_an_oversized_input_is_refused(as_alice: MessagingClient, room: Channel) -> None:
    response = run(as_alice, room, "shrug", input="x" * (MAX_TEXT_LENGTH + 1))
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_parameter"
    assert error_of(response)["field"] == "input"
    assert not Message.objects.exists()


def test_an_input_that_the_art_makes_too_long_is_refused_on_input(
    as_alice: MessagingClient, room: Channel
) -> None:
    response = run(as_alice, room, "shrug", input="x" * MAX_TEXT_LENGTH)
    assert response.status_code == 400
    assert error_of(response)["field"] == "input"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": 42}, "input"),
        ({"input": ["a"]}, "input"),
        ({"params": "a"}, "params"),
        ({"params": [1]}, "params"),
        ({"params": ["x"] * 51}, "params"),
        ({"params": ["x" * 1001]}, "params"),
    ],
)
def test_malformed_input_or_params_are_400(
    as_alice: MessagingClient, room: Channel, body: dict, field: str
) -> None:
    response = as_alice.post(exec_url(room, "shrug"), body, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_parameter"
    assert error_of(response)["field"] == field
    assert not Message.objects.exists()


def test_a_malformed_json_body_is_400(as_alice: MessagingClient, room: Channel) -> None:
    response = as_alice.post(exec_url(room, "shrug"), "{", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_body"


# --- unknown commands and channels ------------------------------------------------------------


@pytest.mark.parametrize("command", ["nope", "x" * 65, "mute.extra"])
def test_a_command_no_one_defines_is_404(
    as_alice: MessagingClient, room: Channel, command: str
) -> None:
    response = run(as_alice, room, command, input="hi")
    assert response.status_code == 404
    assert error_of(response)["code"] == "command_not_found"


def test_another_organizations_channel_is_404_like_a_missing_one(
    as_outsider: MessagingClient, room: Channel
) -> None:
    theirs = run(as_outsider, room, "shrug", input="hi")
    missing = run(as_outsider, room.pk + 1000, "shrug", input="hi")
    assert theirs.status_code == missing.status_code == 404
    assert error_of(theirs) == error_of(missing) | {"message": error_of(theirs)["message"]}
    assert error_of(theirs)["code"] == "channel_not_found"
    assert not Message.objects.exists()


def test_another_organizations_admin_cannot_moderate_here(
    other_org: Organization, room: Channel, bob: Member
) -> None:
    their_admin = make_member(other_org, role=Member.OrgRole.ADMIN, user_id="boss")
    response = run(session_client(their_admin), room, "mute", input="@bob")
    assert response.status_code == 404
    assert not membership(room, bob).is_muted()


@pytest.mark.parametrize("pk", [0, 2**63, 10**30])
def test_an_out_of_range_channel_id_is_404(as_alice: MessagingClient, pk: int) -> None:
    response = run(as_alice, pk, "shrug")
    assert response.status_code == 404


def test_a_private_channel_of_others_is_404(org: Organization, room: Channel) -> None:
    stranger = make_member(org, user_id="stranger")
    response = run(session_client(stranger), room, "shrug")
    assert response.status_code == 404
    assert error_of(response)["code"] == "channel_not_found"


def test_a_closed_channel_is_404(as_alice: MessagingClient, room: Channel) -> None:
    channel_close(channel=room, actor=SYSTEM, reason="")
    assert run(as_alice, room, "shrug").status_code == 404


# --- moderation commands ---------------------------------------------------------------------


def test_an_admin_mutes_a_member_for_a_time_with_a_reason(
    as_admin: MessagingClient,
    org_admin: Member,
    as_bob: MessagingClient,
    bob: Member,
    room: Channel,
) -> None:
    response = run(as_admin, room, "mute", input="@bob 10m flooding the room")
    assert response.status_code == 200, response.content
    assert response.json() == {"success": {"message": "OK"}}
    row = membership(room, bob)
    assert row.is_muted()
    left = row.mute_expires_at - timezone.now()
    assert timedelta(minutes=9) < left <= timedelta(minutes=10)
    entry = audit("channel.users.mute")
    assert entry.actor_label == "member root"
    assert entry.actor_account is None and entry.actor_token is None
    assert entry.reason == "flooding the room"
    assert entry.after["userIds"] == ["bob"]
    assert Event.objects.filter(type="user.muted").exists()
    assert error_of(run(as_bob, room, "shrug"))["code"] == "user_muted"


def test_mute_takes_the_numeric_user_id_and_no_duration_means_until_unmuted(
    as_admin: MessagingClient, bob: Member, room: Channel
) -> None:
    assert run(as_admin, room, "mute", input=f"@{bob.pk}").status_code == 200
    row = membership(room, bob)
    assert row.is_muted() and row.mute_expires_at is None
    assert audit("channel.users.mute").reason == ""


def test_mute_takes_params_instead_of_input(
    as_admin: MessagingClient, bob: Member, room: Channel
) -> None:
    response = run(as_admin, room, "mute", params=["bob", "30s", "calm down"])
    assert response.status_code == 200
    left = membership(room, bob).mute_expires_at - timezone.now()
    assert timedelta(seconds=20) < left <= timedelta(seconds=30)
    assert audit("channel.users.mute").reason == "calm down"


def test_a_user_id_made_of_digits_is_found_when_no_member_has_that_numeric_id(
    as_admin: MessagingClient, org: Organization, room: Channel
) -> None:
    digits = make_member(org, user_id="987654321")
    assert run(as_admin, room, "mute", input="@987654321 1h").status_code == 200
    assert Membership.objects.get(channel=room, member=digits).is_muted()


@pytest.mark.parametrize(
    "text",
    ["@bob 0m", "@bob 10", "@bob 10x", "@bob 99999w", "@bob 3651d", "@bob 1m " + "r" * 1001],
)
def test_mute_refuses_a_bad_duration_or_reason(
    as_admin: MessagingClient, bob: Member, room: Channel, text: str
) -> None:
    response = run(as_admin, room, "mute", input=text)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_parameter"
    assert error_of(response)["field"] == "input"
    assert not membership(room, bob).is_muted()
    assert not AuditEntry.objects.filter(action="channel.users.mute").exists()


def test_mute_needs_a_target(as_admin: MessagingClient, room: Channel) -> None:
    response = run(as_admin, room, "mute")
    assert response.status_code == 400
    assert error_of(response)["code"] == "missing_parameter"


def test_mute_of_an_unknown_user_is_404_and_provisions_no_one(
    as_admin: MessagingClient, room: Channel
) -> None:
    before = Member.objects.count()
    response = run(as_admin, room, "mute", input="@ghost 10m")
    assert response.status_code == 404
    assert error_of(response)["code"] == "user_not_found"
    assert Member.objects.count() == before


def test_mute_of_another_organizations_user_is_404(
    as_admin: MessagingClient, outsider: Member, room: Channel
) -> None:
    for word in (f"@{outsider.pk}", "@mallory"):
        response = run(as_admin, room, "mute", input=word)
        assert response.status_code == 404
        assert error_of(response)["code"] == "user_not_found"
    assert not Membership.objects.filter(member=outsider).exists()


def test_unmute_lifts_the_mute(
    as_admin: MessagingClient, as_bob: MessagingClient, bob: Member, room: Channel
) -> None:
    run(as_admin, room, "mute", input="@bob")
    response = run(as_admin, room, "unmute", input="@bob served")
    assert response.json() == {"success": {"message": "OK"}}
    assert not membership(room, bob).is_muted()
    entry = audit("channel.users.unmute")
    assert entry.actor_label == "member root" and entry.reason == "served"
    assert run(as_bob, room, "shrug").status_code == 200


def test_an_admin_bans_a_member_from_the_channel(
    as_admin: MessagingClient, bob: Member, room: Channel
) -> None:
    response = run(as_admin, room, "ban", input="@bob 1d spam links")
    assert response.json() == {"success": {"message": "OK"}}
    row = membership(room, bob)
    assert row.is_banned(timezone.now()) and row.joined_at is None
    assert timedelta(hours=23) < row.ban_expires_at - timezone.now() <= timedelta(days=1)
    entry = audit("channel.users.ban")
    assert entry.actor_label == "member root" and entry.reason == "spam links"
    assert Event.objects.filter(type="member.banned").exists()


def test_ban_without_duration_is_until_unbanned_and_unban_lifts_it(
    as_admin: MessagingClient, bob: Member, room: Channel
) -> None:
    run(as_admin, room, "ban", params=["@bob"])
    assert membership(room, bob).is_banned(timezone.now())
    assert membership(room, bob).ban_expires_at is None
    response = run(as_admin, room, "unban", input="@bob")
    assert response.json() == {"success": {"message": "OK"}}
    assert not membership(room, bob).is_banned(timezone.now())
    assert audit("channel.users.unban").actor_label == "member root"


def test_a_banned_member_can_no_longer_post_by_command(
    org: Organization, org_admin: Member, alice: Member, bob: Member
) -> None:
    lobby = conversation_create(member=alice, name="lobby", visibility="public", members=[bob])
    run(session_client(org_admin), lobby, "ban", input="@bob")
    response = run(session_client(bob), lobby, "shrug")
    assert response.status_code == 403
    assert error_of(response)["code"] == "user_banned"


def test_an_admin_sets_the_topic(
    as_admin: MessagingClient, room: Channel, org_admin: Member
) -> None:
    response = run(as_admin, room, "topic", input="  Release day  ")
    assert response.json() == {"success": {"message": "OK"}}
    room.refresh_from_db()
    assert room.topic == "Release day"
    entry = audit("channel.update")
    assert entry.actor_label == "member root"
    assert entry.after["topic"] == "Release day"


def test_a_channels_owner_may_set_its_topic(org: Organization, alice: Member, bob: Member) -> None:
    mine = conversation_create(member=alice, name="mine", members=[bob])
    assert run(session_client(alice), mine, "topic", input="ours").status_code == 200
    mine.refresh_from_db()
    assert mine.topic == "ours"
    response = run(session_client(bob), mine, "topic", input="theirs")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_topic_needs_a_text_and_refuses_an_oversized_one(
    as_admin: MessagingClient, room: Channel
) -> None:
    assert error_of(run(as_admin, room, "topic"))["code"] == "missing_parameter"
    response = run(as_admin, room, "topic", input="t" * 1001)
    assert response.status_code == 400
    assert error_of(response)["field"] == "input"


def test_topic_on_an_archived_channel_is_refused(
    as_admin: MessagingClient, org_admin: Member, room: Channel
) -> None:
    conversation_state_set(channel=room, member=org_admin, state="archive")
    response = run(as_admin, room, "topic", input="new")
    assert response.status_code == 403
    assert error_of(response)["code"] == "channel_archived"


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("mute", "@bob 10m"),
        ("unmute", "@bob"),
        ("ban", "@bob"),
        ("unban", "@bob"),
        ("topic", "mine now"),
    ],
)
def test_a_plain_member_may_not_run_a_moderation_command(
    as_alice: MessagingClient, bob: Member, room: Channel, command: str, text: str
) -> None:
    response = run(as_alice, room, command, input=text)
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert not membership(room, bob).is_muted()
    assert not membership(room, bob).is_banned(timezone.now())
    room.refresh_from_db()
    assert room.topic == ""
    assert not AuditEntry.objects.filter(action__startswith="channel.users").exists()


def test_a_role_permission_allows_exactly_its_commands(
    as_moderator: MessagingClient, bob: Member, room: Channel
) -> None:
    assert run(as_moderator, room, "mute", input="@bob 5m").status_code == 200
    assert audit("channel.users.mute").actor_label == "member mod"
    response = run(as_moderator, room, "ban", input="@bob")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_a_moderation_command_on_a_channel_closed_meanwhile_writes_nothing(
    as_admin: MessagingClient, bob: Member, room: Channel
) -> None:
    Channel.objects.filter(pk=room.pk).update(closed_at=timezone.now())
    assert run(as_admin, room, "mute", input="@bob").status_code == 404
    assert not AuditEntry.objects.filter(action="channel.users.mute").exists()


# --- extensibility (the integrations issue's outgoing-webhook commands) ------------------------


class _Echo:
    name = "echo"
    description = "Echoes"
    params = (Param("text"),)

    def allowed(self, member: Member, channel: Channel | None) -> bool:
        return True

    def run(self, invocation: Invocation) -> Outcome:
        return Outcome()


class _FakeShrug(_Echo):
    name = "shrug"


def test_an_organizations_own_commands_are_listed_and_run(
    as_alice: MessagingClient, as_outsider: MessagingClient, room: Channel, org: Organization
) -> None:
    def provider(organization: Organization) -> dict:
        return {"echo": _Echo(), "shrug": _FakeShrug()} if organization == org else {}

    provider_register(provider)
    try:
        assert "echo" in names(as_alice)
        assert "echo" not in names(as_outsider)
        assert run(as_alice, room, "echo").json() == {"success": {"message": "OK"}}
        # a built-in cannot be shadowed
        assert run(as_alice, room, "shrug").json()["response"]["message"] == SHRUG
    finally:
        provider_unregister(provider)
    assert run(as_alice, room, "echo").status_code == 404


def test_both_routes_are_in_the_openapi_schema(client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert paths["/api/messaging/commands/"]["get"]["operationId"] == "messaging_commands_list"
    exec_path = "/api/messaging/channels/{channelID}/messages/command/{command}/exec"
    assert paths[exec_path]["post"]["operationId"] == "messaging_commands_exec"
