"""GET/PUT /api/v2/roles."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.members.models import Role
from tests.factories import RoleFactory

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def test_it_adds_roles_with_json_and_audits_it(api, org):
    resp = api.put(
        "/api/v2/roles",
        {"publicIds": ["moderator", "vip"], "permissions": ["ban", "mute"]},
        format="json",
    )
    assert resp.status_code == 200, resp.json()
    roles = resp.json()["roles"]
    assert [r["roleId"] for r in roles] == ["moderator", "vip"]
    assert set(roles[0]) == {"id", "roleId", "permissions", "createdAt"}
    assert roles[0]["id"] == Role.objects.get(organization=org, role_id="moderator").pk
    assert roles[0]["permissions"] == ["ban", "mute"]
    assert roles[0]["createdAt"].endswith("Z")
    assert Role.objects.filter(organization=org).count() == 2
    entry = AuditEntry.objects.get(action="role.upsert")
    assert entry.target_type == "role" and entry.actor_account.email == "admin@acme.test"
    assert entry.after == {"roles": ["moderator", "vip"], "permissions": ["ban", "mute"]}


def test_it_adds_roles_with_a_form_body(api, org):
    body = urlencode({"publicIds[]": ["a", "b"], "permissions[]": ["read"]}, doseq=True)
    resp = api.put("/api/v2/roles", body, content_type=FORM)
    assert resp.status_code == 200, resp.json()
    assert [r["roleId"] for r in resp.json()["roles"]] == ["a", "b"]


def test_it_accepts_roles_without_permissions(api, org):
    resp = api.put("/api/v2/roles", urlencode({"publicIds": "solo"}), content_type=FORM)
    assert resp.status_code == 200
    assert resp.json()["roles"][0]["permissions"] == []


def test_it_replaces_the_permissions_of_an_existing_role(api, org):
    RoleFactory(organization=org, role_id="mod", permissions=["old"])
    resp = api.put("/api/v2/roles", {"publicIds": ["mod"], "permissions": ["new"]}, format="json")
    assert resp.status_code == 200
    assert resp.json()["roles"][0]["permissions"] == ["new"]
    assert Role.objects.get(organization=org, role_id="mod").permissions == ["new"]
    assert AuditEntry.objects.get(action="role.upsert").before == {"mod": ["old"]}


def test_roles_of_another_organization_are_separate(api, other_api, org, other_org):
    RoleFactory(organization=other_org, role_id="mod", permissions=["theirs"])
    api.put("/api/v2/roles", {"publicIds": ["mod"], "permissions": ["ours"]}, format="json")
    assert Role.objects.get(organization=other_org).permissions == ["theirs"]
    assert [r["permissions"] for r in other_api.get("/api/v2/roles").json()["roles"]] == [
        ["theirs"]
    ]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "publicIds"),
        ({"publicIds": []}, "invalid_parameter", "publicIds"),
        ({"publicIds": [""]}, "invalid_parameter", "publicIds"),
        ({"publicIds": ["x" * 65]}, "invalid_parameter", "publicIds"),
        ({"publicIds": [f"r{i}" for i in range(101)]}, "invalid_parameter", "publicIds"),
        ({"publicIds": ["r"], "permissions": ["p" * 129]}, "invalid_parameter", "permissions"),
        (
            {"publicIds": ["r"], "permissions": [f"p{i}" for i in range(101)]},
            "invalid_parameter",
            "permissions",
        ),
        ({"publicIds": "[broken"}, "invalid_parameter", "publicIds"),
    ],
)
def test_it_refuses_bad_role_parameters(api, org, body, code, field):
    resp = api.put("/api/v2/roles", body, format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["code"] == code
    assert resp.json()["field"].startswith(field)
    assert not Role.objects.exists()


def test_it_lists_roles_filtered_by_id_substring(api, org):
    for rid in ("moderator", "mod-lite", "vip", "SuperMod"):
        RoleFactory(organization=org, role_id=rid)
    resp = api.get("/api/v2/roles", {"filter": "mod"})
    assert resp.status_code == 200
    assert [r["roleId"] for r in resp.json()["roles"]] == ["moderator", "mod-lite", "SuperMod"]
    assert len(api.get("/api/v2/roles").json()["roles"]) == 4


def test_a_listed_role_carries_its_numeric_id(api, org):
    role = RoleFactory(organization=org, role_id="mod", permissions=["message.send"])
    listed = api.get("/api/v2/roles").json()["roles"]
    assert listed == [
        {
            "id": role.pk,
            "roleId": "mod",
            "permissions": ["message.send"],
            "createdAt": listed[0]["createdAt"],
        }
    ]


def test_it_pages_roles(api, org):
    for i in range(5):
        RoleFactory(organization=org, role_id=f"r{i}")
    first = api.get("/api/v2/roles", {"limit": 2}).json()
    second = api.get("/api/v2/roles", {"limit": 2, "pageToken": first["paging"]["next"]}).json()
    assert [r["roleId"] for r in second["roles"]] == ["r2", "r3"]
    resp = api.get(
        "/api/v2/roles", {"limit": 2, "filter": "x", "pageToken": first["paging"]["next"]}
    )
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_page_token"


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"filter": "x" * 65}, "filter")]
)
def test_it_refuses_bad_role_query_parameters(api, org, params, field):
    resp = api.get("/api/v2/roles", params)
    assert resp.status_code == 400 and resp.json()["field"] == field


def test_it_lists_roles_with_a_constant_number_of_queries(api, org):
    api.get("/api/v2/roles")  # first use stamps the token's last_used_at

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/api/v2/roles").status_code == 200
        return len(ctx.captured_queries)

    RoleFactory(organization=org)
    one = count()
    for _ in range(49):
        RoleFactory(organization=org)
    # 2 queries: the token lookup and the page of roles.
    assert count() == one == 2


@pytest.mark.parametrize("method", ["get", "put"])
def test_roles_require_a_valid_token(anon_api, bad_api, method):
    for client in (anon_api, bad_api):
        resp = getattr(client, method)("/api/v2/roles", {"publicIds": ["x"]}, format="json")
        assert resp.status_code == 401
    assert not Role.objects.exists()
