"""The live review queue and dashboard in a real Chromium (see conftest.py): new reports
appear without a reload and without rebuilding the rows that did not change, the
aria-live region announces them, the row under the focus never moves, polling pauses
while the tab is hidden, claims show as taken, and the queue is cards at 390 px.

Time is Playwright's fake clock (``page.clock``): the poll's 10-second timer is run
forward, never waited for; only the answer of the live endpoint is awaited.
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
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization, StaffRole
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import AccountFactory, OrganizationFactory, StaffRoleFactory
from .conftest import NARROW, Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: More than the pages' poll interval (10 s).
ONE_POLL_MS = 10_500


@dataclass
class Scene:
    org: Organization
    moderator: Account
    general: Channel
    reports: list[Report]


def report_on(scene: Scene, user_id: str, text: str) -> Report:
    author, _ = Member.objects.get_or_create(organization=scene.org, user_id=user_id)
    message = Message.objects.create(
        organization=scene.org,
        channel=scene.general,
        author=author,
        type="text",
        data={"text": text},
    )
    return report_create(
        organization=scene.org,
        actor=Actor.system(),
        reporter=None,
        target_member=author,
        target_message=message,
        reason=f"about {user_id}",
    )


@pytest.fixture
def scene(request: pytest.FixtureRequest) -> Scene:
    """acme with #general and two reported messages; a moderator unique to the test."""
    org = OrganizationFactory(slug="acme", name="Acme")
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-")
    moderator = StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email=f"{slug}@acme.test"
    ).account
    general = Channel.objects.create(organization=org, channel_id="general")
    scene = Scene(org, moderator, general, [])
    scene.reports += [
        report_on(scene, "troll", "buy my cheap pills"),
        report_on(scene, "spammer", "visit spam.example"),
    ]
    return scene


def poll(page: Any) -> None:
    """Run the clock past the poll timer and wait for the live endpoint's answer."""
    with page.expect_response(lambda r: "/live/" in r.url and r.status == 200):
        page.clock.run_for(ONE_POLL_MS)
    page.wait_for_timeout(100)  # the answer applied (a task after the response)
    page.clock.run_for(200)  # the announcement is written after a short timer


def mark_rows(page: Any) -> None:
    """Tag every row node shown now: a rebuilt row would lose the tag."""
    page.evaluate(
        "document.querySelectorAll('tr[data-row-key]').forEach(r => { r._kept = true; });"
        "window._sameDocument = true;"
    )


def kept(page: Any, report: Report) -> bool:
    return page.evaluate(
        'k => !!document.querySelector(`tr[data-row-key="${k}"]`)._kept', str(report.pk)
    )


def row_keys(page: Any) -> list[str]:
    return page.eval_on_selector_all("tr[data-row-key]", "rows => rows.map(r => r.dataset.rowKey)")


def test_new_reports_appear_in_the_queue_without_a_reload_and_are_announced(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    page.clock.install()
    page.goto("/console/acme/review/")
    page.get_by_text("2 items").wait_for()
    mark_rows(page)
    first, second = scene.reports

    newcomer = report_on(scene, "flooder", "AAAAAAAAAAAAAAAAAAAAAAAA")
    colleague = AccountFactory(email="colleague@acme.test")
    Report.objects.filter(pk=second.pk).update(
        claimed_by=colleague, claimed_until=timezone.now() + timedelta(minutes=5)
    )
    poll(page)

    assert page.evaluate("window._sameDocument === true")  # no reload
    assert row_keys(page) == [str(first.pk), str(second.pk), str(newcomer.pk)]
    assert page.get_by_role("row").filter(has_text="AAAAAAAAAAAAAAAA").is_visible()
    assert page.locator("[data-live-value=count]").inner_text() == "3 items"
    assert page.get_by_role("status").filter(has_text="1 new report").count() == 1
    assert kept(page, first)  # unchanged: the same node, not rebuilt (no flicker)
    assert not kept(page, second)  # changed (now taken): replaced where it was
    taken = page.get_by_role("row").filter(has_text="visit spam.example")
    assert "Taken by colleague@acme.test until" in taken.inner_text()
    assert taken.get_by_role("link", name=re.compile("Review")).is_visible()
    shots.take(page, "queue-after-a-new-report", narrow=True)


def test_the_row_under_the_focus_never_moves_and_changes_wait_for_the_focus_to_leave(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    page.clock.install()
    page.goto("/console/acme/review/?sort=newest")
    page.get_by_text("2 items").wait_for()
    first, second = scene.reports  # newest first: second, first
    focused = page.get_by_role("link", name=f"Review report {first.pk}")
    focused.focus()
    top_before = focused.bounding_box()["y"]

    Report.objects.filter(pk=second.pk).update(state=Report.State.DISMISSED)
    newcomer = report_on(scene, "flooder", "AAAAAAAAAAAAAAAAAAAAAAAA")
    poll(page)
    # Counted and announced, but the rows stay where they are while the focus is there.
    assert page.locator("[data-live-value=count]").inner_text() == "2 items"
    assert page.get_by_role("status").filter(has_text="1 new report").count() == 1
    assert row_keys(page) == [str(second.pk), str(first.pk)]
    assert focused.bounding_box()["y"] == top_before
    assert page.evaluate("document.activeElement.textContent").startswith("Review")

    page.locator("h1").click()  # the focus leaves the table: the next answer applies
    poll(page)
    assert row_keys(page) == [str(newcomer.pk), str(first.pk)]
    shots.take(page, "queue-after-the-focus-left")


def test_polling_pauses_while_the_tab_is_hidden_and_resumes_when_shown(
    page: Any, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    page.clock.install()
    page.goto("/console/acme/review/")
    page.get_by_text("2 items").wait_for()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/live/" in r.url else None)

    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'));"
    )
    page.clock.run_for(ONE_POLL_MS * 6)
    page.wait_for_timeout(300)
    assert asked == []

    report_on(scene, "flooder", "AAAAAAAAAAAAAAAAAAAAAAAA")
    with page.expect_response(lambda r: "/live/" in r.url):
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'));"
        )
    page.get_by_text("3 items").wait_for()
    assert len(asked) == 1


def test_the_queue_is_cards_with_the_review_action_and_no_sideways_scroll_at_390_px(
    page: Any, shots: Shots, scene: Scene
) -> None:
    report_on(scene, "a-user-with-a-very-long-identifier-" + "x" * 40, "y" * 300)
    log_in(page, scene.moderator.email)
    page.set_viewport_size(NARROW)
    page.goto("/console/acme/review/")
    page.get_by_text("3 items").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    for link in page.get_by_role("link", name=re.compile("^Review report")).all():
        box = link.bounding_box()
        assert link.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
    display = page.eval_on_selector(
        "table.review-queue tr[data-row-key]", "r => getComputedStyle(r).display"
    )
    assert display == "block"  # a card, not a table row
    page.set_viewport_size({"width": 1280, "height": 900})
    shots.take(page, "queue-cards", narrow=True)


def test_the_dashboard_refreshes_its_figures_and_announces_new_reports(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    page.clock.install()
    page.goto("/console/acme/")
    figure = page.locator("[data-live-value=open-reports]")
    assert figure.inner_text() == "2"
    mark_rows(page)

    report_on(scene, "flooder", "AAAAAAAAAAAAAAAAAAAAAAAA")
    poll(page)
    assert page.evaluate("window._sameDocument === true")
    assert figure.inner_text() == "3"
    assert page.get_by_role("status").filter(has_text="1 new report").count() == 1
    # The latest actions: the new report.create entry on top, the others kept as they were.
    rows = page.locator("[data-live-rows] tr[data-row-key]")
    assert rows.count() == 3
    assert page.evaluate("document.querySelector('[data-live-rows] tr')._kept") is None
    assert all(
        page.evaluate(
            "[...document.querySelectorAll('[data-live-rows] tr')].slice(1).map(r => !!r._kept)"
        )
    )
    shots.take(page, "dashboard-after-a-new-report", narrow=True)
