"""The review item's one action panel in Chromium: the core task ("author muted 1 h with a
reason", from the queue) counted in mouse interactions and in keys, and claims as another
moderator sees them (issue 16). See conftest.py for the harness."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_create
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization, StaffRole
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REASON = "Insults in #general (e2e)"
#: The issue's budget for the core task.
MAX_CLICKS = 3
MAX_KEYS = 5


@dataclass
class World:
    org: Organization
    moderator: Account
    general: Channel
    troll: Member
    report: Report


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    """acme: #general with troll's reported message; a moderator whose email is unique to
    the test (django-axes counts per account)."""
    org = OrganizationFactory(slug="acme", name="Acme")
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-")
    moderator = StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email=f"{slug}@acme.test"
    ).account
    system = Actor.system()
    general = channel_create(
        organization=org, actor=system, channel_id="general", user_ids=["troll", "alice"]
    )
    troll, alice = (Member.objects.get(organization=org, user_id=u) for u in ("troll", "alice"))
    for author, text in ((alice, "Hello all"), (troll, "You are all idiots"), (alice, "Rude.")):
        message = Message.objects.create(
            organization=org, channel=general, author=author, type="text", data={"text": text}
        )
        if author == troll:
            reported = message
    report = report_create(
        organization=org,
        actor=system,
        reporter=alice,
        target_member=troll,
        target_message=reported,
        reason="insults",
    )
    return World(org, moderator, general, troll, report)


@dataclass
class Counter:
    """The interactions a flow makes: mouse clicks and key presses (typing the reason
    is not counted, as the issue says)."""

    page: Any
    clicks: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def click(self, locator: Any, what: str) -> None:
        self.clicks.append(what)
        locator.click()

    def press(self, key: str) -> None:
        self.keys.append(key)
        self.page.keyboard.press(key)

    def type_reason(self, text: str) -> None:
        self.page.keyboard.type(text)


def assert_muted_one_hour_with_the_reason(world: World) -> None:
    standing = Membership.objects.get(channel=world.general, member=world.troll)
    assert standing.is_muted()
    assert standing.mute_expires_at - standing.muted_at == timedelta(hours=1)
    for action, target in (("user.mute", "troll"), ("channel.users.mute", "general")):
        entry = AuditEntry.objects.get(action=action)
        assert (entry.target_id, entry.reason) == (target, REASON)
        assert entry.actor_account_id == world.moderator.pk
    assert Report.objects.get(pk=world.report.pk).state == Report.State.ACTIONED


def test_the_core_task_by_mouse_takes_at_most_three_clicks(
    page: Any, shots: Shots, world: World
) -> None:
    log_in(page, world.moderator.email)
    page.goto("/console/acme/review/")
    shots.take(page, "queue", narrow=True)
    count = Counter(page)

    row = page.get_by_role("row").filter(has_text="You are all idiots")
    count.click(row.get_by_role("link", name=re.compile("^Review")), "Review")
    page.get_by_role("heading", name=re.compile("Reported message by")).wait_for()
    shots.take(page, "item", narrow=True)
    count.click(page.locator("label[for=duration-1h]"), "1 h")
    page.get_by_label(re.compile("^Reason")).fill(REASON)  # typing: not counted
    count.click(page.get_by_role("button", name=re.compile("^Mute")), "Mute")
    page.wait_for_load_state()
    assert "troll muted in general for 1 h" in page.locator("ul.flash").inner_text()
    shots.take(page, "after-mute", narrow=True)

    assert len(count.clicks) <= MAX_CLICKS, count.clicks
    assert_muted_one_hour_with_the_reason(world)


def test_the_core_task_by_keyboard_takes_at_most_five_keys_plus_the_reason(
    page: Any, shots: Shots, world: World
) -> None:
    log_in(page, world.moderator.email)
    page.goto("/console/acme/review/")
    count = Counter(page)

    count.press("n")  # the queue's first item
    page.get_by_role("heading", name=re.compile("Reported message by")).wait_for()
    count.press("r")  # the reason field
    assert page.evaluate("document.activeElement.name") == "reason"
    count.type_reason(REASON)
    count.press("Tab")  # on to "Mute" (1 h is the preset chosen when the page opens)
    assert page.evaluate("document.activeElement.value") == "mute"
    shots.take(page, "keyboard-on-mute")
    count.press("Enter")
    page.wait_for_load_state()
    page.locator("ul.flash").wait_for()
    shots.take(page, "keyboard-after-mute", narrow=True)

    assert len(count.keys) <= MAX_KEYS, count.keys
    assert_muted_one_hour_with_the_reason(world)


def test_enter_in_the_reason_field_does_not_act(page: Any, world: World) -> None:
    log_in(page, world.moderator.email)
    page.goto(f"/console/acme/review/{world.report.pk}/")
    page.keyboard.press("r")
    page.keyboard.type("not yet")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)  # a submit would navigate; give it the chance
    assert Report.objects.get(pk=world.report.pk).state == Report.State.OPEN
    assert not AuditEntry.objects.filter(action="channel.users.mute").exists()


def test_another_moderator_sees_the_item_taken_and_next_skips_it(
    page: Any, browser: Any, live_server: Any, shots: Shots, world: World
) -> None:
    log_in(page, world.moderator.email)
    page.goto(f"/console/acme/review/{world.report.pk}/")  # claims it
    page.get_by_role("heading", name=re.compile("Reported message by")).wait_for()

    other = StaffRoleFactory(
        organization=world.org, role=StaffRole.Role.MODERATOR, account__email="second@acme.test"
    ).account
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    try:
        second = context.new_page()
        log_in(second, other.email)
        second.goto(f"/console/acme/review/{world.report.pk}/")
        notice = second.get_by_role("status").filter(has_text="Taken by")
        notice.wait_for()
        assert world.moderator.email in notice.inner_text()
        assert "You may still act" in notice.inner_text()
        shots.take(second, "taken-by-another", narrow=True)
    finally:
        context.close()
    assert Report.objects.get(pk=world.report.pk).claimed_by_id == world.moderator.pk
