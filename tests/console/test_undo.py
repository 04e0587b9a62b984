"""The console's "Undo" after dismiss, mute, ban, hide and delete (apps/console/undo.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services import channels as channel_services
from apps.console.undo import offer_undo, undo_before
from apps.members import services as member_services
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization, StaffRole
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import MemberFactory, MessageFactory
from ..personas import console_client, staff

WEEK_MS = 7 * 24 * 3600 * 1000


def user_url(org: Organization, user_id: str) -> str:
    return reverse("console:user", args=[org.slug, user_id])


def undo_url(org: Organization) -> str:
    return reverse("console:undo", args=[org.slug])


def undo_token(response: Any) -> str:
    """The token of the page's "Undo" form (fails if the page offers none)."""
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the page offers no undo"
    return match.group(1)


def flashes(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def undo(client: Client, org: Organization, token: str) -> list[str]:
    response = client.post(
        undo_url(org), {"token": token, "next": user_url(org, "ann")}, follow=True
    )
    assert response.redirect_chain[0] == (user_url(org, "ann"), 302)
    return [m for m in flashes(response) if not m.startswith("You can undo")]


def mute_ann(client: Client, org: Organization, **extra: str) -> Any:
    data = {"action": "mute", "channel": "lobby", "duration": "1h", "reason": "calm down"}
    response = client.post(user_url(org, "ann"), {**data, **extra}, follow=True)
    assert response.status_code == 200
    return response


def mute_row(channel: Channel, member: Member) -> tuple[Any, Any]:
    row = Membership.objects.get(channel=channel, member=member)
    return row.muted_at, row.mute_expires_at


@pytest.fixture
def ann(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="ann", display_name="Ann Example")


@pytest.fixture
def lobby(org: Organization, ann: Member) -> Channel:
    return channel_services.channel_create(
        organization=org, actor=Actor.system(), channel_id="lobby", user_ids=["ann"]
    )


# --- mute --------------------------------------------------------------------------------------


def test_a_mute_offers_undo_in_its_confirmation_as_a_csrf_post_form(
    moderator_client: Client, org: Organization, lobby: Channel
) -> None:
    html = mute_ann(moderator_client, org).content.decode()
    form = html[html.index('class="undo-form"') :]
    form = form[: form.index("</form>")]
    assert f'action="{undo_url(org)}"' in form and 'method="post"' in form
    assert "csrfmiddlewaretoken" in form and "Undo" in form
    assert "the mute of ann in lobby" in html and "for 30 s" in html


def test_undoing_a_mute_unmutes_and_is_audited_as_its_own_action(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    assert Membership.objects.get(channel=lobby, member=ann).is_muted()
    assert undo(moderator_client, org, token) == ["Undone: the mute of ann in lobby."]
    assert not Membership.objects.get(channel=lobby, member=ann).is_muted()
    muted = AuditEntry.objects.get(action="channel.users.mute")
    undone = AuditEntry.objects.get(action="channel.users.mute.undo")
    assert undone.actor_account == moderator and undone.target_id == "lobby"
    assert undone.after["undoes"] == muted.pk and undone.after["userIds"] == ["ann"]
    on_user = AuditEntry.objects.get(action="user.mute.undo")  # the user's history too
    assert on_user.target_id == "ann" and on_user.after["channelId"] == "lobby"


def test_undoing_a_mute_that_replaced_a_longer_one_restores_the_longer_one(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    channel_services.channel_users_mute(
        channel=lobby, actor=Actor.system(), user_ids=["ann"], mute_period=WEEK_MS
    )
    week = mute_row(lobby, ann)
    token = undo_token(mute_ann(moderator_client, org))
    assert mute_row(lobby, ann) != week
    undo(moderator_client, org, token)
    assert mute_row(lobby, ann) == week


def test_a_mute_from_the_channel_page_offers_undo(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    response = moderator_client.post(
        reverse("console:channel_mute", args=[org.slug, "lobby"]),
        {"duration": "1h", "reason": "storm"},
        follow=True,
    )
    lobby.refresh_from_db()
    assert lobby.is_muted()
    undo(moderator_client, org, undo_token(response))
    lobby.refresh_from_db()
    assert not lobby.is_muted() and lobby.muted_at is None
    assert AuditEntry.objects.filter(action="channel.mute.undo").count() == 1


def test_a_member_mute_from_the_channel_page_offers_undo(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    response = moderator_client.post(
        reverse("console:channel_members_mute", args=[org.slug, "lobby"]),
        {"user_ids": "ann", "duration": "1h", "reason": "loud"},
        follow=True,
    )
    assert Membership.objects.get(channel=lobby, member=ann).is_muted()
    undo(moderator_client, org, undo_token(response))
    assert not Membership.objects.get(channel=lobby, member=ann).is_muted()


# --- refusals ----------------------------------------------------------------------------------


def test_undo_after_the_time_is_refused_and_changes_nothing(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel, settings: Any
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    muted = mute_row(lobby, ann)
    settings.CHATADMIN = {**settings.CHATADMIN, "CONSOLE_UNDO_SECONDS": -1}  # always too late
    [message] = undo(moderator_client, org, token)
    assert message.startswith("Too late to undo") and "Nothing was changed" in message
    assert mute_row(lobby, ann) == muted
    assert not AuditEntry.objects.filter(action__endswith=".undo").exists()


def test_undo_twice_is_refused(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    undo(moderator_client, org, token)
    assert undo(moderator_client, org, token) == [
        "This action was already undone. Nothing was changed."
    ]
    assert AuditEntry.objects.filter(action="channel.users.mute.undo").count() == 1


def test_undo_is_refused_when_the_mute_changed_since(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    system = Actor.system()
    channel_services.channel_users_mute(
        channel=lobby, actor=system, user_ids=["ann"], mute_period=0
    )
    channel_services.channel_users_mute(
        channel=lobby, actor=system, user_ids=["ann"], mute_period=3_600_000
    )
    again = mute_row(lobby, ann)
    [message] = undo(moderator_client, org, token)
    assert message == "Could not undo: The mute in lobby of ann changed since: nothing was undone."
    assert mute_row(lobby, ann) == again
    assert not AuditEntry.objects.filter(action__endswith=".undo").exists()


def test_only_the_moderator_who_acted_may_undo(
    moderator_client: Client, owner_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    [message] = undo(owner_client, org, token)
    assert message == "Only the moderator who did it may undo an action. Nothing was changed."
    assert Membership.objects.get(channel=lobby, member=ann).is_muted()


def test_an_undo_for_another_organization_is_refused(
    moderator: Account,
    moderator_client: Client,
    org: Organization,
    other_org: Organization,
    ann: Member,
    lobby: Channel,
) -> None:
    StaffRole.objects.create(
        account=moderator, organization=other_org, role=StaffRole.Role.MODERATOR
    )
    token = undo_token(mute_ann(moderator_client, org))
    response = moderator_client.post(undo_url(other_org), {"token": token}, follow=True)
    assert flashes(response) == ["This undo belongs to another organization. Nothing was changed."]
    assert Membership.objects.get(channel=lobby, member=ann).is_muted()


def test_a_forged_token_is_refused(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    assert undo(moderator_client, org, token[:-2] + "xx") == [
        "This undo is not valid. Nothing was changed."
    ]
    assert Membership.objects.get(channel=lobby, member=ann).is_muted()


def test_undo_is_a_post_only(moderator_client: Client, org: Organization) -> None:
    assert moderator_client.get(undo_url(org)).status_code == 405


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "moderator"])
def test_every_console_role_may_undo_its_own_action(
    org: Organization, ann: Member, lobby: Channel, role: str
) -> None:
    client = console_client(staff(org, role, f"{role}-undo@acme.test"))
    undo(client, org, undo_token(mute_ann(client, org)))
    assert not Membership.objects.get(channel=lobby, member=ann).is_muted()


def test_another_organizations_moderator_gets_404(
    moderator_client: Client, outsider_client: Client, org: Organization, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    assert outsider_client.post(undo_url(org), {"token": token}).status_code == 404
    assert Membership.objects.filter(muted_at__isnull=False).count() == 1


# --- bans --------------------------------------------------------------------------------------


def test_undoing_a_global_ban_restores_the_earlier_ban(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    member_services.member_ban(
        actor=Actor.system(), member=ann, reason="first offence", ban_period=WEEK_MS
    )
    ann.refresh_from_db()
    earlier = (ann.banned_at, ann.ban_expires_at, ann.ban_reason)
    response = moderator_client.post(
        user_url(org, "ann"),
        {"action": "ban", "reason": "for good", "duration": "forever"},
        follow=True,
    )
    ann.refresh_from_db()
    assert ann.ban_expires_at is None and ann.ban_reason == "for good"
    undo(moderator_client, org, undo_token(response))
    ann.refresh_from_db()
    assert (ann.banned_at, ann.ban_expires_at, ann.ban_reason) == earlier
    entry = AuditEntry.objects.get(action="user.ban.undo")
    assert entry.target_id == "ann"
    assert entry.after["undoes"] == AuditEntry.objects.filter(action="user.ban").latest("pk").pk


def test_undoing_a_ban_that_resolved_the_users_reports_reopens_them(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    reporter = MemberFactory(organization=org, user_id="bob")
    report = report_create(
        organization=org, actor=Actor.system(), reporter=reporter, target_member=ann, reason="x"
    )
    response = moderator_client.post(
        user_url(org, "ann"),
        {"action": "ban", "reason": "spam", "duration": "forever", "resolve_reports": "on"},
        follow=True,
    )
    assert Report.objects.get(pk=report.pk).state == Report.State.ACTIONED
    undo(moderator_client, org, undo_token(response))
    ann.refresh_from_db()
    assert not ann.is_globally_banned()
    assert Report.objects.get(pk=report.pk).state == Report.State.OPEN


def test_undoing_a_channel_ban_brings_the_member_back(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    joined = Membership.objects.get(channel=lobby, member=ann).joined_at
    response = moderator_client.post(
        reverse("console:channel_ban", args=[org.slug, "lobby"]),
        {"user_ids": "ann", "reason": "spam", "duration": "forever"},
        follow=True,
    )
    lobby.refresh_from_db()
    assert lobby.member_count == 0
    undo(moderator_client, org, undo_token(response))
    row = Membership.objects.get(channel=lobby, member=ann)
    lobby.refresh_from_db()
    assert not row.is_banned() and row.joined_at == joined and lobby.member_count == 1
    assert AuditEntry.objects.filter(action="channel.users.ban.undo").count() == 1


# --- messages ----------------------------------------------------------------------------------


def test_undoing_a_delete_restores_the_message_and_its_counts(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    message = MessageFactory(channel=lobby, author=ann, data={"text": "oops"})
    Channel.objects.filter(pk=lobby.pk).update(message_count=1)
    response = moderator_client.post(
        reverse("console:message_delete", args=[org.slug]),
        {"message_id": str(message.public_id), "reason": "rude"},
        follow=True,
    )
    assert Message.objects.get(pk=message.pk).deleted_at is not None
    assert Channel.objects.get(pk=lobby.pk).message_count == 0
    undo(moderator_client, org, undo_token(response))
    assert Message.objects.get(pk=message.pk).deleted_at is None
    assert Channel.objects.get(pk=lobby.pk).message_count == 1
    entry = AuditEntry.objects.get(action="message.delete.undo")
    assert entry.target_id == str(message.public_id)


def _request_as(account: Account) -> Any:
    request = RequestFactory().post("/")
    request.user = account
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_the_api_offers_undo_for_a_hide(
    moderator: Account, moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    """How helper "bulk" uses apps/console/undo.py: undo_before, the action, offer_undo."""
    message = MessageFactory(channel=lobby, author=ann, data={"text": "meh"})
    targets = {"messages": [str(message.public_id)]}
    before = undo_before(org, "hide", targets)
    Message.objects.filter(pk=message.pk).update(hidden_at=timezone.now())
    request = _request_as(moderator)
    assert offer_undo(request, "hide", targets, before)
    [offer] = list(get_messages(request))
    assert str(offer) == "You can undo hiding 1 message for 30 s."
    undo(moderator_client, org, offer.extra_tags)
    assert Message.objects.get(pk=message.pk).hidden_at is None
    assert AuditEntry.objects.filter(action="message.hide.undo").count() == 1


def test_nothing_is_offered_when_nothing_changed(
    moderator: Account, org: Organization, ann: Member, lobby: Channel
) -> None:
    message = MessageFactory(channel=lobby, author=ann, deleted_at=timezone.now())
    targets = {"messages": [str(message.public_id)]}
    before = undo_before(org, "delete", targets)
    assert not offer_undo(_request_as(moderator), "delete", targets, before)


# --- reports -----------------------------------------------------------------------------------


@pytest.fixture
def reported(org: Organization, ann: Member, lobby: Channel) -> Report:
    message = MessageFactory(channel=lobby, author=ann, data={"text": "buy pills"})
    reporter = MemberFactory(organization=org, user_id="bob")
    return report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=ann,
        target_message=message,
        reason="spam",
    )


def test_undoing_a_dismiss_reopens_the_reports(
    moderator_client: Client, org: Organization, reported: Report
) -> None:
    response = moderator_client.post(
        reverse("console:review_item", args=[org.slug, reported.pk]),
        {"action": "dismiss", "reason": "fine"},
        follow=True,
    )
    assert Report.objects.get(pk=reported.pk).state == Report.State.DISMISSED
    assert undo(moderator_client, org, undo_token(response)) == ["Undone: resolving 1 report."]
    report = Report.objects.get(pk=reported.pk)
    assert report.state == Report.State.OPEN and report.resolved_at is None
    entry = AuditEntry.objects.get(action="report.resolve.undo")
    assert entry.after["undoes"] == AuditEntry.objects.get(action="report.resolve").pk


def test_undoing_a_mute_from_the_review_item_unmutes_and_reopens_the_reports(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel, reported: Report
) -> None:
    response = moderator_client.post(
        reverse("console:review_item", args=[org.slug, reported.pk]),
        {"action": "mute", "duration": "custom", "minutes": "60", "reason": "spam"},
        follow=True,
    )
    assert Membership.objects.get(channel=lobby, member=ann).is_muted()
    assert Report.objects.get(pk=reported.pk).state == Report.State.ACTIONED
    undo(moderator_client, org, undo_token(response))
    assert not Membership.objects.get(channel=lobby, member=ann).is_muted()
    assert Report.objects.get(pk=reported.pk).state == Report.State.OPEN


def test_undo_is_refused_when_the_reporter_reported_again_meanwhile(
    moderator_client: Client, org: Organization, ann: Member, reported: Report
) -> None:
    response = moderator_client.post(
        reverse("console:review_item", args=[org.slug, reported.pk]),
        {"action": "dismiss"},
        follow=True,
    )
    report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reported.reporter,
        target_member=ann,
        target_message=reported.target_message,
        reason="again",
    )
    [message] = undo(moderator_client, org, undo_token(response))
    assert message.startswith("Could not undo:") and "nothing was undone" in message
    assert Report.objects.get(pk=reported.pk).state == Report.State.DISMISSED


# --- close -------------------------------------------------------------------------------------


def test_closing_a_channel_offers_no_undo(
    moderator_client: Client, org: Organization, lobby: Channel
) -> None:
    response = moderator_client.post(
        reverse("console:channel_close", args=[org.slug, "lobby"]),
        {"confirm_channel_id": "lobby", "reason": "abandoned"},
        follow=True,
    )
    assert Channel.objects.get(pk=lobby.pk).is_closed
    assert b"undo-form" not in response.content
    with pytest.raises(ValueError, match="irreversible"):
        undo_before(org, "close", {"channel": "lobby"})


def test_the_undo_window_is_a_setting(
    moderator_client: Client, org: Organization, lobby: Channel, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "CONSOLE_UNDO_SECONDS": 90}
    html = mute_ann(moderator_client, org).content.decode()
    assert "for 90 s" in html


def test_undo_never_follows_a_next_outside_the_organization(
    moderator_client: Client, org: Organization, lobby: Channel
) -> None:
    token = undo_token(mute_ann(moderator_client, org))
    response = moderator_client.post(
        undo_url(org), {"token": token, "next": f"/console/{org.slug}/../../admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:dashboard", args=[org.slug])


def test_an_anonymous_undo_goes_to_the_login_page(client: Client, org: Organization) -> None:
    response = client.post(undo_url(org), {"token": "x"})
    assert response.status_code == 302 and "/console/login/" in response["Location"]
