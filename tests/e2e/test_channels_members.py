"""Channels and members in the console, in a real headless Chromium (issue 16): archived
and deleted channels (restore within the grace period), a member row's mute and ban,
reply threads under their parent, a user's state and sessions ("revoke all", checked on
the messaging API itself). Conventions as in test_console_flows.py (see conftest.py).
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
from apps.channels.services.conversations import conversation_state_set
from apps.members.models import Member
from apps.members.services import member_deactivate, member_session_issue
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization, StaffRole

from ..factories import OrganizationFactory, StaffRoleFactory
from .conftest import Shots, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@dataclass
class Scene:
    org: Organization
    moderator: Account
    general: Channel
    troll: Member


def _say(channel: Channel, author: Member, text: str, parent: Any = None) -> Any:
    return message_create(
        organization=channel.organization,
        actor=Actor.system(),
        channel=channel,
        type="text",
        data={"text": text},
        author=author,
        parent_id=str(parent.public_id) if parent else None,
    )


@pytest.fixture
def scene(request: pytest.FixtureRequest) -> Scene:
    """acme (a one-hour deletion grace): #general (troll, alice, bob) with a thread of
    two replies; a moderator whose email is unique to the test."""
    org = OrganizationFactory(slug="acme", name="Acme", chatroom_deletion_grace_seconds=3600)
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-")
    moderator = StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email=f"{slug}@acme.test"
    ).account
    general = channel_create(
        organization=org,
        actor=Actor.system(),
        channel_id="general",
        display_name="General",
        user_ids=["troll", "alice", "bob"],
    )
    troll, alice, bob = (
        Member.objects.get(organization=org, user_id=u) for u in ("troll", "alice", "bob")
    )
    question = _say(general, alice, "Who wants the release notes?")
    _say(general, bob, "Me, please (reply one)", parent=question)
    _say(general, troll, "Nobody reads them (reply two)", parent=question)
    _say(general, bob, "Lunch at noon?")
    return Scene(org, moderator, general, troll)


def _flash(page: Any) -> str:
    flash = page.locator("ul.flash")
    flash.wait_for()
    return flash.inner_text()


def _channel_page(page: Any, channel_id: str) -> None:
    page.goto(f"/console/acme/channels/{channel_id}/")
    page.wait_for_load_state()


def test_replies_show_under_their_parent_and_a_member_is_muted_then_banned_from_its_row(
    page: Any, shots: Shots, scene: Scene
) -> None:
    log_in(page, scene.moderator.email)
    _channel_page(page, "general")
    threads = page.locator("table.threads")
    threads.wait_for()
    text = threads.inner_text()
    assert text.index("Who wants the release notes?") < text.index("reply one")
    assert text.index("reply one") < text.index("reply two")
    assert text.index("Lunch at noon?") < text.index("Who wants the release notes?")
    shots.take(page, "channel-threads", narrow=True)

    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="troll", exact=True))
    row.get_by_text("Mute or ban…").click()
    mute = row.get_by_role("form", name="Mute troll in general")
    mute.get_by_label("Mute for").select_option(label="10 min")
    mute.get_by_label("Reason").fill("Derailing (e2e)")
    shots.take(page, "member-row-open", narrow=True)
    before = timezone.now()
    mute.get_by_role("button", name="Mute").click()
    page.wait_for_load_state()
    assert "Muted in general" in _flash(page)
    standing = Membership.objects.get(channel=scene.general, member=scene.troll)
    assert standing.is_muted()
    assert timedelta(minutes=9) < standing.mute_expires_at - before <= timedelta(minutes=11)
    entry = AuditEntry.objects.get(action="channel.users.mute", actor_account=scene.moderator)
    assert entry.reason == "Derailing (e2e)" and entry.after["userIds"] == ["troll"]
    assert page.get_by_role("button", name="Unmute troll").is_visible()
    shots.take(page, "member-muted")

    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="troll", exact=True))
    row.first.get_by_text("Mute or ban…").click()
    ban = row.first.get_by_role("form", name="Ban troll from general")
    ban.get_by_label("Ban reason").fill("Repeated derailing (e2e)")
    ban.get_by_label("Ban for").select_option(label="1 week")
    ban.get_by_role("button", name="Ban from this channel").click()  # confirm accepted
    page.wait_for_load_state()
    assert "Banned from general: troll" in _flash(page)
    standing.refresh_from_db()
    assert standing.is_banned() and standing.joined_at is None
    assert standing.ban_reason == "Repeated derailing (e2e)"
    bans = page.get_by_role("row").filter(has_text="Repeated derailing (e2e)")
    bans.wait_for()
    shots.take(page, "member-banned", narrow=True)
    assert AuditEntry.objects.filter(
        action="channel.users.ban", actor_account=scene.moderator, target_id="general"
    ).exists()


def test_a_deleted_channel_is_listed_and_restored_and_a_channel_archived_and_unarchived(
    page: Any, shots: Shots, scene: Scene
) -> None:
    admin = Member.objects.create(organization=scene.org, user_id="boss", org_role="admin")
    doomed = channel_create(
        organization=scene.org, actor=Actor.system(), channel_id="doomed", user_ids=["alice"]
    )
    conversation_state_set(channel=doomed, member=admin, state="delete")
    log_in(page, scene.moderator.email)
    page.goto("/console/acme/channels/")
    page.get_by_label("State").select_option("deleted")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    row = page.get_by_role("row").filter(has_text="doomed")
    assert "restorable until" in row.inner_text()
    assert page.get_by_role("row").filter(has_text="general").count() == 0
    shots.take(page, "deleted-channels", narrow=True)

    row.get_by_role("link", name="doomed").click()
    page.wait_for_load_state()
    assert page.get_by_text("It can be restored until").is_visible()
    shots.take(page, "deleted-channel", narrow=True)
    page.get_by_role("button", name="Restore (undelete)").click()
    page.wait_for_load_state()
    assert "restored" in _flash(page)
    doomed.refresh_from_db()
    assert doomed.deleted_at is None and doomed.scheduled_deletion_at is None
    assert AuditEntry.objects.filter(
        action="channel.undelete", actor_account=scene.moderator, target_id="doomed"
    ).exists()

    page.get_by_role("button", name="Archive").click()  # confirm accepted
    page.wait_for_load_state()
    assert "archived" in _flash(page)
    assert page.get_by_text("Archived on").is_visible()
    shots.take(page, "archived-channel")
    doomed.refresh_from_db()
    assert doomed.archived_at is not None
    page.get_by_role("button", name="Unarchive").click()
    page.wait_for_load_state()
    assert "unarchived" in _flash(page)
    doomed.refresh_from_db()
    assert doomed.archived_at is None


def test_a_moderator_revokes_all_of_a_users_sessions_and_the_api_refuses_them(
    page: Any, shots: Shots, scene: Scene, live_server: Any
) -> None:
    tokens = [member_session_issue(actor=Actor.system(), member=scene.troll).token for _ in "ab"]
    api = f"{live_server.url}/api/messaging/channels/"

    def status(token: str) -> int:
        return page.request.get(api, headers={"Authorization": f"Bearer {token}"}).status

    assert [status(t) for t in tokens] == [200, 200]
    idle = Member.objects.get(organization=scene.org, user_id="bob")
    member_deactivate(actor=Actor.system(), member=idle)

    log_in(page, scene.moderator.email)
    page.goto("/console/acme/users/?state=deactivated")
    page.wait_for_load_state()
    assert page.get_by_role("row").filter(has_text="bob").filter(has_text="deactivated").count()
    assert page.get_by_role("row").filter(has_text="troll").count() == 0
    shots.take(page, "deactivated-users", narrow=True)

    page.goto("/console/acme/users/troll/")
    page.wait_for_load_state()
    sessions = page.get_by_role("heading", name="Sessions")
    sessions.scroll_into_view_if_needed()
    assert page.get_by_role("row").filter(has_text=tokens[0][:12]).count() == 1
    shots.take(page, "user-sessions", narrow=True)
    page.get_by_role("button", name="Revoke all 2 live sessions").click()  # confirm accepted
    page.wait_for_load_state()
    assert "2 sessions of troll revoked" in _flash(page)
    assert [status(t) for t in tokens] == [401, 401]
    assert page.get_by_role("row").filter(has_text="revoked").count() == 2
    shots.take(page, "user-sessions-revoked")
    entry = AuditEntry.objects.get(action="session.revoke", target_id="troll")
    assert entry.actor_account == scene.moderator
