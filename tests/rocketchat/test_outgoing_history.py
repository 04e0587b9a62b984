"""Rocket.Chat's doors to outgoing deliveries: the signing secret in the create answer
only, ``integrations.rotateSigningSecret`` (ours), ``integrations.history`` of an outgoing
integration (its deliveries, in Rocket.Chat's history shape), ``integrations.replayOutgoing``
and ``integrations.clearHistory`` (finished deliveries go, pending ones stay)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from apps.audit.models import AuditEntry
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing
from apps.integrations.services.delivery import NewDelivery, deliveries_create, deliveries_run
from apps.members.models import Member
from apps.members.services import member_update
from apps.organizations.models import Organization
from apps.permissions.registry import MESSAGING
from apps.permissions.services import role_rules_set, rule_dict
from apps.rocketchat.shapes import delivery_step
from tests.factories import RoleFactory
from tests.personas import SYSTEM

from .conftest import RocketClient, create_incoming, create_outgoing, rocket_client

pytestmark = pytest.mark.django_db

#: Where the outgoing integrations of these tests send (a local port: nothing listens
#: unless a test starts a receiver there).
URL = "http://127.0.0.1:9/hook"
#: Rocket.Chat's history fields of a delivery, and ours.
DELIVERY_KEYS = {
    "_id",
    "type",
    "step",
    "integration",
    "event",
    "url",
    "data",
    "ranPrepareScript",
    "finished",
    "error",
    "httpResult",
    "httpError",
    "messageIds",
    "_createdAt",
    "_updatedAt",
    # ours
    "status",
    "attempts",
    "nextAttemptAt",
    "responseStatus",
    "webhookId",
}


@pytest.fixture(autouse=True)
def local_receivers(settings: Any) -> None:
    """Outgoing URLs on 127.0.0.1 are allowed (apps.core.egress refuses loopback else)."""
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_ALLOWLIST": ["127.0.0.1/32"]}


def _error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False, body
    return response.status_code, body.get("errorType", "")


def _outgoing(client: RocketClient, **fields: Any) -> dict[str, Any]:
    return create_outgoing(client, urls=[URL], enabled=True, token="RC-TOKEN-42", **fields)


def _deliver(
    integration_id: str | int, payload: dict[str, Any] | None = None, **context: Any
) -> Delivery:
    """One pending delivery of the integration (one row per URL), as the fan-out writes it."""
    integration = Integration.objects.get(pk=int(integration_id))
    deliveries_create(
        [
            NewDelivery(
                integration,
                event="sendMessage",
                payload=payload or {"text": "hello", "channel_name": "general"},
                context=context,
            )
        ]
    )
    return Delivery.objects.filter(integration=integration).latest("pk")


def _finish(delivery: Delivery, status: str, **fields: Any) -> Delivery:
    """Put a delivery in a finished state (test setup: the engine has its own tests)."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, finished_at=now, next_attempt_at=None, **fields
    )
    delivery.refresh_from_db()
    return delivery


def _history(client: RocketClient, integration_id: str, **params: Any) -> dict[str, Any]:
    response = client.call("get", "integrations.history", {"id": integration_id, **params})
    assert response.status_code == 200, response.content
    return response.json()


def _client_with_rules(org: Organization, email: str, *operations: str) -> RocketClient:
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


# --- the signing secret ------------------------------------------------------------------


def test_the_create_answer_shows_the_signing_secret_once_and_no_other_answer_does(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    secret = doc["signingSecret"]
    assert secret.startswith("whsec_")
    row = Integration.objects.get(pk=int(doc["_id"]))
    assert signing.secret_decrypt(row.signing_secret) == secret
    assert secret not in row.signing_secret  # encrypted at rest
    answers = [
        rc.call("get", "integrations.get", {"integrationId": doc["_id"]}),
        rc.call("get", "integrations.list"),
        rc.call(
            "put",
            "integrations.update",
            {"type": "webhook-outgoing", "integrationId": doc["_id"], "name": "Renamed"},
        ),
        rc.call("get", "integrations.history", {"id": doc["_id"]}),
    ]
    for response in answers:
        assert response.status_code == 200, response.content
        assert "signingSecret" not in response.content.decode()
        assert secret not in response.content.decode()


def test_an_incoming_create_answer_has_a_token_and_no_signing_secret(
    rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc)
    assert doc["token"] and "signingSecret" not in doc


def test_rotating_answers_a_new_secret_once_and_the_previous_one_keeps_signing_a_while(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    response = rc.call("post", "integrations.rotateSigningSecret", {"integrationId": doc["_id"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"integration", "signingSecret", "success"} and body["success"] is True
    new = body["signingSecret"]
    assert new.startswith("whsec_") and new != doc["signingSecret"]
    assert body["integration"]["_id"] == doc["_id"] and "signingSecret" not in body["integration"]
    row = Integration.objects.get(pk=int(doc["_id"]))
    assert signing.signing_secrets(row) == [new, doc["signingSecret"]]
    grace = timedelta(hours=settings.CHATADMIN["WEBHOOK_SECRET_GRACE_HOURS"])
    assert row.previous_signing_secret_until is not None
    assert signing.signing_secrets(row, timezone.now() + grace + timedelta(seconds=1)) == [new]
    entry = AuditEntry.objects.get(action="integration.secret.rotate")
    assert entry.target_id == doc["_id"] and new not in json.dumps(entry.after)
    got = rc.call("get", "integrations.get", {"integrationId": doc["_id"]})
    assert new not in got.content.decode()


def test_rotating_refuses_what_is_not_a_visible_outgoing_integration(
    org: Organization, rc: RocketClient, other_rc: RocketClient, general: Any
) -> None:
    incoming = create_incoming(rc)
    outgoing = _outgoing(rc)
    route = "integrations.rotateSigningSecret"
    assert _error(rc.call("post", route, {})) == (400, "invalid-params")
    for bad in ([outgoing["_id"]], {"id": 1}, True, " ", None):
        response = rc.call("post", route, {"integrationId": bad}, format="json")
        assert _error(response) == (400, "invalid-params"), bad
    assert _error(rc.call("post", route, {"integrationId": outgoing["_id"], "x": 1})) == (
        400,
        "invalid-params",
    )
    # an incoming integration has no signing secret
    assert _error(rc.call("post", route, {"integrationId": incoming["_id"]})) == (
        400,
        "invalid-params",
    )
    for missing in ("999999", "9" * 40, "abc", "-1"):
        response = rc.call("post", route, {"integrationId": missing})
        assert _error(response) == (404, "integration_not_found"), missing
    # another organization's: like a missing one, and nothing changes
    before = Integration.objects.get(pk=int(outgoing["_id"])).signing_secret
    response = other_rc.call("post", route, {"integrationId": outgoing["_id"]})
    assert _error(response) == (404, "integration_not_found")
    assert Integration.objects.get(pk=int(outgoing["_id"])).signing_secret == before
    # no integration permission at all: 403; only the "own" one: the admin's is missing
    plain = rocket_client(org, "plain@acme.test", role=Member.OrgRole.MEMBER)
    assert _error(plain.call("post", route, {"integrationId": outgoing["_id"]})) == (
        403,
        "not_authorized",
    )
    own = _client_with_rules(org, "dev@acme.test", "integrations.outgoing.manage.own")
    assert _error(own.call("post", route, {"integrationId": outgoing["_id"]})) == (
        404,
        "integration_not_found",
    )
    assert Integration.objects.get(pk=int(outgoing["_id"])).signing_secret == before
    assert not AuditEntry.objects.filter(action="integration.secret.rotate").exists()


def test_the_secret_of_the_create_answer_verifies_what_the_receiver_gets(
    rc: RocketClient, general: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok", status=200)
    doc = create_outgoing(rc, urls=[httpserver.url_for("/hook")], enabled=True, token="RC-TOKEN-42")
    delivery = _deliver(doc["_id"])
    assert deliveries_run(threads=False).succeeded == 1
    [(request, _response)] = httpserver.log
    payload = Webhook(doc["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload["token"] == "RC-TOKEN-42" and payload["text"] == "hello"
    assert request.headers["webhook-id"] == delivery.webhook_id
    [entry] = _history(rc, doc["_id"])["history"]
    assert (entry["step"], entry["status"], entry["finished"], entry["error"]) == (
        "after-http-call",
        "succeeded",
        True,
        False,
    )
    assert (entry["responseStatus"], entry["httpResult"], entry["httpError"]) == (200, "ok", None)
    assert entry["attempts"] == 1 and entry["nextAttemptAt"] is None


# --- history -----------------------------------------------------------------------------


def test_the_history_of_an_outgoing_integration_is_its_deliveries_newest_first(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc, triggerWords=["!deploy"])
    first = _deliver(
        doc["_id"], {"text": "!deploy one", "user_name": "alice"}, triggerWord="!deploy"
    )
    second = _deliver(doc["_id"], {"text": "!deploy two"})
    third = _deliver(doc["_id"], {"text": "!deploy three"})
    body = _history(rc, doc["_id"])
    assert set(body) == {"history", "offset", "items", "count", "total", "success"}
    assert (body["offset"], body["items"], body["count"], body["total"]) == (0, 3, 3, 3)
    assert [e["_id"] for e in body["history"]] == [str(third.pk), str(second.pk), str(first.pk)]
    oldest = body["history"][2]
    assert set(oldest) == DELIVERY_KEYS | {"triggerWord"}
    assert set(body["history"][0]) == DELIVERY_KEYS  # no trigger word: no key, as Rocket.Chat
    assert oldest["type"] == "outgoing-webhook" and oldest["integration"] == {"_id": doc["_id"]}
    assert (oldest["event"], oldest["url"], oldest["triggerWord"]) == (
        "sendMessage",
        URL,
        "!deploy",
    )
    assert oldest["data"] == {"text": "!deploy one", "user_name": "alice"}
    assert oldest["step"] == "start-execute-trigger-url" and oldest["status"] == "pending"
    assert (oldest["finished"], oldest["error"], oldest["attempts"]) == (False, False, 0)
    assert oldest["nextAttemptAt"] is not None and oldest["webhookId"] == first.webhook_id
    assert (oldest["httpResult"], oldest["httpError"], oldest["responseStatus"]) == (
        None,
        None,
        None,
    )
    assert "RC-TOKEN-42" not in json.dumps(body)  # the token is added at send time only
    page = _history(rc, doc["_id"], offset=1, count=1)
    assert [e["_id"] for e in page["history"]] == [str(second.pk)]
    assert (page["offset"], page["items"], page["count"], page["total"]) == (1, 1, 1, 3)
    beyond = _history(rc, doc["_id"], offset=10)
    assert beyond["history"] == [] and beyond["total"] == 3


def test_the_history_of_deliveries_costs_the_same_queries_however_many_there_are(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    _deliver(doc["_id"])

    def counted() -> int:
        with CaptureQueriesContext(connection) as queries:
            _history(rc, doc["_id"])
        return len(queries)

    _history(rc, doc["_id"])  # warm the caches
    few = counted()
    for n in range(6):
        _deliver(doc["_id"], {"text": f"run {n}"}, triggerWord="run")
    assert counted() == few


def test_each_delivery_state_is_shown_as_rocketchats_step(rc: RocketClient, general: Any) -> None:
    doc = _outgoing(rc, retryFailedCalls=True, retryCount=2)
    retrying = _deliver(doc["_id"])
    Delivery.objects.filter(pk=retrying.pk).update(
        attempts=2, response_status=500, error_message="HTTP 500", response_excerpt="boom"
    )
    replied = _finish(
        _deliver(doc["_id"]),
        Delivery.Status.SUCCEEDED,
        attempts=1,
        response_status=200,
        reply_message_id="3f0c",
    )
    gone = _finish(
        _deliver(doc["_id"]),
        Delivery.Status.FAILED,
        attempts=1,
        response_status=410,
        error_message="HTTP 410",
    )
    exhausted = _finish(
        _deliver(doc["_id"]),
        Delivery.Status.FAILED,
        attempts=3,
        response_status=502,
        error_message="HTTP 502",
        response_excerpt="bad gateway",
    )
    refused = _finish(
        _deliver(doc["_id"]),
        Delivery.Status.FAILED,
        attempts=1,
        error_message="url_not_allowed: loopback",
    )
    cancelled = _finish(
        _deliver(doc["_id"]),
        Delivery.Status.CANCELLED,
        attempts=1,
        error_message="The integration is disabled.",
    )
    entries = {e["_id"]: e for e in _history(rc, doc["_id"])["history"]}

    def shown(delivery: Delivery) -> tuple[Any, ...]:
        entry = entries[str(delivery.pk)]
        return entry["step"], entry["status"], entry["finished"], entry["error"]

    assert shown(retrying) == ("going-to-retry-2", "pending", False, True)
    assert entries[str(retrying.pk)]["httpResult"] == "boom"
    assert entries[str(retrying.pk)]["httpError"] == "HTTP 500"
    assert shown(replied) == ("url-response-sent-message", "succeeded", True, False)
    assert entries[str(replied.pk)]["messageIds"] == ["3f0c"]
    assert shown(gone) == ("after-process-http-status-410", "failed", True, True)
    assert shown(exhausted) == ("too-many-retries", "failed", True, True)
    assert entries[str(exhausted.pk)]["responseStatus"] == 502
    assert entries[str(exhausted.pk)]["errorMessage"] == "HTTP 502"
    assert shown(refused) == ("url-not-allowed", "failed", True, True)
    assert shown(cancelled) == ("integration-disabled", "cancelled", True, True)
    # an integration that does not retry: its failures were never going to be retried
    Integration.objects.filter(pk=int(doc["_id"])).update(retry_failed_calls=False)
    integration = Integration.objects.get(pk=int(doc["_id"]))
    assert delivery_step(exhausted, integration) == "failed-and-not-configured-to-retry"


def test_the_history_of_an_incoming_integration_is_still_its_calls(
    rc: RocketClient, general: Any, no_interval: Any
) -> None:
    doc = create_incoming(rc)
    call = rc.post(f"/hooks/{doc['_id']}/{doc['token']}", {"text": "hi"}, format="json")
    assert call.status_code == 200, call.content
    [entry] = _history(rc, doc["_id"])["history"]
    assert entry["type"] == "incoming-webhook" and entry["step"] == "incoming-posted"
    assert "webhookId" not in entry


def test_the_history_of_another_organizations_outgoing_integration_is_404(
    rc: RocketClient, other_rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    _deliver(doc["_id"])
    response = other_rc.call("get", "integrations.history", {"id": doc["_id"]})
    assert _error(response) == (404, "integration_not_found")


# --- replay ------------------------------------------------------------------------------


def test_replaying_sends_a_finished_delivery_again_with_the_same_webhook_id(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    delivery = _finish(
        _deliver(doc["_id"]),
        Delivery.Status.FAILED,
        attempts=1,
        response_status=500,
        error_message="HTTP 500",
    )
    webhook_id = delivery.webhook_id
    response = rc.call(
        "post",
        "integrations.replayOutgoing",
        {"integrationId": doc["_id"], "historyId": str(delivery.pk)},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.finished_at is None
    assert delivery.webhook_id == webhook_id and delivery.next_attempt_at is not None
    assert Delivery.objects.filter(integration_id=int(doc["_id"])).count() == 1
    entry = AuditEntry.objects.get(action="integration.delivery.replay")
    assert entry.after == {"delivery": delivery.webhook_id}
    [shown] = _history(rc, doc["_id"])["history"]
    assert shown["status"] == "pending" and shown["webhookId"] == delivery.webhook_id
    # while it is pending, a second replay is refused; by its webhookId alike
    again = rc.call(
        "post",
        "integrations.replayOutgoing",
        {"integrationId": doc["_id"], "historyId": delivery.webhook_id},
    )
    assert _error(again) == (400, "invalid-params")


def test_a_delivery_is_found_by_its_webhook_id_too(rc: RocketClient, general: Any) -> None:
    doc = _outgoing(rc)
    delivery = _finish(_deliver(doc["_id"]), Delivery.Status.SUCCEEDED, attempts=1)
    response = rc.call(
        "post",
        "integrations.replayOutgoing",
        {"integrationId": int(doc["_id"]), "historyId": delivery.webhook_id},
        format="json",
    )
    assert response.status_code == 200, response.content
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING


def test_replaying_refuses_unknown_foreign_and_malformed_references(
    org: Organization, rc: RocketClient, other_rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    delivery = _finish(_deliver(doc["_id"]), Delivery.Status.FAILED, attempts=1)
    other = _outgoing(rc, name="Other")
    elsewhere = _finish(_deliver(other["_id"]), Delivery.Status.FAILED, attempts=1)
    incoming = create_incoming(rc)
    route = "integrations.replayOutgoing"

    def replay(client: RocketClient, body: dict[str, Any]) -> tuple[int, str]:
        return _error(client.call("post", route, body, format="json"))

    ids = {"integrationId": doc["_id"]}
    assert replay(rc, {}) == (400, "invalid-params")
    assert replay(rc, ids) == (400, "invalid-params")
    assert replay(rc, {"historyId": str(delivery.pk)}) == (400, "invalid-params")
    for bad in ([1], {"a": 1}, False, "", "  "):
        assert replay(rc, {**ids, "historyId": bad}) == (400, "invalid-params"), bad
    assert replay(rc, {**ids, "historyId": str(delivery.pk), "extra": 1}) == (
        400,
        "invalid-params",
    )
    for unknown in ("999999", "9" * 30, "msg_nothing", "x" * 5000, "0", "-3", 2**70):
        assert replay(rc, {**ids, "historyId": unknown}) == (
            404,
            "error-invalid-integration-history",
        ), unknown
    # a delivery of another integration of the same organization
    assert replay(rc, {**ids, "historyId": str(elsewhere.pk)}) == (
        404,
        "error-invalid-integration-history",
    )
    # an incoming integration, a missing one, another organization's: the integration
    assert replay(rc, {"integrationId": incoming["_id"], "historyId": str(delivery.pk)}) == (
        404,
        "integration_not_found",
    )
    assert replay(rc, {"integrationId": "424242", "historyId": str(delivery.pk)}) == (
        404,
        "integration_not_found",
    )
    assert replay(other_rc, {**ids, "historyId": str(delivery.pk)}) == (
        404,
        "integration_not_found",
    )
    plain = rocket_client(org, "plain@acme.test", role=Member.OrgRole.MEMBER)
    assert replay(plain, {**ids, "historyId": str(delivery.pk)}) == (403, "not_authorized")
    delivery.refresh_from_db()
    elsewhere.refresh_from_db()
    assert delivery.status == elsewhere.status == Delivery.Status.FAILED
    assert not AuditEntry.objects.filter(action="integration.delivery.replay").exists()


def test_replaying_a_delivery_of_a_disabled_integration_is_503(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    delivery = _finish(_deliver(doc["_id"]), Delivery.Status.FAILED, attempts=1)
    Integration.objects.filter(pk=int(doc["_id"])).update(enabled=False)
    response = rc.call(
        "post",
        "integrations.replayOutgoing",
        {"integrationId": doc["_id"], "historyId": str(delivery.pk)},
    )
    assert _error(response) == (503, "integration_disabled")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


# --- clear -------------------------------------------------------------------------------


def test_clearing_the_history_drops_finished_deliveries_and_keeps_pending_ones(
    rc: RocketClient, general: Any
) -> None:
    doc = _outgoing(rc)
    pending = _deliver(doc["_id"])
    retrying = _deliver(doc["_id"])
    Delivery.objects.filter(pk=retrying.pk).update(attempts=1, error_message="HTTP 500")
    for status in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.CANCELLED):
        _finish(_deliver(doc["_id"]), status, attempts=1)
    assert _history(rc, doc["_id"])["total"] == 5
    response = rc.call("post", "integrations.clearHistory", {"integrationId": doc["_id"]})
    assert response.status_code == 200 and response.json() == {"success": True}
    left = set(Delivery.objects.filter(integration_id=int(doc["_id"])).values_list("pk", flat=True))
    assert left == {pending.pk, retrying.pk}
    entry = AuditEntry.objects.get(action="integration.history.clear")
    assert entry.after == {"deleted": 3}
    shown = _history(rc, doc["_id"])
    assert [e["_id"] for e in shown["history"]] == [str(retrying.pk), str(pending.pk)]
