"""Roles & permissions and the filter tester's draft patterns, in a real headless
Chromium (see conftest.py): an admin changes a role's rules and sees its effective
permissions change; a moderator reads them only; a moderator tests a draft pattern
against the last messages and sees a regex verdict with single backslashes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.services.channels import channel_create
from apps.members.models import Member
from apps.members.services import roles_upsert
from apps.messages.models import Message
from apps.moderation.models import BlacklistRecord
from apps.moderation.services import blacklist_records_add
from apps.organizations.models import Organization, StaffRole
from apps.permissions.models import Rule

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _org_with_role(request: pytest.FixtureRequest) -> tuple[Organization, str]:
    org = OrganizationFactory(slug="acme", name="Acme")
    roles_upsert(organization=org, actor=Actor.system(), role_ids=["helpers"], permissions=[])
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-36:].strip("-")
    return org, slug


def _staff(org: Organization, role: str, email: str) -> str:
    return StaffRoleFactory(organization=org, role=role, account__email=email).account.email


def _nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def _row(page: Any, operation: str) -> Any:
    return page.locator("table.role-matrix tbody tr").filter(
        has=page.get_by_role("rowheader").filter(has_text=operation)
    )


def test_an_admin_denies_an_operation_to_a_role_and_sees_its_effect(
    page: Any, shots: Shots, request: pytest.FixtureRequest
) -> None:
    org, slug = _org_with_role(request)
    channel_create(
        organization=org, actor=Actor.system(), channel_id="general", display_name="General"
    )
    log_in(page, _staff(org, StaffRole.Role.ADMIN, f"{slug}@acme.test"))
    _nav(page, "Roles & permissions")
    page.get_by_role("heading", name="Roles & permissions").wait_for()
    shots.take(page, "roles", narrow=True)
    page.get_by_role("link", name="helpers").click()
    page.wait_for_load_state()

    # message.send on any channel: every organization role may, by default
    assert _row(page, "message.send").locator("td .perm-yes").count() == 4
    page.get_by_label("Rule for message.send on messaging:channel:*").select_option("deny")
    page.get_by_label("Channel (channelId)").fill("general")
    page.get_by_label("Operation").select_option("message.pin")
    page.get_by_label("Allow or deny").select_option("allow")
    page.get_by_role("button", name="Save the rules").click()
    page.wait_for_load_state()

    assert "Saved 2 rule changes of role helpers." in page.locator("ul.flash").inner_text()
    assert _row(page, "message.send").locator("td .perm-no").count() == 4
    assert (
        "general"
        in page.get_by_role("heading", name="Rules on one channel")
        .locator("xpath=following-sibling::*[1]")
        .inner_text()
    )
    shots.take(page, "role-after-save", narrow=True)
    rules = {
        (r.resource, r.operation, r.access) for r in Rule.objects.filter(role__role_id="helpers")
    }
    assert ("messaging:channel:*", "message.send", "deny") in rules
    assert len(rules) == 2
    assert AuditEntry.objects.filter(action="role.rules.set", target_id="helpers").count() == 1

    # reset, after the browser's confirmation (accepted by the page fixture)
    page.get_by_role("button", name="Remove every rule").click()
    page.wait_for_load_state()
    assert not Rule.objects.filter(role__role_id="helpers").exists()
    assert _row(page, "message.send").locator("td .perm-yes").count() == 4


def test_a_moderator_reads_a_roles_permissions_without_a_form(
    page: Any, shots: Shots, request: pytest.FixtureRequest
) -> None:
    org, slug = _org_with_role(request)
    log_in(page, _staff(org, StaffRole.Role.MODERATOR, f"{slug}@acme.test"))
    _nav(page, "Roles & permissions")
    page.get_by_role("link", name="helpers").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Save the rules").count() == 0
    assert page.locator("table.role-matrix select").count() == 0
    shots.take(page, "role-read-only", narrow=True)


def test_a_moderator_tests_a_draft_pattern_before_adding_it(
    page: Any, shots: Shots, request: pytest.FixtureRequest
) -> None:
    org, slug = _org_with_role(request)
    general = channel_create(
        organization=org,
        actor=Actor.system(),
        channel_id="general",
        display_name="General",
        user_ids=["alice"],
    )
    alice = Member.objects.get(organization=org, user_id="alice")
    for text in ("cheap pills here", "so cheapskate", "hello", "CHEAP <b>deals</b>"):
        Message.objects.create(
            organization=org, channel=general, author=alice, type="text", data={"text": text}
        )
    blacklist_records_add(
        organization=org, actor=Actor.system(), patterns=[r"\bfoo\b"], is_match_exact_word=False
    )
    log_in(page, _staff(org, StaffRole.Role.MODERATOR, f"{slug}@acme.test"))
    _nav(page, "Blacklist & whitelist")

    page.get_by_role("textbox", name="Draft pattern").fill(r"\bcheap\b")
    page.get_by_role("button", name="Test the pattern").click()
    page.wait_for_load_state()
    result = page.locator(".draft-result")
    assert "would have matched 2 of the last 4 messages" in " ".join(result.inner_text().split())
    assert result.locator("mark").first.inner_text() == "CHEAP"
    assert "<b>deals</b>" in result.inner_text()  # shown as text, not markup
    shots.take(page, "draft-pattern", narrow=True)
    assert BlacklistRecord.objects.count() == 1  # nothing saved

    page.get_by_label("Message text").fill("a foo b")
    page.get_by_role("button", name="Try it").click()
    page.wait_for_load_state()
    verdict = page.locator(".try-result").first.inner_text()
    assert "(record “\\bfoo\\b”)" in verdict and "\\\\b" not in verdict
    shots.take(page, "verdict-single-backslashes")
