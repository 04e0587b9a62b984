"""The messaging API's doors to outgoing webhooks' deliveries: the signing secret in the
create answer only, ``POST /webhooks/{webhookID}/rotate-secret``, ``lastDelivery`` in the
detail and ``GET /webhooks/{webhookID}/deliveries`` (ours, newest first, keyset pages)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing
from apps.integrations.services.delivery import NewDelivery, deliveries_create, deliveries_run
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from tests.factories import RoleFactory
from tests.personas import MessagingClient

from .conftest import BASE, detail_url, error, make_webhook

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hook"
DELIVERY_KEYS = {
    "deliveryID",
    "webhookID",
    "webhookMessageID",
    "event",
    "url",
    "payload",
    "status",
    "attempts",
    "nextAttemptAt",
    "lastAttemptAt",
    "responseStatus",
    "responseExcerpt",
    "error",
    "replied",
    "createdAt",
    "updatedAt",
    "finishedAt",
}


@pytest.fixture(autouse=True)
def local_receivers(settings: Any) -> None:
    """Outgoing URLs on 127.0.0.1 are allowed (apps.core.egress refuses loopback else)."""
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_ALLOWLIST": ["127.0.0.1/32"]}


def _create(client: MessagingClient, room: Channel, bot: Member, url: str = URL) -> Any:
    return client.post(
        BASE,
        {
            "channelID": str(room.pk),
            "kind": "outgoing",
            "userID": str(bot.pk),
            "trigger": "deploy",
            "url": url,
        },
    )


def _outgoing(creator: Member, room: Channel, bot: Member) -> Integration:
    return make_webhook(
        creator, room, bot, direction=Integration.Direction.OUTGOING, urls=[URL]
    ).integration


def _deliver(integration: Integration, text: str = "prod") -> Delivery:
    deliveries_create([NewDelivery(integration, event="command", payload={"text": text})])
    return Delivery.objects.filter(integration=integration).latest("pk")


def _rotate_url(webhook: Integration | int | str) -> str:
    return f"{detail_url(webhook)}/rotate-secret"


def _deliveries_url(webhook: Integration | int | str) -> str:
    return f"{detail_url(webhook)}/deliveries"


def _own_only(org: Organization, member: Member) -> None:
    role = RoleFactory(organization=org, role_id="hookers")
    Rule.objects.create(
        organization=org,
        role=role,
        resource="messaging",
        operation="integrations.outgoing.manage.own",
        access="allow",
    )
    member.roles = ["hookers"]
    member.save(update_fields=["roles"])


# --- the signing secret ------------------------------------------------------------------


def test_the_create_answer_of_an_outgoing_webhook_shows_its_signing_secret_once(
    as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    response = _create(as_admin, room, bot)
    assert response.status_code == 201, response.content
    body = response.json()["response"]
    secret = body["signingSecret"]
    assert secret.startswith("whsec_") and body["authToken"] is None
    row = Integration.objects.get(pk=body["webhookID"])
    assert signing.secret_decrypt(row.signing_secret) == secret != row.signing_secret
    later = [
        as_admin.get(detail_url(row)),
        as_admin.get(BASE),
        as_admin.post(detail_url(row), {"username": "Deployer"}),
        as_admin.get(_deliveries_url(row)),
    ]
    for answer in later:
        assert answer.status_code == 200, answer.content
        assert "signingSecret" not in answer.content.decode()
        assert secret not in answer.content.decode()


def test_the_create_answers_secret_verifies_a_command_runs_request(
    as_admin: MessagingClient, room: Channel, bot: Member, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    body = _create(as_admin, room, bot, url=httpserver.url_for("/hook")).json()["response"]
    ran = as_admin.post(
        f"/api/messaging/channels/{room.pk}/messages/command/deploy/exec", {"input": "prod"}
    )
    assert ran.status_code == 200, ran.content
    assert deliveries_run(threads=False).succeeded == 1
    [(request, _response)] = httpserver.log
    payload = Webhook(body["signingSecret"]).verify(request.get_data(), dict(request.headers))
    assert payload == {"text": "prod"}
    [shown] = as_admin.get(_deliveries_url(body["webhookID"])).json()["response"]
    assert (shown["status"], shown["responseStatus"], shown["attempts"]) == ("succeeded", 204, 1)
    assert shown["webhookMessageID"] == request.headers["webhook-id"]


def test_rotating_answers_the_webhook_and_a_new_secret_and_keeps_the_old_one_a_while(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    issued = make_webhook(
        org_admin, room, bot, direction=Integration.Direction.OUTGOING, urls=[URL]
    )
    response = as_admin.post(_rotate_url(issued.integration))
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert body["webhookID"] == str(issued.integration.pk) and body["kind"] == "outgoing"
    new = body["signingSecret"]
    assert new.startswith("whsec_") and new != issued.signing_secret
    row = Integration.objects.get(pk=issued.integration.pk)
    assert signing.signing_secrets(row) == [new, issued.signing_secret]
    entry = AuditEntry.objects.get(action="integration.secret.rotate")
    assert entry.target_id == str(row.pk) and new not in json.dumps(entry.after)
    assert new not in as_admin.get(detail_url(row)).content.decode()


def test_rotating_refuses_incoming_foreign_missing_and_unmanageable_webhooks(
    org: Organization,
    as_admin: MessagingClient,
    as_alice: MessagingClient,
    as_outsider: MessagingClient,
    org_admin: Member,
    alice: Member,
    room: Channel,
    bot: Member,
) -> None:
    incoming = make_webhook(org_admin, room, bot).integration
    outgoing = _outgoing(org_admin, room, bot)
    before = outgoing.signing_secret
    assert error(as_admin.post(_rotate_url(incoming))) == (400, "invalid_parameter", "kind")
    for missing in ("999999", str(2**63), str(2**70)):
        assert error(as_admin.post(_rotate_url(missing)))[:2] == (404, "integration_not_found")
    assert as_admin.post(f"{BASE}abc/rotate-secret").status_code == 404
    assert error(as_outsider.post(_rotate_url(outgoing)))[:2] == (404, "integration_not_found")
    # a plain member, and one that may manage only its own: the admin's is not theirs
    assert error(as_alice.post(_rotate_url(outgoing)))[:2] == (404, "integration_not_found")
    _own_only(org, alice)
    assert error(as_alice.post(_rotate_url(outgoing)))[:2] == (404, "integration_not_found")
    assert as_admin.get(_rotate_url(outgoing)).status_code == 405
    assert Integration.objects.get(pk=outgoing.pk).signing_secret == before
    assert not AuditEntry.objects.filter(action="integration.secret.rotate").exists()


def test_a_member_with_the_own_permission_rotates_its_own_webhooks_secret(
    org: Organization, as_alice: MessagingClient, alice: Member, room: Channel, bot: Member
) -> None:
    _own_only(org, alice)
    mine = _outgoing(alice, room, bot)
    response = as_alice.post(_rotate_url(mine))
    assert response.status_code == 200, response.content
    assert response.json()["response"]["signingSecret"].startswith("whsec_")


def test_the_public_url_is_not_shadowed_by_the_new_routes(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    issued = make_webhook(org_admin, room, bot)
    public = as_admin.post(f"{detail_url(issued.integration)}/{issued.token}", {"content": "hello"})
    assert public.status_code == 201, public.content


# --- the deliveries ----------------------------------------------------------------------


def test_the_detail_of_an_outgoing_webhook_shows_its_last_delivery(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = _outgoing(org_admin, room, bot)
    assert as_admin.get(detail_url(webhook)).json()["response"]["lastDelivery"] is None
    _deliver(webhook, "one")
    newest = _deliver(webhook, "two")
    last = as_admin.get(detail_url(webhook)).json()["response"]["lastDelivery"]
    assert set(last) == DELIVERY_KEYS
    assert last["deliveryID"] == str(newest.pk) and last["payload"] == {"text": "two"}
    assert (last["status"], last["attempts"], last["replied"]) == ("pending", 0, False)


def test_the_deliveries_are_listed_newest_first_in_keyset_pages(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = _outgoing(org_admin, room, bot)
    made = [_deliver(webhook, f"run {n}") for n in range(5)]
    Delivery.objects.filter(pk=made[0].pk).update(
        status=Delivery.Status.FAILED,
        attempts=8,
        response_status=502,
        response_excerpt="bad gateway",
        error_message="HTTP 502",
        finished_at=timezone.now(),
        next_attempt_at=None,
    )
    response = as_admin.get(_deliveries_url(webhook))
    assert response.status_code == 200, response.content
    listed = response.json()["response"]
    assert [d["deliveryID"] for d in listed] == [str(d.pk) for d in reversed(made)]
    oldest = listed[-1]
    assert set(oldest) == DELIVERY_KEYS
    assert (oldest["webhookID"], oldest["event"], oldest["url"]) == (
        str(webhook.pk),
        "command",
        URL,
    )
    assert (oldest["status"], oldest["responseStatus"], oldest["error"]) == (
        "failed",
        502,
        "HTTP 502",
    )
    assert oldest["responseExcerpt"] == "bad gateway" and oldest["finishedAt"] is not None
    assert oldest["webhookMessageID"] == made[0].webhook_id
    first = as_admin.get(_deliveries_url(webhook), {"limit": 2}).json()["response"]
    assert [d["deliveryID"] for d in first] == [str(made[4].pk), str(made[3].pk)]
    following = as_admin.get(
        _deliveries_url(webhook), {"limit": 2, "beforeDeliveryID": first[-1]["deliveryID"]}
    ).json()["response"]
    assert [d["deliveryID"] for d in following] == [str(made[2].pk), str(made[1].pk)]
    # 0 is the default
    assert len(as_admin.get(_deliveries_url(webhook), {"limit": 0}).json()["response"]) == 5


def test_the_deliveries_refuse_bad_paging_and_foreign_webhooks(
    as_admin: MessagingClient,
    as_alice: MessagingClient,
    as_outsider: MessagingClient,
    org_admin: Member,
    room: Channel,
    bot: Member,
) -> None:
    webhook = _outgoing(org_admin, room, bot)
    _deliver(webhook)
    url = _deliveries_url(webhook)
    for params in (
        {"limit": "-1"},
        {"limit": "201"},
        {"limit": "many"},
        {"limit": "9" * 40},
        {"beforeDeliveryID": "x"},
        {"beforeDeliveryID": "0"},
        {"beforeDeliveryID": str(2**70)},
    ):
        status, code, field = error(as_admin.get(url, params))
        assert (status, code) == (400, "invalid_parameter"), params
        assert field in params, params
    assert error(as_outsider.get(url))[:2] == (404, "integration_not_found")
    assert error(as_alice.get(url))[:2] == (404, "integration_not_found")
    assert error(as_admin.get(_deliveries_url("424242")))[:2] == (404, "integration_not_found")
    assert as_admin.post(url).status_code == 405


def test_an_incoming_webhook_has_no_deliveries(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    incoming = make_webhook(org_admin, room, bot).integration
    response = as_admin.get(_deliveries_url(incoming))
    assert response.status_code == 200 and response.json() == {"response": []}
    assert as_admin.get(detail_url(incoming)).json()["response"]["lastDelivery"] is None


def test_listing_deliveries_costs_the_same_queries_however_many_there_are(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = _outgoing(org_admin, room, bot)
    _deliver(webhook)

    def counted(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert as_admin.get(url).status_code == 200
        return len(queries)

    as_admin.get(_deliveries_url(webhook))  # warm the caches
    few = counted(_deliveries_url(webhook)), counted(detail_url(webhook))
    for n in range(6):
        _deliver(webhook, f"run {n}")
    many = counted(_deliveries_url(webhook)), counted(detail_url(webhook))
    assert few == many
