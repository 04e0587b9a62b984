"""The review queue (``/console/<org>/review/``) and one reported target with its actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.services import report_create, report_resolve

from ..factories import ChannelFactory, MemberFactory, MessageFactory

HOUR_MS = 3_600_000


@dataclass
class Scene:
    channel: Channel
    alice: Member  # the reported author
    bob: Member
    carol: Member
    messages: list[Message]  # seven messages in the channel; the 4th (alice's) is reported
    reported: Message
    report: Report  # bob's report on the message (the oldest)
    second: Report  # carol's report on the same message
    user_report: Report  # bob's report on the user dave
    dave: Member


def member(org: Organization, user_id: str) -> Member:
    return MemberFactory(organization=org, user_id=user_id, display_name=user_id.title())


@pytest.fixture
def scene(org: Organization) -> Scene:
    channel = ChannelFactory(organization=org, channel_id="general", message_count=7)
    alice, bob, carol, dave = (member(org, n) for n in ("alice", "bob", "carol", "dave"))
    for m in (alice, bob, carol):
        Membership.objects.create(
            organization=org, channel=channel, member=m, joined_at=timezone.now()
        )
    authors = [bob, carol, bob, alice, carol, bob, carol]
    msgs = [
        MessageFactory(channel=channel, author=a, data={"text": f"line {i}"})
        for i, a in enumerate(authors, start=1)
    ]
    reported = msgs[3]
    reported.data = {"text": "buy cheap pills at spam.example"}
    reported.save(update_fields=["data"])
    system = Actor.system()
    first = report_create(
        organization=org,
        actor=system,
        reporter=bob,
        target_member=alice,
        target_message=reported,
        reason="spam link",
    )
    second = report_create(
        organization=org,
        actor=system,
        reporter=carol,
        target_member=alice,
        target_message=reported,
        reason="advertising",
    )
    user_report = report_create(
        organization=org, actor=system, reporter=bob, target_member=dave, reason="impersonation"
    )
    return Scene(channel, alice, bob, carol, msgs, reported, first, second, user_report, dave)


def queue_url(org: Organization) -> str:
    return reverse("console:review", args=[org.slug])


def item_url(org: Organization, report: Report) -> str:
    return reverse("console:review_item", args=[org.slug, report.pk])


def flash(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def states(*reports: Report) -> list[str]:
    return [Report.objects.get(pk=r.pk).state for r in reports]


# ------------------------------------------------------------------------------ queue


def test_the_queue_lists_one_row_per_reported_target_oldest_first(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    response = moderator_client.get(queue_url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert "buy cheap pills at spam.example" in html
    assert "impersonation" in html
    assert html.index("spam.example") < html.index("impersonation")  # oldest first
    items = response.context["page"].items
    assert [i.pk for i in items] == [scene.report.pk, scene.user_report.pk]
    assert items[0].report_count == 2  # bob's and carol's reports are one row
    assert item_url(org, scene.report) in html
    assert 'data-shortcut="n"' in html


def test_the_queue_filters_by_target_kind_source_user_and_channel(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    def pks(**params: str) -> list[int]:
        response = moderator_client.get(queue_url(org), params)
        assert response.status_code == 200
        return [i.pk for i in response.context["page"].items]

    assert pks(kind="user") == [scene.user_report.pk]
    assert pks(kind="message") == [scene.report.pk]
    assert pks(user="dave") == [scene.user_report.pk]
    assert pks(channel="general") == [scene.report.pk]
    assert pks(source="system") == []
    assert pks(source="users") == [scene.report.pk, scene.user_report.pk]
    assert pks(sort="newest") == [scene.user_report.pk, scene.report.pk]
    assert pks(kind="bogus", user="x" * 500) == [scene.report.pk, scene.user_report.pk]


def test_the_queue_shows_reports_by_the_content_filter(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    report_create(
        organization=org,
        actor=Actor.system(),
        reporter=None,
        target_member=scene.alice,
        target_message=scene.messages[3],
        reason="blacklisted: pills",
    )
    response = moderator_client.get(queue_url(org), {"source": "system"})
    items = response.context["page"].items
    assert [i.pk for i in items] == [scene.report.pk]
    assert (items[0].report_count, items[0].system_count) == (3, 1)
    assert "1 by the filter" in response.content.decode()


def test_an_empty_queue_says_so_kindly(moderator_client: Client, org: Organization) -> None:
    response = moderator_client.get(queue_url(org))
    assert response.status_code == 200
    assert "All clear" in response.content.decode()


def test_the_queue_paginates_with_cursors(
    moderator_client: Client, org: Organization, scene: Scene, monkeypatch
) -> None:
    monkeypatch.setattr("apps.console.review.views.PER_PAGE", 1)
    first = moderator_client.get(queue_url(org))
    page = first.context["page"]
    assert [i.pk for i in page.items] == [scene.report.pk]
    second = moderator_client.get(queue_url(org), {"cursor": page.next_cursor})
    assert [i.pk for i in second.context["page"].items] == [scene.user_report.pk]


def _queue_queries(client: Client, org: Organization) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(queue_url(org)).status_code == 200
    return len(ctx)


def test_the_queue_costs_the_same_queries_for_1_and_20_targets(
    moderator_client: Client, org: Organization
) -> None:
    channel = ChannelFactory(organization=org)
    reporter = member(org, "reporter")

    def add_reported_message(n: int) -> None:
        author = member(org, f"author{n}")
        msg = MessageFactory(channel=channel, author=author)
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=reporter,
            target_member=author,
            target_message=msg,
            reason=f"r{n}",
        )

    add_reported_message(0)
    one = _queue_queries(moderator_client, org)
    for n in range(1, 20):
        add_reported_message(n)
    # session + account, the organizations (the switcher's list, which holds this one),
    # role, the page of targets (one query with the report counts as subqueries): constant.
    assert _queue_queries(moderator_client, org) == one


# --------------------------------------------------------------------------- the item


def test_an_item_shows_the_message_in_context_the_reports_and_the_authors_history(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    from apps.members.services import member_ban, member_unban

    member_ban(actor=Actor.system(), member=scene.alice, reason="earlier trouble")
    member_unban(actor=Actor.system(), member=scene.alice, reason="appeal accepted")
    other = ChannelFactory(organization=org, channel_id="random")
    MessageFactory(channel=other, author=scene.alice, data={"text": "hello from random"})

    response = moderator_client.get(item_url(org, scene.second))  # any report of the group
    assert response.status_code == 200
    html = response.content.decode()
    for i in (1, 2, 3, 5, 6, 7):  # three before, three after
        assert f"line {i}" in html
    assert "buy cheap pills at spam.example" in html
    assert "spam link" in html and "advertising" in html  # the reasons
    assert "<code>bob</code>" in html and "<code>carol</code>" in html  # the reporters
    assert "hello from random" in html  # the author's recent messages
    assert "earlier trouble" in html and "appeal accepted" in html  # earlier actions
    assert "user.ban" in html and "user.unban" in html
    assert "2 open, 0 dismissed, 0 actioned" in html
    for key in ("d", "x", "m", "b", "n", "r"):
        assert f'data-shortcut="{key}"' in html
        assert f"<kbd>{key}</kbd>" in html
    assert response.context["next_item"].pk == scene.user_report.pk


def test_an_item_on_a_user_offers_their_channels_and_no_delete(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    Membership.objects.create(
        organization=org, channel=scene.channel, member=scene.dave, joined_at=timezone.now()
    )
    response = moderator_client.get(item_url(org, scene.user_report))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reported user" in html
    assert '<option value="general">' in html
    assert 'value="delete"' not in html
    assert response.context["next_item"] is None


def _item_queries(client: Client, org: Organization, report: Report) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(item_url(org, report)).status_code == 200
    return len(ctx)


def test_an_item_costs_the_same_queries_for_1_and_20_reports_and_actions(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    from apps.members.services import member_unban

    one = _item_queries(moderator_client, org, scene.report)
    for n in range(20):
        reporter = member(org, f"reporter{n}")
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=reporter,
            target_member=scene.alice,
            target_message=scene.reported,
            reason=f"reason {n}",
        )
        member_unban(actor=Actor.system(), member=scene.alice, reason=f"n{n}")
        MessageFactory(channel=scene.channel, author=scene.alice)
    # The report; the group's reports; two context queries; the author's messages;
    # actions on the author; report outcomes; membership; next item: constant.
    assert _item_queries(moderator_client, org, scene.report) == one


def test_a_resolved_report_shows_who_resolved_it_and_no_actions(
    moderator_client: Client, moderator, org: Organization, scene: Scene
) -> None:
    report_resolve(actor=Actor(account=moderator), report=scene.user_report, reason="ok")
    response = moderator_client.get(item_url(org, scene.user_report))
    assert response.status_code == 200
    html = response.content.decode()
    assert "dismissed" in html and "mod@acme.test" in html
    assert 'name="action"' not in html


# ---------------------------------------------------------------------------- actions


def post(client: Client, org: Organization, report: Report, **data: str):  # type: ignore[no-untyped-def]
    return client.post(item_url(org, report), data)


def test_dismiss_dismisses_every_open_report_of_the_target(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    response = post(moderator_client, org, scene.report, action="dismiss", reason="not spam")
    assert response.status_code == 302
    assert response["Location"] == item_url(org, scene.user_report)  # on to the next item
    assert states(scene.report, scene.second) == ["dismissed", "dismissed"]
    assert states(scene.user_report) == ["open"]
    entries = AuditEntry.objects.filter(action="report.resolve", actor_label="mod@acme.test")
    assert sorted(e.target_id for e in entries) == sorted(
        [str(scene.report.pk), str(scene.second.pk)]
    )
    assert {e.reason for e in entries} == {"not spam"}
    assert "Dismissed. 2 reports marked dismissed." in flash(response)
    assert Message.objects.get(pk=scene.reported.pk).deleted_at is None


def test_delete_deletes_the_message_and_actions_the_reports(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    response = post(moderator_client, org, scene.report, action="delete", reason="spam")
    assert response.status_code == 302
    assert Message.objects.get(pk=scene.reported.pk).deleted_at is not None
    entry = AuditEntry.objects.get(action="message.delete")
    assert (entry.target_id, entry.reason, entry.actor_label) == (
        str(scene.reported.public_id),
        "spam",
        "mod@acme.test",
    )
    assert states(scene.report, scene.second) == ["actioned", "actioned"]
    assert "Message deleted. 2 reports marked actioned." in flash(response)


@pytest.mark.parametrize(
    ("data", "minutes", "label"),
    [
        ({"duration": "60s"}, 1, "for 60 s"),
        ({"duration": "1h"}, 60, "for 1 h"),
        ({"duration": "1d"}, 1440, "for 1 d"),
        ({"duration": "1w"}, 7 * 1440, "for 1 week"),
        ({"duration": "custom", "minutes": "90"}, 90, "for 90 min"),
    ],
)
def test_mute_mutes_the_author_in_the_messages_channel(
    moderator_client: Client,
    org: Organization,
    scene: Scene,
    data: dict[str, str],
    minutes: int,
    label: str,
) -> None:
    before = timezone.now()
    response = post(moderator_client, org, scene.report, action="mute", reason="cool off", **data)
    assert response.status_code == 302
    row = Membership.objects.get(channel=scene.channel, member=scene.alice)
    assert row.is_muted()
    expected = before + timedelta(minutes=minutes)
    assert abs((row.mute_expires_at - expected).total_seconds()) < 30
    entry = AuditEntry.objects.get(action="channel.users.mute")
    assert (entry.target_id, entry.reason) == ("general", "cool off")
    assert entry.after["userIds"] == ["alice"]
    assert entry.after["mutePeriod"] == minutes * 60_000
    assert states(scene.report, scene.second) == ["actioned", "actioned"]
    assert f"alice muted in general {label}. 2 reports marked actioned." in flash(response)


@pytest.mark.parametrize(
    ("duration", "days", "label"), [("forever", None, "until unbanned"), ("1d", 1, "for 1 d")]
)
def test_ban_from_the_channel_bans_the_author_for_the_duration_chosen(
    moderator_client: Client,
    org: Organization,
    scene: Scene,
    duration: str,
    days: int | None,
    label: str,
) -> None:
    response = post(
        moderator_client,
        org,
        scene.report,
        action="channel_ban",
        reason="repeat",
        duration=duration,
    )
    assert response.status_code == 302
    row = Membership.objects.get(channel=scene.channel, member=scene.alice)
    assert row.is_banned() and not row.is_member
    if days is None:
        assert row.ban_expires_at is None
    else:
        assert row.ban_expires_at - row.banned_at == timedelta(days=days)
    assert AuditEntry.objects.get(action="channel.users.ban").reason == "repeat"
    assert states(scene.report, scene.second) == ["actioned", "actioned"]
    assert f"alice banned from general {label}. 2 reports marked actioned." in flash(response)


@pytest.mark.parametrize(("period", "days"), [("forever", None), ("1w", 7), ("7d", 7)])
def test_global_ban_bans_the_user_everywhere(
    moderator_client: Client, org: Organization, scene: Scene, period: str, days: int | None
) -> None:
    response = post(
        moderator_client, org, scene.report, action="global_ban", reason="abuse", duration=period
    )
    assert response.status_code == 302
    alice = Member.objects.get(pk=scene.alice.pk)
    assert alice.is_globally_banned() and alice.ban_reason == "abuse"
    if days is None:
        assert alice.ban_expires_at is None
    else:
        expected = timezone.now() + timedelta(days=days)
        assert abs((alice.ban_expires_at - expected).total_seconds()) < 30
    assert AuditEntry.objects.get(action="user.ban").target_id == "alice"
    assert states(scene.report, scene.second) == ["actioned", "actioned"]


def test_after_the_last_item_an_action_goes_back_to_the_queue(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    response = post(moderator_client, org, scene.user_report, action="dismiss")
    assert response.status_code == 302
    assert response["Location"] == queue_url(org)


def test_a_reported_user_is_muted_in_the_channel_chosen(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    response = post(
        moderator_client,
        org,
        scene.user_report,
        action="mute",
        duration="1h",
        channel="general",
        reason="x",
    )
    assert response.status_code == 302
    assert Membership.objects.get(channel=scene.channel, member=scene.dave).is_muted()
    assert states(scene.user_report) == ["actioned"]


def _nothing_changed(scene: Scene, audit_count: int) -> None:
    assert AuditEntry.objects.count() == audit_count
    assert states(scene.report, scene.second, scene.user_report) == ["open"] * 3
    assert not Membership.objects.filter(muted_at__isnull=False).exists()
    assert not Membership.objects.filter(banned_at__isnull=False).exists()
    assert not Member.objects.filter(banned_at__isnull=False).exists()
    assert not Message.objects.filter(deleted_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "mute", "duration": "custom", "minutes": "abc"}, "Custom minutes:"),
        ({"action": "mute", "duration": "custom", "minutes": "-5"}, "Custom minutes:"),
        ({"action": "mute", "duration": "custom", "minutes": "0"}, "Custom minutes:"),
        ({"action": "mute", "duration": "custom", "minutes": "99999999999"}, "Custom minutes:"),
        ({"action": "mute", "duration": "custom"}, "Custom minutes: enter how many"),
        ({"action": "mute"}, "Duration: Choose how long"),
        ({"action": "mute", "duration": "7"}, "Duration:"),
        ({"action": "mute", "duration": "60"}, "Duration:"),  # the former minutes presets
        ({"action": "global_ban", "duration": "1y"}, "Duration:"),
        ({"action": "global_ban"}, "Duration: Choose how long"),
        ({"action": "channel_ban", "duration": ""}, "Duration: Choose how long"),
        ({"action": "explode"}, "Action:"),
        ({}, "Action:"),
        ({"action": "dismiss", "reason": "x" * 1001}, "Reason:"),
    ],
)
def test_bad_input_shows_an_error_and_changes_nothing(
    moderator_client: Client,
    org: Organization,
    scene: Scene,
    data: dict[str, str],
    error: str,
) -> None:
    audit_count = AuditEntry.objects.count()
    response = post(moderator_client, org, scene.report, **data)
    assert response.status_code == 400
    assert any(m.startswith(error) for m in flash(response)), flash(response)
    assert error.split(":")[0] in response.content.decode()
    _nothing_changed(scene, audit_count)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "delete"}, "there is no message to delete"),
        ({"action": "mute", "duration": "1h"}, "Choose the channel"),
        ({"action": "mute", "duration": "1h", "channel": "nope"}, "No channel with channelId"),
        (
            {"action": "channel_ban", "duration": "forever", "channel": "nope"},
            "No channel with channelId",
        ),
    ],
)
def test_service_refusals_on_a_reported_user_show_an_error_and_change_nothing(
    moderator_client: Client,
    org: Organization,
    scene: Scene,
    data: dict[str, str],
    error: str,
) -> None:
    audit_count = AuditEntry.objects.count()
    response = post(moderator_client, org, scene.user_report, **data)
    assert response.status_code == 400
    assert any(error in m for m in flash(response)), flash(response)
    _nothing_changed(scene, audit_count)


def test_another_organizations_channel_is_unknown_here(
    moderator_client: Client, org: Organization, other_org: Organization, scene: Scene
) -> None:
    ChannelFactory(organization=other_org, channel_id="theirs")
    audit_count = AuditEntry.objects.count()
    response = post(
        moderator_client, org, scene.user_report, action="mute", duration="1h", channel="theirs"
    )
    assert response.status_code == 400
    assert any("No channel with channelId 'theirs'" in m for m in flash(response))
    _nothing_changed(scene, audit_count)


def test_acting_in_a_closed_channel_is_refused(
    moderator_client: Client, moderator, org: Organization, scene: Scene
) -> None:
    from apps.retention.services import channel_close

    channel_close(channel=scene.channel, actor=Actor(account=moderator))
    page = moderator_client.get(item_url(org, scene.report))
    assert page.status_code == 200
    assert "The channel is closed" in page.content.decode()
    audit_count = AuditEntry.objects.count()
    response = post(moderator_client, org, scene.report, action="mute", duration="1h")
    assert response.status_code == 400
    assert any("closed" in m for m in flash(response))
    assert AuditEntry.objects.count() == audit_count
    assert states(scene.report, scene.second) == ["open", "open"]


def test_acting_on_reports_already_resolved_is_refused(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    for report in (scene.report, scene.second):
        report_resolve(actor=Actor.system(), report=report)
    audit_count = AuditEntry.objects.count()
    response = post(moderator_client, org, scene.report, action="delete")
    assert response.status_code == 409
    assert any("already dismissed by system" in m for m in flash(response))
    assert AuditEntry.objects.count() == audit_count
    assert Message.objects.get(pk=scene.reported.pk).deleted_at is None


# -------------------------------------------------------------------------- who sees it


def test_the_outsider_gets_404_on_the_pages_and_the_actions(
    outsider_client: Client, org: Organization, other_org: Organization, scene: Scene
) -> None:
    audit_count = AuditEntry.objects.count()
    assert outsider_client.get(queue_url(org)).status_code == 404
    assert outsider_client.get(item_url(org, scene.report)).status_code == 404
    assert post(outsider_client, org, scene.report, action="delete").status_code == 404
    # This organization's report ids under the outsider's own organization: unknown there.
    own = reverse("console:review_item", args=[other_org.slug, scene.report.pk])
    assert outsider_client.get(own).status_code == 404
    assert outsider_client.post(own, {"action": "delete"}).status_code == 404
    assert outsider_client.post(own, {"action": "global_ban"}).status_code == 404
    assert outsider_client.get(queue_url(other_org)).context["page"].items == []
    _nothing_changed(scene, audit_count)


def test_an_unknown_report_id_is_404(moderator_client: Client, org: Organization) -> None:
    assert moderator_client.get(item_url_for(org, 987654)).status_code == 404
    assert moderator_client.get(f"{queue_url(org)}abc/").status_code == 404


def item_url_for(org: Organization, pk: int) -> str:
    return reverse("console:review_item", args=[org.slug, pk])


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, org: Organization, scene: Scene
) -> None:
    audit_count = AuditEntry.objects.count()
    for response in (
        client.get(queue_url(org)),
        client.get(item_url(org, scene.report)),
        client.post(item_url(org, scene.report), {"action": "delete"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:login"))
    _nothing_changed(scene, audit_count)


def test_the_superuser_may_review_any_organization(
    superuser_client: Client, org: Organization, scene: Scene
) -> None:
    assert superuser_client.get(item_url(org, scene.report)).status_code == 200
    response = post(superuser_client, org, scene.report, action="dismiss")
    assert response.status_code == 302
    assert states(scene.report) == ["dismissed"]


def test_actions_need_the_csrf_token(moderator, org: Organization, scene: Scene) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    response = client.post(item_url(org, scene.report), {"action": "dismiss"})
    assert response.status_code == 403
    assert states(scene.report) == ["open"]


# ----------------------------------------------------------- the one action panel (issue 16)


def _other_report_on_alice(org: Organization, scene: Scene) -> Report:
    """A report on alice herself (not on the reported message): one of "her other open
    reports"."""
    return report_create(
        organization=org,
        actor=Actor.system(),
        reporter=scene.carol,
        target_member=scene.alice,
        reason="rude in DMs",
    )


def test_the_panel_has_one_reason_field_the_console_presets_and_no_inline_style(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    _other_report_on_alice(org, scene)
    html = moderator_client.get(item_url(org, scene.report)).content.decode()
    assert html.count('name="reason"') == 1
    assert html.count('<form method="post" class="card form review-actions"') == 1
    values = [v for v in ("60s", "5m", "10m", "1h", "1d", "1w", "forever", "custom")]
    positions = [html.index(f'name="duration" value="{v}"') for v in values]
    assert positions == sorted(positions)  # 60 s, 5 min, 10 min, 1 h, 1 d, 1 week, ...
    assert 'name="duration" value="1h" id="duration-1h" checked' in html
    assert 'data-shortcut="r"' in html and 'data-shortcut-label="Focus the reason field"' in html
    assert "Also resolve this user's 1 other open report (same reason)" in html
    assert "style=" not in html and "<style" not in html
    assert "<script>" not in html  # review.js is a file (CSP script-src 'self')
    assert "console/review.js" in html


def test_the_resolve_all_box_is_offered_only_when_the_user_has_other_open_reports(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    html = moderator_client.get(item_url(org, scene.report)).content.decode()
    assert 'name="resolve_all"' not in html  # alice's only open reports are this item's


@pytest.mark.parametrize("client_name", ["owner_client", "admin_client_", "moderator_client"])
def test_every_console_role_may_mute_and_resolve_the_users_other_reports(
    request: pytest.FixtureRequest, org: Organization, scene: Scene, client_name: str
) -> None:
    client: Client = request.getfixturevalue(client_name)
    other = _other_report_on_alice(org, scene)
    response = post(
        client,
        org,
        scene.report,
        action="mute",
        duration="1h",
        reason="spam run",
        resolve_all="1",
    )
    assert response.status_code == 302
    assert states(scene.report, scene.second, other) == ["actioned"] * 3
    assert states(scene.user_report) == ["open"]  # dave's report is not alice's
    clear = AuditEntry.objects.get(action="user.flags.clear")
    assert (clear.target_type, clear.target_id, clear.reason) == ("user", "alice", "spam run")
    assert clear.after["cleared"] == 1 and clear.after["state"] == "actioned"
    assert (
        "alice muted in general for 1 h. 2 reports marked actioned. "
        "Also 1 other open report on alice marked actioned." in flash(response)
    )


def test_dismiss_with_resolve_all_dismisses_the_users_other_reports_too(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    other = _other_report_on_alice(org, scene)
    response = post(
        moderator_client, org, scene.report, action="dismiss", reason="fine", resolve_all="on"
    )
    assert response.status_code == 302
    assert states(scene.report, scene.second, other) == ["dismissed"] * 3


def test_without_the_box_the_users_other_reports_stay_open(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    other = _other_report_on_alice(org, scene)
    post(moderator_client, org, scene.report, action="mute", duration="1h", reason="x")
    assert states(other) == ["open"]
    assert not AuditEntry.objects.filter(action="user.flags.clear").exists()


def test_the_outsider_cannot_resolve_another_organizations_reports(
    outsider_client: Client, org: Organization, scene: Scene
) -> None:
    other = _other_report_on_alice(org, scene)
    response = post(
        outsider_client, org, scene.report, action="dismiss", resolve_all="1", reason="x"
    )
    assert response.status_code == 404
    assert states(scene.report, other) == ["open", "open"]


def test_a_mute_from_the_item_is_audited_on_the_user_and_listed_in_their_history(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    post(moderator_client, org, scene.report, action="mute", duration="10m", reason="calm")
    entry = AuditEntry.objects.get(action="user.mute")
    assert (entry.target_type, entry.target_id, entry.reason) == ("user", "alice", "calm")
    assert entry.actor_label == "mod@acme.test"
    assert entry.after["channelId"] == "general" and entry.after["mutePeriod"] == 600_000
    assert entry.before == {"isMuted": False}
    # the channel's entry is still there, and still the last one of the mute
    channel_entry = AuditEntry.objects.get(action="channel.users.mute")
    assert channel_entry.pk > entry.pk
    other = report_create(
        organization=org,
        actor=Actor.system(),
        reporter=scene.bob,
        target_member=scene.alice,
        reason="again",
    )
    html = moderator_client.get(item_url(org, other)).content.decode()
    assert "<code>user.mute</code>" in html  # "Earlier moderation actions on this user"


# ------------------------------------------------------------------ filters ride along


def test_queue_links_carry_the_filters_to_the_item(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    html = moderator_client.get(queue_url(org), {"kind": "user", "cursor": "x"}).content.decode()
    assert f'{item_url(org, scene.user_report)}?kind=user"' in html


def _third_item(org: Organization, scene: Scene) -> Report:
    """A second reported message (by carol, newest)."""
    return report_create(
        organization=org,
        actor=Actor.system(),
        reporter=scene.bob,
        target_member=scene.carol,
        target_message=scene.messages[4],
        reason="off topic",
    )


def test_next_item_keeps_the_queues_filters(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    third = _third_item(org, scene)
    unfiltered = moderator_client.get(item_url(org, scene.report))
    assert unfiltered.context["next_item"].pk == scene.user_report.pk
    response = moderator_client.get(item_url(org, scene.report), {"kind": "message"})
    assert response.context["next_item"].pk == third.pk  # the user report is filtered out
    html = response.content.decode()
    assert f"{item_url(org, third)}?kind=message&amp;skip={scene.report.pk}" in html
    assert f'href="{queue_url(org)}?kind=message"' in html  # back to the same queue


def test_next_item_follows_the_newest_first_order(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    third = _third_item(org, scene)
    response = moderator_client.get(item_url(org, third), {"sort": "newest"})
    assert response.context["next_item"].pk == scene.user_report.pk
    last = moderator_client.get(item_url(org, scene.report), {"sort": "newest"})
    assert last.context["next_item"] is None


def test_an_action_goes_on_to_the_next_item_of_the_filtered_queue(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    third = _third_item(org, scene)
    response = moderator_client.post(
        item_url(org, scene.report) + "?kind=message&source=users",
        {"action": "dismiss"},
    )
    assert response["Location"] == item_url(org, third) + "?kind=message&source=users"
    last = moderator_client.post(item_url(org, third) + "?kind=message", {"action": "dismiss"})
    assert last["Location"] == queue_url(org) + "?kind=message"


# ---------------------------------------------------------------------------- claims


def _claim(report: Report) -> tuple[int | None, object]:
    row = Report.objects.get(pk=report.pk)
    return row.claimed_by_id, row.claimed_until


def test_opening_an_item_claims_it_for_the_configured_time(
    moderator_client: Client, moderator, org: Organization, scene: Scene, settings
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "CONSOLE_CLAIM_SECONDS": 120}
    before = timezone.now()
    moderator_client.get(item_url(org, scene.second))  # any report of the group
    holder, until = _claim(scene.report)  # the item's oldest open report: the queue's row
    assert holder == moderator.pk
    assert before + timedelta(seconds=120) <= until <= timezone.now() + timedelta(seconds=120)
    assert _claim(scene.second) == (None, None)


def test_others_see_the_item_taken_and_may_still_act(
    moderator_client: Client, owner_client: Client, moderator, org: Organization, scene: Scene
) -> None:
    moderator_client.get(item_url(org, scene.report))
    claimed = _claim(scene.report)
    response = owner_client.get(item_url(org, scene.report))
    html = response.content.decode()
    assert "Taken by mod@acme.test</strong> until" in html
    assert "You may still act" in html
    assert _claim(scene.report) == claimed  # the owner did not take it over
    assert response.context["holder"].email == "mod@acme.test"
    # the holder does not see themself as "taken"
    assert "Taken by" not in moderator_client.get(item_url(org, scene.report)).content.decode()
    acted = post(owner_client, org, scene.report, action="dismiss", reason="dup")
    assert acted.status_code == 302
    assert states(scene.report, scene.second) == ["dismissed", "dismissed"]
    assert _claim(scene.report) == (None, None)  # acting releases the claim


def test_acting_releases_the_claim(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    moderator_client.get(item_url(org, scene.report))
    post(moderator_client, org, scene.report, action="mute", duration="5m")
    assert _claim(scene.report) == (None, None)


def test_next_item_skips_items_someone_else_has_claimed(
    moderator_client: Client, owner_client: Client, org: Organization, scene: Scene
) -> None:
    third = _third_item(org, scene)
    owner_client.get(item_url(org, scene.user_report))  # the owner takes the 2nd item
    response = moderator_client.get(item_url(org, scene.report))
    assert response.context["next_item"].pk == third.pk
    acted = post(moderator_client, org, scene.report, action="dismiss")
    assert acted["Location"] == item_url(org, third)


def test_an_expired_claim_no_longer_holds(
    moderator_client: Client, owner, owner_client: Client, org: Organization, scene: Scene
) -> None:
    Report.objects.filter(pk=scene.user_report.pk).update(
        claimed_by=owner, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    response = moderator_client.get(item_url(org, scene.report))
    assert response.context["next_item"].pk == scene.user_report.pk
    page = moderator_client.get(item_url(org, scene.user_report))
    assert "Taken by" not in page.content.decode()
    assert _claim(scene.user_report)[0] != owner.pk  # the moderator has it now


def test_moving_on_with_next_item_releases_ones_own_claim_only(
    moderator_client: Client, owner_client: Client, moderator, org: Organization, scene: Scene
) -> None:
    moderator_client.get(item_url(org, scene.report))
    assert _claim(scene.report)[0] == moderator.pk
    moderator_client.get(item_url(org, scene.user_report), {"skip": scene.report.pk})
    assert _claim(scene.report) == (None, None)
    owner_client.get(item_url(org, scene.report))
    held = _claim(scene.report)
    moderator_client.get(item_url(org, scene.user_report), {"skip": scene.report.pk})
    assert _claim(scene.report) == held  # another's claim is not the moderator's to drop
    assert (
        moderator_client.get(item_url(org, scene.user_report), {"skip": "nope"}).status_code == 200
    )


def test_a_resolved_item_is_not_claimed(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    report_resolve(actor=Actor.system(), report=scene.user_report)
    moderator_client.get(item_url(org, scene.user_report))
    assert _claim(scene.user_report) == (None, None)


# ------------------------------------------- the user page: ban + resolve, history (issue 16)


def user_page(org: Organization, user_id: str) -> str:
    return reverse("console:user", args=[org.slug, user_id])


@pytest.mark.parametrize("client_name", ["owner_client", "admin_client_", "moderator_client"])
def test_banning_from_the_user_page_may_resolve_their_open_reports(
    request: pytest.FixtureRequest, org: Organization, scene: Scene, client_name: str
) -> None:
    client: Client = request.getfixturevalue(client_name)
    other = _other_report_on_alice(org, scene)
    page = client.get(user_page(org, "alice")).content.decode()
    assert 'name="resolve_reports"' in page
    response = client.post(
        user_page(org, "alice"),
        {"action": "ban", "reason": "spammer", "duration": "1w", "resolve_reports": "on"},
    )
    assert response.status_code == 302
    assert Member.objects.get(pk=scene.alice.pk).is_globally_banned()
    assert states(scene.report, scene.second, other) == ["actioned"] * 3
    assert states(scene.user_report) == ["open"]
    clear = AuditEntry.objects.get(action="user.flags.clear", target_id="alice")
    assert clear.reason == "spammer" and clear.after["cleared"] == 3
    banned = next(m for m in flash(response) if m.startswith("alice is banned from Acme until"))
    assert banned.endswith("3 open reports marked actioned.")


def test_banning_without_the_box_leaves_the_reports_open(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    moderator_client.post(
        user_page(org, "alice"), {"action": "ban", "reason": "x", "duration": "forever"}
    )
    assert Member.objects.get(pk=scene.alice.pk).is_globally_banned()
    assert states(scene.report, scene.second) == ["open", "open"]


def test_the_outsider_cannot_ban_and_resolve_here(
    outsider_client: Client, org: Organization, scene: Scene
) -> None:
    response = outsider_client.post(
        user_page(org, "alice"),
        {"action": "ban", "reason": "x", "duration": "forever", "resolve_reports": "on"},
    )
    assert response.status_code == 404
    assert not Member.objects.get(pk=scene.alice.pk).is_globally_banned()
    assert states(scene.report) == ["open"]


def test_the_user_pages_history_shows_their_mutes(
    moderator_client: Client, org: Organization, scene: Scene
) -> None:
    moderator_client.post(
        user_page(org, "alice"),
        {"action": "mute", "channel": "general", "duration": "5m", "reason": "slow down"},
    )
    html = moderator_client.get(user_page(org, "alice")).content.decode()
    history = html[html.index('id="history"') :]
    assert "<code>user.mute</code>" in history and "slow down" in history
    assert "<code>general</code>" in history
    assert "mod@acme.test" in history


def test_n_means_next_item_only_the_events_page_creates_with_c(
    admin_client_: Client, org: Organization, scene: Scene
) -> None:
    events = admin_client_.get(reverse("console:events", args=[org.slug])).content.decode()
    assert 'data-shortcut="n"' not in events
    assert 'data-shortcut="c" data-shortcut-label="Create a new event"' in events
    item = admin_client_.get(item_url(org, scene.report)).content.decode()
    assert item.count('data-shortcut="n"') == 1
    assert 'data-shortcut="n" data-shortcut-label="Next item' in item
    # every shortcut of the item carries its label for the "?" overlay
    assert item.count("data-shortcut=") == item.count("data-shortcut-label=")
