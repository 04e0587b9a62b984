"""Undo in a real headless Chromium (see conftest.py): mute from the review item, click
Undo within the time, the member is no longer muted, the audit log shows both entries."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Membership
from apps.channels.services.channels import channel_create
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import StaffRole
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _flash(page: Any) -> str:
    flash = page.locator("ul.flash")
    flash.wait_for()
    return flash.inner_text()


def test_a_moderator_mutes_from_the_review_item_and_undoes_it(
    page: Any, shots: Shots, request: pytest.FixtureRequest
) -> None:
    org = OrganizationFactory(slug="acme", name="Acme")
    moderator = StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email="undo-e2e@acme.test"
    ).account
    system = Actor.system()
    general = channel_create(
        organization=org, actor=system, channel_id="general", user_ids=["troll", "alice"]
    )
    troll, alice = (Member.objects.get(organization=org, user_id=u) for u in ("troll", "alice"))
    message = Message.objects.create(
        organization=org, channel=general, author=troll, type="text", data={"text": "spam!"}
    )
    report = report_create(
        organization=org,
        actor=system,
        reporter=alice,
        target_member=troll,
        target_message=message,
        reason="spam",
    )

    log_in(page, moderator.email)
    page.goto(f"/console/acme/review/{report.pk}/")
    page.get_by_label("1 h", exact=True).check()
    page.get_by_label(re.compile("^Reason")).fill("Spamming (e2e undo)")
    page.get_by_role("button", name=re.compile("^Mute")).click()
    page.wait_for_load_state()
    assert "You can undo the mute of troll in general" in _flash(page)
    assert Membership.objects.get(channel=general, member=troll).is_muted()
    shots.take(page, "mute-with-undo-offer", narrow=True)

    page.get_by_role("button", name="Undo").click()
    page.wait_for_load_state()
    assert "Undone: the mute of troll in general (and 1 report resolved)." in _flash(page)
    shots.take(page, "undone", narrow=True)
    assert not Membership.objects.get(channel=general, member=troll).is_muted()
    assert Report.objects.get(pk=report.pk).state == Report.State.OPEN

    page.goto("/console/acme/audit/")
    for action in ("channel.users.mute.undo", "channel.users.mute"):
        row = page.get_by_role("row").filter(has_text=action).first
        row.wait_for()
        assert moderator.email in row.inner_text()
    shots.take(page, "audit-log-both-entries", narrow=True)
    muted = AuditEntry.objects.get(action="channel.users.mute")
    assert AuditEntry.objects.get(action="channel.users.mute.undo").after["undoes"] == muted.pk
