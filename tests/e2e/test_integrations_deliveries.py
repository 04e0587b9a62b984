"""An admin follows an outgoing integration's deliveries in the console, in a real
headless Chromium (see conftest.py), against a real local HTTP receiver: the signing
secret shown once at creation, "Send a test event" and the deliveries log (a success, a
failure, the status filter), a redelivery with the same webhook-id, the rotation of the
signing secret behind its confirmation, and the notice of an integration the machinery
disabled. Deliveries are sent by ``deliveries_run(threads=False)`` in the test, as a
worker would."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings as django_settings
from standardwebhooks import Webhook

from apps.integrations.models import Delivery, Integration
from apps.integrations.services.delivery import deliveries_run
from apps.organizations.models import StaffRole

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@dataclass
class Receiver:
    """A local endpoint: records each request (headers, body) and answers ``status``."""

    url: str = ""
    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(found.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    # a local receiver is allowed like a self-hoster's internal service
    settings.CHATADMIN = {**django_settings.CHATADMIN, "WEBHOOK_ALLOWLIST": ["127.0.0.1/32"]}
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _flash(page: Any) -> str:
    flash = page.locator("ul.flash")
    flash.wait_for()
    return flash.inner_text()


def _row(page: Any, webhook_id: str) -> Any:
    row = page.get_by_role("row").filter(has_text=webhook_id)
    row.wait_for()
    return row


def test_an_admin_follows_sends_redelivers_and_rotates_an_outgoing_integration(
    page: Any, shots: Shots, receiver: Receiver
) -> None:
    org = OrganizationFactory(slug="acme", name="Acme")
    admin = StaffRoleFactory(
        organization=org, role=StaffRole.Role.ADMIN, account__email="deliveries@acme.test"
    ).account
    log_in(page, admin.email)

    # a new outgoing integration (a failed call is not retried: the log shows it at once)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Integrations").click()
    page.get_by_role("link", name="New outgoing integration (Rocket.Chat)").click()
    page.wait_for_load_state()
    page.get_by_label(re.compile("^Name")).fill("Deploy notifier")
    page.get_by_label(re.compile("^URLs")).fill(receiver.url)
    page.get_by_label(re.compile("^Post answers as")).fill("deploy.bot")
    page.get_by_label(re.compile("^Retry failed calls")).uncheck()
    page.get_by_role("button", name="Create").click()
    page.wait_for_load_state()

    # its signing secret, once
    secret = page.get_by_label("Signing secret", exact=True).input_value()
    assert secret.startswith("whsec_"), secret
    assert page.get_by_text("shown only this once").is_visible()
    shots.take(page, "signing-secret-shown-once", narrow=True)
    integration = Integration.objects.get(organization=org)
    page.get_by_role("link", name=re.compile("I have copied it")).click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="Deliveries").wait_for()
    assert secret not in page.content()
    assert page.get_by_text("No deliveries yet.").is_visible()
    assert page.get_by_role("heading", name="How to verify the signature").is_visible()

    # a test event: queued, then sent by a run; the receiver checks its signature
    page.get_by_role("button", name="Send a test event").click()
    page.wait_for_load_state()
    assert "A test event is queued" in _flash(page)
    first = Delivery.objects.get(integration=integration)
    assert "Pending" in _row(page, first.webhook_id).inner_text()
    assert deliveries_run(threads=False).succeeded == 1
    headers, body = receiver.requests[-1]
    assert Webhook(secret).verify(body, headers)["text"]
    assert headers["webhook-id"] == first.webhook_id
    page.reload()
    row = _row(page, first.webhook_id)
    assert "Succeeded" in row.inner_text() and "200" in row.inner_text()
    shots.take(page, "deliveries-one-succeeded", narrow=True)

    # a second one fails (500, no retries); the filter shows the failed one only
    receiver.status = 500
    page.get_by_role("button", name="Send a test event").click()
    page.wait_for_load_state()
    failed = Delivery.objects.filter(integration=integration).exclude(pk=first.pk).get()
    assert deliveries_run(threads=False).failed == 1
    page.reload()
    row = _row(page, failed.webhook_id)
    assert "Failed" in row.inner_text() and "HTTP 500" in row.inner_text()
    filters = page.get_by_role("form", name="Filter deliveries")
    filters.get_by_label("Status", exact=True).select_option("failed")
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert "status=failed" in page.url
    _row(page, failed.webhook_id)
    assert page.get_by_role("row").filter(has_text=first.webhook_id).count() == 0
    shots.take(page, "deliveries-filtered-failed")

    # redeliver it: pending again with the same webhook-id, then delivered
    receiver.status = 200
    page.get_by_role("button", name=f"Redeliver {failed.webhook_id}").click()
    page.wait_for_load_state()
    assert "queued to be sent again" in _flash(page)
    assert "status=failed" in page.url  # back where the button was
    assert Delivery.objects.get(pk=failed.pk).status == Delivery.Status.PENDING
    assert deliveries_run(threads=False).succeeded == 1
    page.goto(f"/console/acme/integrations/{integration.pk}/")
    row = _row(page, failed.webhook_id)
    assert "Succeeded" in row.inner_text()
    sent_ids = [h["webhook-id"] for h, _ in receiver.requests]
    assert sent_ids == [first.webhook_id, failed.webhook_id, failed.webhook_id]
    shots.take(page, "deliveries-after-redelivery", narrow=True)

    # rotate the signing secret: confirmed, shown once; both secrets sign for a while
    page.get_by_role("link", name=re.compile("Rotate signing secret")).click()
    page.wait_for_load_state()
    page.get_by_text("This cannot be undone.").wait_for()
    hours = f"{django_settings.CHATADMIN['WEBHOOK_SECRET_GRACE_HOURS']:g} hours"
    assert page.get_by_text(hours).first.is_visible()
    shots.take(page, "rotate-confirmation")
    page.get_by_role("button", name="Rotate the signing secret").click()  # not ticked
    assert "/rotate/" in page.url
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Rotate the signing secret").click()
    page.wait_for_load_state()
    rotated = page.get_by_label("Signing secret", exact=True).input_value()
    assert rotated.startswith("whsec_") and rotated != secret
    assert page.get_by_text("The previous secret keeps signing as well until").is_visible()
    shots.take(page, "signing-secret-rotated")
    page.get_by_role("link", name=re.compile("I have copied it")).click()
    page.wait_for_load_state()
    assert page.get_by_text("the previous secret is valid until").is_visible()
    page.get_by_role("button", name="Send a test event").click()
    page.wait_for_load_state()
    assert deliveries_run(threads=False).succeeded == 1
    headers, body = receiver.requests[-1]
    assert Webhook(rotated).verify(body, headers) and Webhook(secret).verify(body, headers)

    # the machinery disables it (410 Gone): a notice until it is enabled again
    receiver.status = 410
    page.get_by_role("button", name="Send a test event").click()
    page.wait_for_load_state()
    deliveries_run(threads=False)
    page.reload()
    notice = page.locator("#disabled-notice")
    notice.wait_for()
    assert "Disabled automatically." in notice.inner_text()
    assert "410 Gone" in notice.inner_text()
    shots.take(page, "disabled-automatically", narrow=True)
    page.get_by_role("button", name="Enable", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("#disabled-notice").count() == 0
    integration.refresh_from_db()
    assert integration.enabled and integration.disabled_reason == ""
    assert integration.failing_since is None
