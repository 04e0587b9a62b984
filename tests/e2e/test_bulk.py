"""Bulk actions in a real headless Chromium: tick rows, "select all N matching", the
confirmation naming the count, the result on the page and in the database, and a large
job's progress page refreshing by itself. Screenshots at 1280 and 390 px under
test-artifacts/screenshots/<test>/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.members.models import Member
from apps.messages.models import Message
from apps.moderation import bulk
from apps.moderation.models import BulkJob
from apps.organizations.models import Organization, StaffRole

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SPAM = 60


@dataclass
class Scene:
    org: Organization
    moderator: Account
    general: Channel
    spammer: Member
    alice: Member


@pytest.fixture
def scene(request: pytest.FixtureRequest) -> Scene:
    """acme: #general with alice's two messages and SPAM messages of a spammer."""
    org = OrganizationFactory(slug="acme", name="Acme")
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-")
    moderator = StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email=f"{slug}@acme.test"
    ).account
    general = channel_create(
        organization=org,
        actor=Actor.system(),
        channel_id="general",
        display_name="General",
        user_ids=["spammer", "alice"],
    )
    spammer, alice = (Member.objects.get(organization=org, user_id=u) for u in ("spammer", "alice"))
    rows = [
        Message(organization=org, channel=general, author=alice, type="text", data={"text": t})
        for t in ("Hello everyone", "Anyone here?")
    ]
    rows += [
        Message(
            organization=org,
            channel=general,
            author=spammer,
            type="text",
            data={"text": f"cheap pills #{n}"},
        )
        for n in range(SPAM)
    ]
    Message.objects.bulk_create(rows)
    return Scene(org, moderator, general, spammer, alice)


def _fits_a_phone(page: Any) -> None:
    """No sideways scroll at 390 px (the e2e page sweep cannot reach a POST's page)."""
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def _flash(page: Any) -> str:
    flash = page.locator("ul.flash")
    flash.wait_for()
    return flash.inner_text()


def test_a_moderator_deletes_two_ticked_messages_after_a_confirmation_naming_the_count(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    page.goto("/console/acme/messages/?author=alice")
    page.get_by_label("Select message", exact=False).first.wait_for()
    boxes = page.get_by_role("checkbox", name=re.compile(r"^Select message "))
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert "2 selected on this page." in page.locator("[data-bulk-selected]").inner_text()
    page.get_by_label("With the selected rows").select_option("delete")
    shots.take(page, "messages-ticked", narrow=True)
    page.get_by_role("button", name="Continue…").click()

    page.get_by_role("heading", name="Delete 2 messages?").wait_for()
    _fits_a_phone(page)
    shots.take(page, "confirm", narrow=True)
    page.get_by_label("Reason (one for every target)").fill("cleaning up a test")
    page.get_by_role("button", name="Delete 2 messages").click()

    assert "Delete: 2 done." in _flash(page)
    assert Message.objects.filter(author=scene.alice, deleted_at__isnull=False).count() == 2
    assert not Message.objects.filter(author=scene.spammer, deleted_at__isnull=False).exists()
    entries = AuditEntry.objects.filter(action="message.delete")
    assert entries.count() == 2 and {e.reason for e in entries} == {"cleaning up a test"}
    shots.take(page, "done", narrow=True)


def test_the_page_box_ticks_every_row_of_the_page(page: Any, shots: Shots, scene: Scene) -> None:
    log_in(page, scene.moderator.email)
    page.goto("/console/acme/channels/general/")
    page.get_by_role("checkbox", name="Select every row on this page").check()
    members = page.get_by_role("checkbox", name=re.compile(r"^Select member "))
    assert members.count() == 2
    assert all(members.nth(i).is_checked() for i in range(2))
    shots.take(page, "members-all-ticked", narrow=True)


def test_select_all_matching_hides_every_match_through_a_job_with_live_progress(
    page: Any, shots: Shots, scene: Scene, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 10}
    log_in(page, scene.moderator.email)
    page.goto("/console/acme/messages/?author=spammer")
    all_matching = page.get_by_label(f"Select all {SPAM} matching")  # counted by bulk.js
    all_matching.check()
    page.get_by_label("With the selected rows").select_option("hide")
    shots.take(page, "all-matching", narrow=True)
    page.get_by_role("button", name="Continue…").click()

    page.get_by_role("heading", name=f"Hide {SPAM} messages?").wait_for()
    page.get_by_label("Reason (one for every target)").fill("spam wave")
    page.get_by_role("button", name=f"Hide {SPAM} messages").click()

    page.wait_for_url(re.compile(r"/console/acme/bulk/jobs/\?job=\d+"))
    job = BulkJob.objects.get()
    assert page.locator("[data-bulk-state]").inner_text() == "Running"
    _fits_a_phone(page)
    shots.take(page, "job-queued", narrow=True)

    bulk.bulk_job_run(job_pk=job.pk, chunk_size=25)  # the worker's part
    page.locator("[data-bulk-state]", has_text="Finished").wait_for()  # the poll, no reload
    assert page.locator("[data-bulk-done]").inner_text() == str(SPAM)
    assert page.locator("progress").get_attribute("value") == str(SPAM)
    assert Message.objects.filter(author=scene.spammer, hidden_at__isnull=False).count() == SPAM
    assert not Message.objects.filter(author=scene.alice, hidden_at__isnull=False).exists()
    assert AuditEntry.objects.filter(action="message.hide").count() == SPAM
    shots.take(page, "job-finished", narrow=True)


def test_a_finished_job_is_undone_from_its_page_and_the_rows_are_shown_again(
    page: Any, shots: Shots, scene: Scene, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 10}
    log_in(page, scene.moderator.email)
    page.goto("/console/acme/messages/?author=spammer")
    page.get_by_label(f"Select all {SPAM} matching").check()
    page.get_by_label("With the selected rows").select_option("hide")
    page.get_by_role("button", name="Continue…").click()
    page.get_by_label("Reason (one for every target)").fill("spam wave")
    page.get_by_role("button", name=f"Hide {SPAM} messages").click()
    page.wait_for_url(re.compile(r"/console/acme/bulk/jobs/\?job=\d+"))
    job = BulkJob.objects.get()
    undo_button = page.get_by_role("button", name="Undo")
    assert not undo_button.is_visible()  # not before the job finished

    bulk.bulk_job_run(job_pk=job.pk, chunk_size=25)  # the worker's part
    page.locator("[data-bulk-state]", has_text="Finished").wait_for()
    undo_button.wait_for()  # shown by the poll, no reload
    assert Message.objects.filter(author=scene.spammer, hidden_at__isnull=False).count() == SPAM
    _fits_a_phone(page)
    shots.take(page, "job-undoable", narrow=True)
    undo_button.click()

    page.wait_for_url(re.compile(rf"/console/acme/bulk/jobs/\?job=(?!{job.pk}\b)\d+"))
    undo = BulkJob.objects.exclude(pk=job.pk).get()
    assert "Undoing bulk action" in _flash(page)
    assert page.get_by_text(f"This undoes bulk action {job.pk}.").is_visible()
    bulk.bulk_job_run(job_pk=undo.pk, chunk_size=25)  # the worker's part
    page.locator("[data-bulk-state]", has_text="Finished").wait_for()
    assert page.locator("[data-bulk-done]").inner_text() == str(SPAM)
    assert not page.get_by_role("button", name="Undo").is_visible()
    shots.take(page, "undo-finished", narrow=True)

    assert not Message.objects.filter(hidden_at__isnull=False).exists()
    assert AuditEntry.objects.filter(action="message.hide.undo").count() == SPAM
    page.goto("/console/acme/messages/?author=spammer")
    page.get_by_text(f"cheap pills #{SPAM - 1}", exact=True).wait_for()
    assert page.locator("td .tag", has_text="hidden").count() == 0  # shown again
    shots.take(page, "messages-shown-again", narrow=True)
