"""``integrations.history`` and ``.clearHistory``; the "own" permissions (a member whose role
allows only ``integrations.<direction>.manage.own``); hostile request bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.integrations.models import Integration, IntegrationHistory
from apps.members.models import Member
from apps.members.services import member_update
from apps.organizations.models import Organization
from apps.permissions.registry import MESSAGING
from apps.permissions.services import role_rules_set, rule_dict
from tests.factories import RoleFactory
from tests.personas import SYSTEM

from .conftest import RocketClient, create_incoming, create_outgoing, rocket_client

pytestmark = pytest.mark.django_db


def _error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False, body
    return response.status_code, body.get("errorType", "")


def _hook(client: RocketClient, doc: dict[str, Any], body: Any) -> Any:
    return client.post(f"/hooks/{doc['_id']}/{doc['token']}", body, format="json")


# --- history --------------------------------------------------------------------------------


def test_history_answers_each_call_newest_first_and_pages(
    rc: RocketClient, general: Any, no_interval: Any
) -> None:
    doc = create_incoming(rc)
    assert _hook(rc, doc, {"text": "first"}).status_code == 200
    assert _hook(rc, doc, {"text": 5}).status_code == 400  # refused: recorded too
    assert _hook(rc, doc, {"text": "third"}).status_code == 200
    response = rc.call("get", "integrations.history", {"id": doc["_id"]})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"history", "offset", "items", "count", "total", "success"}
    assert (body["offset"], body["items"], body["count"], body["total"]) == (0, 3, 3, 3)
    newest, refused, oldest = body["history"]
    assert newest["step"] == "incoming-posted" and newest["error"] is False
    assert newest["data"]["content"] == {"text": "third"}
    assert len(newest["messageIds"]) == 1
    assert newest["integration"] == {"_id": doc["_id"]} and newest["type"] == "incoming-webhook"
    assert refused["step"] == "incoming-refused" and refused["error"] is True
    assert refused["errorMessage"] and refused["messageIds"] == []
    assert oldest["data"]["content"] == {"text": "first"}
    page = rc.call("get", "integrations.history", {"id": doc["_id"], "offset": 2, "count": 5})
    assert [e["_id"] for e in page.json()["history"]] == [oldest["_id"]]
    assert page.json()["total"] == 3


def test_history_needs_an_id_and_finds_only_visible_integrations(
    rc: RocketClient, general: Any
) -> None:
    assert _error(rc.call("get", "integrations.history")) == (400, "invalid-params")
    assert _error(rc.call("get", "integrations.history", {"id": " "})) == (400, "invalid-params")
    response = rc.call("get", "integrations.history", {"id": "123456"})
    assert _error(response) == (404, "integration_not_found")
    doc = create_incoming(rc)
    response = rc.call("get", "integrations.history", {"id": doc["_id"], "count": "many"})
    assert _error(response) == (400, "invalid-params")


def test_clear_history_deletes_the_entries_and_keeps_the_integration_and_messages(
    org: Organization, rc: RocketClient, general: Any, no_interval: Any
) -> None:
    doc = create_incoming(rc)
    _hook(rc, doc, {"text": "one"})
    _hook(rc, doc, {"text": "two"})
    response = rc.call("post", "integrations.clearHistory", {"integrationId": doc["_id"]})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert not IntegrationHistory.objects.filter(integration_id=int(doc["_id"])).exists()
    assert Integration.objects.filter(pk=int(doc["_id"])).exists()
    assert general.messages.count() == 2
    entry = AuditEntry.objects.get(action="integration.history.clear")
    assert entry.after == {"deleted": 2} and entry.target_id == doc["_id"]
    assert rc.call("get", "integrations.history", {"id": doc["_id"]}).json()["total"] == 0


def test_clear_history_needs_an_integration_id(rc: RocketClient) -> None:
    assert _error(rc.call("post", "integrations.clearHistory", {})) == (400, "invalid-params")
    response = rc.call("post", "integrations.clearHistory", {"integrationId": "77"})
    assert _error(response) == (404, "integration_not_found")


# --- the "own" permissions ------------------------------------------------------------------


def _client_with_rules(org: Organization, email: str, *operations: str) -> RocketClient:
    """A holder whose member is a plain member with a role that allows ``operations``."""
    role = RoleFactory(organization=org, role_id=f"role-{email}")
    role_rules_set(
        actor=SYSTEM,
        role=role,
        rules=[rule_dict(MESSAGING, operation, "allow") for operation in operations],
    )
    client = rocket_client(org, email, role=Member.OrgRole.MEMBER)
    assert client.member is not None
    member_update(actor=SYSTEM, member=client.member, roles=[role.role_id])
    return client


def test_a_holder_of_the_own_permission_manages_only_what_it_created(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    admins = create_incoming(rc, name="The admin's")
    own = _client_with_rules(org, "dev@acme.test", "integrations.incoming.manage.own")
    mine = create_incoming(own, name="Mine")
    assert mine["_createdBy"]["_id"] == "dev@acme.test"
    listed = own.call("get", "integrations.list").json()
    assert [i["_id"] for i in listed["integrations"]] == [mine["_id"]]
    assert listed["total"] == 1
    for method, name, data in (
        ("get", "integrations.get", {"integrationId": admins["_id"]}),
        ("get", "integrations.history", {"id": admins["_id"]}),
        (
            "put",
            "integrations.update",
            {"type": "webhook-incoming", "integrationId": admins["_id"], "name": "x"},
        ),
        (
            "post",
            "integrations.remove",
            {"type": "webhook-incoming", "integrationId": admins["_id"]},
        ),
        ("post", "integrations.clearHistory", {"integrationId": admins["_id"]}),
    ):
        assert _error(own.call(method, name, data)) == (404, "integration_not_found"), name
    assert Integration.objects.get(pk=int(admins["_id"])).name == "The admin's"
    update = own.call(
        "put",
        "integrations.update",
        {"type": "webhook-incoming", "integrationId": mine["_id"], "name": "Renamed"},
    )
    assert update.status_code == 200 and update.json()["integration"]["name"] == "Renamed"
    # the admin (all of them) still sees both
    assert rc.call("get", "integrations.list").json()["total"] == 2
    remove = own.call(
        "post", "integrations.remove", {"type": "webhook-incoming", "integrationId": mine["_id"]}
    )
    assert remove.status_code == 200


def test_the_own_incoming_permission_does_not_cover_outgoing_ones(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    outgoing = create_outgoing(rc)
    own = _client_with_rules(org, "dev@acme.test", "integrations.incoming.manage.own")
    body = {
        "type": "webhook-outgoing",
        "username": "x.bot",
        "event": "sendMessage",
        "urls": ["https://x.example/"],
        "channel": "#general",
    }
    assert _error(own.call("post", "integrations.create", body)) == (403, "not_authorized")
    response = own.call("get", "integrations.get", {"integrationId": outgoing["_id"]})
    assert _error(response) == (404, "integration_not_found")


def test_a_rule_may_grant_a_plain_member_every_outgoing_integration(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    outgoing = create_outgoing(rc)
    create_incoming(rc)
    manager = _client_with_rules(org, "ops@acme.test", "integrations.outgoing.manage")
    listed = manager.call("get", "integrations.list").json()
    assert [i["_id"] for i in listed["integrations"]] == [outgoing["_id"]]
    response = manager.call(
        "put",
        "integrations.update",
        {"type": "webhook-outgoing", "integrationId": outgoing["_id"], "enabled": True},
    )
    assert response.status_code == 200


def test_a_holder_without_any_integration_permission_is_403_everywhere(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc)
    plain = rocket_client(org, "plain@acme.test", role=Member.OrgRole.MEMBER)
    for method, name, data in (
        ("get", "integrations.list", {}),
        ("get", "integrations.get", {"integrationId": doc["_id"]}),
        ("get", "integrations.history", {"id": doc["_id"]}),
        ("put", "integrations.update", {"type": "webhook-incoming", "integrationId": doc["_id"]}),
        ("post", "integrations.remove", {"type": "webhook-incoming", "integrationId": doc["_id"]}),
        ("post", "integrations.clearHistory", {"integrationId": doc["_id"]}),
    ):
        assert _error(plain.call(method, name, data)) == (403, "not_authorized"), name
    assert plain.call("get", "me").status_code == 200


# --- hostile bodies -------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return '{"type": "webhook-incoming", "name": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{not json", "application/json", (400, "invalid-params")),
        (b'{"type": "webhook-incoming", "name": "\xff"}', "application/json",
         (400, "invalid-params")),
        (_nested(100).encode(), "application/json", (400, "invalid-params")),
        (b"[1, 2, 3]", "application/json", (400, "invalid-params")),
        (b'"just a string"', "application/json", (400, "invalid-params")),
        (b'{"type": "webhook-incoming", "type": "webhook-outgoing"}', "application/json",
         (400, "invalid-params")),
        (b'{"name": NaN, "type": "webhook-incoming"}', "application/json", (400, "invalid-params")),
        (b"type=webhook-incoming&name=%FF", "application/x-www-form-urlencoded",
         (400, "invalid-params")),
        (b"hello", "text/plain", (415, "unsupported_media_type")),
        (json.dumps({"type": "webhook-incoming", "name": "x" * 1_100_000}).encode(),
         "application/json", (413, "payload_too_large")),
    ],
)  # fmt: skip
def test_a_hostile_body_is_a_4xx_in_rocketchats_body_and_writes_nothing(
    org: Organization,
    rc: RocketClient,
    general: Any,
    body: bytes,
    content_type: str,
    expected: tuple,
) -> None:
    members = Member.objects.count()
    audit = AuditEntry.objects.count()
    response = rc.generic("POST", "/api/v1/integrations.create", body, content_type=content_type)
    assert _error(response) == expected
    assert not Integration.objects.exists()
    assert Member.objects.count() == members and AuditEntry.objects.count() == audit


def test_a_hostile_update_body_changes_nothing(rc: RocketClient, general: Any) -> None:
    doc = create_incoming(rc)
    before = Integration.objects.filter(pk=int(doc["_id"])).values().get()
    for body in (
        b'{"type": "webhook-incoming", "integrationId": "' + doc["_id"].encode() + b'", "name": ',
        _nested(64).encode(),
        b'{"type": "webhook-incoming", "integrationId": ["1"], "name": "x"}',
    ):
        response = rc.generic("PUT", "/api/v1/integrations.update", body, "application/json")
        assert _error(response) == (400, "invalid-params")
    assert Integration.objects.filter(pk=int(doc["_id"])).values().get() == before


# --- query counts ---------------------------------------------------------------------------


def test_list_and_history_cost_the_same_queries_whatever_the_rows(
    rc: RocketClient, general: Any, no_interval: Any
) -> None:
    doc = create_incoming(rc)
    rc.call("get", "me")  # the holder's member exists: logging in is a read from now on

    def counted(name: str, data: dict[str, Any]) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert rc.call("get", name, data).status_code == 200
        return len(queries)

    # the token (with its organization), the holder's member, COUNT, the page (with bot,
    # channel and creator joined)
    assert counted("integrations.list", {}) == 4
    # the token, the member, the integration, COUNT, the page
    _hook(rc, doc, {"text": "one"})
    assert counted("integrations.history", {"id": doc["_id"]}) == 5
    for _ in range(5):
        create_incoming(rc)
        create_outgoing(rc)
        _hook(rc, doc, {"text": "more"})
    assert counted("integrations.list", {}) == 4
    assert counted("integrations.history", {"id": doc["_id"]}) == 5
