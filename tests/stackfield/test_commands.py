"""Room settings and organization URLs: ``ArchiveRoom``, ``GrantRoomAccess``,
``RevokeRoomAccess`` (on the URL's channel or ``RoomId``), ``CreateUser``, ``RemoveUser``,
``DeactivateUser``, ``CreateRoom``. Each acts as the ``stackfield`` bot (the audit log
names it); each refusal is Stackfield's code and writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.members.services import member_deactivate, member_remove
from apps.organizations.models import Organization
from tests.builders import joined_user_ids
from tests.factories import ChannelFactory

from .conftest import call, ok, person, refused, written

pytestmark = pytest.mark.django_db

MakeUrl = Callable[..., str]
BOT = "member stackfield"  # the audit log's actor label of the URL's bot


@pytest.fixture
def admin(org: Organization) -> Member:
    """The organization's admin (so that removing others never removes the last one)."""
    return person(org, "admin@acme.test", Member.OrgRole.ADMIN)


@pytest.fixture
def room_url(make_url: MakeUrl, general: Channel) -> str:
    """A room settings URL of ``general`` (from its Integrations tab)."""
    return make_url("room-settings", channel=general)


@pytest.fixture
def org_url(make_url: MakeUrl) -> str:
    return make_url("organization")


def owners(channel: Channel) -> list[str]:
    return sorted(
        Membership.objects.filter(
            channel=channel, is_owner=True, joined_at__isnull=False
        ).values_list("member__user_id", flat=True)
    )


# --- ArchiveRoom -----------------------------------------------------------------------------


def test_archive_room_archives_the_urls_channel(
    room_url: str, org: Organization, general: Channel
) -> None:
    ok(call(room_url, {"Command": "ArchiveRoom"}))
    general.refresh_from_db()
    assert general.archived_at is not None
    entry = AuditEntry.objects.get(organization=org, action="channel.archive")
    assert entry.target_id == "general" and entry.actor_label == BOT


def test_archiving_an_archived_room_is_4079(
    room_url: str, org: Organization, general: Channel
) -> None:
    ok(call(room_url, {"Command": "ArchiveRoom"}))
    before = written(org)
    refused(call(room_url, {"Command": "ArchiveRoom", "again": True}), 409, 4079)
    assert written(org) == before


def test_archive_room_with_a_room_id_archives_that_room(org_url: str, org: Organization) -> None:
    room = ChannelFactory(organization=org, channel_id="project-x")
    ok(call(org_url, {"Command": "ArchiveRoom", "RoomId": "project-x"}))
    room.refresh_from_db()
    assert room.archived_at is not None


def test_archiving_a_closed_room_is_4036(org_url: str, org: Organization) -> None:
    ChannelFactory(organization=org, channel_id="closed", closed_at=timezone.now())
    before = written(org)
    refused(call(org_url, {"Command": "ArchiveRoom", "RoomId": "closed"}), 404, 4036)
    assert written(org) == before


# --- GrantRoomAccess / RevokeRoomAccess -------------------------------------------------------


def test_grant_room_access_takes_objects_and_plain_emails(
    room_url: str, org: Organization, general: Channel
) -> None:
    alice = person(org, "remtester@mail.de")
    bob = person(org, "bob@mail.de")
    users = [{"Email": "remtester@mail.de", "GroupId": 2, "IsAdmin": "true"}, "bob@mail.de"]
    ok(call(room_url, {"Command": "GrantRoomAccess", "Users": users}))
    assert {alice.user_id, bob.user_id} <= set(joined_user_ids(general))
    assert owners(general) == [alice.user_id]
    assert AuditEntry.objects.filter(action="channel.users.add", actor_label=BOT).exists()


def test_revoke_room_access_takes_plain_emails_and_objects(
    room_url: str, org: Organization, general: Channel
) -> None:
    alice = person(org, "remtester@mail.te")
    bob = person(org, "bob@mail.te")
    ok(
        call(
            room_url, {"Command": "GrantRoomAccess", "Users": ["remtester@mail.te", "bob@mail.te"]}
        )
    )
    ok(call(room_url, {"Command": "RevokeRoomAccess", "Users": ["remtester@mail.te"]}))
    ok(call(room_url, {"Command": "RevokeRoomAccess", "Users": [{"Email": "bob@mail.te"}]}))
    members = joined_user_ids(general)
    assert alice.user_id not in members and bob.user_id not in members


def test_a_deactivated_member_can_lose_access_but_not_be_given_it(
    room_url: str, org: Organization, admin: Member
) -> None:
    gone = person(org, "gone@mail.de")
    ok(call(room_url, {"Command": "GrantRoomAccess", "Users": ["gone@mail.de"]}))
    member_deactivate(actor=Actor.system(), member=gone)
    ok(call(room_url, {"Command": "RevokeRoomAccess", "Users": ["gone@mail.de"]}))
    before = written(org)
    again = {"Command": "GrantRoomAccess", "Users": [{"Email": "gone@mail.de"}]}
    refused(call(room_url, again), 403, 4076)
    assert written(org) == before


@pytest.mark.parametrize("command", ["GrantRoomAccess", "RevokeRoomAccess"])
@pytest.mark.parametrize("users", [None, []])
def test_room_access_without_users_is_4051(
    room_url: str, org: Organization, command: str, users: list | None
) -> None:
    body: dict = {"Command": command}
    if users is not None:
        body["Users"] = users
    before = written(org)
    refused(call(room_url, body), 400, 4051)
    assert written(org) == before


def test_granting_an_unknown_email_grants_nobody(
    room_url: str, org: Organization, general: Channel
) -> None:
    person(org, "known@mail.de")
    before = written(org)
    body = {"Command": "GrantRoomAccess", "Users": ["known@mail.de", "unknown@mail.de"]}
    refused(call(room_url, body), 404, 4061)
    assert written(org) == before


@pytest.mark.parametrize("command", ["GrantRoomAccess", "RevokeRoomAccess"])
def test_room_access_to_an_archived_room_is_4036(
    room_url: str, org: Organization, general: Channel, command: str
) -> None:
    person(org, "a@mail.de")
    Channel.objects.filter(pk=general.pk).update(archived_at=timezone.now())
    before = written(org)
    refused(call(room_url, {"Command": command, "Users": ["a@mail.de"]}), 403, 4036)
    assert written(org) == before


# --- which room ------------------------------------------------------------------------------


def test_a_bound_url_acts_on_no_other_room(room_url: str, org: Organization) -> None:
    ChannelFactory(organization=org, channel_id="other")
    before = written(org)
    refused(call(room_url, {"Command": "ArchiveRoom", "RoomId": "other"}), 404, 4035)
    assert written(org) == before


def test_a_bound_url_may_name_its_own_room(room_url: str, general: Channel) -> None:
    ok(call(room_url, {"Command": "ArchiveRoom", "RoomId": "general"}))


def test_an_unbound_room_url_needs_a_room_id(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("room-settings")
    before = written(org)
    refused(call(uuid, {"Command": "ArchiveRoom"}), 400, 4071)
    assert written(org) == before
    room = ChannelFactory(organization=org, channel_id="by-id")
    ok(call(uuid, {"Command": "ArchiveRoom", "RoomId": "by-id"}))
    room.refresh_from_db()
    assert room.archived_at is not None


@pytest.mark.parametrize("command", ["ArchiveRoom", "GrantRoomAccess", "RevokeRoomAccess"])
def test_an_organization_url_needs_a_room_id_for_room_commands(
    org_url: str, org: Organization, command: str
) -> None:
    person(org, "a@mail.de")
    before = written(org)
    refused(call(org_url, {"Command": command, "Users": ["a@mail.de"]}), 400, 4071)
    assert written(org) == before


def test_another_organizations_room_id_is_unknown(
    org_url: str, org: Organization, other_org: Organization
) -> None:
    theirs = ChannelFactory(organization=other_org, channel_id="theirs")
    before = written(org)
    refused(call(org_url, {"Command": "ArchiveRoom", "RoomId": "theirs"}), 404, 4035)
    assert written(org) == before
    theirs.refresh_from_db()
    assert theirs.archived_at is None


@pytest.mark.parametrize("room_id", [5, ["general"], {"id": "general"}, "x" * 200])
def test_a_room_id_that_is_no_id_is_4056(org_url: str, org: Organization, room_id: object) -> None:
    before = written(org)
    refused(call(org_url, {"Command": "ArchiveRoom", "RoomId": room_id}), 400, 4056)
    assert written(org) == before


# --- Command ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, "", "  "])
def test_a_missing_command_is_4070(org_url: str, org: Organization, command: str | None) -> None:
    body = {} if command is None else {"Command": command}
    before = written(org)
    refused(call(org_url, body), 400, 4070)
    assert written(org) == before


@pytest.mark.parametrize("command", ["DeleteEverything", 5, ["ArchiveRoom"]])
def test_an_unknown_command_is_4052(org_url: str, org: Organization, command: object) -> None:
    before = written(org)
    refused(call(org_url, {"Command": command}), 400, 4052)
    assert written(org) == before


def test_a_room_settings_url_takes_no_organization_command(
    room_url: str, org: Organization
) -> None:
    body = {"Command": "CreateUser", "Email": "a@b.de", "DisplayName": "A", "OrgRoleId": 2}
    before = written(org)
    refused(call(room_url, body), 400, 4052)
    assert written(org) == before


def test_commands_are_matched_whatever_their_case(room_url: str, general: Channel) -> None:
    ok(call(room_url, {"Command": "archiveroom"}))
    general.refresh_from_db()
    assert general.archived_at is not None


# --- CreateUser ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role_id", "role"),
    [(1, "admin"), (2, "member"), (3, "guest"), (4, "external"), ("2", "member")],
)
def test_create_user_makes_a_member_with_the_role(
    org_url: str, org: Organization, role_id: object, role: str
) -> None:
    body = {
        "Command": "CreateUser",
        "Email": "apiTester01@webhook.de",
        "DisplayName": "Api Tester01",
        "OrgRoleId": role_id,
    }
    ok(call(org_url, body))
    member = Member.objects.get(organization=org, account__email="apitester01@webhook.de")
    assert member.user_id == "apitester01@webhook.de"
    assert member.display_name == "Api Tester01" and member.org_role == role
    assert not member.is_inactive


def test_create_user_links_a_user_whose_user_id_is_the_email(
    org_url: str, org: Organization
) -> None:
    Member.objects.create(organization=org, user_id="linked@webhook.de")  # a plain row
    before = Member.objects.filter(organization=org).count()
    refused(
        call(
            org_url,
            {
                "Command": "CreateUser",
                "Email": "linked@webhook.de",
                "DisplayName": "L",
                "OrgRoleId": 2,
            },
        ),
        409,
        4080,
    )
    assert Member.objects.filter(organization=org).count() == before


def test_creating_a_member_twice_is_4080(org_url: str, org: Organization) -> None:
    body = {"Command": "CreateUser", "Email": "a@webhook.de", "DisplayName": "A", "OrgRoleId": 2}
    ok(call(org_url, body))
    before = written(org)
    refused(call(org_url, {**body, "DisplayName": "Again"}), 409, 4080)
    assert written(org) == before


def test_create_user_brings_a_removed_member_back(
    org_url: str, org: Organization, admin: Member
) -> None:
    alice = person(org, "alice@webhook.de")
    member_remove(actor=Actor.system(), member=alice)
    body = {
        "Command": "CreateUser",
        "Email": "alice@webhook.de",
        "DisplayName": "Al",
        "OrgRoleId": 3,
    }
    ok(call(org_url, body))
    alice.refresh_from_db()
    assert not alice.is_inactive
    assert alice.display_name == "Al" and alice.org_role == "guest"
    assert Member.objects.filter(organization=org, account__email="alice@webhook.de").count() == 1


@pytest.mark.parametrize("email", [None, "", "not-an-email", "a@", 5, "x" * 120 + "@webhook.de"])
def test_create_user_with_an_invalid_email_is_4060(
    org_url: str, org: Organization, email: object
) -> None:
    body = {"Command": "CreateUser", "DisplayName": "A", "OrgRoleId": 2}
    if email is not None:
        body["Email"] = email
    before = written(org)
    refused(call(org_url, body), 400, 4060)
    assert written(org) == before


@pytest.mark.parametrize("role_id", [0, 5, "admin", True, 1.5, None])
def test_create_user_with_a_bad_role_is_refused(
    org_url: str, org: Organization, role_id: object
) -> None:
    body = {"Command": "CreateUser", "Email": "a@webhook.de", "DisplayName": "A"}
    if role_id is not None:
        body["OrgRoleId"] = role_id
    before = written(org)
    refused(call(org_url, body), 400, 4031 if role_id is None else 4056)
    assert written(org) == before


def test_create_user_needs_a_display_name(org_url: str, org: Organization) -> None:
    before = written(org)
    body = {"Command": "CreateUser", "Email": "a@webhook.de", "OrgRoleId": 2}
    refused(call(org_url, body), 400, 4031)
    assert written(org) == before
    assert not Account.objects.filter(email="a@webhook.de").exists()


# --- RemoveUser / DeactivateUser -------------------------------------------------------------


def test_remove_user_removes_the_member_and_keeps_its_history(
    org_url: str, org: Organization, admin: Member
) -> None:
    alice = person(org, "apitester01@webhook.de")
    ok(call(org_url, {"Command": "RemoveUser", "Email": "apiTester01@webhook.de"}))
    alice.refresh_from_db()
    assert alice.removed_at is not None
    entry = AuditEntry.objects.get(organization=org, action="user.remove")
    assert entry.target_id == alice.user_id and entry.actor_label == BOT


def test_deactivate_user_deactivates_the_member(
    org_url: str, org: Organization, admin: Member
) -> None:
    alice = person(org, "apitester01@webhook.de")
    ok(call(org_url, {"Command": "DeactivateUser", "Email": "apiTester01@webhook.de"}))
    alice.refresh_from_db()
    assert alice.deactivated_at is not None and alice.removed_at is None


def test_deactivating_a_deactivated_member_is_4076(
    org_url: str, org: Organization, admin: Member
) -> None:
    person(org, "a@webhook.de")
    ok(call(org_url, {"Command": "DeactivateUser", "Email": "a@webhook.de"}))
    before = written(org)
    refused(call(org_url, {"Command": "DeactivateUser", "Email": "A@webhook.de"}), 409, 4076)
    assert written(org) == before


@pytest.mark.parametrize("command", ["RemoveUser", "DeactivateUser"])
def test_an_email_of_no_member_is_4075(
    org_url: str, org: Organization, other_org: Organization, command: str
) -> None:
    person(other_org, "elsewhere@globex.test")
    before = written(org)
    for email in ("nobody@webhook.de", "elsewhere@globex.test"):
        refused(call(org_url, {"Command": command, "Email": email}), 404, 4075)
    assert written(org) == before


@pytest.mark.parametrize("command", ["RemoveUser", "DeactivateUser"])
def test_a_removed_member_is_no_member(
    org_url: str, org: Organization, admin: Member, command: str
) -> None:
    gone = person(org, "gone@webhook.de")
    member_remove(actor=Actor.system(), member=gone)
    before = written(org)
    refused(call(org_url, {"Command": command, "Email": "gone@webhook.de"}), 404, 4075)
    assert written(org) == before


@pytest.mark.parametrize("command", ["RemoveUser", "DeactivateUser"])
def test_the_last_admin_stays_4077(org_url: str, org: Organization, command: str) -> None:
    person(org, "only-admin@webhook.de", Member.OrgRole.ADMIN)
    before = written(org)
    refused(call(org_url, {"Command": command, "Email": "only-admin@webhook.de"}), 409, 4077)
    assert written(org) == before


@pytest.mark.parametrize("command", ["RemoveUser", "DeactivateUser"])
def test_remove_and_deactivate_need_an_email(org_url: str, org: Organization, command: str) -> None:
    before = written(org)
    refused(call(org_url, {"Command": command}), 400, 4060)
    refused(call(org_url, {"Command": command, "Email": "no email"}), 400, 4060)
    assert written(org) == before


# --- CreateRoom ------------------------------------------------------------------------------


def test_create_room_makes_a_channel_and_answers_its_room_id(
    org_url: str, org: Organization
) -> None:
    alice = person(org, "remtester@mail.de")
    bob = person(org, "bob@mail.de")
    body = {
        "Command": "CreateRoom",
        "Name": "webhook room from template6",
        "Description": "neuer webhook room desc",
        "TemplateId": "03852566-669e-4991-9491-12",
        "Users": [{"Email": "remtester@mail.de", "GroupId": 2, "IsAdmin": "true"}, "bob@mail.de"],
    }
    answer = ok(call(org_url, body))
    room = Channel.objects.get(organization=org, channel_id=answer["RoomId"])
    assert set(answer) == {"Result", "RoomId"}
    assert room.display_name == "webhook room from template6"
    assert room.topic == "neuer webhook room desc"
    assert room.visibility == Channel.Visibility.PRIVATE
    assert joined_user_ids(room) == sorted([alice.user_id, bob.user_id])
    assert owners(room) == [alice.user_id]
    assert AuditEntry.objects.filter(action="conversation.create", actor_label=BOT).exists()


def test_the_room_id_of_create_room_works_in_the_room_commands(
    org_url: str, org: Organization
) -> None:
    person(org, "carol@mail.de")
    room_id = ok(call(org_url, {"Command": "CreateRoom", "Name": "R"}))["RoomId"]
    ok(call(org_url, {"Command": "GrantRoomAccess", "RoomId": room_id, "Users": ["carol@mail.de"]}))
    ok(call(org_url, {"Command": "ArchiveRoom", "RoomId": room_id}))
    room = Channel.objects.get(channel_id=room_id)
    assert room.archived_at is not None and joined_user_ids(room) == ["carol@mail.de"]


def test_create_room_with_one_unknown_user_creates_no_room(org_url: str, org: Organization) -> None:
    person(org, "known@mail.de")
    before = written(org)
    body = {"Command": "CreateRoom", "Name": "R", "Users": ["known@mail.de", "who@mail.de"]}
    refused(call(org_url, body), 404, 4061)
    assert written(org) == before


@pytest.mark.parametrize("name", [None, "", "  "])
def test_create_room_needs_a_name(org_url: str, org: Organization, name: str | None) -> None:
    body = {"Command": "CreateRoom"}
    if name is not None:
        body["Name"] = name
    before = written(org)
    refused(call(org_url, body), 400, 4031)
    assert written(org) == before


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "x" * 256},
        {"Name": "R", "Description": "x" * 1001},
        {"Name": 5},
        {"Name": "R", "Users": "a@b.de"},
    ],
)
def test_create_room_with_a_bad_property_is_4056(
    org_url: str, org: Organization, body: dict
) -> None:
    before = written(org)
    refused(call(org_url, {"Command": "CreateRoom", **body}), 400, 4056)
    assert written(org) == before
