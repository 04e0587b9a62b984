"""An admin manages a Stackfield webhook URL in the console, in a real headless Chromium
(see conftest.py): created from a channel's Integrations tab, its URL shown once, a real
HTTP call to it against the live server shows up in the history, then the URL is
regenerated and the integration deleted, each behind a confirmation step."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.conf import settings as django_settings

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.integrations.models import Integration
from apps.messages.models import Message
from apps.organizations.models import StaffRole

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

URL_PATTERN = re.compile(r"^http://[^/]+/apiwh/[0-9a-f-]{36}$")


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST JSON to a webhook URL as an outside tool would (a real HTTP request)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def _flash(page: Any) -> str:
    flash = page.locator("ul.flash")
    flash.wait_for()
    return flash.inner_text()


@pytest.fixture
def no_call_interval(settings: Any) -> None:
    """The calls of this flow come seconds apart at most: the per-URL limit is not what
    it is about (tests/stackfield tests it)."""
    settings.CHATADMIN = {**django_settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 0}


def test_an_admin_creates_uses_regenerates_and_deletes_a_webhook_url(
    page: Any, shots: Shots, live_server: Any, no_call_interval: None
) -> None:
    org = OrganizationFactory(slug="acme", name="Acme")
    admin = StaffRoleFactory(
        organization=org, role=StaffRole.Role.ADMIN, account__email="hooks-admin@acme.test"
    ).account
    support = channel_create(
        organization=org,
        actor=Actor.system(),
        channel_id="support",
        display_name="Support",
        user_ids=["alice"],
    )
    log_in(page, admin.email)

    # the channel's Integrations tab: none yet, and the shortcut
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="support").first.click()
    page.get_by_role("navigation", name="Channel pages").get_by_role(
        "link", name="Integrations"
    ).click()
    page.get_by_text("No integration posts into this channel.").wait_for()
    shots.take(page, "channel-integrations-empty")
    page.get_by_role("link", name="New webhook URL for this channel").click()
    page.wait_for_load_state()
    assert page.get_by_label(re.compile("^Channel")).input_value() == "support"

    page.get_by_label("Kind").select_option("chat-message")
    page.get_by_label(re.compile("^Name")).fill("Support form")
    shots.take(page, "new-webhook-url", narrow=True)
    page.get_by_role("button", name="Create").click()
    page.wait_for_load_state()

    # the URL, shown once
    field = page.get_by_label("Webhook URL")
    first_url = field.input_value()
    assert URL_PATTERN.match(first_url), first_url
    assert page.get_by_text("shown only this once").is_visible()
    shots.take(page, "url-shown-once", narrow=True)
    integration = Integration.objects.get(organization=org)
    assert integration.channel_id == support.pk and integration.kind == "chat-message"

    page.get_by_role("link", name=re.compile("I have copied it")).click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="History").wait_for()
    assert first_url not in page.content()  # not shown again
    assert page.get_by_text("No calls yet.").is_visible()

    # an outside tool calls it: the message lands in the channel and in the history
    status, body = _post(first_url, {"Title": "Ticket 42 was opened"})
    assert (status, body) == (200, {"Result": "ok"}), body
    page.reload()
    row = page.get_by_role("row").filter(has_text="incoming-posted")
    row.wait_for()
    assert "ok" in row.inner_text()
    assert page.get_by_text("1 message", exact=True).is_visible()
    shots.take(page, "detail-with-history", narrow=True)
    message = Message.objects.get(channel=support)
    assert message.author.user_id == integration.bot.user_id
    assert Channel.objects.get(pk=support.pk).message_count == 1

    # regenerate: the box must be ticked; then a new URL, once; the old one is refused
    page.get_by_role("link", name=re.compile("Regenerate the URL")).click()
    page.wait_for_load_state()
    page.get_by_text("This cannot be undone.").wait_for()
    shots.take(page, "regenerate-confirmation")
    page.get_by_role("button", name="Regenerate the URL").click()  # not ticked: stays
    assert "/regenerate/" in page.url
    integration.refresh_from_db()
    old_prefix = integration.token_prefix
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Regenerate the URL").click()
    page.wait_for_load_state()
    second_url = page.get_by_label("Webhook URL").input_value()
    assert URL_PATTERN.match(second_url) and second_url != first_url
    assert page.get_by_text("The previous URL no longer works.").is_visible()
    shots.take(page, "url-regenerated")
    integration.refresh_from_db()
    assert integration.token_prefix != old_prefix

    status, _ = _post(first_url, {"Title": "Ticket 43 via the old URL"})
    assert status == 404
    status, body = _post(second_url, {"Title": "Ticket 44 via the new URL"})
    assert (status, body) == (200, {"Result": "ok"}), body
    assert Message.objects.filter(channel=support).count() == 2

    # delete: confirmed, then the URL is refused and the list is empty
    page.get_by_role("link", name=re.compile("I have copied it")).click()
    page.wait_for_load_state()
    page.get_by_role("link", name=re.compile("Delete")).click()
    page.wait_for_load_state()
    page.get_by_label(re.compile("I understand")).check()
    shots.take(page, "delete-confirmation")
    page.get_by_role("button", name="Delete the integration").click()
    page.wait_for_load_state()
    assert "Deleted “Support form”" in _flash(page)
    page.get_by_text("No integrations match.").wait_for()
    shots.take(page, "integrations-after-delete", narrow=True)
    assert not Integration.objects.filter(organization=org).exists()
    status, _ = _post(second_url, {"Title": "Ticket 45 after the delete"})
    assert status == 404
    assert Message.objects.filter(channel=support).count() == 2  # its messages stay
