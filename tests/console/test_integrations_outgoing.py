"""The console's outgoing integrations (issue 14): the deliveries log on an outgoing
integration's page (newest first, filtered by status, paged, constant queries), the
redeliver button, "send a test event", the signing secret shown once at creation and
after a rotation (behind a confirmation that names the grace period), the notice of an
integration the machinery disabled, and the verification snippet. Moderators read;
admins and owners act; another organization's integration and delivery ids are 404."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.console.paging import PER_PAGE
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing
from apps.integrations.services.delivery import NewDelivery, deliveries_create
from apps.integrations.services.integrations import integration_create
from apps.integrations.services.stackfield import stackfield_url_create
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
HOOK = "http://127.0.0.1:9/hook"
Status = Delivery.Status


@pytest.fixture(autouse=True)
def local_receivers(settings: Any) -> None:
    """Integrations here point at 127.0.0.1 (nothing is sent: no worker runs), allowed
    like a self-hoster's internal service, so no test depends on DNS."""
    settings.CHATADMIN = {**django_settings.CHATADMIN, "WEBHOOK_ALLOWLIST": ["127.0.0.1/32"]}


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


def flashes(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def outgoing(
    org: Organization, name: str = "Notify", urls: list[str] | None = None, **fields: Any
) -> Integration:
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        name=name,
        event="sendMessage",
        urls=urls or [HOOK],
        **fields,
    ).integration


def incoming(org: Organization) -> Integration:
    return stackfield_url_create(
        organization=org, actor=SYSTEM, kind="organization", channel=None, name="Form"
    ).integration


def deliver(integration: Integration, text: str = "hello", event: str = "sendMessage") -> Delivery:
    """A pending delivery per URL (through the fan-out's writer); the first URL's."""
    new = NewDelivery(integration, event=event, payload={"text": text})
    deliveries_create([new])
    return Delivery.objects.filter(integration=integration, event_id=new.event_id).order_by("pk")[0]


def finish(delivery: Delivery, status: str = Status.SUCCEEDED, **fields: Any) -> Delivery:
    """Set a finished state as the machinery records it."""
    values = {
        "status": status,
        "attempts": 1,
        "next_attempt_at": None,
        "finished_at": timezone.now(),
        "last_attempt_at": timezone.now(),
        **fields,
    }
    Delivery.objects.filter(pk=delivery.pk).update(**values)
    delivery.refresh_from_db()
    return delivery


def body_of(response: Any) -> str:
    return response.content.decode()


# --- the signing secret at creation -----------------------------------------------------


def test_creating_an_outgoing_integration_shows_its_signing_secret_once(
    admin_client_: Client, org
) -> None:
    response = admin_client_.post(
        url("integration_new_outgoing", org),
        {
            "name": "Deploy bot",
            "event": "sendMessage",
            "urls": HOOK,
            "username": "deploy.bot",
            "retry_count": "3",
            "retry_delay": "powers-of-two",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    integration = Integration.objects.get(organization=org)
    shown = re.search(r'id="new-secret"[^>]*value="(whsec_[^"]+)"', body_of(response)).group(1)
    assert shown == signing.secret_decrypt(integration.signing_secret)
    assert shown not in integration.signing_secret  # stored encrypted, not as shown
    assert "shown only this once" in body_of(response)
    assert url("integration", org, integration.pk) in body_of(response)
    # the integration's page never shows it again
    page = admin_client_.get(url("integration", org, integration.pk))
    assert shown not in body_of(page) and "whsec_…" in body_of(page)


# --- the deliveries log -----------------------------------------------------------------


def test_the_deliveries_log_shows_every_column_newest_first(moderator_client: Client, org) -> None:
    integration = outgoing(org)
    older = finish(
        deliver(integration, "older"),
        Status.SUCCEEDED,
        response_status=200,
        response_excerpt='{"text": "<b>thanks</b>"}',
    )
    newer = finish(
        deliver(integration, "newer"),
        Status.FAILED,
        attempts=3,
        response_status=500,
        response_excerpt="boom",
        error_message="HTTP 500",
    )
    waiting = deliver(integration, "waiting")
    later = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(pk=waiting.pk).update(attempts=1, next_attempt_at=later)
    base = timezone.now() - timedelta(hours=1)
    for minutes, delivery in enumerate([older, newer, waiting]):
        Delivery.objects.filter(pk=delivery.pk).update(created_at=base + timedelta(minutes=minutes))
    response = moderator_client.get(url("integration", org, integration.pk))
    assert response.status_code == 200
    assert [d.pk for d in response.context["page"].items] == [waiting.pk, newer.pk, older.pk]
    body = body_of(response)
    for header in (
        "Time",
        "Event",
        "Status",
        "Attempts",
        "Next attempt",
        "HTTP status",
        "Response",
        "Error",
        "webhook-id",
    ):
        assert f'<th scope="col">{header}</th>' in body, header
    assert body.index(waiting.webhook_id) < body.index(newer.webhook_id)
    assert body.index(newer.webhook_id) < body.index(older.webhook_id)
    assert '<span class="badge badge-succeeded">Succeeded</span>' in body
    assert '<span class="badge badge-failed">Failed</span>' in body
    assert '<span class="badge badge-pending">Pending</span>' in body
    assert "<code>500</code>" in body and "HTTP 500" in body
    assert later.strftime("%Y-%m-%d %H:%M:%S") in body  # the pending one's next attempt
    # the endpoint's answer is escaped, never markup
    assert "&lt;b&gt;thanks&lt;/b&gt;" in body and "<b>thanks</b>" not in body
    # a moderator reads: no buttons
    assert "Redeliver" not in body and "Send a test event" not in body
    assert url("integration_secret_rotate", org, integration.pk) not in body


def test_a_long_response_excerpt_is_truncated(moderator_client: Client, org) -> None:
    integration = outgoing(org)
    finish(deliver(integration), response_status=200, response_excerpt="x" * 1500 + "TAIL")
    body = body_of(moderator_client.get(url("integration", org, integration.pk)))
    assert "x" * 100 in body and "x" * 200 not in body and "TAIL" not in body


def test_the_log_filters_by_status_and_a_bad_status_shows_all(
    moderator_client: Client, org
) -> None:
    integration = outgoing(org)
    failed = finish(deliver(integration, "a"), Status.FAILED, error_message="HTTP 404")
    succeeded = finish(deliver(integration, "b"), Status.SUCCEEDED, response_status=204)
    pending = deliver(integration, "c")
    page = url("integration", org, integration.pk)

    def shown(query: dict[str, str]) -> set[int]:
        response = moderator_client.get(page, query)
        assert response.status_code == 200
        return {d.pk for d in response.context["page"].items}

    assert shown({"status": "failed"}) == {failed.pk}
    assert shown({"status": "succeeded"}) == {succeeded.pk}
    assert shown({"status": "pending"}) == {pending.pk}
    assert shown({"status": "cancelled"}) == set()
    assert shown({}) == shown({"status": ""}) == {failed.pk, succeeded.pk, pending.pk}
    assert shown({"status": "nonsense"}) == {failed.pk, succeeded.pk, pending.pk}
    assert "No cancelled deliveries." in body_of(
        moderator_client.get(page, {"status": "cancelled"})
    )


def test_the_log_pages_keeping_its_filter(moderator_client: Client, org) -> None:
    integration = outgoing(org)
    for i in range(PER_PAGE + 3):
        finish(deliver(integration, f"m{i}"), Status.FAILED)
    finish(deliver(integration, "ok"), Status.SUCCEEDED)
    page_url = url("integration", org, integration.pk)
    first = moderator_client.get(page_url, {"status": "failed"})
    page = first.context["page"]
    assert len(page.items) == PER_PAGE and page.next_cursor
    assert "status=failed&amp;cursor=" in body_of(first)  # the next link keeps the filter
    second = moderator_client.get(page_url, {"status": "failed", "cursor": page.next_cursor})
    rest = second.context["page"].items
    seen = [d.pk for d in page.items] + [d.pk for d in rest]
    assert len(rest) == 3 and len(set(seen)) == PER_PAGE + 3
    assert all(d.status == Status.FAILED for d in [*page.items, *rest])


def test_the_log_runs_as_many_queries_for_many_deliveries_as_for_one(
    admin_client_: Client, org, django_assert_max_num_queries: Any
) -> None:
    integration = outgoing(org, urls=[HOOK, "http://127.0.0.1:9/other"])
    finish(deliver(integration), response_status=200, reply_message_id="m1")
    page = url("integration", org, integration.pk)
    admin_client_.get(page)  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert admin_client_.get(page).status_code == 200
    for i in range(20):
        delivery = deliver(integration, f"m{i}")
        if i % 2:
            finish(delivery, Status.FAILED, response_status=500, error_message="HTTP 500")
    with django_assert_max_num_queries(len(one)):
        response = admin_client_.get(page)
    assert len(response.context["page"].items) == 2 * 21
    with django_assert_max_num_queries(len(one)):
        admin_client_.get(page, {"status": "failed"})


# --- redeliver --------------------------------------------------------------------------


def test_an_admin_redelivers_a_finished_delivery_with_the_same_webhook_id(
    admin_client_: Client, org
) -> None:
    integration = outgoing(org)
    delivery = finish(deliver(integration), Status.FAILED, attempts=8, error_message="timeout")
    page = url("integration", org, integration.pk)
    body = body_of(admin_client_.get(page, {"status": "failed"}))
    assert f'aria-label="Redeliver {delivery.webhook_id}"' in body
    back = f"{page}?status=failed"
    response = admin_client_.post(
        url("integration_redeliver", org, integration.pk),
        {"delivery": str(delivery.pk), "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    again = Delivery.objects.get(pk=delivery.pk)
    assert again.status == Status.PENDING and again.finished_at is None
    assert again.webhook_id == delivery.webhook_id and again.next_attempt_at is not None
    entry = AuditEntry.objects.get(action="integration.delivery.replay")
    assert entry.target_id == str(integration.pk)
    followed = admin_client_.get(back)
    assert any(delivery.webhook_id in m and "sent again" in m for m in flashes(followed))


def test_a_delivery_is_found_by_its_webhook_id_too(admin_client_: Client, org) -> None:
    integration = outgoing(org)
    delivery = finish(deliver(integration), Status.SUCCEEDED, response_status=200)
    response = admin_client_.post(
        url("integration_redeliver", org, integration.pk), {"delivery": delivery.webhook_id}
    )
    assert response.status_code == 302
    assert response["Location"] == url("integration", org, integration.pk) + "#deliveries"
    assert Delivery.objects.get(pk=delivery.pk).status == Status.PENDING


def test_a_pending_delivery_has_no_button_and_redelivering_it_is_a_message(
    admin_client_: Client, org
) -> None:
    integration = outgoing(org)
    pending = deliver(integration)
    page = url("integration", org, integration.pk)
    body = body_of(admin_client_.get(page))
    assert f"Redeliver {pending.webhook_id}" not in body and "being sent" in body
    response = admin_client_.post(
        url("integration_redeliver", org, integration.pk), {"delivery": pending.pk}, follow=True
    )
    assert response.status_code == 200
    assert any("Nothing was sent" in m and "still being sent" in m for m in flashes(response))
    assert not AuditEntry.objects.filter(action="integration.delivery.replay").exists()


def test_redelivering_for_a_disabled_integration_is_a_message(admin_client_: Client, org) -> None:
    integration = outgoing(org)
    delivery = finish(deliver(integration), Status.CANCELLED)
    Integration.objects.filter(pk=integration.pk).update(enabled=False)
    response = admin_client_.post(
        url("integration_redeliver", org, integration.pk), {"delivery": delivery.pk}, follow=True
    )
    assert response.status_code == 200
    assert any("Nothing was sent" in m and "disabled" in m for m in flashes(response))
    assert Delivery.objects.get(pk=delivery.pk).status == Status.CANCELLED


def test_redeliver_without_a_delivery_is_a_message_and_a_get_is_405(
    admin_client_: Client, org
) -> None:
    integration = outgoing(org)
    target = url("integration_redeliver", org, integration.pk)
    response = admin_client_.post(target, {}, follow=True)
    assert any("which delivery" in m for m in flashes(response))
    assert admin_client_.get(target).status_code == 405


def test_redelivering_another_integrations_delivery_is_404(
    admin_client_: Client, org, other_org
) -> None:
    mine = outgoing(org, name="Mine")
    sibling = finish(deliver(outgoing(org, name="Sibling")), Status.FAILED)
    theirs_integration = outgoing(other_org, name="Theirs")
    theirs = finish(deliver(theirs_integration), Status.FAILED)
    for given in (sibling.pk, sibling.webhook_id, theirs.pk, theirs.webhook_id, 2**63, "x"):
        response = admin_client_.post(
            url("integration_redeliver", org, mine.pk), {"delivery": given}
        )
        assert response.status_code == 404, given
    # and through the other organization's integration id
    response = admin_client_.post(
        url("integration_redeliver", org, theirs_integration.pk), {"delivery": theirs.pk}
    )
    assert response.status_code == 404
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.FAILED}


def test_a_redirect_elsewhere_than_this_organizations_console_is_refused(
    admin_client_: Client, org
) -> None:
    integration = outgoing(org)
    delivery = finish(deliver(integration), Status.FAILED)
    response = admin_client_.post(
        url("integration_redeliver", org, integration.pk),
        {"delivery": delivery.pk, "next": "https://evil.example/console/"},
    )
    assert response["Location"] == url("integration", org, integration.pk) + "#deliveries"


# --- send a test event ------------------------------------------------------------------


def test_an_admin_sends_a_test_event_that_shows_in_the_log(admin_client_: Client, org) -> None:
    integration = outgoing(org)
    page = url("integration", org, integration.pk)
    assert "Send a test event" in body_of(admin_client_.get(page))
    response = admin_client_.post(url("integration_test_send", org, integration.pk), follow=True)
    assert response.status_code == 200
    delivery = Delivery.objects.get(integration=integration)
    assert delivery.event == "test" and delivery.status == Status.PENDING
    assert any("test event" in m and delivery.webhook_id in m for m in flashes(response))
    assert [d.pk for d in response.context["page"].items] == [delivery.pk]


def test_a_test_event_for_a_disabled_integration_is_a_message(admin_client_: Client, org) -> None:
    integration = outgoing(org)
    Integration.objects.filter(pk=integration.pk).update(enabled=False)
    response = admin_client_.post(url("integration_test_send", org, integration.pk), follow=True)
    assert response.status_code == 200
    assert any("No test event was sent" in m for m in flashes(response))
    assert not Delivery.objects.exists()


def test_an_incoming_integration_sends_no_test_event(admin_client_: Client, org) -> None:
    integration = incoming(org)
    body = body_of(admin_client_.get(url("integration", org, integration.pk)))
    assert "Send a test event" not in body and "How to verify the signature" not in body
    response = admin_client_.post(url("integration_test_send", org, integration.pk), follow=True)
    assert response.status_code == 200
    assert any("No test event was sent" in m for m in flashes(response))
    assert not Delivery.objects.exists()


# --- rotate the signing secret ----------------------------------------------------------


@pytest.fixture
def six_hours_grace(settings: Any) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_SECRET_GRACE_HOURS": 6}


def test_rotating_needs_the_confirmation_that_names_the_grace_period(
    admin_client_: Client, org, six_hours_grace: None
) -> None:
    integration = outgoing(org)
    old = signing.secret_decrypt(integration.signing_secret)
    target = url("integration_secret_rotate", org, integration.pk)
    page = admin_client_.get(target)
    assert page.status_code == 200
    assert "This cannot be undone." in body_of(page)
    assert "6 hours" in body_of(page)
    refused = admin_client_.post(target, {})
    assert refused.status_code == 400 and "nothing was changed" in body_of(refused)
    integration.refresh_from_db()
    assert signing.secret_decrypt(integration.signing_secret) == old

    before = timezone.now()
    response = admin_client_.post(target, {"confirm": "on"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    integration.refresh_from_db()
    new = signing.secret_decrypt(integration.signing_secret)
    assert new != old and f'value="{new}"' in body_of(response)
    assert signing.secret_decrypt(integration.previous_signing_secret) == old
    until = integration.previous_signing_secret_until
    assert before + timedelta(hours=6) <= until <= timezone.now() + timedelta(hours=6)
    assert "keeps signing as well until" in body_of(response)
    assert until.strftime("%Y-%m-%d %H:%M") in body_of(response)
    assert AuditEntry.objects.filter(action="integration.secret.rotate").count() == 1
    # the page shows the grace period, never a secret
    detail = body_of(admin_client_.get(url("integration", org, integration.pk)))
    assert "previous secret is valid until" in detail
    assert until.strftime("%Y-%m-%d %H:%M") in detail
    assert new not in detail and old not in detail


def test_the_grace_notice_goes_once_the_grace_period_is_over(admin_client_: Client, org) -> None:
    integration = outgoing(org)
    Integration.objects.filter(pk=integration.pk).update(
        previous_signing_secret=integration.signing_secret,
        previous_signing_secret_until=timezone.now() - timedelta(minutes=1),
    )
    detail = body_of(admin_client_.get(url("integration", org, integration.pk)))
    assert "previous secret is valid until" not in detail


def test_an_incoming_integration_has_no_signing_secret_to_rotate(
    admin_client_: Client, org
) -> None:
    integration = incoming(org)
    target = url("integration_secret_rotate", org, integration.pk)
    assert "has no signing secret" in body_of(admin_client_.get(target))
    response = admin_client_.post(target, {"confirm": "on"})
    assert response.status_code == 400
    assert "Only an outgoing integration has a signing secret." in body_of(response)
    integration.refresh_from_db()
    assert integration.signing_secret == ""


# --- the machinery's disable --------------------------------------------------------------


def test_an_integration_the_machinery_disabled_has_a_notice_until_it_is_enabled_again(
    admin_client_: Client, org
) -> None:
    integration = outgoing(org)
    reason = "The endpoint http://127.0.0.1:9/hook answered 410 Gone."
    Integration.objects.filter(pk=integration.pk).update(
        enabled=False, disabled_reason=reason, failing_since=timezone.now() - timedelta(days=1)
    )
    page = url("integration", org, integration.pk)
    body = body_of(admin_client_.get(page))
    assert 'id="disabled-notice"' in body and "Disabled automatically." in body
    assert reason in body
    listing = body_of(admin_client_.get(url("integrations", org)))
    assert "disabled automatically" in listing and f'title="{reason}"' in listing

    response = admin_client_.post(
        url("integration_enabled", org, integration.pk), {"enabled": "true"}, follow=True
    )
    integration.refresh_from_db()
    assert integration.enabled
    assert integration.disabled_reason == "" and integration.failing_since is None
    assert 'id="disabled-notice"' not in body_of(response)
    assert "disabled automatically" not in body_of(admin_client_.get(url("integrations", org)))


def test_a_disable_by_hand_has_no_notice(admin_client_: Client, org) -> None:
    integration = outgoing(org)
    admin_client_.post(url("integration_enabled", org, integration.pk), {"enabled": "false"})
    body = body_of(admin_client_.get(url("integration", org, integration.pk)))
    assert 'id="disabled-notice"' not in body and "no events are delivered" in body
    assert "disabled automatically" not in body_of(admin_client_.get(url("integrations", org)))


def test_a_moderator_sees_the_notice_and_is_told_to_ask_an_admin(
    moderator_client: Client, org
) -> None:
    integration = outgoing(org)
    Integration.objects.filter(pk=integration.pk).update(
        enabled=False, disabled_reason="Deliveries failed for 5 days without a success."
    )
    body = body_of(moderator_client.get(url("integration", org, integration.pk)))
    assert "Deliveries failed for 5 days" in body and "ask an admin" in body


# --- the verification snippet --------------------------------------------------------------


def test_the_page_shows_how_to_verify_the_signature(moderator_client: Client, org) -> None:
    integration = outgoing(org)
    body = body_of(moderator_client.get(url("integration", org, integration.pk)))
    assert "How to verify the signature" in body
    assert "from standardwebhooks import Webhook" in body
    assert "webhook.verify(body, headers)" in body


# --- who may ------------------------------------------------------------------------------


def test_a_moderator_reads_the_log_but_every_action_is_403(moderator_client: Client, org) -> None:
    integration = outgoing(org)
    delivery = finish(deliver(integration), Status.FAILED)
    old = integration.signing_secret
    assert moderator_client.get(url("integration", org, integration.pk)).status_code == 200
    for page, data in (
        ("integration_redeliver", {"delivery": delivery.pk}),
        ("integration_test_send", {}),
        ("integration_secret_rotate", {"confirm": "on"}),
    ):
        assert moderator_client.post(url(page, org, integration.pk), data).status_code == 403
    assert (
        moderator_client.get(url("integration_secret_rotate", org, integration.pk)).status_code
        == 403
    )
    integration.refresh_from_db()
    assert integration.signing_secret == old
    assert list(Delivery.objects.values_list("status", flat=True)) == [Status.FAILED]


def test_owners_act_too(owner_client: Client, org) -> None:
    integration = outgoing(org)
    delivery = finish(deliver(integration), Status.FAILED)
    owner_client.post(url("integration_redeliver", org, integration.pk), {"delivery": delivery.pk})
    assert Delivery.objects.get(pk=delivery.pk).status == Status.PENDING
    assert (
        owner_client.get(url("integration_secret_rotate", org, integration.pk)).status_code == 200
    )


def test_another_organizations_integration_is_404_on_every_new_page(
    admin_client_: Client, outsider_client: Client, org, other_org
) -> None:
    theirs = outgoing(other_org, name="Theirs")
    delivery = finish(deliver(theirs), Status.FAILED)
    old = theirs.signing_secret
    for page, data in (
        ("integration_redeliver", {"delivery": delivery.pk}),
        ("integration_test_send", {}),
        ("integration_secret_rotate", {"confirm": "on"}),
    ):
        assert admin_client_.post(url(page, org, theirs.pk), data).status_code == 404, page
    assert admin_client_.get(url("integration_secret_rotate", org, theirs.pk)).status_code == 404
    # acme's staff on globex's pages, and globex's staff on acme's
    mine = outgoing(org)
    assert outsider_client.get(url("integration", org, mine.pk)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.signing_secret == old
    assert Delivery.objects.get(pk=delivery.pk).status == Status.FAILED
    assert Delivery.objects.filter(integration=mine).count() == 0
