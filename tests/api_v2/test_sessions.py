"""POST|DELETE /api/v2/users/:userId/sessions: messaging API sessions issued by the back
office (our extension of the Admin API v2, docs/api/sessions.md)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.models import AuditEntry
from apps.events.models import Event
from apps.members.models import Member, MemberSession
from apps.members.services import SESSION_TOKEN_PREFIX
from apps.organizations.models import Organization, hash_token
from tests.personas import MessagingClient, TokenClient, make_member

pytestmark = pytest.mark.django_db

COMMANDS = "/api/messaging/commands/"  # any messaging route: does the token work?
DAY = 24 * 3600


def url(user_id: str) -> str:
    return f"/api/v2/users/{quote(user_id, safe='')}/sessions"


def issue(api: TokenClient, user_id: str, **body: object) -> dict:
    response = api.post(url(user_id), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["session"]


def works(token: str) -> int:
    return MessagingClient(token=token).get(COMMANDS).status_code


def expires_in(session: dict) -> float:
    expires = parse_datetime(session["expiresAt"])
    assert expires is not None
    return (expires - timezone.now()).total_seconds()


# --- issue ------------------------------------------------------------------------------------


def test_it_issues_a_working_session_for_an_existing_user(api: TokenClient, org) -> None:
    alice = make_member(org, user_id="alice")
    response = api.post(url("alice"), {}, format="json")
    assert response.status_code == 201
    session = response.json()["session"]
    assert set(session) == {"token", "userId", "expiresAt"}
    assert session["userId"] == "alice"
    assert session["expiresAt"].endswith("Z")
    assert session["token"].startswith(SESSION_TOKEN_PREFIX)
    assert works(session["token"]) == 200
    assert MemberSession.objects.get().member == alice


def test_it_issues_with_no_body_at_all(api: TokenClient, org) -> None:
    make_member(org, user_id="alice")
    response = api.post(url("alice"))
    assert response.status_code == 201
    assert works(response.json()["session"]["token"]) == 200


def test_the_default_lifetime_is_the_setting_of_30_days(api: TokenClient, org) -> None:
    session = issue(api, "alice")
    assert 30 * DAY - 60 < expires_in(session) <= 30 * DAY


def test_the_default_lifetime_follows_the_setting(api: TokenClient, org, settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "SESSION_TTL_SECONDS": 600}
    assert 540 < expires_in(issue(api, "alice")) <= 600


@pytest.mark.parametrize("ttl", [60, "3600"])
def test_it_takes_a_custom_ttl_in_seconds(api: TokenClient, org, ttl: object) -> None:
    seconds = int(ttl)  # type: ignore[call-overload]
    assert seconds - 60 < expires_in(issue(api, "alice", ttl=ttl)) <= seconds


def test_a_ttl_in_a_form_body_works_too(api: TokenClient, org) -> None:
    response = api.post(url("alice"), "ttl=120", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201
    assert 60 < expires_in(response.json()["session"]) <= 120


def test_a_null_ttl_is_the_default(api: TokenClient, org) -> None:
    assert expires_in(issue(api, "alice", ttl=None)) > 29 * DAY


def test_the_longest_ttl_is_accepted(api: TokenClient, org, settings) -> None:
    longest = settings.CHATADMIN["SESSION_MAX_TTL_SECONDS"]
    assert expires_in(issue(api, "alice", ttl=longest)) > longest - 60


@pytest.mark.parametrize(
    "ttl",
    [0, -1, -3600, 365 * DAY + 1, 10**30, "soon", "", "1h", 3600.5, 3600.0, True, False, [60]],
)
def test_it_refuses_a_bad_ttl_and_writes_nothing(api: TokenClient, org, ttl: object) -> None:
    response = api.post(url("newbie"), {"ttl": ttl}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == "invalid_parameter"
    assert body["field"] == "ttl"
    assert not MemberSession.objects.exists()
    assert not Member.objects.filter(user_id="newbie").exists()  # no half-write
    assert not AuditEntry.objects.filter(organization=org).exists()


def test_the_longest_ttl_follows_its_setting(api: TokenClient, org, settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "SESSION_MAX_TTL_SECONDS": 3600}
    assert api.post(url("alice"), {"ttl": 3601}, format="json").status_code == 400
    assert api.post(url("alice"), {"ttl": 3600}, format="json").status_code == 201


def test_each_issue_is_a_new_token_and_the_old_ones_keep_working(api: TokenClient, org) -> None:
    first, second = issue(api, "alice")["token"], issue(api, "alice")["token"]
    assert first != second
    assert works(first) == works(second) == 200


# --- provisioning ------------------------------------------------------------------------------


def test_it_provisions_an_unknown_user_like_the_channel_endpoints(api: TokenClient, org) -> None:
    session = issue(api, "newbie@example.com")
    member = Member.objects.get(organization=org, user_id="newbie@example.com")
    assert member.org_role == Member.OrgRole.MEMBER
    assert member.display_name == "newbie@example.com"
    assert session["userId"] == "newbie@example.com"
    event = Event.objects.get(organization=org, type="user.created")
    assert event.payload["userIds"] == ["newbie@example.com"]
    assert works(session["token"]) == 200


def test_a_user_id_with_a_slash_and_spaces_is_one_user(api: TokenClient, org) -> None:
    session = issue(api, "team a/bob")
    assert session["userId"] == "team a/bob"
    assert Member.objects.filter(organization=org, user_id="team a/bob").exists()


def test_a_unicode_user_id_works(api: TokenClient, org) -> None:
    assert issue(api, "zoë-日本")["userId"] == "zoë-日本"
    assert Member.objects.filter(organization=org, user_id="zoë-日本").exists()
    assert issue(api, "100% sure")["userId"] == "100% sure"  # a percent sign is fine


@pytest.mark.parametrize("path", ["%ED%A0%80pon", "fff%FF", "%C0%AF"])
def test_a_path_that_is_not_utf8_names_no_user(api: TokenClient, org, path: str) -> None:
    response = api.post(f"/api/v2/users/{path}/sessions", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert api.delete(f"/api/v2/users/{path}/sessions").status_code == 404
    assert not Member.objects.exists()


def test_a_banned_user_gets_a_session_that_answers_why(api: TokenClient, org) -> None:
    make_member(org, user_id="alice", banned_at=timezone.now())
    token = issue(api, "alice")["token"]
    response = MessagingClient(token=token).get(COMMANDS)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "user_globally_banned"


@pytest.mark.parametrize("user_id", ["a\u200bb", "x" * 129, "\u200b"])
def test_it_refuses_a_bad_user_id(api: TokenClient, org, user_id: str) -> None:
    response = api.post(url(user_id), {}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "userId"
    assert not Member.objects.exists()


def test_it_refuses_a_deactivated_user(api: TokenClient, org) -> None:
    make_member(org, user_id="gone", deactivated_at=timezone.now())
    response = api.post(url("gone"), {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not MemberSession.objects.exists()


def test_it_needs_an_admin_access_token(anon_api: TokenClient, org) -> None:
    make_member(org, user_id="alice")
    assert anon_api.post(url("alice"), {}, format="json").status_code == 401
    assert anon_api.delete(url("alice")).status_code == 401
    assert not MemberSession.objects.exists()


def test_a_session_token_is_not_an_admin_access_token(api: TokenClient, org) -> None:
    token = issue(api, "alice")["token"]
    assert TokenClient(token, org).post(url("bob"), {}, format="json").status_code == 401


# --- the token: random, hashed, audited by prefix -------------------------------------------


def test_the_token_has_at_least_128_random_bits_and_only_its_hash_is_stored(
    api: TokenClient, org
) -> None:
    token = issue(api, "alice")["token"]
    secret = token.removeprefix(SESSION_TOKEN_PREFIX)
    assert len(secret) * 6 >= 128  # URL-safe base64: 6 bits a character (here 256 bits)
    row = MemberSession.objects.get()
    assert row.token_hash == hash_token(token)
    assert token.startswith(row.prefix) and len(row.prefix) < len(token) // 2
    stored = [str(v) for v in MemberSession.objects.values_list(*_fields(MemberSession)).get()]
    assert not any(secret in value for value in stored)


def _fields(model: type) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def test_issue_is_audited_with_the_prefix_never_the_token(api: TokenClient, org) -> None:
    token = issue(api, "alice", ttl=600)["token"]
    entry = AuditEntry.objects.get(organization=org, action="session.issue")
    assert entry.target_type == "user" and entry.target_id == "alice"
    assert entry.after["prefix"] == MemberSession.objects.get().prefix
    assert entry.after["expiresAt"].endswith("Z")
    assert "Admin access token" in entry.actor_label or "admin@acme.test" in entry.actor_label
    everything = json.dumps(
        list(AuditEntry.objects.values("before", "after", "reason", "target_id", "actor_label"))
    )
    assert token not in everything
    assert token.removeprefix(SESSION_TOKEN_PREFIX) not in everything


# --- revoke ------------------------------------------------------------------------------------


def test_revoke_ends_every_session_of_the_user_at_once(api: TokenClient, org) -> None:
    first, second = issue(api, "alice")["token"], issue(api, "alice")["token"]
    other = issue(api, "bob")["token"]
    response = api.delete(url("alice"))
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert works(first) == works(second) == 401
    assert works(other) == 200
    assert MemberSession.objects.filter(revoked_at__isnull=False).count() == 2


def test_revoke_is_audited_with_the_count(api: TokenClient, org) -> None:
    issue(api, "alice")
    issue(api, "alice")
    api.delete(url("alice"))
    entry = AuditEntry.objects.get(organization=org, action="session.revoke")
    assert entry.target_id == "alice"
    assert entry.after == {"revoked": 2}


def test_revoke_of_a_user_without_sessions_succeeds_unaudited(api: TokenClient, org) -> None:
    make_member(org, user_id="alice")
    assert api.delete(url("alice")).json() == {"success": True}
    assert not AuditEntry.objects.filter(action="session.revoke").exists()


def test_revoke_of_an_unknown_user_is_404_and_provisions_no_one(api: TokenClient, org) -> None:
    response = api.delete(url("nobody"))
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert not Member.objects.exists()


def test_a_new_session_after_revoke_works(api: TokenClient, org) -> None:
    old = issue(api, "alice")["token"]
    api.delete(url("alice"))
    new = issue(api, "alice")["token"]
    assert works(old) == 401 and works(new) == 200


# --- tenancy -------------------------------------------------------------------------------------


def test_another_organizations_token_acts_on_its_own_organization_only(
    api: TokenClient, other_api: TokenClient, org: Organization, other_org: Organization
) -> None:
    alice = make_member(org, user_id="alice")
    acme_token = issue(api, "alice")["token"]
    # globex's token names "alice": that is globex's alice (provisioned), never acme's
    globex_token = issue(other_api, "alice")["token"]
    globex_alice = Member.objects.get(organization=other_org, user_id="alice")
    assert globex_alice.pk != alice.pk
    assert MemberSession.objects.get(token_hash=hash_token(globex_token)).member == globex_alice
    assert MemberSession.objects.filter(member=alice).count() == 1
    # globex's revoke of "alice" revokes globex's alice only
    assert other_api.delete(url("alice")).status_code == 200
    assert works(globex_token) == 401
    assert works(acme_token) == 200
    assert not AuditEntry.objects.filter(organization=org, action="session.revoke").exists()


def test_another_organizations_token_cannot_revoke_a_user_it_does_not_have(
    api: TokenClient, other_api: TokenClient, org: Organization
) -> None:
    token = issue(api, "alice")["token"]
    response = other_api.delete(url("alice"))
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert works(token) == 200


def test_an_expired_session_fails(api: TokenClient, org) -> None:
    token = issue(api, "alice")["token"]
    MemberSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert works(token) == 401


def test_it_is_in_the_openapi_schema(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/v2/users/{userId}/sessions"]
    assert operations["post"]["operationId"] == "v2_users_sessions_issue"
    assert operations["delete"]["operationId"] == "v2_users_sessions_revoke"
    assert "201" in operations["post"]["responses"]
