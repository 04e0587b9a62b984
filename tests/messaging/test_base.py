"""The messaging API's door: session authentication and its error dialect.

Every check here goes through ``GET /api/messaging/commands/`` (any route would do: the
session is checked before the view runs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.members.models import Member, MemberSession
from apps.members.services import member_ban, member_sessions_revoke, member_unban
from apps.organizations.models import Organization
from tests.factories import AccountFactory, ChannelFactory
from tests.personas import SYSTEM, MessagingClient, TokenClient, make_admin_client

COMMANDS = "/api/messaging/commands/"


def exec_url(channel_pk: int, command: str = "shrug") -> str:
    return f"/api/messaging/channels/{channel_pk}/messages/command/{command}/exec"


def error_of(response) -> dict:
    return response.json()["error"]


@pytest.mark.django_db
def test_it_answers_an_unknown_path_in_its_own_error_dialect(as_alice: MessagingClient) -> None:
    response = as_alice.get("/api/messaging/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Not found.", "code": "not_found"}}


@pytest.mark.django_db
def test_a_live_session_gets_in(as_alice: MessagingClient) -> None:
    response = as_alice.get(COMMANDS)
    assert response.status_code == 200
    assert "response" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer nope",
        "Token abc",
        "Basic YWxpY2U6cHc=",
        "Bearer " + "x" * 500,
    ],
)
def test_it_refuses_a_missing_or_bad_session_with_401(header: str, org) -> None:
    client = MessagingClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(COMMANDS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_an_admin_access_token_is_not_a_session(org: Organization) -> None:
    admin = make_admin_client(org)
    client = MessagingClient(token=admin.raw_token or "")
    assert client.get(COMMANDS).status_code == 401


@pytest.mark.django_db
def test_a_session_token_is_not_an_admin_access_token(as_alice: MessagingClient, org) -> None:
    assert TokenClient(as_alice.token, org).get("/api/v2/users").status_code == 401


@pytest.mark.django_db
def test_an_expired_session_stops_at_once(as_alice: MessagingClient, alice: Member) -> None:
    assert as_alice.get(COMMANDS).status_code == 200
    MemberSession.objects.filter(member=alice).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = as_alice.get(COMMANDS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.django_db
def test_a_revoked_session_fails_on_the_very_next_request(
    as_alice: MessagingClient, alice: Member, as_bob: MessagingClient
) -> None:
    assert as_alice.get(COMMANDS).status_code == 200
    member_sessions_revoke(actor=SYSTEM, member=alice)
    assert as_alice.get(COMMANDS).status_code == 401
    assert as_bob.get(COMMANDS).status_code == 200  # only alice's sessions


@pytest.mark.django_db
def test_a_revoke_through_the_admin_api_ends_the_session_at_once(
    as_alice: MessagingClient, api: TokenClient
) -> None:
    assert as_alice.get(COMMANDS).status_code == 200
    assert api.delete("/api/v2/users/alice/sessions").status_code == 200
    assert as_alice.get(COMMANDS).status_code == 401


@pytest.mark.django_db
def test_a_globally_banned_members_session_is_refused_with_403_at_once(
    as_alice: MessagingClient, alice: Member
) -> None:
    assert as_alice.get(COMMANDS).status_code == 200
    member_ban(actor=SYSTEM, member=alice, reason="spam", ban_period=None)
    response = as_alice.get(COMMANDS)
    assert response.status_code == 403
    assert error_of(response)["code"] == "user_globally_banned"
    member_unban(actor=SYSTEM, member=alice, reason="")
    assert as_alice.get(COMMANDS).status_code == 200  # the session itself was not revoked


@pytest.mark.django_db
def test_a_ban_through_the_admin_api_stops_the_session_at_once(
    as_alice: MessagingClient, api: TokenClient
) -> None:
    assert api.post("/api/v2/users/ban", {"userId": "alice"}, format="json").status_code == 200
    assert error_of(as_alice.get(COMMANDS))["code"] == "user_globally_banned"


@pytest.mark.django_db
def test_an_expired_global_ban_no_longer_refuses(as_alice: MessagingClient, alice: Member) -> None:
    past = timezone.now() - timedelta(minutes=1)
    Member.objects.filter(pk=alice.pk).update(
        banned_at=past - timedelta(hours=1), ban_expires_at=past
    )
    assert as_alice.get(COMMANDS).status_code == 200


@pytest.mark.django_db
def test_a_banned_member_is_refused_on_a_write_route_too(
    as_alice: MessagingClient, alice: Member, org: Organization
) -> None:
    channel = ChannelFactory(organization=org)
    member_ban(actor=SYSTEM, member=alice, reason="", ban_period=None)
    response = as_alice.post(exec_url(channel.pk), {"input": "hi"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "user_globally_banned"


@pytest.mark.django_db
def test_a_deactivated_members_session_is_refused_with_401_at_once(
    as_alice: MessagingClient, alice: Member
) -> None:
    assert as_alice.get(COMMANDS).status_code == 200
    Member.objects.filter(pk=alice.pk).update(deactivated_at=timezone.now())
    response = as_alice.get(COMMANDS)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.django_db
def test_a_member_whose_linked_account_is_inactive_is_refused_with_401(
    as_alice: MessagingClient, alice: Member
) -> None:
    account = AccountFactory(email="alice@people.test")
    Member.objects.filter(pk=alice.pk).update(account=account)
    assert as_alice.get(COMMANDS).status_code == 200  # an active account is fine
    account.is_active = False
    account.save(update_fields=["is_active"])
    assert as_alice.get(COMMANDS).status_code == 401


@pytest.mark.django_db
def test_a_session_records_when_it_was_last_used(as_alice: MessagingClient, alice: Member) -> None:
    assert MemberSession.objects.get(member=alice).last_used_at is None
    as_alice.get(COMMANDS)
    assert MemberSession.objects.get(member=alice).last_used_at is not None


@pytest.mark.django_db
def test_a_session_acts_only_in_its_own_organization(
    as_outsider: MessagingClient, outsider: Member, org: Organization
) -> None:
    acme_channel = ChannelFactory(organization=org, visibility="public")
    response = as_outsider.post(exec_url(acme_channel.pk), {"input": "hi"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "channel_not_found"
    assert acme_channel.messages.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/messaging/channels/"),
        ("post", "/api/messaging/channels/{channel}/messages/"),
        ("get", "/api/messaging/search/messages"),
        ("get", "/api/messaging/status/"),
        ("get", "/api/messaging/commands/"),
        ("get", "/api/messaging/permissions/effective"),
    ],
)
def test_a_role_denied_access_is_refused_on_every_area(
    org: Organization, alice: Member, method: str, path: str
) -> None:
    """``access`` on ``messaging`` is checked once, by the base view of every route."""
    from apps.channels.models import Membership
    from apps.permissions.services import role_rules_set
    from tests.factories import RoleFactory
    from tests.personas import session_client

    channel = ChannelFactory(organization=org)
    Membership.objects.create(
        organization=org, channel=channel, member=alice, joined_at=timezone.now()
    )
    role = RoleFactory(organization=org, role_id="silenced")
    role_rules_set(
        actor=SYSTEM,
        role=role,
        rules=[{"resource": "messaging", "operation": "access", "access": "deny"}],
    )
    alice.roles = ["silenced"]
    alice.save(update_fields=["roles"])
    client = session_client(alice)
    response = getattr(client, method)(path.format(channel=channel.pk), {"message": "hi"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["1\u0085", "6\t", "\u20281", "1\x1f", "٣", "1.0", True])
def test_an_id_with_anything_but_digits_and_spaces_around_is_refused(
    as_alice: MessagingClient, raw: object
) -> None:
    response = as_alice.post("/api/messaging/activity/", {"channelID": raw, "kind": "typing"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": response.json()["error"]["message"],
        "code": "invalid_parameter",
        "field": "channelID",
    }
