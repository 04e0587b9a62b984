"""What a moderator does in the console, in a real headless Chromium (see conftest.py).

Each flow logs in through the real login form with its own fresh account, finds things
by their labels, roles and text (never by CSS layout), checks the result on the page
AND in the database, and saves screenshots of every main page it visits under
test-artifacts/screenshots/<test>/ (1280 px; the pages marked ``narrow`` also at 390 px).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_create
from apps.members.models import Member
from apps.messages.models import Message
from apps.moderation.services import blacklist_records_add
from apps.organizations.models import Organization, StaffRole
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPORTED_TEXT = "You are all idiots, buy my cheap pills"


@dataclass
class Scene:
    org: Organization
    moderator: Account
    general: Channel
    old: Channel
    troll: Member
    reported: Message
    report: Report


def _post(org: Organization, channel: Channel, author: Member, text: str) -> Message:
    message = Message.objects.create(
        organization=org, channel=channel, author=author, type="text", data={"text": text}
    )
    Channel.objects.filter(pk=channel.pk).update(message_count=channel.message_count + 1)
    channel.message_count += 1
    return message


@pytest.fixture
def scene(request: pytest.FixtureRequest) -> Scene:
    """acme: #general (troll, alice, bob) with a conversation and one open report on a
    message of troll's; #old-announcements (to close); "pills" on the blacklist; a
    moderator whose email is unique to the test (django-axes counts per account)."""
    org = OrganizationFactory(slug="acme", name="Acme")
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-")
    moderator = StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email=f"{slug}@acme.test"
    ).account
    system = Actor.system()
    general = channel_create(
        organization=org,
        actor=system,
        channel_id="general",
        display_name="General",
        user_ids=["troll", "alice", "bob"],
    )
    old = channel_create(
        organization=org,
        actor=system,
        channel_id="old-announcements",
        display_name="Old announcements",
        user_ids=["alice", "bob"],
    )
    troll, alice, bob = (
        Member.objects.get(organization=org, user_id=u) for u in ("troll", "alice", "bob")
    )
    _post(org, general, alice, "Hello everyone, welcome to #general")
    _post(org, general, bob, "Hi Alice!")
    reported = _post(org, general, troll, REPORTED_TEXT)
    _post(org, general, alice, "That was rude.")
    _post(org, old, alice, "The old announcements move to #general.")
    report = report_create(
        organization=org,
        actor=system,
        reporter=alice,
        target_member=troll,
        target_message=reported,
        reason="insults and spam",
    )
    blacklist_records_add(
        organization=org, actor=system, patterns=["pills"], is_match_exact_word=True
    )
    return Scene(org, moderator, general, old, troll, reported, report)


def _nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def _flash(page: Any) -> str:
    flash = page.locator("ul.flash")
    flash.wait_for()
    return flash.inner_text()


def test_a_moderator_logs_in_and_lands_on_the_dashboard(
    page: Any, shots: Shots, scene: Scene
) -> None:
    page.goto("/console/")
    assert "/console/login/" in page.url  # anonymous: to the login form
    shots.take(page, "login", narrow=True)

    page.get_by_label("Email").fill(scene.moderator.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").wait_for()  # the form says so, and stays
    assert "/console/login/" in page.url
    shots.take(page, "login-refused")

    log_in(page, scene.moderator.email)
    assert page.url.rstrip("/").endswith("/console/acme")  # the only organization
    assert page.get_by_role("heading", level=1).count() == 1
    assert "Acme" in page.locator("nav.sidebar").inner_text()  # which organization
    shots.take(page, "dashboard", narrow=True)


def test_a_moderator_mutes_a_flagged_author_for_an_hour_from_the_review_queue(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    _nav(page, "Review queue")
    row = page.get_by_role("row").filter(has_text="cheap pills")
    row.wait_for()
    assert "troll" in row.inner_text()
    shots.take(page, "review-queue", narrow=True)

    row.get_by_role("link", name=re.compile("Review")).click()
    page.wait_for_load_state()
    page.get_by_role("heading", name=re.compile("Reported message by")).wait_for()
    assert page.get_by_text(REPORTED_TEXT).first.is_visible()  # with its context
    assert page.get_by_text("Hi Alice!").first.is_visible()
    shots.take(page, "review-item")

    # the one action panel (issue 16): a duration preset, one reason, the action
    page.get_by_label("1 h", exact=True).check()
    page.get_by_label(re.compile("^Reason")).fill("Insulting the channel (e2e)")
    before = timezone.now()
    page.get_by_role("button", name=re.compile("^Mute")).click()
    page.wait_for_load_state()
    assert "marked actioned" in _flash(page)
    shots.take(page, "after-mute")

    standing = Membership.objects.get(channel=scene.general, member=scene.troll)
    assert standing.is_muted()
    assert standing.mute_expires_at is not None
    assert timedelta(minutes=59) < standing.mute_expires_at - before < timedelta(minutes=61)
    scene.report.refresh_from_db()
    assert scene.report.state == Report.State.ACTIONED

    # the user's page shows the mute, its end time and who set it
    _nav(page, "Users")
    page.get_by_role("link", name="troll").first.click()
    page.wait_for_load_state()
    page.get_by_role("heading", name="Bans and mutes").wait_for()
    # (the "Bans and mutes" table; the moderation history below lists user.mute too)
    mute_row = page.get_by_role("row").filter(has_text="Mute").filter(has_text="general").first
    mute_row.wait_for()
    text = mute_row.inner_text()
    assert scene.moderator.email in text
    assert "Insulting the channel (e2e)" in text
    assert standing.mute_expires_at.strftime("%Y-%m-%d %H:%M") in text
    shots.take(page, "user-troll", narrow=True)

    # and the audit log has the entry, with actor, target and reason
    _nav(page, "Audit log")
    entry = page.get_by_role("row").filter(has_text="channel.users.mute").first
    entry.wait_for()
    text = entry.inner_text()
    assert scene.moderator.email in text
    assert "Insulting the channel (e2e)" in text
    assert "general" in text
    shots.take(page, "audit-log", narrow=True)
    assert AuditEntry.objects.filter(
        action="channel.users.mute", actor_account=scene.moderator
    ).exists()


def test_a_moderator_closes_a_channel_by_typing_its_id(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    _nav(page, "Channels")
    page.get_by_role("link", name="old-announcements").first.click()
    page.wait_for_load_state()
    shots.take(page, "channel-detail")

    page.get_by_role("link", name=re.compile("Close this channel")).click()
    page.wait_for_load_state()
    page.get_by_role("heading", name=re.compile("Close channel")).wait_for()
    shots.take(page, "close-confirmation", narrow=True)

    # a wrong id: refused, nothing changed
    page.get_by_label(re.compile("Type the channel's id")).fill("old-announcement")
    page.get_by_role("button", name=re.compile("Close the channel")).click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").first.is_visible()
    scene.old.refresh_from_db()
    assert scene.old.closed_at is None
    shots.take(page, "close-refused")

    page.get_by_label(re.compile("Type the channel's id")).fill("old-announcements")
    page.get_by_label(re.compile("Reason")).fill("Replaced by #general (e2e)")
    page.get_by_role("button", name=re.compile("Close the channel")).click()
    page.wait_for_load_state()
    assert "closed" in _flash(page)
    assert page.get_by_text(re.compile("Closed on")).first.is_visible()
    shots.take(page, "channel-closed")

    scene.old.refresh_from_db()
    assert scene.old.closed_at is not None
    assert scene.old.member_count == 0
    entry = AuditEntry.objects.get(action="channel.close", target_id="old-announcements")
    assert entry.actor_account == scene.moderator
    assert entry.reason == "Replaced by #general (e2e)"


def test_a_moderator_tries_a_message_against_the_blacklist(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    _nav(page, "Blacklist & whitelist")
    page.get_by_role("heading", name="Try a message").wait_for()
    assert page.get_by_role("cell", name="pills").first.is_visible()  # the record
    shots.take(page, "filters")

    page.get_by_label("Message text").fill("Cheap PILLS here, and nothing else")
    page.get_by_role("button", name="Try it").click()
    page.wait_for_load_state()
    result = page.get_by_role("status").filter(has_text="Result")
    result.wait_for()
    text = result.inner_text()
    assert "pills" in text.lower()
    assert "whole words only" in text.lower()  # why it matches
    assert result.locator("mark").first.inner_text().lower() == "pills"
    shots.take(page, "filters-try", narrow=True)

    # a clean message: no record matches; nothing was posted or changed
    page.get_by_label("Message text").fill("Have a nice day, spillsover is a word")
    page.get_by_role("button", name="Try it").click()
    page.wait_for_load_state()
    result = page.get_by_role("status").filter(has_text="Result")
    result.wait_for()
    assert "No blacklist record matches" in result.inner_text()
    assert Message.objects.count() == 5
