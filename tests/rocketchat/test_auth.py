"""Rocket.Chat's login: ``X-Auth-Token`` (an admin access token) + ``X-User-Id`` (its
holder's member), ``POST /api/v1/login`` and ``GET /api/v1/me``; every failure is Rocket.Chat's
401 body."""

from __future__ import annotations

import pytest

from apps.members.models import Member
from apps.members.services import member_deactivate
from apps.organizations.models import AccessToken, Organization
from tests.personas import SYSTEM, given_token, make_member, revoke_token

from .conftest import RocketClient, rocket_client

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {
    "success": False,
    "error": "unauthorized",
    "status": "error",
    "message": "You must be logged in to do this.",
}


def test_me_answers_the_token_holders_member(rc: RocketClient) -> None:
    response = rc.call("get", "me")
    assert response.status_code == 200
    assert response.json() == {
        "_id": "admin@acme.test",
        "username": "admin@acme.test",
        "name": "admin@acme.test",
        "emails": [{"address": "admin@acme.test", "verified": True}],
        "active": True,
        "roles": ["admin"],
        "type": "user",
        "utcOffset": 0,
        "success": True,
    }


def test_the_first_call_makes_the_holders_member_an_organization_admin(org: Organization) -> None:
    client = rocket_client(org, "new@acme.test")
    member = Member.objects.get(organization=org, account__email="new@acme.test")
    assert member.org_role == Member.OrgRole.ADMIN
    assert client.call("get", "me").json()["_id"] == member.user_id


def test_login_with_resume_answers_the_user_id_and_the_token(rc: RocketClient) -> None:
    response = RocketClient().call("post", "login", {"resume": rc.token})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success" and body["success"] is True
    assert body["data"]["authToken"] == rc.token
    assert body["data"]["userId"] == "admin@acme.test"
    assert body["data"]["me"]["_id"] == "admin@acme.test"


def test_login_with_user_and_the_token_as_password(rc: RocketClient) -> None:
    for name in ({"user": "admin@acme.test"}, {"username": "admin@acme.test"}):
        response = RocketClient().call("post", "login", {**name, "password": rc.token})
        assert response.status_code == 200, name
        assert response.json()["data"]["userId"] == "admin@acme.test"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"resume": "ca_adm_not-a-token"},
        {"resume": ""},
        {"user": "someone-else", "password": "TOKEN"},
        {"password": "TOKEN"},
        {"user": "admin@acme.test", "password": "wrong"},
    ],
)
def test_a_failed_login_is_401(rc: RocketClient, body: dict) -> None:
    body = {k: (rc.token if v == "TOKEN" else v) for k, v in body.items()}
    response = RocketClient().call("post", "login", body)
    assert response.status_code == 401
    assert response.json() == {**UNAUTHORIZED, "message": "Unauthorized"}


def test_a_login_with_a_wrongly_typed_field_is_invalid_params(rc: RocketClient) -> None:
    response = RocketClient().call("post", "login", {"resume": 12})
    assert response.status_code == 400
    assert response.json()["errorType"] == "invalid-params"


def test_login_with_an_unknown_field_is_invalid_params(rc: RocketClient) -> None:
    response = RocketClient().call("post", "login", {"resume": rc.token, "totp": "1"})
    assert response.status_code == 400
    assert response.json()["errorType"] == "invalid-params"


def test_without_headers_every_route_is_401_in_rocketchats_body(db: None) -> None:
    client = RocketClient()
    for method, name in (
        ("get", "me"),
        ("get", "integrations.list"),
        ("get", "integrations.get"),
        ("get", "integrations.history"),
        ("post", "integrations.create"),
        ("put", "integrations.update"),
        ("post", "integrations.remove"),
        ("post", "integrations.clearHistory"),
    ):
        response = client.call(method, name, {})
        assert response.status_code == 401, name
        assert response.json() == UNAUTHORIZED, name


@pytest.mark.parametrize("which", ["token only", "user only", "wrong user", "wrong token"])
def test_a_missing_or_mismatched_header_is_401(rc: RocketClient, which: str) -> None:
    token, user_id = {
        "token only": (rc.token, None),
        "user only": (None, rc.user_id),
        "wrong user": (rc.token, "someone-else"),
        "wrong token": ("ca_adm_" + "x" * 43, rc.user_id),
    }[which]
    response = RocketClient(token, user_id).call("get", "me")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_another_members_id_with_this_token_is_401(org: Organization, rc: RocketClient) -> None:
    make_member(org, user_id="alice")
    assert RocketClient(rc.token, "alice").call("get", "me").status_code == 401


def test_another_organizations_holder_id_with_this_token_is_401(
    rc: RocketClient, other_rc: RocketClient
) -> None:
    assert RocketClient(rc.token, other_rc.user_id).call("get", "me").status_code == 401
    assert RocketClient(other_rc.token, rc.user_id).call("get", "me").status_code == 401


@pytest.mark.parametrize("kind", [AccessToken.Kind.API, AccessToken.Kind.PERSONAL])
def test_only_admin_tokens_log_in(org: Organization, kind: str) -> None:
    issued = given_token(kind=kind, organization=org)
    member = make_member(org, user_id=issued.token.account.email, account=issued.token.account)
    response = RocketClient(issued.raw, member.user_id).call("get", "me")
    assert response.status_code == 401
    login = RocketClient().call("post", "login", {"resume": issued.raw})
    assert login.status_code == 401


def test_a_revoked_token_is_401(rc: RocketClient) -> None:
    revoke_token(token=AccessToken.objects.get(account__email="admin@acme.test"))
    assert rc.call("get", "me").status_code == 401


def test_a_deactivated_holder_is_401(org: Organization, rc: RocketClient) -> None:
    assert rc.member is not None
    make_member(org, role=Member.OrgRole.ADMIN)  # not the last admin: it may be deactivated
    member_deactivate(actor=SYSTEM, member=rc.member)
    assert rc.call("get", "me").status_code == 401


def test_a_utf8_user_id_matches_through_the_latin1_header(org: Organization) -> None:
    client = rocket_client(org, "admin@acme.test", role=Member.OrgRole.ADMIN)
    Member.objects.filter(pk=client.member.pk).update(user_id="zoë")
    header = "zoë".encode().decode("latin-1")  # how WSGI hands over the UTF-8 bytes
    response = RocketClient(client.token, header).call("get", "me")
    assert response.status_code == 200
    assert response.json()["_id"] == "zoë"


def test_an_unknown_path_under_api_v1_is_404_in_rocketchats_body(rc: RocketClient) -> None:
    response = rc.call("get", "channels.list")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Not found.", "errorType": "not_found"}


def test_a_wrong_method_is_405_in_rocketchats_body(rc: RocketClient) -> None:
    response = rc.call("get", "integrations.create")
    assert response.status_code == 405
    assert response.json()["success"] is False
    assert response.json()["errorType"] == "method_not_allowed"
