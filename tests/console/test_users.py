"""The console's user list, user page and user actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services import channels as channel_services
from apps.members import services as member_services
from apps.members.models import Member, MemberSession
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import MemberFactory, MessageFactory, RoleFactory


def user_url(org: Organization, user_id: str) -> str:
    return reverse("console:user", args=[org.slug, user_id])


def users_url(org: Organization) -> str:
    return reverse("console:users", args=[org.slug])


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def make_channel(org: Organization, channel_id: str, user_ids: list[str]) -> Channel:
    return channel_services.channel_create(
        organization=org, actor=Actor.system(), channel_id=channel_id, user_ids=user_ids
    )


def flag(org: Organization, member: Member, reporter_id: str = "reporter") -> Report:
    reporter = MemberFactory(organization=org, user_id=f"{reporter_id}-{member.user_id}")
    return report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=member,
        reason="rude",
    )


@pytest.fixture
def ann(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="ann", display_name="Ann Example")


@pytest.fixture
def lobby(org: Organization, ann: Member) -> Channel:
    return make_channel(org, "lobby", ["ann"])


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_this_organizations_users(
    moderator_client: Client, org: Organization, other_org: Organization, ann: Member
) -> None:
    MemberFactory(organization=other_org, user_id="globex-person")
    response = moderator_client.get(users_url(org))
    assert response.status_code == 200
    assert b"Ann Example" in response.content and b"globex-person" not in response.content


def test_the_list_searches_and_filters_flagged_users(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    MemberFactory(organization=org, user_id="zed", display_name="Zed")
    flag(org, ann)
    found = moderator_client.get(users_url(org), {"q": "EXAMPLE"})
    assert b"ann" in found.content and b"zed" not in found.content
    flagged = moderator_client.get(users_url(org), {"filter": "flagged"})
    users = [m.user_id for m in flagged.context["page"].items]
    assert users == ["ann"]
    assert flagged.context["page"].items[0].flag_count == 1


@pytest.mark.parametrize("sort", ["newest", "name", "userId"])
def test_the_list_sorts_and_pages(moderator_client: Client, org: Organization, sort: str) -> None:
    for i in range(55):
        MemberFactory(organization=org, user_id=f"u{i:02}", display_name=f"User {i:02}")
    seen: list[str] = []
    response = moderator_client.get(users_url(org), {"sort": sort})
    while True:
        page = response.context["page"]
        seen += [m.user_id for m in page.items]
        if not page.next_cursor:
            break
        response = moderator_client.get(users_url(org), {"sort": sort, "cursor": page.next_cursor})
    assert sorted(seen) == [f"u{i:02}" for i in range(55)]
    if sort != "newest":
        assert seen == [f"u{i:02}" for i in range(55)]


def test_the_list_runs_as_many_queries_for_30_users_as_for_1(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    flag(org, ann)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(users_url(org), {"filter": "flagged"})
    for i in range(29):
        flag(org, MemberFactory(organization=org, user_id=f"user-{i}"))
    with CaptureQueriesContext(connection) as thirty:
        response = moderator_client.get(users_url(org), {"filter": "flagged"})
    assert len(response.context["page"].items) == 30
    # session + account, the organizations (the switcher's list, which holds this one),
    # staff role, and ONE query for the page (open-report counts are a correlated
    # subquery, not N queries).
    assert len(thirty) == len(one)


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, org: Organization, ann: Member
) -> None:
    for target in (users_url(org), user_url(org, "ann")):
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:login"))
    response = client.post(user_url(org, "ann"), {"action": "ban", "reason": "x"})
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.banned_at is None


# --- the user page -------------------------------------------------------------------------


def test_the_user_page_shows_channels_messages_flags_bans_and_mutes_and_who_set_them(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member, lobby: Channel
) -> None:
    MessageFactory(channel=lobby, author=ann, data={"text": "my latest words"})
    flag(org, ann)
    actor = Actor(account=moderator)
    member_services.member_ban(actor=actor, member=ann, reason="spam wave", ban_period=3600_000)
    channel_services.channel_users_mute(
        channel=lobby, actor=actor, user_ids=["ann"], mute_period=-1, reason="shouting"
    )
    other = make_channel(org, "other-room", ["ann"])
    channel_services.channel_users_ban(
        channel=other, actor=Actor.system(), user_ids=["ann"], reason="flood"
    )
    response = moderator_client.get(user_url(org, "ann"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "lobby" in content and "my latest words" in content and "rude" in content
    kinds = {r.kind: r for r in response.context["restrictions"]}
    assert set(kinds) == {"Global ban", "Mute", "Channel ban"}
    assert kinds["Global ban"].entry.actor_label == "mod@acme.test"
    assert kinds["Global ban"].until == ann.__class__.objects.get(pk=ann.pk).ban_expires_at
    assert kinds["Mute"].entry.actor_label == "mod@acme.test"
    assert kinds["Mute"].reason == "shouting" and kinds["Mute"].until is None
    assert kinds["Channel ban"].entry.actor_label == "system"
    assert (
        kinds["Channel ban"].channel_id == "other-room" and kinds["Channel ban"].reason == "flood"
    )
    assert "spam wave" in content and "mod@acme.test" in content


def test_a_user_id_with_a_slash_has_a_page_and_actions(
    moderator_client: Client, org: Organization
) -> None:
    MemberFactory(organization=org, user_id="team/ann ?#", display_name="Slashy")
    response = moderator_client.get(user_url(org, "team/ann ?#"))
    assert response.status_code == 200 and b"Slashy" in response.content
    moderator_client.post(
        user_url(org, "team/ann ?#"), {"action": "ban", "reason": "x", "duration": "forever"}
    )
    assert Member.objects.get(user_id="team/ann ?#").is_globally_banned()


def test_an_unknown_user_is_404(moderator_client: Client, org: Organization) -> None:
    assert moderator_client.get(user_url(org, "nobody")).status_code == 404
    response = moderator_client.post(user_url(org, "nobody"), {"action": "clear_flags"})
    assert response.status_code == 404
    assert not Member.objects.filter(user_id="nobody").exists()


def test_the_user_page_runs_a_bounded_number_of_queries(
    moderator_client: Client, org: Organization
) -> None:
    def scene(user_id: str, n: int) -> None:
        member = MemberFactory(organization=org, user_id=user_id)
        for i in range(n):
            channel = make_channel(org, f"{user_id}-room-{i}", [user_id])
            MessageFactory(channel=channel, author=member)
            flag(org, member, reporter_id=f"r{i}")
            channel_services.channel_users_mute(
                channel=channel, actor=Actor.system(), user_ids=[user_id], mute_period=-1
            )
            channel_services.channel_users_ban(
                channel=make_channel(org, f"{user_id}-ban-{i}", [user_id]),
                actor=Actor.system(),
                user_ids=[user_id],
            )
        member_services.member_ban(actor=Actor.system(), member=member)

    scene("small", 1)
    scene("big", 10)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(user_url(org, "small"))
    with CaptureQueriesContext(connection) as ten:
        response = moderator_client.get(user_url(org, "big"))
    assert len(response.context["restrictions"]) == 21
    # The member, its channels, bans, mutes, ONE audit query for who set them all, the
    # open reports, recent messages (+ tags prefetch), the roles: no query per row.
    assert len(ten) == len(one)


# --- actions --------------------------------------------------------------------------------


def test_a_moderator_bans_a_user_globally_with_a_reason_and_duration(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member
) -> None:
    response = moderator_client.post(
        user_url(org, "ann"),
        {"action": "ban", "reason": "harassment", "duration": "7d"},
        follow=True,
    )
    assert any("is banned" in m for m in flashes(response))
    ann.refresh_from_db()
    assert ann.is_globally_banned() and ann.ban_reason == "harassment"
    expected = timezone.now() + timedelta(days=7)
    assert abs((ann.ban_expires_at - expected).total_seconds()) < 60
    entry = AuditEntry.objects.get(action="user.ban", target_id="ann")
    assert entry.actor_account == moderator and entry.reason == "harassment"


@pytest.mark.parametrize(
    "data",
    [
        {"action": "ban", "duration": "forever"},
        {"action": "ban", "reason": "x", "duration": "custom"},
        {"action": "ban", "reason": "x" * 1001, "duration": "forever"},
        {"action": "ban", "reason": "x", "duration": "never"},
    ],
)
def test_a_bad_ban_is_refused_and_changes_nothing(
    moderator_client: Client, org: Organization, ann: Member, data: dict
) -> None:
    response = moderator_client.post(user_url(org, "ann"), data, follow=True)
    assert any("Nothing was changed" in m for m in flashes(response))
    ann.refresh_from_db()
    assert ann.banned_at is None
    assert not AuditEntry.objects.filter(action="user.ban").exists()


def test_a_moderator_unbans_a_user(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    member_services.member_ban(actor=Actor.system(), member=ann, reason="x")
    response = moderator_client.post(
        user_url(org, "ann"), {"action": "unban", "reason": "appeal"}, follow=True
    )
    assert any("no longer banned" in m for m in flashes(response))
    ann.refresh_from_db()
    assert not ann.is_globally_banned()
    assert AuditEntry.objects.get(action="user.unban").reason == "appeal"


def test_a_moderator_mutes_a_user_in_one_of_their_channels(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member, lobby: Channel
) -> None:
    response = moderator_client.post(
        user_url(org, "ann"),
        {"action": "mute", "channel": "lobby", "duration": "1h", "reason": "calm down"},
        follow=True,
    )
    assert any("is muted in lobby" in m for m in flashes(response))
    row = Membership.objects.get(channel=lobby, member=ann)
    assert row.is_muted()
    expected = timezone.now() + timedelta(hours=1)
    assert abs((row.mute_expires_at - expected).total_seconds()) < 60
    entry = AuditEntry.objects.get(action="channel.users.mute")
    assert entry.actor_account == moderator and entry.reason == "calm down"
    # the page shows the mute, its end time and who set it
    kinds = {r.kind: r for r in response.context["restrictions"]}
    assert kinds["Mute"].entry.actor_label == "mod@acme.test"


def test_muting_in_a_channel_the_user_is_not_in_is_refused(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    make_channel(org, "elsewhere", ["bob"])
    response = moderator_client.post(
        user_url(org, "ann"),
        {"action": "mute", "channel": "elsewhere", "duration": "1h"},
        follow=True,
    )
    assert any("Nothing was changed" in m for m in flashes(response))
    assert not Membership.objects.filter(member=ann, muted_at__isnull=False).exists()


def test_a_moderator_unmutes_a_user_in_a_channel(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    channel_services.channel_users_mute(
        channel=lobby, actor=Actor.system(), user_ids=["ann"], mute_period=-1
    )
    response = moderator_client.post(
        user_url(org, "ann"), {"action": "unmute", "channel": "lobby"}, follow=True
    )
    assert any("no longer muted" in m for m in flashes(response))
    assert not Membership.objects.get(channel=lobby, member=ann).is_muted()


def test_a_moderator_clears_a_users_flags(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member
) -> None:
    flag(org, ann, "r1")
    flag(org, ann, "r2")
    response = moderator_client.post(user_url(org, "ann"), {"action": "clear_flags"}, follow=True)
    assert any("2 open reports" in m for m in flashes(response))
    assert not Report.objects.filter(target_member=ann, state=Report.State.OPEN).exists()
    entry = AuditEntry.objects.get(action="user.flags.clear")
    assert entry.actor_account == moderator and entry.after["cleared"] == 2


def test_a_moderator_edits_display_name_and_roles(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member
) -> None:
    RoleFactory(organization=org, role_id="vip")
    RoleFactory(organization=org, role_id="helper")
    response = moderator_client.get(user_url(org, "ann"))
    assert b'value="vip"' in response.content and b'type="checkbox"' in response.content
    response = moderator_client.post(
        user_url(org, "ann"),
        {"action": "edit", "display_name": "Ann E.", "roles": ["vip", "helper"]},
        follow=True,
    )
    assert any("was updated" in m for m in flashes(response))
    ann.refresh_from_db()
    assert ann.display_name == "Ann E." and ann.roles == ["vip", "helper"]
    entry = AuditEntry.objects.get(action="user.update")
    assert entry.actor_account == moderator


@pytest.mark.parametrize(
    "data",
    [
        {"action": "edit", "display_name": "Ann", "roles": ["no-such-role"]},
        {"action": "edit", "display_name": "", "roles": []},
        {"action": "edit", "display_name": "x" * 256},
        {"action": "explode"},
        {},
    ],
)
def test_bad_edits_and_unknown_actions_are_refused(
    moderator_client: Client, org: Organization, ann: Member, data: dict
) -> None:
    RoleFactory(organization=org, role_id="vip")
    response = moderator_client.post(user_url(org, "ann"), data, follow=True)
    assert any("Nothing was changed" in m for m in flashes(response))
    ann.refresh_from_db()
    assert ann.display_name == "Ann Example" and ann.roles == []
    assert not AuditEntry.objects.filter(action="user.update").exists()


def test_roles_of_another_organization_are_not_offered_nor_accepted(
    moderator_client: Client, org: Organization, other_org: Organization, ann: Member
) -> None:
    RoleFactory(organization=other_org, role_id="globex-role")
    page = moderator_client.get(user_url(org, "ann"))
    assert b"globex-role" not in page.content
    moderator_client.post(
        user_url(org, "ann"), {"action": "edit", "display_name": "A", "roles": ["globex-role"]}
    )
    ann.refresh_from_db()
    assert ann.roles == []


# --- other organizations -------------------------------------------------------------------


def test_an_outsider_gets_404_on_every_user_page_and_action(
    outsider_client: Client, org: Organization, other_org: Organization, ann: Member, lobby: Channel
) -> None:
    flag(org, ann)
    assert outsider_client.get(users_url(org)).status_code == 404
    assert outsider_client.get(user_url(org, "ann")).status_code == 404
    # acme's userId through the outsider's own organization is unknown there: 404 too
    assert outsider_client.get(user_url(other_org, "ann")).status_code == 404
    actions = [
        {"action": "ban", "reason": "x", "duration": "forever"},
        {"action": "unban"},
        {"action": "mute", "channel": "lobby", "duration": "forever"},
        {"action": "unmute", "channel": "lobby"},
        {"action": "clear_flags"},
        {"action": "edit", "display_name": "pwned"},
    ]
    for data in actions:
        assert outsider_client.post(user_url(org, "ann"), data).status_code == 404
        assert outsider_client.post(user_url(other_org, "ann"), data).status_code == 404
    ann.refresh_from_db()
    assert ann.banned_at is None and ann.display_name == "Ann Example"
    assert Report.objects.filter(target_member=ann, state=Report.State.OPEN).count() == 1
    assert not Membership.objects.filter(member=ann, muted_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(actor_account__email="mod@globex.test").exists()
    assert not Member.objects.filter(organization=other_org, user_id="ann").exists()


# --- deactivated and removed states, sessions (issue 16) -----------------------------------


def test_the_list_shows_and_filters_deactivated_and_removed_users(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    gone = MemberFactory(organization=org, user_id="gone")
    idle = MemberFactory(organization=org, user_id="idle")
    member_services.member_remove(actor=Actor.system(), member=gone)
    member_services.member_deactivate(actor=Actor.system(), member=idle)

    def listed(state: str | None = None) -> set[str]:
        params = {"state": state} if state else {}
        response = moderator_client.get(users_url(org), params)
        return {m.user_id for m, _, _ in response.context["rows"]}

    assert listed() == listed("any") == {"ann", "gone", "idle"}
    assert listed("active") == {"ann"}
    assert listed("deactivated") == {"idle"}
    assert listed("removed") == {"gone"}
    content = moderator_client.get(users_url(org)).content.decode()
    assert '<span class="tag">removed</span>' in content
    assert '<span class="tag">deactivated</span>' in content


def test_the_user_page_shows_the_deactivated_or_removed_state(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    assert b"Active" in moderator_client.get(user_url(org, "ann")).content
    member_services.member_deactivate(actor=Actor.system(), member=ann)
    assert b"Deactivated on" in moderator_client.get(user_url(org, "ann")).content
    member_services.member_remove(actor=Actor.system(), member=ann)
    assert b"Removed from Acme on" in moderator_client.get(user_url(org, "ann")).content


def _api(token: str) -> int:
    return (
        Client().get("/api/messaging/channels/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code
    )


def test_the_user_page_lists_the_users_sessions_with_who_issued_them(
    moderator_client: Client, org: Organization, ann: Member
) -> None:
    live = member_services.member_session_issue(actor=Actor.system(), member=ann)
    old = member_services.member_session_issue(actor=Actor.system(), member=ann)
    MemberSession.objects.filter(pk=old.session.pk).update(revoked_at=timezone.now())
    assert _api(live.token) == 200  # used once: "last used" is set
    response = moderator_client.get(user_url(org, "ann"))
    rows = {row.session.prefix: row for row in response.context["sessions"]}
    assert rows[live.session.prefix].status == "live"
    assert rows[old.session.prefix].status == "revoked"
    assert rows[live.session.prefix].session.last_used_at is not None
    assert rows[live.session.prefix].issued_by == Actor.system().label
    content = response.content.decode()
    assert f"{live.session.prefix}…" in content and "Revoke all 1 live session" in content
    assert live.token not in content  # never the token itself


def test_revoking_all_sessions_signs_the_user_out_of_the_api_at_once(
    moderator_client: Client, moderator: Account, org: Organization, ann: Member
) -> None:
    tokens = [
        member_services.member_session_issue(actor=Actor.system(), member=ann).token
        for _ in range(2)
    ]
    other = MemberFactory(organization=org, user_id="other")
    kept = member_services.member_session_issue(actor=Actor.system(), member=other).token
    assert [_api(t) for t in tokens] == [200, 200]
    response = moderator_client.post(
        user_url(org, "ann"), {"action": "revoke_sessions"}, follow=True
    )
    assert any("2 sessions of ann revoked" in m for m in flashes(response))
    assert [_api(t) for t in tokens] == [401, 401]
    assert _api(kept) == 200  # another user's session is untouched
    entry = AuditEntry.objects.get(action="session.revoke", target_id="ann")
    assert entry.actor_account == moderator and entry.after == {"revoked": 2}
    again = moderator_client.post(user_url(org, "ann"), {"action": "revoke_sessions"}, follow=True)
    assert any("has no live session" in m for m in flashes(again))
    assert AuditEntry.objects.filter(action="session.revoke", target_id="ann").count() == 1


@pytest.mark.parametrize("client_fixture", ["owner_client", "admin_client_", "moderator_client"])
def test_every_console_role_may_revoke_a_users_sessions(
    request: pytest.FixtureRequest, org: Organization, ann: Member, client_fixture: str
) -> None:
    token = member_services.member_session_issue(actor=Actor.system(), member=ann).token
    client = request.getfixturevalue(client_fixture)
    response = client.post(user_url(org, "ann"), {"action": "revoke_sessions"}, follow=True)
    assert any("revoked" in m for m in flashes(response))
    assert _api(token) == 401


def test_an_outsider_gets_404_on_revoking_sessions(
    outsider_client: Client, org: Organization, other_org: Organization, ann: Member
) -> None:
    token = member_services.member_session_issue(actor=Actor.system(), member=ann).token
    for target in (user_url(org, "ann"), user_url(other_org, "ann")):
        response = outsider_client.post(target, {"action": "revoke_sessions"})
        assert response.status_code == 404
    assert _api(token) == 200
    assert not AuditEntry.objects.filter(action="session.revoke").exists()


def test_the_sessions_cost_two_queries_whatever_their_number(
    moderator_client: Client, org: Organization
) -> None:
    few = MemberFactory(organization=org, user_id="few")
    many = MemberFactory(organization=org, user_id="many")
    member_services.member_session_issue(actor=Actor.system(), member=few)
    for _ in range(12):
        member_services.member_session_issue(actor=Actor.system(), member=many)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(user_url(org, "few"))
    with CaptureQueriesContext(connection) as twelve:
        response = moderator_client.get(user_url(org, "many"))
    assert len(response.context["sessions"]) == 12
    assert all(row.issued_by for row in response.context["sessions"])
    assert len(twelve) == len(one)
