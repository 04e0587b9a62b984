"""The dashboard (``/console/<org>/``) and its server-rendered charts."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Membership
from apps.console.charts import Series, bar_chart, nice_ceiling
from apps.console.selectors import (
    Total,
    last_days,
    moderation_actions_per_day,
    reports_per_day,
    total,
)
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.reports.services import report_create

from ..factories import AccountFactory, ChannelFactory, MemberFactory, MessageFactory


def dashboard_url(org: Organization) -> str:
    return reverse("console:dashboard", args=[org.slug])


@contextmanager
def frozen(at: datetime):  # type: ignore[no-untyped-def]
    """Rows created inside get ``at`` as their auto_now_add time."""
    with mock.patch.object(timezone, "now", return_value=at):
        yield


def staff_action(org: Organization, target: str = "alice", reason: str = "") -> None:
    actor = Actor(account=AccountFactory(email="mod@acme.test"))
    audit_record(
        organization=org,
        actor=actor,
        action="user.ban",
        target_type="user",
        target_id=target,
        reason=reason,
    )


def system_action(org: Organization) -> None:
    audit_record(
        organization=org,
        actor=Actor.system(),
        action="user.unban.expired",
        target_type="user",
        target_id="alice",
    )


# ------------------------------------------------------------------------------ page


def test_the_dashboard_shows_counts_reports_and_recent_actions(
    moderator_client: Client, org: Organization, other_org: Organization
) -> None:
    general = ChannelFactory(organization=org, channel_id="general", message_count=1200)
    ChannelFactory(organization=org, channel_id="random", message_count=34)
    ChannelFactory(organization=org, channel_id="gone", message_count=0, closed_at=timezone.now())
    ChannelFactory(organization=other_org, message_count=999)  # another tenant: not counted
    alice, bob = (MemberFactory(organization=org, user_id=u) for u in ("alice", "bob"))
    MemberFactory(organization=other_org, user_id="eve")
    msg = MessageFactory(channel=general, author=alice)
    report_create(
        organization=org,
        actor=Actor.system(),
        reporter=bob,
        target_member=alice,
        target_message=msg,
        reason="spam",
    )
    staff_action(org, reason="flooding the channel")
    with frozen(timezone.now() - timedelta(hours=30)):
        staff_action(org, reason="an old one")

    response = moderator_client.get(dashboard_url(org))
    assert response.status_code == 200
    counts = response.context["counts"]
    assert counts == {"open_reports": 1, "channels": 2, "messages": 1234, "users": Total(2)}
    # report.create and user.ban in the last 24 h; the 30-hour-old one is not counted
    assert response.context["actions_24h"] == 2
    html = response.content.decode()
    assert reverse("console:review", args=[org.slug]) in html
    assert "flooding the channel" in html and "an old one" not in html
    assert "≈ 1234" in html
    assert "Messages blocked per day" in html
    assert "Acme" in html


def test_the_dashboard_lists_mutes_and_bans_ending_within_24_hours(
    moderator_client: Client, org: Organization
) -> None:
    now = timezone.now()
    soon, later, past = (
        now + timedelta(hours=2),
        now + timedelta(hours=30),
        now - timedelta(hours=1),
    )
    ChannelFactory(organization=org, channel_id="quiet", muted_at=now, mute_expires_at=soon)
    ChannelFactory(organization=org, channel_id="quiet-later", muted_at=now, mute_expires_at=later)
    ChannelFactory(organization=org, channel_id="forever", muted_at=now, mute_expires_at=None)
    general = ChannelFactory(organization=org, channel_id="general")
    for user_id, fields in {
        "muted-soon": {"muted_at": now, "mute_expires_at": soon},
        "muted-later": {"muted_at": now, "mute_expires_at": later},
        "muted-over": {"muted_at": now, "mute_expires_at": past},
        "banned-soon": {"banned_at": now, "ban_expires_at": soon},
    }.items():
        Membership.objects.create(
            organization=org,
            channel=general,
            member=MemberFactory(organization=org, user_id=user_id),
            **fields,
        )
    MemberFactory(organization=org, user_id="global-soon", banned_at=now, ban_expires_at=soon)
    MemberFactory(organization=org, user_id="global-forever", banned_at=now)

    response = moderator_client.get(dashboard_url(org))
    assert response.status_code == 200
    rows = response.context["ending"]
    assert sorted((r["kind"], r.get("user"), r.get("channel")) for r in rows) == sorted(
        [
            ("Channel mute", None, "quiet"),
            ("Mute", "muted-soon", "general"),
            ("Channel ban", "banned-soon", "general"),
            ("Global ban", "global-soon", None),
        ]
    )
    html = response.content.decode()
    assert reverse("console:channel", args=[org.slug, "quiet"]) in html
    assert reverse("console:user", args=[org.slug, "global-soon"]) in html
    assert "muted-later" not in html and "quiet-later" not in html


def test_an_empty_organization_gets_a_calm_dashboard(
    moderator_client: Client, org: Organization
) -> None:
    response = moderator_client.get(dashboard_url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No timed mute or ban ends in the next 24 hours." in html
    assert "No moderation action in the last 24 hours." in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360') == 3  # 3 charts


def _dashboard_queries(client: Client, org: Organization) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(dashboard_url(org)).status_code == 200
    return len(ctx)


def _add_activity(org: Organization, n: int) -> None:
    now = timezone.now()
    channel = ChannelFactory(
        organization=org, muted_at=now, mute_expires_at=now + timedelta(hours=1)
    )
    author = MemberFactory(organization=org, banned_at=now, ban_expires_at=now + timedelta(hours=3))
    reporter = MemberFactory(organization=org)
    Membership.objects.create(
        organization=org,
        channel=channel,
        member=author,
        muted_at=now,
        mute_expires_at=now + timedelta(hours=2),
    )
    with frozen(now - timedelta(days=n % 30)):
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=reporter,
            target_member=author,
            target_message=MessageFactory(channel=channel, author=author),
        )
        staff_action(org, target=author.user_id)
        system_action(org)


def test_the_dashboard_costs_the_same_queries_for_1_and_20_of_everything(
    moderator_client: Client, org: Organization
) -> None:
    _add_activity(org, 0)
    one = _dashboard_queries(moderator_client, org)
    for n in range(1, 20):
        _add_activity(org, n)
    # session, account, the organizations (the switcher's list, which holds this one),
    # role; the counts (reports, channels, messages, users, 24-hour actions: one
    # statement); the latest 10 actions; 4 "ending soon" lists; 3 chart reads: constant.
    assert _dashboard_queries(moderator_client, org) == one


def test_a_total_is_exact_below_the_threshold_and_an_estimate_from_it_on(
    org: Organization,
) -> None:
    for user_id in ("a", "b", "c", "d"):
        MemberFactory(organization=org, user_id=user_id)
    members = Member.objects.filter(organization=org)
    assert total(members, exact_below=5) == Total(4)
    with CaptureQueriesContext(connection) as queries:
        about = total(members, exact_below=3)
    # counted 3 rows deep, then the planner's estimate (PostgreSQL) or the threshold;
    # never below the rows already seen
    assert about.exact is False
    assert about.value >= 3
    assert len(queries) == (2 if connection.vendor == "postgresql" else 1)
    assert "LIMIT 4" in queries[0]["sql"]


def test_the_dashboard_says_about_n_users_for_a_large_organization(
    moderator_client: Client, org: Organization
) -> None:
    for user_id in ("a", "b", "c"):
        MemberFactory(organization=org, user_id=user_id)
    with mock.patch("apps.console.selectors.EXACT_BELOW", 2):
        response = moderator_client.get(dashboard_url(org))
    assert response.context["counts"]["users"].exact is False
    assert "Users: <strong title=" in response.content.decode()
    assert ">about " in response.content.decode()


def test_the_outsider_and_anonymous_visitors_do_not_see_the_dashboard(
    outsider_client: Client, client: Client, org: Organization
) -> None:
    assert outsider_client.get(dashboard_url(org)).status_code == 404
    response = client.get(dashboard_url(org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


# -------------------------------------------------------------------------- per day


def test_actions_and_reports_are_counted_per_day_split_by_who(org: Organization) -> None:
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    alice, bob = (MemberFactory(organization=org, user_id=u) for u in ("alice", "bob"))
    with frozen(today - timedelta(days=2)):
        staff_action(org)
        staff_action(org)
        system_action(org)
        report_create(
            organization=org, actor=Actor.system(), reporter=bob, target_member=alice
        )  # its audit entry (report.create) is by "system" as well
    with frozen(today):
        system_action(org)
        report_create(organization=org, actor=Actor.system(), reporter=None, target_member=bob)
    with frozen(today - timedelta(days=40)):  # outside the window
        staff_action(org)

    days = last_days(days=30, today=today.date())
    actions = moderation_actions_per_day(organization=org, days=days)
    reports = reports_per_day(organization=org, days=days)
    assert actions["human"][-3:] == [2, 0, 0]
    assert actions["system"][-3:] == [2, 0, 2]
    assert sum(actions["human"]) == 2 and sum(actions["system"]) == 4
    assert reports["users"][-3:] == [1, 0, 0]
    assert reports["system"][-3:] == [0, 0, 1]


def test_the_dashboard_charts_show_the_days_and_the_numbers(
    moderator_client: Client, org: Organization
) -> None:
    now = timezone.now()
    with frozen(now - timedelta(days=3)):
        for _ in range(7):
            staff_action(org)
    response = moderator_client.get(dashboard_url(org))
    html = response.content.decode()
    day = (now - timedelta(days=3)).date()
    assert f"{day.isoformat()}: 7 By staff, 0 By the system" in html  # the bar's tooltip
    assert f'<th scope="row">{day.isoformat()}</th><td>7</td><td>0</td><td>7</td>' in html
    assert f"{now:%b} {now.day}" in html  # today's label on the axis
    assert "Moderation actions per day" in html and "Reports opened per day" in html


# --------------------------------------------------------------------------- charts


def test_bar_chart_renders_labels_numbers_and_an_accessible_table() -> None:
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(30)]
    human = [i % 4 for i in range(30)]
    system = [1] * 30
    svg = str(
        bar_chart(
            [Series("Staff", human, "#0b5cad"), Series("System <auto>", system, "#6e7781")],
            days,
            title="Actions & more",
            chart_id="c1",
        )
    )
    assert svg.startswith('<figure class="chart" id="c1"')
    assert 'role="img" aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Actions &amp; more</title>' in svg
    assert "System &lt;auto&gt;" in svg and "<auto>" not in svg  # escaped
    for label in ("Mar 1", "Mar 8", "Mar 15", "Mar 22", "Mar 30"):
        assert f">{label}</text>" in svg
    assert ">Mar 29</text>" not in svg and ">Mar 2</text>" not in svg  # no crowding
    assert "Busiest day: Mar 28 with 4." in svg  # in <desc>: the latest of the ties
    assert "2026-03-04: 3 Staff, 1 System &lt;auto&gt;" in svg
    assert '<th scope="row">2026-03-04</th><td>3</td><td>1</td><td>4</td>' in svg
    assert ">4</text>" in svg and ">2</text>" in svg  # the y axis: top and middle
    assert "<caption>Actions &amp; more</caption>" in svg


def test_bar_chart_handles_an_empty_window_and_refuses_mismatched_series() -> None:
    days = [date(2026, 1, 1)]
    svg = str(bar_chart([Series("A", [0], "#000")], days, title="t", chart_id="z"))
    assert ">Jan 1</text>" in svg and "Busiest day" in svg
    with pytest.raises(ValueError):
        bar_chart([Series("A", [1, 2], "#000")], days, title="t", chart_id="z")


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (1, 1), (3, 4), (5, 6), (7, 8), (9, 10), (11, 20), (250, 400), (1000, 1000)],
)
def test_the_axis_top_is_a_round_number(value: int, top: int) -> None:
    assert nice_ceiling(value) == top


def test_the_dashboard_charts_messages_the_content_filter_refused(
    moderator_client, api, org
) -> None:
    from apps.moderation.models import BlacklistRecord, FilterRefusalDay

    api.post("/api/v2/channel", {"channelId": "c", "type": "standard"}, format="json")
    api.post("/api/v2/blacklist/records", {"regexs": ["darn"]}, format="json")
    for _ in range(2):
        refused = api.post(
            "/api/v2/message",
            {"channelId": "c", "type": "text", "data": {"text": "oh darn"}},
            format="json",
        )
        assert refused.status_code == 400
    assert BlacklistRecord.objects.filter(organization=org).count() == 1
    assert FilterRefusalDay.objects.get(organization=org).blacklisted == 2

    page = moderator_client.get(f"/console/{org.slug}/")

    assert page.status_code == 200
    assert b"chart-refusals" in page.content
    assert b"Messages blocked per day" in page.content


# ------------------------------------------------------------------------- live twin


def dashboard_live_url(org: Organization) -> str:
    return reverse("console:dashboard_live", args=[org.slug])


def test_the_dashboard_names_its_live_twin_and_has_no_inline_style_or_script(
    moderator_client: Client, org: Organization
) -> None:
    html = moderator_client.get(dashboard_url(org)).content.decode()
    assert f'data-live-url="{dashboard_live_url(org)}"' in html
    assert 'role="status" aria-live="polite" data-live-announce' in html
    assert 'src="/static/console/live.js" defer' in html
    assert "<style" not in html and "<script>" not in html


def test_the_dashboards_live_twin_answers_the_figures_and_the_latest_actions(
    moderator_client: Client, org: Organization
) -> None:
    general = ChannelFactory(organization=org, channel_id="general", message_count=1200)
    alice = MemberFactory(organization=org, user_id="alice")
    report_create(
        organization=org,
        actor=Actor.system(),
        reporter=None,
        target_member=alice,
        target_message=MessageFactory(channel=general, author=alice),
    )
    staff_action(org, reason="flooding the channel")
    response = moderator_client.get(dashboard_live_url(org))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["values"] == {
        "open-reports": "1",
        "actions-24h": "2",  # report.create and user.ban
        "channels": "1",
        "users": "1",
        "messages": "≈ 1200",
    }
    assert data["empty"] is False
    assert data["rows"].count("<tr data-row-key=") == 2
    assert "flooding the channel" in data["rows"] and "<thead" not in data["rows"]


def test_the_dashboards_live_twin_announces_reports_opened_since_the_cursor(
    moderator_client: Client, org: Organization
) -> None:
    since = moderator_client.get(dashboard_url(org)).context["live_since"]
    empty = moderator_client.get(dashboard_live_url(org), {"since": since}).json()
    assert empty["new"] == 0 and empty["empty"] is True and empty["rows"].strip() == ""
    for user_id in ("alice", "bob"):
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=None,
            target_member=MemberFactory(organization=org, user_id=user_id),
        )
    data = moderator_client.get(dashboard_live_url(org), {"since": since}).json()
    assert data["new"] == 2 and data["announce"] == "2 new reports"
    assert data["values"]["open-reports"] == "2"
    again = moderator_client.get(dashboard_live_url(org), {"since": data["since"]}).json()
    assert again["new"] == 0


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_", "moderator_client"])
def test_every_console_role_may_read_the_dashboards_live_twin(
    persona: str, request: pytest.FixtureRequest, org: Organization
) -> None:
    client: Client = request.getfixturevalue(persona)
    assert client.get(dashboard_live_url(org)).json()["values"]["open-reports"] == "0"


def test_the_outsider_and_anonymous_visitors_do_not_get_the_dashboards_live_twin(
    outsider_client: Client, client: Client, org: Organization
) -> None:
    assert outsider_client.get(dashboard_live_url(org)).status_code == 404
    response = client.get(dashboard_live_url(org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_the_dashboards_live_twin_costs_the_same_queries_for_1_and_20_of_everything(
    moderator_client: Client, org: Organization
) -> None:
    url = dashboard_live_url(org) + "?since=" + (timezone.now() - timedelta(days=40)).isoformat()

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert moderator_client.get(url).status_code == 200
        return len(ctx)

    _add_activity(org, 0)
    one = queries()
    for n in range(1, 20):
        _add_activity(org, n)
    # session, account, the organizations, role; the counts (one statement); the latest
    # 10 actions; the reports opened since the cursor (capped): constant.
    assert queries() == one
