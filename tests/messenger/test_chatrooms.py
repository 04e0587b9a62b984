"""Chatrooms through /api/messenger/ with both token kinds: read, list, create, update,
delete, the default chatroom and the chatroom of an event."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.calendar_events.services import calendar_event_create
from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.messages.models import Message
from tests.after_commit import queries_after_commit
from tests.builders import make_chatroom
from tests.personas import BASE, make_member, personal_client

FIELDS = {
    "assignedUsers",
    "avatarURL",
    "eventID",
    "id",
    "name",
    "organizationID",
    "scheduledDeletion",
    "type",
}


def assigned(channel: Channel) -> list[int]:
    return sorted(
        Membership.objects.filter(channel=channel, joined_at__isnull=False).values_list(
            "member_id", flat=True
        )
    )


# --- get --------------------------------------------------------------------------------


def test_it_returns_a_chatroom_with_exactly_the_document_s_fields(org, api_token, room, member):
    response = api_token.get(f"{BASE}/chatrooms/{room.pk}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body == {
        "assignedUsers": [member.pk],
        "avatarURL": None,
        "eventID": None,
        "id": room.pk,
        "name": "Team",
        "organizationID": org.pk,
        "scheduledDeletion": None,
        "type": "custom",
    }


def test_a_member_reads_a_chatroom_assigned_to_them(member_pat, room) -> None:
    response = member_pat.get(f"{BASE}/chatrooms/{room.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == room.pk


def test_a_member_does_not_see_a_chatroom_not_assigned_to_them(org, member_pat) -> None:
    hidden = make_chatroom(org, "Board")

    response = member_pat.get(f"{BASE}/chatrooms/{hidden.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "chatroom_not_found"


def test_an_admin_reads_any_chatroom_of_their_organization(org, admin_pat) -> None:
    other = make_chatroom(org, "Board")

    response = admin_pat.get(f"{BASE}/chatrooms/{other.pk}")

    assert response.status_code == 200


def test_another_organization_s_chatroom_is_a_404_for_both_token_kinds(
    room, other_api_token, outsider_pat
) -> None:
    for client in (other_api_token, outsider_pat):
        response = client.get(f"{BASE}/chatrooms/{room.pk}")
        assert response.status_code == 404
        assert response.json()["code"] == "chatroom_not_found"


def test_unknown_and_huge_room_ids_are_404(api_token) -> None:
    for room_id in ("999999", str(2**63), str(10**30)):
        response = api_token.get(f"{BASE}/chatrooms/{room_id}")
        assert response.status_code == 404, room_id


def test_a_standard_v2_channel_is_not_a_chatroom(org, api_token) -> None:
    from tests.factories import ChannelFactory

    channel = ChannelFactory(organization=org)

    assert api_token.get(f"{BASE}/chatrooms/{channel.pk}").status_code == 404


# --- list -------------------------------------------------------------------------------


def test_an_api_token_lists_its_organization_s_chatrooms(org, other_org, api_token) -> None:
    rooms = [make_chatroom(org, f"R{i}") for i in range(3)]
    make_chatroom(other_org, "Theirs")

    for url in (f"{BASE}/chatrooms?organization_id={org.pk}",):
        response = api_token.get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 3
        assert [e["id"] for e in body["entries"]] == [r.pk for r in rooms]
        assert all(set(e) == FIELDS for e in body["entries"])


def test_an_api_token_listing_another_organization_is_a_404(other_org, api_token) -> None:
    response = api_token.get(f"{BASE}/chatrooms?organization_id={other_org.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "organization_not_found"
    unknown = api_token.get(f"{BASE}/chatrooms?organization_id=987654")
    assert unknown.status_code == 404
    assert {k: v for k, v in unknown.json().items() if k != "message"} == {
        k: v for k, v in response.json().items() if k != "message"
    }


def test_a_member_lists_only_the_chatrooms_assigned_to_them(org, member, member_pat) -> None:
    mine = make_chatroom(org, "Mine", [member])
    make_chatroom(org, "Not mine")

    response = member_pat.get(f"{BASE}/chatrooms?organization_id={org.pk}")

    assert response.json() == {
        "entries": [response.json()["entries"][0]],
        "total": 1,
    }
    assert response.json()["entries"][0]["id"] == mine.pk


def test_an_admin_lists_all_chatrooms_of_their_organization(org, admin_pat) -> None:
    make_chatroom(org, "A")
    make_chatroom(org, "B")

    response = admin_pat.get(f"{BASE}/chatrooms?organization_id={org.pk}")

    assert response.json()["total"] == 2


def test_without_organization_id_a_personal_token_lists_its_chatrooms_across_organizations(
    org, other_org, member, member_pat
) -> None:
    there = make_member(other_org, user_id="bob-globex", account=member.account)
    here = make_chatroom(org, "Here", [member])
    away = make_chatroom(other_org, "Away", [there])
    make_chatroom(org, "Not assigned")
    make_chatroom(other_org, "Not assigned either")

    response = member_pat.get(f"{BASE}/chatrooms")

    body = response.json()
    assert body["total"] == 2
    assert [(e["id"], e["organizationID"]) for e in body["entries"]] == [
        (here.pk, org.pk),
        (away.pk, other_org.pk),
    ]


def test_without_organization_id_an_admin_lists_only_assigned_chatrooms(
    org, admin, admin_pat
) -> None:
    make_chatroom(org, "Not assigned")
    mine = make_chatroom(org, "Mine", [admin])

    body = admin_pat.get(f"{BASE}/chatrooms").json()

    assert [e["id"] for e in body["entries"]] == [mine.pk]


def test_a_personal_token_listing_an_organization_without_its_member_is_a_404(
    other_org, member_pat
) -> None:
    response = member_pat.get(f"{BASE}/chatrooms?organization_id={other_org.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "organization_not_found"


def test_the_list_paginates_with_limit_and_offset_and_counts_everything(org, api_token):
    rooms = [make_chatroom(org, f"R{i}") for i in range(13)]

    first = api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}").json()
    second = api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}&limit=5&offset=10").json()
    beyond = api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}&limit=5&offset=100").json()
    everything = api_token.get(
        f"{BASE}/chatrooms?organization_id={org.pk}&all=true&limit=1&offset=3"
    ).json()

    assert first["total"] == 13 and len(first["entries"]) == 10  # default limit 10
    assert [e["id"] for e in second["entries"]] == [r.pk for r in rooms[10:]]
    assert second["total"] == 13
    assert beyond == {"entries": [], "total": 13}
    assert len(everything["entries"]) == 13 and everything["total"] == 13


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=51", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("all=maybe", "all"),
        ("organization_id=abc", "organization_id"),
        ("organization_id=0", "organization_id"),
    ],
)
def test_the_list_refuses_out_of_range_parameters(org, api_token, query, field) -> None:
    response = api_token.get(f"{BASE}/chatrooms?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["field"] == field


def test_the_list_accepts_the_bounds_of_limit(org, api_token) -> None:
    assert api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}&limit=1").status_code == 200
    assert (
        api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}&limit=50&offset=0").status_code
        == 200
    )
    assert (
        api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}&all=1&limit=500").status_code
        == 200
    )


def test_an_api_token_cannot_list_my_chatrooms_without_organization_id(org, api_token):
    # "listing my chatrooms" needs a user; an API-TOKEN acts for an organization only
    # (the document: "Requests regarding users will fail").
    make_chatroom(org, "A")

    response = api_token.get(f"{BASE}/chatrooms")

    assert response.status_code == 400
    assert response.json()["code"] == "user_context_required"
    assert api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}").json()["total"] == 1


def _list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("all_", [False, True])
def test_the_list_costs_the_same_number_of_queries_for_1_and_30_chatrooms(
    org, member, member_pat, api_token, all_
) -> None:
    suffix = "&all=true" if all_ else "&limit=50"
    make_chatroom(org, "First", [member])
    url_org = f"{BASE}/chatrooms?organization_id={org.pk}{suffix}"
    url_mine = f"{BASE}/chatrooms?x=1{suffix}"
    # warm-up: the tokens' last_used_at update happens once a minute at most
    _list_queries(api_token, url_org)
    _list_queries(member_pat, url_mine)
    one = (_list_queries(api_token, url_org), _list_queries(member_pat, url_mine))
    for i in range(29):
        make_chatroom(org, f"R{i}", [member])
    thirty = (_list_queries(api_token, url_org), _list_queries(member_pat, url_mine))

    # API-TOKEN: the token (organization joined), the page with its assigned users and
    # total (one statement: chatroom_page_values) = 2. Personal token: the token, the
    # account's members, the page = 3. Paginated or all=true alike.
    expected = (2, 3)
    assert one == thirty == expected
    assert api_token.get(url_org).json()["total"] == 30


# --- create -----------------------------------------------------------------------------


def test_an_api_token_creates_a_custom_chatroom_in_its_organization(org, api_token, member):
    other = make_member(org)

    response = api_token.post(
        f"{BASE}/chatrooms",
        {"name": "Project", "assignedUsers": [member.pk, other.pk, member.pk]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert body["type"] == "custom"
    assert body["name"] == "Project"
    assert body["organizationID"] == org.pk
    assert body["assignedUsers"] == sorted([member.pk, other.pk])
    channel = Channel.objects.get(pk=body["id"])
    assert assigned(channel) == sorted([member.pk, other.pk])
    assert AuditEntry.objects.filter(action="chatroom.create", target_id=str(channel.pk)).exists()


def test_an_api_token_may_name_its_own_organization(org, api_token) -> None:
    response = api_token.post(
        f"{BASE}/chatrooms", {"name": "X", "organizationID": org.pk}, format="json"
    )

    assert response.status_code == 201


def test_an_api_token_creating_in_another_organization_is_a_404(org, other_org, api_token):
    response = api_token.post(
        f"{BASE}/chatrooms", {"name": "X", "organizationID": other_org.pk}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "organization_not_found"
    assert not Channel.objects.exists()


def test_an_admin_creates_a_chatroom_and_is_assigned_to_it(org, admin, admin_pat, member):
    response = admin_pat.post(
        f"{BASE}/chatrooms",
        {"name": "Admins", "organizationID": org.pk, "assignedUsers": [member.pk]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["assignedUsers"] == sorted([admin.pk, member.pk])


@pytest.mark.parametrize("key", ["assignedUsers[]", "assignedUsers"])
def test_it_accepts_a_form_encoded_body(org, admin, admin_pat, member, key: str) -> None:
    body = urlencode({"name": "Form", "organizationID": org.pk, key: [member.pk]}, doseq=True)

    response = admin_pat.post(
        f"{BASE}/chatrooms", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 201, response.content
    assert response.json()["assignedUsers"] == sorted([admin.pk, member.pk])


def test_a_json_string_for_assigned_users_is_refused(org, admin_pat, member) -> None:
    response = admin_pat.post(
        f"{BASE}/chatrooms",
        {"name": "Json", "organizationID": org.pk, "assignedUsers": str(member.pk)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["field"] == "assignedUsers"


def test_a_member_may_not_create_a_chatroom(org, member_pat) -> None:
    response = member_pat.post(
        f"{BASE}/chatrooms", {"name": "Mine", "organizationID": org.pk}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Channel.objects.exists()


def test_a_personal_token_must_name_the_organization(admin_pat) -> None:
    response = admin_pat.post(f"{BASE}/chatrooms", {"name": "X"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "missing_parameter"
    assert response.json()["field"] == "organizationID"


def test_a_personal_token_creating_where_it_has_no_member_is_a_404(other_org, admin_pat):
    response = admin_pat.post(
        f"{BASE}/chatrooms", {"name": "X", "organizationID": other_org.pk}, format="json"
    )

    assert response.status_code == 404
    assert not Channel.objects.exists()


def test_unknown_or_foreign_assigned_users_are_refused_by_id(org, other_org, api_token):
    foreign = make_member(other_org)

    response = api_token.post(
        f"{BASE}/chatrooms", {"name": "X", "assignedUsers": [foreign.pk, 424242]}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["field"] == "assignedUsers"
    assert str(foreign.pk) in body["message"] and "424242" in body["message"]
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "name"),
        ({"name": ""}, "invalid_parameter", "name"),
        ({"name": "   "}, "invalid_parameter", "name"),
        ({"name": "x" * 256}, "invalid_parameter", "name"),
        ({"name": "X", "assignedUsers": "abc"}, "invalid_parameter", "assignedUsers"),
        ({"name": "X", "assignedUsers": ["abc"]}, "invalid_parameter", "assignedUsers[0]"),
        ({"name": "X", "assignedUsers": [0]}, "invalid_parameter", "assignedUsers[0]"),
        (
            {"name": "X", "assignedUsers": list(range(1, 1002))},
            "invalid_parameter",
            "assignedUsers",
        ),
        ({"name": "X", "organizationID": "acme"}, "invalid_parameter", "organizationID"),
    ],
)
def test_create_refuses_missing_and_malformed_parameters(org, api_token, body, code, field):
    response = api_token.post(f"{BASE}/chatrooms", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] in (code, "missing_parameter", "invalid_parameter")
    assert response.json()["field"].startswith(field.split("[")[0])
    assert not Channel.objects.exists()


def test_create_refuses_a_malformed_json_body(org, api_token) -> None:
    response = api_token.post(f"{BASE}/chatrooms", "{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


# --- update -----------------------------------------------------------------------------


def test_an_api_token_renames_and_reassigns_a_custom_chatroom(org, api_token, room, member):
    other = make_member(org)

    response = api_token.put(
        f"{BASE}/chatrooms/{room.pk}",
        {"name": "Renamed", "assignedUsers": [other.pk]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"
    assert response.json()["assignedUsers"] == [other.pk]
    assert assigned(room) == [other.pk]


def test_an_update_changes_only_the_fields_sent(api_token, room, member) -> None:
    response = api_token.put(f"{BASE}/chatrooms/{room.pk}", {"name": "New"}, format="json")

    assert response.json()["assignedUsers"] == [member.pk]
    response = api_token.put(f"{BASE}/chatrooms/{room.pk}", {"assignedUsers": []}, format="json")
    assert response.json()["name"] == "New"
    assert response.json()["assignedUsers"] == []


def test_an_admin_updates_with_a_form_body(org, admin_pat, room, member) -> None:
    response = admin_pat.put(
        f"{BASE}/chatrooms/{room.pk}",
        urlencode({"name": "Form name"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Form name"


def test_a_member_may_not_update_a_chatroom_even_an_assigned_one(member_pat, room) -> None:
    response = member_pat.put(f"{BASE}/chatrooms/{room.pk}", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    room.refresh_from_db()
    assert room.display_name == "Team"


def test_updating_with_another_organization_s_id_is_a_404(other_org, api_token, admin_pat, room):
    for client in (api_token, admin_pat):
        response = client.put(
            f"{BASE}/chatrooms/{room.pk}",
            {"name": "X", "organizationID": other_org.pk},
            format="json",
        )
        assert response.status_code == 404
    room.refresh_from_db()
    assert room.display_name == "Team"


def test_another_organization_s_token_cannot_update_or_delete(room, other_api_token, outsider_pat):
    for client in (other_api_token, outsider_pat):
        assert (
            client.put(f"{BASE}/chatrooms/{room.pk}", {"name": "X"}, format="json").status_code
            == 404
        )
        assert client.delete(f"{BASE}/chatrooms/{room.pk}").status_code == 404
    room.refresh_from_db()
    assert room.display_name == "Team" and room.deleted_at is None


def test_default_and_event_chatrooms_cannot_be_updated_or_deleted(org, api_token, member):
    default = api_token.post(f"{BASE}/organizations/{org.pk}/default-chatroom").json()
    event = calendar_event_create(
        organization=org,
        actor=Actor.system(),
        title="Kickoff",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
        participants=[member],
    )
    for room_id in (default["id"], event.chatroom.pk):
        put = api_token.put(f"{BASE}/chatrooms/{room_id}", {"name": "X"}, format="json")
        delete = api_token.delete(f"{BASE}/chatrooms/{room_id}")
        assert put.status_code == 403 and put.json()["code"] == "chatroom_not_custom"
        assert delete.status_code == 403 and delete.json()["code"] == "chatroom_not_custom"


def test_update_refuses_unknown_assigned_users_and_blank_names(org, api_token, room) -> None:
    bad_users = api_token.put(
        f"{BASE}/chatrooms/{room.pk}", {"assignedUsers": [999999]}, format="json"
    )
    blank = api_token.put(f"{BASE}/chatrooms/{room.pk}", {"name": ""}, format="json")

    assert bad_users.status_code == 400 and bad_users.json()["field"] == "assignedUsers"
    assert blank.status_code == 400 and blank.json()["field"] == "name"


# --- delete -----------------------------------------------------------------------------


def test_deleting_a_custom_chatroom_hides_it_at_once_and_schedules_the_purge(
    org, api_token, room
) -> None:
    org.chatroom_deletion_grace_seconds = 3600
    org.save(update_fields=["chatroom_deletion_grace_seconds"])

    response = api_token.delete(f"{BASE}/chatrooms/{room.pk}")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    room.refresh_from_db()
    assert room.deleted_at is not None
    assert room.scheduled_deletion_at > timezone.now() + timedelta(minutes=59)
    assert api_token.get(f"{BASE}/chatrooms/{room.pk}").status_code == 404
    assert api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}").json()["total"] == 0
    assert api_token.delete(f"{BASE}/chatrooms/{room.pk}").status_code == 404
    assert AuditEntry.objects.filter(action="chatroom.delete", target_id=str(room.pk)).exists()


def test_an_admin_deletes_and_a_member_may_not(admin_pat, member_pat, room) -> None:
    refused = member_pat.delete(f"{BASE}/chatrooms/{room.pk}")
    assert refused.status_code == 403
    assert Channel.objects.get(pk=room.pk).deleted_at is None

    assert admin_pat.delete(f"{BASE}/chatrooms/{room.pk}").status_code == 200


# --- default chatroom -------------------------------------------------------------------


def test_an_api_token_creates_and_removes_the_default_chatroom(org, api_token, admin, member):
    guest = make_member(org, Member.OrgRole.GUEST)
    url = f"{BASE}/organizations/{org.pk}/default-chatroom"

    created = api_token.post(url)

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["type"] == "default"
    assert set(body) == FIELDS
    assert body["assignedUsers"] == sorted([admin.pk, member.pk])
    assert guest.pk not in body["assignedUsers"]
    again = api_token.post(url)
    assert again.status_code == 409 and again.json()["code"] == "default_chatroom_exists"

    removed = api_token.delete(url)
    assert removed.status_code == 200 and removed.json() == {"success": True}
    assert api_token.get(f"{BASE}/chatrooms/{body['id']}").status_code == 404
    gone = api_token.delete(url)
    assert gone.status_code == 404 and gone.json()["code"] == "chatroom_not_found"
    assert api_token.post(url).status_code == 201  # a new one may be created afterwards


def test_an_admin_manages_the_default_chatroom_and_a_member_may_not(org, admin_pat, member_pat):
    url = f"{BASE}/organizations/{org.pk}/default-chatroom"

    assert member_pat.post(url).status_code == 403
    assert not Channel.objects.exists()
    assert admin_pat.post(url).status_code == 201
    assert member_pat.delete(url).status_code == 403
    assert admin_pat.delete(url).status_code == 200


def test_the_default_chatroom_of_another_organization_is_a_404(
    org, other_org, api_token, admin_pat
):
    for client in (api_token, admin_pat):
        for method in ("post", "delete"):
            response = getattr(client, method)(
                f"{BASE}/organizations/{other_org.pk}/default-chatroom"
            )
            assert response.status_code == 404
            assert response.json()["code"] == "organization_not_found"
    assert not Channel.objects.filter(organization=other_org).exists()
    huge = api_token.post(f"{BASE}/organizations/{2**64}/default-chatroom")
    assert huge.status_code == 404


# --- chatroom of an event ---------------------------------------------------------------


@pytest.fixture
def event(org, member):
    return calendar_event_create(
        organization=org,
        actor=Actor.system(),
        title="Kickoff",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
        participants=[member],
    )


def test_it_returns_the_chatroom_of_an_event_for_both_token_kinds(
    org, api_token, member_pat, event, member
) -> None:
    for client, url in (
        (api_token, f"{BASE}/chatroom?event_id={event.pk}"),
        (api_token, f"{BASE}/chatroom?event_id={event.pk}&organization_id={org.pk}"),
        (member_pat, f"{BASE}/chatroom?event_id={event.pk}&organization_id={org.pk}"),
    ):
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["type"] == "event"
        assert body["eventID"] == event.pk
        assert body["assignedUsers"] == [member.pk]
        assert body["name"] == "Kickoff"
        expected = event.ends_at + timedelta(days=org.event_chatroom_retention_days)
        assert body["scheduledDeletion"] == expected.isoformat().replace("+00:00", "Z")


def test_the_event_chatroom_follows_the_event(org, api_token, event, member, admin) -> None:
    from apps.calendar_events.services import calendar_event_update

    new_end = event.ends_at + timedelta(days=2)
    calendar_event_update(event=event, actor=Actor.system(), ends_at=new_end, participants=[admin])

    body = api_token.get(f"{BASE}/chatroom?event_id={event.pk}").json()
    assert body["assignedUsers"] == [admin.pk]
    expected = new_end + timedelta(days=org.event_chatroom_retention_days)
    assert body["scheduledDeletion"] == expected.isoformat().replace("+00:00", "Z")


def test_a_member_not_participating_does_not_see_the_event_chatroom(org, event) -> None:
    from tests.personas import personal_client

    stranger = personal_client(make_member(org, user_id="carol"))

    response = stranger.get(f"{BASE}/chatroom?event_id={event.pk}&organization_id={org.pk}")

    assert response.status_code == 404


def test_the_event_chatroom_lookup_needs_its_parameters(org, api_token, member_pat, event):
    missing_event = api_token.get(f"{BASE}/chatroom")
    bad_event = api_token.get(f"{BASE}/chatroom?event_id=x")
    missing_org = member_pat.get(f"{BASE}/chatroom?event_id={event.pk}")

    assert missing_event.status_code == 400
    assert missing_event.json() | {"message": ""} == {
        "status": "error",
        "code": "missing_parameter",
        "field": "event_id",
        "message": "",
    }
    assert bad_event.status_code == 400 and bad_event.json()["field"] == "event_id"
    assert missing_org.status_code == 400 and missing_org.json()["field"] == "organization_id"


def test_another_organization_s_event_is_a_404(org, other_org, event, other_api_token, api_token):
    assert other_api_token.get(f"{BASE}/chatroom?event_id={event.pk}").status_code == 404
    response = api_token.get(f"{BASE}/chatroom?event_id={event.pk}&organization_id={other_org.pk}")
    assert response.status_code == 404
    unknown = api_token.get(f"{BASE}/chatroom?event_id=987654")
    assert unknown.status_code == 404 and unknown.json()["code"] == "chatroom_not_found"


def test_an_event_lookup_answers_alike_for_unknown_foreign_and_unassigned_events(
    org, other_org, event, api_token, other_api_token
) -> None:
    """Whether event_id exists (in another organization, or in this one with a chatroom
    the caller is not assigned to) must not show: every miss is the same 404 body."""
    foreign = calendar_event_create(
        organization=other_org,
        actor=Actor.system(),
        title="Theirs",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
        participants=[],
    )
    stranger = personal_client(make_member(org, user_id="carol"))
    unknown_id = max(event.pk, foreign.pk) + 1000

    answers = {
        "unknown (API-TOKEN)": api_token.get(f"{BASE}/chatroom?event_id={unknown_id}"),
        "another organization's (API-TOKEN)": api_token.get(
            f"{BASE}/chatroom?event_id={foreign.pk}"
        ),
        "this organization's, seen by the other one": other_api_token.get(
            f"{BASE}/chatroom?event_id={event.pk}"
        ),
        "unknown (personal)": stranger.get(
            f"{BASE}/chatroom?event_id={unknown_id}&organization_id={org.pk}"
        ),
        "another organization's (personal)": stranger.get(
            f"{BASE}/chatroom?event_id={foreign.pk}&organization_id={org.pk}"
        ),
        "not assigned (personal)": stranger.get(
            f"{BASE}/chatroom?event_id={event.pk}&organization_id={org.pk}"
        ),
    }

    expected = {
        "status": "error",
        "code": "chatroom_not_found",
        "message": "Chatroom not found.",
        "field": "event_id",
    }
    for case, response in answers.items():
        assert (response.status_code, response.json()) == (404, expected), case


@pytest.mark.django_db(transaction=True)
def test_a_sent_message_is_answered_without_a_query_after_its_commit(org, admin) -> None:
    """As for /api/v2/message: a connection lost after the commit cannot turn an accepted
    message into an error (a retry would post it twice)."""
    room = make_chatroom(org, members=[admin])
    client = personal_client(admin)
    with queries_after_commit(Message) as after:
        response = client.post(
            f"{BASE}/chatrooms/{room.pk}/messages", {"message": "hi"}, format="json"
        )

    assert response.status_code == 201, response.content
    assert after == []
