"""GET/PUT /api/v2/users, POST /api/v2/users/ban|unban, DELETE /api/v2/users/:userId/flags."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.members.models import Member
from apps.reports.models import Report
from tests.builders import open_reports
from tests.factories import MemberFactory, RoleFactory

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def form(data: dict) -> str:
    return urlencode(data, doseq=True)


# --- GET /api/v2/users -----------------------------------------------------------------
def test_it_lists_users_with_every_documented_field(api, org):
    member = MemberFactory(
        organization=org, user_id="alice", display_name="Alice", roles=["mod"], metadata={"a": 1}
    )
    open_reports(member, 2)
    resp = api.get("/api/v2/users")
    assert resp.status_code == 200
    body = resp.json()
    assert body["paging"] == {"next": None, "previous": None}
    [user] = body["users"]
    assert user == {
        "userId": "alice",
        "displayName": "Alice",
        "roles": ["mod"],
        "metadata": {"a": 1},
        "flagCount": 2,
        "isGlobalBan": False,
        "createdAt": user["createdAt"],
        "updatedAt": user["updatedAt"],
    }
    assert user["createdAt"].endswith("Z")


def test_it_only_counts_open_reports_in_flag_count(api, org):
    member = MemberFactory(organization=org, user_id="bob")
    open_reports(member, 1)
    Report.objects.create(organization=org, target_member=member, state=Report.State.DISMISSED)
    assert api.get("/api/v2/users").json()["users"][0]["flagCount"] == 1


def test_it_searches_display_name_and_user_id_case_insensitively(api, org):
    MemberFactory(organization=org, user_id="u1", display_name="Alice Smith")
    MemberFactory(organization=org, user_id="SMITHY", display_name="Bob")
    MemberFactory(organization=org, user_id="u3", display_name="Carol")
    resp = api.get("/api/v2/users", {"search": "smith"})
    assert [u["userId"] for u in resp.json()["users"]] == ["u1", "SMITHY"]


def test_it_filters_flagged_users(api, org):
    flagged = MemberFactory(organization=org, user_id="flagged")
    MemberFactory(organization=org, user_id="clean")
    cleared = MemberFactory(organization=org, user_id="cleared")
    open_reports(flagged, 1)
    Report.objects.create(organization=org, target_member=cleared, state=Report.State.ACTIONED)
    resp = api.get("/api/v2/users", {"filter": "flagged"})
    assert [u["userId"] for u in resp.json()["users"]] == ["flagged"]
    assert len(api.get("/api/v2/users", {"filter": "all"}).json()["users"]) == 3


def test_it_pages_with_page_tokens_both_ways(api, org):
    for i in range(25):
        MemberFactory(organization=org, user_id=f"user-{i:02d}")
    first = api.get("/api/v2/users").json()
    assert len(first["users"]) == 10  # the documented default limit
    assert first["paging"]["previous"] is None
    second = api.get("/api/v2/users", {"pageToken": first["paging"]["next"]}).json()
    assert second["users"][0]["userId"] == "user-10"
    third = api.get("/api/v2/users", {"pageToken": second["paging"]["next"]}).json()
    assert [u["userId"] for u in third["users"]] == [f"user-{i}" for i in range(20, 25)]
    assert third["paging"]["next"] is None
    back = api.get("/api/v2/users", {"pageToken": third["paging"]["previous"]}).json()
    assert back["users"] == second["users"]


def test_it_refuses_a_page_token_of_another_query(api, org):
    for i in range(3):
        MemberFactory(organization=org, user_id=f"user-{i}", display_name="x")
    token = api.get("/api/v2/users", {"limit": 1}).json()["paging"]["next"]
    resp = api.get("/api/v2/users", {"pageToken": token, "filter": "flagged"})
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_page_token"
    assert resp.json()["field"] == "pageToken"
    resp = api.get("/api/v2/users", {"pageToken": "garbage"})
    assert resp.json()["code"] == "invalid_page_token"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"filter": "banned"}, "filter"),
        ({"search": "x" * 256}, "search"),
        ({"pageToken": "x" * 513}, "pageToken"),
    ],
)
def test_it_refuses_bad_query_parameters(api, org, params, field):
    resp = api.get("/api/v2/users", params)
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_parameter"
    assert resp.json()["field"] == field


def test_it_never_lists_another_organizations_users(api, other_api, org, other_org):
    MemberFactory(organization=org, user_id="ours")
    MemberFactory(organization=other_org, user_id="theirs")
    assert [u["userId"] for u in api.get("/api/v2/users").json()["users"]] == ["ours"]
    assert [u["userId"] for u in other_api.get("/api/v2/users").json()["users"]] == ["theirs"]


def test_it_lists_with_a_constant_number_of_queries(api, org):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/api/v2/users", {"limit": 100}).status_code == 200
        return len(ctx.captured_queries)

    api.get("/api/v2/users")  # first use stamps the token's last_used_at (once a minute)
    member = MemberFactory(organization=org)
    open_reports(member, 1)
    one = count()
    for _ in range(49):
        open_reports(MemberFactory(organization=org), 2)
    # 2 queries: the token lookup and the one page query (flagCount is a correlated
    # subquery, isGlobalBan is computed from the row).
    assert count() == one == 2


def test_it_requires_a_valid_token(anon_api, bad_api):
    for client in (anon_api, bad_api):
        resp = client.get("/api/v2/users")
        assert resp.status_code == 401
        assert resp.json()["code"] == "unauthorized"


# --- PUT /api/v2/users -----------------------------------------------------------------
def test_it_updates_a_user_with_json_and_audits_it(api, org):
    RoleFactory(organization=org, role_id="moderator")
    member = MemberFactory(organization=org, user_id="alice", display_name="Alice")
    resp = api.put(
        "/api/v2/users",
        {
            "userId": "alice",
            "displayName": "Alice B.",
            "roles": ["moderator"],
            "metadata": {"tier": "gold"},
        },
        format="json",
    )
    assert resp.status_code == 200, resp.json()
    user = resp.json()["user"]
    assert (user["displayName"], user["roles"], user["metadata"]) == (
        "Alice B.",
        ["moderator"],
        {"tier": "gold"},
    )
    member.refresh_from_db()
    assert member.display_name == "Alice B."
    entry = AuditEntry.objects.get(action="user.update")
    assert entry.target_type == "user" and entry.target_id == "alice"
    assert entry.actor_label.endswith("admin@acme.test")
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.before["displayName"] == "Alice"
    assert entry.after["roles"] == ["moderator"]


def test_it_updates_a_user_with_a_form_body(api, org):
    RoleFactory(organization=org, role_id="a")
    RoleFactory(organization=org, role_id="b")
    MemberFactory(organization=org, user_id="alice")
    body = form({"userId": "alice", "roles[]": ["a", "b"], "metadata[color]": "red"})
    resp = api.put("/api/v2/users", body, content_type=FORM)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["user"]["roles"] == ["a", "b"]
    assert resp.json()["user"]["metadata"] == {"color": "red"}


def test_it_only_changes_the_fields_sent(api, org):
    MemberFactory(organization=org, user_id="alice", display_name="Alice", metadata={"k": 1})
    resp = api.put("/api/v2/users", {"userId": "alice", "displayName": "A"}, format="json")
    assert resp.json()["user"]["metadata"] == {"k": 1}


def test_it_refuses_unknown_roles_and_changes_nothing(api, org):
    RoleFactory(organization=org, role_id="known")
    member = MemberFactory(organization=org, user_id="alice", roles=[])
    resp = api.put("/api/v2/users", {"userId": "alice", "roles": ["known", "ghost"]}, format="json")
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_parameter"
    assert resp.json()["field"] == "roles"
    assert "ghost" in resp.json()["message"]
    member.refresh_from_db()
    assert member.roles == []
    assert not AuditEntry.objects.exists()


def test_it_refuses_another_organizations_roles(api, org, other_org):
    RoleFactory(organization=other_org, role_id="theirs")
    MemberFactory(organization=org, user_id="alice")
    resp = api.put("/api/v2/users", {"userId": "alice", "roles": ["theirs"]}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "roles"


def test_it_does_not_provision_unknown_users_on_update(api, org):
    resp = api.put("/api/v2/users", {"userId": "ghost", "displayName": "G"}, format="json")
    assert resp.status_code == 404
    assert resp.json()["code"] == "user_not_found"
    assert not Member.objects.filter(user_id="ghost").exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"displayName": "x"}, "missing_parameter", "userId"),
        ({"userId": "alice"}, "missing_parameter", "displayName"),
        ({"userId": "alice", "displayName": "x" * 256}, "invalid_parameter", "displayName"),
        ({"userId": "a" * 129, "displayName": "x"}, "invalid_parameter", "userId"),
        ({"userId": "alice", "metadata": "not json"}, "invalid_parameter", "metadata"),
        ({"userId": "alice", "metadata": [1, 2]}, "invalid_parameter", "metadata"),
        ({"userId": "alice", "metadata": {"k": "x" * 9000}}, "invalid_parameter", "metadata"),
        ({"userId": "alice", "roles": [f"r{i}" for i in range(51)]}, "invalid_parameter", "roles"),
        ({"userId": "alice", "roles": ["x" * 65]}, "invalid_parameter", "roles"),
        ({"userId": "alice", "roles": [{"a": 1}]}, "invalid_parameter", "roles"),
    ],
)
def test_it_refuses_bad_update_parameters(api, org, body, code, field):
    MemberFactory(organization=org, user_id="alice", display_name="Alice")
    resp = api.put("/api/v2/users", body, format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["code"] == code
    assert resp.json()["field"].startswith(field)
    assert Member.objects.get(user_id="alice").display_name == "Alice"


def test_it_refuses_a_malformed_json_body(api, org):
    resp = api.put("/api/v2/users", "{not json", content_type="application/json")
    assert resp.status_code == 400
    assert resp.json()["code"] == "malformed_body"


def test_it_answers_another_organizations_user_as_unknown_on_update(other_api, org):
    member = MemberFactory(organization=org, user_id="alice", display_name="Alice")
    resp = other_api.put("/api/v2/users", {"userId": "alice", "displayName": "X"}, format="json")
    assert resp.status_code == 404
    assert resp.json()["code"] == "user_not_found"
    member.refresh_from_db()
    assert member.display_name == "Alice"
    assert not Member.objects.filter(organization__slug="globex").exists()


def test_update_requires_a_valid_token(anon_api, bad_api, org):
    MemberFactory(organization=org, user_id="alice")
    for client in (anon_api, bad_api):
        resp = client.put("/api/v2/users", {"userId": "alice", "displayName": "x"}, format="json")
        assert resp.status_code == 401


# --- POST /api/v2/users/ban and /unban ---------------------------------------------------
def test_it_bans_a_user_globally_with_json_and_audits_it(api, org):
    member = MemberFactory(organization=org, user_id="troll")
    resp = api.post("/api/v2/users/ban", {"userId": "troll", "reason": "spam"}, format="json")
    assert resp.status_code == 200
    assert resp.json()["user"]["isGlobalBan"] is True
    member.refresh_from_db()
    assert member.banned_at is not None and member.ban_expires_at is None
    assert member.ban_reason == "spam"
    entry = AuditEntry.objects.get(action="user.ban")
    assert (entry.target_type, entry.target_id, entry.reason) == ("user", "troll", "spam")
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.after["bannedAt"] is not None


def test_it_bans_and_unbans_with_form_bodies(api, org):
    MemberFactory(organization=org, user_id="troll")
    resp = api.post("/api/v2/users/ban", form({"userId": "troll"}), content_type=FORM)
    assert resp.status_code == 200 and resp.json()["user"]["isGlobalBan"] is True
    resp = api.post("/api/v2/users/unban", form({"userId": "troll"}), content_type=FORM)
    assert resp.status_code == 200 and resp.json()["user"]["isGlobalBan"] is False
    member = Member.objects.get(user_id="troll")
    assert member.banned_at is None and member.ban_expires_at is None
    entry = AuditEntry.objects.get(action="user.unban")
    assert entry.target_id == "troll" and entry.before["bannedAt"] is not None


def test_it_reports_an_expired_ban_as_not_banned(api, org):
    now = timezone.now()
    MemberFactory(
        organization=org,
        user_id="past",
        banned_at=now - timedelta(days=2),
        ban_expires_at=now - timedelta(days=1),
    )
    assert api.get("/api/v2/users").json()["users"][0]["isGlobalBan"] is False


@pytest.mark.parametrize("path", ["/api/v2/users/ban", "/api/v2/users/unban"])
def test_ban_and_unban_do_not_provision_unknown_users(api, org, path):
    resp = api.post(path, {"userId": "ghost"}, format="json")
    assert resp.status_code == 404
    assert resp.json()["code"] == "user_not_found"
    assert not Member.objects.exists()


@pytest.mark.parametrize("path", ["/api/v2/users/ban", "/api/v2/users/unban"])
@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "userId"),
        ({"userId": ""}, "invalid_parameter", "userId"),
        ({"userId": "x" * 129}, "invalid_parameter", "userId"),
        ({"userId": "troll", "reason": "r" * 1001}, "invalid_parameter", "reason"),
        ({"userId": "tr\x00oll"}, "invalid_parameter", "userId"),
    ],
)
def test_ban_and_unban_refuse_bad_parameters(api, org, path, body, code, field):
    MemberFactory(organization=org, user_id="troll")
    resp = api.post(path, body, format="json")
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == (code, field)
    assert Member.objects.get(user_id="troll").banned_at is None


def test_another_organization_cannot_ban_or_unban_our_users(other_api, org):
    banned = MemberFactory(organization=org, user_id="banned", banned_at=timezone.now())
    free = MemberFactory(organization=org, user_id="free")
    assert other_api.post("/api/v2/users/ban", {"userId": "free"}, format="json").status_code == 404
    resp = other_api.post("/api/v2/users/unban", {"userId": "banned"}, format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "user_not_found"
    banned.refresh_from_db()
    free.refresh_from_db()
    assert banned.banned_at is not None and free.banned_at is None
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("path", ["/api/v2/users/ban", "/api/v2/users/unban"])
def test_ban_and_unban_require_a_valid_token(anon_api, bad_api, org, path):
    MemberFactory(organization=org, user_id="troll")
    for client in (anon_api, bad_api):
        assert client.post(path, {"userId": "troll"}, format="json").status_code == 401
    assert Member.objects.get(user_id="troll").banned_at is None


def test_ban_refuses_get(api):
    assert api.get("/api/v2/users/ban").status_code == 405


# --- DELETE /api/v2/users/:userId/flags ----------------------------------------------------
def test_it_clears_a_users_flags_and_audits_the_count(api, org):
    member = MemberFactory(organization=org, user_id="alice")
    other = MemberFactory(organization=org, user_id="bob")
    open_reports(member, 3)
    open_reports(other, 1)
    Report.objects.create(organization=org, target_member=member, state=Report.State.ACTIONED)
    resp = api.delete("/api/v2/users/alice/flags")
    assert resp.status_code == 200
    assert resp.json()["user"]["userId"] == "alice"
    assert resp.json()["user"]["flagCount"] == 0
    dismissed = Report.objects.filter(target_member=member, state=Report.State.DISMISSED)
    assert dismissed.count() == 3
    assert all(r.resolved_at and r.resolved_by_label.endswith("admin@acme.test") for r in dismissed)
    assert Report.objects.filter(target_member=member, state=Report.State.ACTIONED).count() == 1
    assert Report.objects.filter(target_member=other, state=Report.State.OPEN).count() == 1
    entry = AuditEntry.objects.get(action="user.flags.clear")
    assert (entry.target_id, entry.after["cleared"]) == ("alice", 3)


def test_it_clears_flags_of_a_user_id_with_special_characters(api, org):
    member = MemberFactory(organization=org, user_id="a.b@c.test")
    open_reports(member, 1)
    resp = api.delete("/api/v2/users/a.b@c.test/flags", form({}), content_type=FORM)
    assert resp.status_code == 200 and resp.json()["user"]["flagCount"] == 0


def test_clearing_flags_of_an_unknown_user_is_404(api, org):
    resp = api.delete("/api/v2/users/ghost/flags")
    assert resp.status_code == 404 and resp.json()["code"] == "user_not_found"
    assert not Member.objects.exists()


def test_another_organization_cannot_clear_our_flags(other_api, org):
    member = MemberFactory(organization=org, user_id="alice")
    open_reports(member, 2)
    resp = other_api.delete("/api/v2/users/alice/flags")
    assert resp.status_code == 404 and resp.json()["code"] == "user_not_found"
    assert Report.objects.filter(state=Report.State.OPEN).count() == 2
    assert not AuditEntry.objects.exists()


def test_clear_flags_requires_a_valid_token(anon_api, bad_api, org):
    open_reports(MemberFactory(organization=org, user_id="alice"), 1)
    for client in (anon_api, bad_api):
        assert client.delete("/api/v2/users/alice/flags").status_code == 401
    assert Report.objects.filter(state=Report.State.OPEN).count() == 1
