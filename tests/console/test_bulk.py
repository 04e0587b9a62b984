"""Bulk actions on the console's lists (``/console/<org>/bulk/``): row selection, "select
all N matching", the confirmation naming the count, actions done in the request, large
ones queued as a job with a progress page, permissions and bounded queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
from apps.moderation import bulk
from apps.moderation.models import BulkJob
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.services import report_create

from ..factories import ChannelFactory, MemberFactory, MessageFactory


@dataclass
class World:
    general: Channel
    random: Channel
    alice: Member
    bob: Member
    carol: Member
    #: alice: 3 in general; bob: 2 in general, 1 in random
    alice_messages: list[Message]
    bob_messages: list[Message]


def _member(org: Organization, user_id: str) -> Member:
    return MemberFactory(organization=org, user_id=user_id, display_name=user_id.title())


@pytest.fixture
def world(org: Organization) -> World:
    general = ChannelFactory(organization=org, channel_id="general")
    random = ChannelFactory(organization=org, channel_id="random")
    alice, bob, carol = (_member(org, n) for n in ("alice", "bob", "carol"))
    for m in (alice, bob, carol):
        for channel in (general, random):
            Membership.objects.create(
                organization=org, channel=channel, member=m, joined_at=timezone.now()
            )
    alice_messages = [
        MessageFactory(channel=general, author=alice, data={"text": f"alice {i}"}) for i in range(3)
    ]
    bob_messages = [
        MessageFactory(channel=general, author=bob, data={"text": "bob 0"}),
        MessageFactory(channel=general, author=bob, data={"text": "bob 1"}),
        MessageFactory(channel=random, author=bob, data={"text": "bob 2"}),
    ]
    return World(general, random, alice, bob, carol, alice_messages, bob_messages)


def bulk_url(org: Organization) -> str:
    return reverse("console:bulk", args=[org.slug])


def post(client: Client, org: Organization, **fields: Any) -> Any:
    return client.post(bulk_url(org), fields)


def confirm(client: Client, org: Organization, **fields: Any) -> Any:
    fields.setdefault("reason", "cleanup")
    return post(client, org, confirmed="1", **fields)


def flash(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def actions(org: Organization, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization=org, action=action).order_by("pk"))


# --- the lists ---------------------------------------------------------------------------------


def test_every_list_has_row_checkboxes_a_page_box_and_select_all_matching(
    moderator_client: Client, org: Organization, world: World
) -> None:
    report_create(
        organization=org,
        actor=Actor.system(),
        reporter=world.bob,
        target_member=world.alice,
        target_message=world.alice_messages[0],
        reason="spam",
    )
    pages = {
        "queue": reverse("console:review", args=[org.slug]),
        "messages": reverse("console:messages", args=[org.slug]),
        "users": reverse("console:users", args=[org.slug]),
        "members": reverse("console:channel", args=[org.slug, "general"]),
    }
    for name, url in pages.items():
        html = moderator_client.get(url).content.decode()
        assert 'id="bulk-form"' in html, name
        assert f'name="bulk_list" value="{name}"' in html, name
        assert 'form="bulk-form"' in html and 'name="ids"' in html, name
        assert "data-bulk-page" in html, name  # select every row on this page
        assert 'name="all"' in html, name  # select all matching the filters
        assert "console/bulk.js" in html, name
        toolbar = html.split('id="bulk-form"', 1)[1].split("</form>", 1)[0]
        assert "<script>" not in toolbar and " style=" not in toolbar, name


def test_rendering_the_checkboxes_costs_no_query_per_row(
    moderator_client: Client, org: Organization, world: World
) -> None:
    pages = [
        reverse("console:messages", args=[org.slug]),
        reverse("console:users", args=[org.slug]),
        reverse("console:channel", args=[org.slug, "general"]),
    ]

    def counts() -> list[int]:
        found = []
        for url in pages:
            moderator_client.get(url)  # warm-up (session paging state)
            with CaptureQueriesContext(connection) as captured:
                assert moderator_client.get(url).status_code == 200
            found.append(len(captured))
        return found

    before = counts()
    for i in range(20):
        extra = _member(org, f"extra-{i}")
        Membership.objects.create(
            organization=org, channel=world.general, member=extra, joined_at=timezone.now()
        )
        MessageFactory(channel=world.general, author=extra)
    assert counts() == before


def test_the_count_of_all_matching_follows_the_lists_filters(
    moderator_client: Client, org: Organization, world: World
) -> None:
    url = reverse("console:bulk_count", args=[org.slug])
    response = moderator_client.get(url, {"bulk_list": "messages", "author": "bob"})
    assert response.json() == {"count": 3, "more": False, "label": "Select all 3 matching"}
    response = moderator_client.get(url, {"bulk_list": "messages", "channel": "random"})
    assert response.json()["count"] == 1
    response = moderator_client.get(url, {"bulk_list": "users", "q": "ali"})
    assert response.json()["count"] == 1
    response = moderator_client.get(url, {"bulk_list": "members", "bulk_channel": "general"})
    assert response.json()["count"] == 3
    assert moderator_client.get(url, {"bulk_list": "nope"}).status_code == 400
    missing = moderator_client.get(url, {"bulk_list": "members", "bulk_channel": "nope"})
    assert missing.status_code == 404


def test_the_count_says_when_a_selection_is_over_the_limit(
    moderator_client: Client, org: Organization, world: World, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_MAX_TARGETS": 4}
    url = reverse("console:bulk_count", args=[org.slug])
    data = moderator_client.get(url, {"bulk_list": "messages"}).json()
    assert data["more"] is True and data["count"] == 4
    assert "more than 4" in data["label"]


# --- confirmation ------------------------------------------------------------------------------


def test_the_confirmation_names_the_count_and_changes_nothing(
    moderator_client: Client, org: Organization, world: World
) -> None:
    ids = [m.pk for m in world.alice_messages]
    response = post(moderator_client, org, bulk_list="messages", ids=ids, action="delete")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete 3 messages?" in html
    assert 'name="confirmed" value="1"' in html
    assert 'name="reason"' in html and "required" in html
    assert not Message.objects.filter(deleted_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="message.delete").exists()


def test_the_confirmation_of_all_matching_counts_every_row_not_only_the_page(
    moderator_client: Client, org: Organization, world: World
) -> None:
    for i in range(60):  # more than a page (50)
        MessageFactory(channel=world.random, author=world.carol, data={"text": f"spam {i}"})
    response = post(
        moderator_client, org, bulk_list="messages", all="1", query="author=carol", action="hide"
    )
    assert "Hide 60 messages?" in response.content.decode()
    assert response.context["until"] == Message.objects.order_by("-pk").first().pk


def test_an_action_without_a_reason_is_refused_and_changes_nothing(
    moderator_client: Client, org: Organization, world: World
) -> None:
    ids = [m.pk for m in world.alice_messages]
    response = confirm(
        moderator_client, org, bulk_list="messages", ids=ids, action="delete", reason="  "
    )
    assert response.status_code == 400
    assert "Reason" in response.content.decode()
    assert not Message.objects.filter(deleted_at__isnull=False).exists()


def test_an_action_a_list_does_not_offer_is_refused(
    moderator_client: Client, org: Organization, world: World
) -> None:
    response = confirm(
        moderator_client, org, bulk_list="users", ids=[world.alice.pk], action="delete"
    )
    assert response.status_code == 302
    assert "choose an action this list offers" in " ".join(flash(response))
    assert not AuditEntry.objects.exists()


def test_nothing_ticked_is_refused(
    moderator_client: Client, org: Organization, world: World
) -> None:
    response = confirm(moderator_client, org, bulk_list="messages", action="delete")
    assert response.status_code == 302
    assert "Tick at least one row" in " ".join(flash(response))


# --- actions done in the request ----------------------------------------------------------------


def test_bulk_delete_deletes_each_message_audited_one_by_one_with_the_reason(
    moderator_client: Client, org: Organization, world: World
) -> None:
    ids = [m.pk for m in world.alice_messages]
    response = confirm(
        moderator_client, org, bulk_list="messages", ids=ids, action="delete", reason="spam wave"
    )
    assert response.status_code == 302
    assert "Delete: 3 done." in flash(response)
    assert Message.objects.filter(pk__in=ids, deleted_at__isnull=False).count() == 3
    entries = actions(org, "message.delete")
    assert sorted(e.target_id for e in entries) == sorted(
        str(m.public_id) for m in world.alice_messages
    )
    assert {e.reason for e in entries} == {"spam wave"}
    assert {e.actor_label for e in entries} == {"mod@acme.test"}


def test_bulk_hide_of_all_matching_hides_only_the_filtered_rows_then_unhide_shows_them(
    moderator_client: Client, org: Organization, world: World
) -> None:
    response = confirm(
        moderator_client, org, bulk_list="messages", all="1", query="author=bob", action="hide"
    )
    assert response.status_code == 302
    hidden = set(Message.objects.filter(hidden_at__isnull=False).values_list("pk", flat=True))
    assert hidden == {m.pk for m in world.bob_messages}
    assert len(actions(org, "message.hide")) == 3
    confirm(
        moderator_client,
        org,
        bulk_list="messages",
        all="1",
        query="author=bob&hidden=only",
        action="unhide",
    )
    assert not Message.objects.filter(hidden_at__isnull=False).exists()
    assert len(actions(org, "message.unhide")) == 3


def test_all_matching_leaves_out_rows_that_appeared_after_the_confirmation(
    moderator_client: Client, org: Organization, world: World
) -> None:
    page = post(
        moderator_client, org, bulk_list="messages", all="1", query="author=bob", action="delete"
    )
    until = page.context["until"]
    late = MessageFactory(channel=world.general, author=world.bob)
    confirm(
        moderator_client,
        org,
        bulk_list="messages",
        all="1",
        query="author=bob",
        until=until,
        action="delete",
    )
    late.refresh_from_db()
    assert late.deleted_at is None
    assert Message.objects.filter(author=world.bob, deleted_at__isnull=False).count() == 3


def test_muting_the_authors_of_messages_mutes_each_author_once_per_channel(
    moderator_client: Client, org: Organization, world: World
) -> None:
    ids = [m.pk for m in [*world.alice_messages, *world.bob_messages]]
    response = confirm(
        moderator_client,
        org,
        bulk_list="messages",
        ids=ids,
        action="mute",
        duration="10m",
        reason="flood",
    )
    assert "Mute: 3 done (10 min)." in flash(response)  # alice@general, bob@general, bob@random
    muted = Membership.objects.filter(muted_at__isnull=False)
    assert {(m.member.user_id, m.channel.channel_id) for m in muted} == {
        ("alice", "general"),
        ("bob", "general"),
        ("bob", "random"),
    }
    entries = actions(org, "channel.users.mute")
    assert len(entries) == 3
    assert {e.after["mutePeriod"] for e in entries} == {600_000}


def test_banning_users_everywhere_from_the_user_list(
    moderator_client: Client, org: Organization, world: World
) -> None:
    response = confirm(
        moderator_client,
        org,
        bulk_list="users",
        ids=[world.alice.pk, world.bob.pk],
        action="global_ban",
        duration="1w",
        reason="raid",
    )
    assert response.status_code == 302
    banned = Member.objects.filter(banned_at__isnull=False)
    assert {m.user_id for m in banned} == {"alice", "bob"}
    assert all(m.ban_expires_at is not None for m in banned)
    assert sorted(e.target_id for e in actions(org, "user.ban")) == ["alice", "bob"]


def test_muting_users_of_the_user_list_needs_a_channel(
    moderator_client: Client, org: Organization, world: World
) -> None:
    fields = {"bulk_list": "users", "ids": [world.carol.pk], "action": "mute", "duration": "1h"}
    response = confirm(moderator_client, org, **fields)
    assert response.status_code == 400
    assert "channelId" in response.content.decode()
    assert not Membership.objects.filter(muted_at__isnull=False).exists()
    response = confirm(moderator_client, org, target_channel="random", **fields)
    assert response.status_code == 302
    row = Membership.objects.get(member=world.carol, channel=world.random)
    assert row.muted_at is not None


def test_banning_members_from_the_channel_page(
    moderator_client: Client, org: Organization, world: World
) -> None:
    response = confirm(
        moderator_client,
        org,
        bulk_list="members",
        bulk_channel="general",
        ids=[world.alice.pk, world.carol.pk],
        action="channel_ban",
        reason="trolls",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:channel", args=[org.slug, "general"])
    banned = Membership.objects.filter(channel=world.general, banned_at__isnull=False)
    assert {m.member.user_id for m in banned} == {"alice", "carol"}
    assert len(actions(org, "channel.users.ban")) == 2


def test_the_queue_dismisses_each_selected_item_and_every_report_on_it(
    moderator_client: Client, org: Organization, world: World
) -> None:
    system = Actor.system()
    on_message = [
        report_create(
            organization=org,
            actor=system,
            reporter=reporter,
            target_member=world.alice,
            target_message=world.alice_messages[0],
            reason="spam",
        )
        for reporter in (world.bob, world.carol)
    ]
    on_user = report_create(
        organization=org, actor=system, reporter=world.alice, target_member=world.bob, reason="x"
    )
    response = confirm(
        moderator_client,
        org,
        bulk_list="queue",
        ids=[on_message[0].pk, on_user.pk],
        action="dismiss",
        reason="not spam",
    )
    assert "Dismiss the reports: 2 done." in flash(response)
    assert set(Report.objects.values_list("state", flat=True)) == {"dismissed"}
    assert len(actions(org, "report.resolve")) == 3


def test_deleting_from_the_queue_deletes_the_message_and_actions_its_reports(
    moderator_client: Client, org: Organization, world: World
) -> None:
    report = report_create(
        organization=org,
        actor=Actor.system(),
        reporter=world.bob,
        target_member=world.alice,
        target_message=world.alice_messages[1],
        reason="spam",
    )
    confirm(moderator_client, org, bulk_list="queue", all="1", query="", action="delete")
    assert Message.objects.get(pk=world.alice_messages[1].pk).deleted_at is not None
    assert Report.objects.get(pk=report.pk).state == "actioned"


def test_a_target_a_service_refuses_is_reported_and_the_others_are_done(
    moderator_client: Client, org: Organization, world: World
) -> None:
    on_message = report_create(
        organization=org,
        actor=Actor.system(),
        reporter=world.bob,
        target_member=world.alice,
        target_message=world.alice_messages[0],
        reason="spam",
    )
    on_user = report_create(
        organization=org,
        actor=Actor.system(),
        reporter=world.alice,
        target_member=world.carol,
        reason="x",
    )
    response = confirm(
        moderator_client,
        org,
        bulk_list="queue",
        ids=[on_message.pk, on_user.pk],
        action="mute",
        duration="1h",
    )
    text = " ".join(flash(response))
    assert "1 done" in text and "1 failed" in text and "no channel" in text
    assert Report.objects.get(pk=on_message.pk).state == "actioned"
    assert Report.objects.get(pk=on_user.pk).state == "open"  # its unit rolled back


# --- permissions and tenancy -------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_", "moderator_client"])
@pytest.mark.parametrize(
    "action", ["delete", "hide", "unhide", "mute", "channel_ban", "global_ban"]
)
def test_every_console_role_may_do_each_bulk_action_as_it_may_do_the_single_one(
    persona: str,
    action: str,
    request: pytest.FixtureRequest,
    org: Organization,
    world: World,
) -> None:
    client = request.getfixturevalue(persona)
    response = confirm(
        client,
        org,
        bulk_list="messages",
        ids=[world.alice_messages[0].pk],
        action=action,
        duration="1h",
    )
    assert response.status_code == 302
    assert any(text.endswith("1 done.") or "1 done (" in text for text in flash(response))


def test_another_organizations_moderator_gets_404_and_nothing_is_written(
    outsider_client: Client, org: Organization, world: World
) -> None:
    ids = [m.pk for m in world.alice_messages]
    response = confirm(outsider_client, org, bulk_list="messages", ids=ids, action="delete")
    assert response.status_code == 404
    assert outsider_client.get(reverse("console:bulk_count", args=[org.slug])).status_code == 404
    assert not Message.objects.filter(deleted_at__isnull=False).exists()


def test_another_organizations_ids_in_a_selection_refuse_it_whole(
    moderator_client: Client, org: Organization, other_org: Organization, world: World
) -> None:
    theirs = MessageFactory(channel=ChannelFactory(organization=other_org))
    ids = [world.alice_messages[0].pk, theirs.pk]
    for fields in ({}, {"confirmed": "1", "reason": "x"}):
        response = post(
            moderator_client, org, bulk_list="messages", ids=ids, action="delete", **fields
        )
        assert response.status_code == 404
    response = confirm(
        moderator_client,
        org,
        bulk_list="users",
        ids=[world.alice.pk, MemberFactory(organization=other_org).pk],
        action="global_ban",
    )
    assert response.status_code == 404
    assert not Message.objects.filter(deleted_at__isnull=False).exists()
    assert not Member.objects.filter(banned_at__isnull=False).exists()
    assert not AuditEntry.objects.exists()


def test_a_channel_member_selection_takes_only_members_of_that_channel(
    moderator_client: Client, org: Organization, world: World
) -> None:
    stranger = _member(org, "stranger")  # in the organization, not in the channel
    response = confirm(
        moderator_client,
        org,
        bulk_list="members",
        bulk_channel="general",
        ids=[stranger.pk],
        action="channel_ban",
    )
    assert response.status_code == 404
    assert not Membership.objects.filter(banned_at__isnull=False).exists()


def test_a_selection_over_the_limit_is_refused_with_the_limit_named(
    moderator_client: Client, org: Organization, world: World, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_MAX_TARGETS": 4}
    fields = {"bulk_list": "messages", "all": "1", "query": "", "action": "delete"}
    page = post(moderator_client, org, **fields)
    assert "at most 4 at a time" in page.content.decode()
    assert 'name="confirmed"' not in page.content.decode()
    response = confirm(moderator_client, org, **fields)
    assert response.status_code == 400
    assert not Message.objects.filter(deleted_at__isnull=False).exists()


def test_anonymous_is_sent_to_the_login_page(client: Client, org: Organization) -> None:
    response = client.post(bulk_url(org), {"bulk_list": "messages"})
    assert response.status_code == 302
    assert "/console/login/" in response["Location"]


def test_the_bulk_action_needs_a_csrf_token(
    moderator: Any, org: Organization, world: World
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    response = client.post(
        bulk_url(org),
        {"bulk_list": "messages", "ids": [world.alice_messages[0].pk], "action": "delete"},
    )
    assert response.status_code == 403


# --- jobs -------------------------------------------------------------------------------------


def test_a_selection_over_the_sync_limit_becomes_a_job_with_a_progress_page(
    moderator_client: Client,
    org: Organization,
    world: World,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 2}
    with django_capture_on_commit_callbacks() as callbacks:
        response = confirm(
            moderator_client, org, bulk_list="messages", all="1", query="", action="hide"
        )
    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:bulk_job", args=[org.slug]) + f"?job={job.pk}"
    assert (job.total, job.position, job.state, job.unit) == (6, 0, "queued", "message")
    assert job.actor_label == "mod@acme.test" and job.reason == "cleanup"
    assert len(callbacks) >= 1  # the task is queued once the job is committed
    assert not Message.objects.filter(hidden_at__isnull=False).exists()

    page = moderator_client.get(response["Location"])
    html = page.content.decode()
    assert '<progress max="6" value="0"' in html
    assert "data-bulk-job=" in html and "console/bulk.js" in html
    status = moderator_client.get(
        reverse("console:bulk_job_status", args=[org.slug]), {"job": job.pk}
    ).json()
    assert status["total"] == 6 and status["finished"] is False


def test_a_job_page_of_another_organization_is_404(
    outsider_client: Client,
    moderator_client: Client,
    org: Organization,
    other_org: Organization,
    world: World,
    settings: Any,
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 1}
    confirm(moderator_client, org, bulk_list="messages", all="1", query="", action="hide")
    job = BulkJob.objects.get()
    other_url = reverse("console:bulk_job", args=[other_org.slug])
    assert outsider_client.get(other_url, {"job": job.pk}).status_code == 404
    own_url = reverse("console:bulk_job", args=[org.slug])
    assert outsider_client.get(own_url, {"job": job.pk}).status_code == 404
    assert moderator_client.get(own_url, {"job": "x"}).status_code == 404


# --- undo (apps/console/undo.py) ---------------------------------------------------------------


def _undo_tokens(response: Any) -> list[str]:
    return [m.extra_tags for m in get_messages(response.wsgi_request) if m.level == 27]


def test_a_bulk_delete_done_in_the_request_offers_undo_that_restores_every_message(
    moderator_client: Client, org: Organization, world: World
) -> None:
    ids = [m.pk for m in world.alice_messages]
    response = confirm(moderator_client, org, bulk_list="messages", ids=ids, action="delete")
    (token,) = _undo_tokens(response)
    undone = moderator_client.post(
        reverse("console:undo", args=[org.slug]), {"token": token, "next": ""}
    )
    assert undone.status_code == 302
    assert not Message.objects.filter(pk__in=ids, deleted_at__isnull=False).exists()
    assert len(actions(org, "message.delete.undo")) == 3


def undo(client: Client, org: Organization, token: str) -> list[str]:
    """The messages of an undo (those of the action, not yet shown, are shown first)."""
    client.get(reverse("console:bulk_job", args=[org.slug]))
    response = client.post(reverse("console:undo", args=[org.slug]), {"token": token})
    assert response.status_code == 302
    return [m for m in flash(response) if not m.startswith("You can undo")]


def _mute_bobs_messages(client: Client, org: Organization, world: World) -> Any:
    return confirm(
        client,
        org,
        bulk_list="messages",
        ids=[m.pk for m in world.bob_messages],  # bob in general and in random
        action="mute",
        duration="5m",
    )


def test_a_bulk_mute_in_one_channel_offers_undo(
    moderator_client: Client, org: Organization, world: World
) -> None:
    one = confirm(
        moderator_client,
        org,
        bulk_list="members",
        bulk_channel="general",
        ids=[world.alice.pk, world.bob.pk],
        action="mute",
        duration="5m",
    )
    (token,) = _undo_tokens(one)
    assert "You can undo the mute of alice, bob in general for 30 s." in flash(one)
    assert undo(moderator_client, org, token) == ["Undone: the mute of alice, bob in general."]
    assert not Membership.objects.filter(muted_at__isnull=False).exists()


def test_a_bulk_mute_in_several_channels_offers_one_undo_that_unmutes_in_each(
    moderator_client: Client, org: Organization, world: World
) -> None:
    several = _mute_bobs_messages(moderator_client, org, world)
    assert "Mute: 2 done (5 min)." in flash(several)
    assert "You can undo the mute of bob in general, random for 30 s." in flash(several)
    (token,) = _undo_tokens(several)
    assert Membership.objects.filter(muted_at__isnull=False).count() == 2
    assert undo(moderator_client, org, token) == ["Undone: the mute of bob in general, random."]
    assert not Membership.objects.filter(muted_at__isnull=False).exists()
    entries = actions(org, "channel.users.mute.undo")
    assert sorted(e.target_id for e in entries) == ["general", "random"]
    assert {e.actor_label for e in entries} == {"mod@acme.test"}


def test_an_undo_over_several_channels_is_all_or_nothing(
    moderator_client: Client, org: Organization, world: World
) -> None:
    (token,) = _undo_tokens(_mute_bobs_messages(moderator_client, org, world))
    Membership.objects.filter(member=world.bob, channel=world.random).update(
        muted_at=None, mute_expires_at=None
    )  # someone unmuted bob in random meanwhile
    [refusal] = undo(moderator_client, org, token)
    assert refusal.startswith("Could not undo:") and "changed since" in refusal
    assert Membership.objects.get(member=world.bob, channel=world.general).muted_at is not None
    assert not actions(org, "channel.users.mute.undo")


def test_undoing_a_bulk_mute_twice_is_refused(
    moderator_client: Client, org: Organization, world: World
) -> None:
    (token,) = _undo_tokens(_mute_bobs_messages(moderator_client, org, world))
    undo(moderator_client, org, token)
    assert undo(moderator_client, org, token) == [
        "This action was already undone. Nothing was changed."
    ]


def test_a_bulk_channel_ban_across_channels_from_the_queue_offers_undo_reopening_reports(
    moderator_client: Client, org: Organization, world: World
) -> None:
    reports = [
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=world.carol,
            target_member=world.bob,
            target_message=message,
            reason="spam",
        )
        for message in (world.bob_messages[0], world.bob_messages[2])  # general, random
    ]
    response = confirm(
        moderator_client,
        org,
        bulk_list="queue",
        ids=[r.pk for r in reports],
        action="channel_ban",
    )
    (token,) = _undo_tokens(response)
    assert Membership.objects.filter(member=world.bob, banned_at__isnull=False).count() == 2
    assert undo(moderator_client, org, token) == [
        "Undone: the ban of bob from general, random (and 2 reports resolved)."
    ]
    assert not Membership.objects.filter(banned_at__isnull=False).exists()
    assert set(Report.objects.values_list("state", flat=True)) == {"open"}
    assert len(actions(org, "channel.users.ban.undo")) == 2
    assert len(actions(org, "report.resolve.undo")) == 2


def test_a_bulk_global_ban_of_several_users_offers_undo_restoring_each_earlier_ban(
    moderator_client: Client, org: Organization, world: World
) -> None:
    earlier = timezone.now() - timezone.timedelta(days=1)
    Member.objects.filter(pk=world.carol.pk).update(
        banned_at=earlier, ban_expires_at=None, ban_reason="old ban"
    )
    ids = [world.alice.pk, world.bob.pk, world.carol.pk]
    response = confirm(
        moderator_client, org, bulk_list="users", ids=ids, action="global_ban", duration="1h"
    )
    (token,) = _undo_tokens(response)
    assert "You can undo the ban of alice, bob, carol everywhere for 30 s." in flash(response)
    undo(moderator_client, org, token)
    assert list(Member.objects.filter(banned_at__isnull=False).values_list("user_id")) == [
        ("carol",)
    ]
    carol = Member.objects.get(pk=world.carol.pk)
    assert (carol.banned_at, carol.ban_expires_at, carol.ban_reason) == (earlier, None, "old ban")
    assert sorted(e.target_id for e in actions(org, "user.ban.undo")) == ["alice", "bob", "carol"]


def test_a_bulk_unhide_offers_undo_that_hides_the_messages_again(
    moderator_client: Client, org: Organization, world: World
) -> None:
    hidden_at = timezone.now() - timezone.timedelta(hours=1)
    ids = [m.pk for m in world.alice_messages]
    Message.objects.filter(pk__in=ids).update(hidden_at=hidden_at)
    response = confirm(moderator_client, org, bulk_list="messages", ids=ids, action="unhide")
    (token,) = _undo_tokens(response)
    assert "You can undo showing 3 messages for 30 s." in flash(response)
    assert not Message.objects.filter(hidden_at__isnull=False).exists()
    assert undo(moderator_client, org, token) == ["Undone: showing 3 messages."]
    assert set(Message.objects.filter(pk__in=ids).values_list("hidden_at", flat=True)) == {
        hidden_at
    }
    entries = actions(org, "message.unhide.undo")
    assert len(entries) == 3 and all(e.after["undoes"] for e in entries)


def test_a_large_undo_keeps_its_state_server_side_and_signs_only_its_key(
    moderator_client: Client,
    moderator: Any,
    org: Organization,
    world: World,
) -> None:
    messages = [MessageFactory(channel=world.general, author=world.carol) for _ in range(40)]
    ids = [m.pk for m in messages]
    response = confirm(moderator_client, org, bulk_list="messages", ids=ids, action="delete")
    (token,) = _undo_tokens(response)
    assert len(token) < 300  # the 40 messages' states stay in the session
    other_session = Client()
    other_session.force_login(moderator)
    assert undo(other_session, org, token) == [
        "This undo is no longer available in this session. Nothing was changed."
    ]
    assert undo(moderator_client, org, token) == ["Undone: deleting 40 messages."]
    assert not Message.objects.filter(deleted_at__isnull=False).exists()
    assert len(actions(org, "message.delete.undo")) == 40


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_", "moderator_client"])
def test_every_console_role_may_undo_its_own_bulk_action_over_several_channels(
    persona: str, request: pytest.FixtureRequest, org: Organization, world: World
) -> None:
    client = request.getfixturevalue(persona)
    (token,) = _undo_tokens(_mute_bobs_messages(client, org, world))
    assert undo(client, org, token)[0].startswith("Undone:")
    assert not Membership.objects.filter(muted_at__isnull=False).exists()


def test_only_the_actor_may_undo_a_bulk_action_and_another_organizations_moderator_gets_404(
    moderator_client: Client,
    owner_client: Client,
    outsider_client: Client,
    org: Organization,
    world: World,
) -> None:
    (token,) = _undo_tokens(_mute_bobs_messages(moderator_client, org, world))
    url = reverse("console:undo", args=[org.slug])
    assert outsider_client.post(url, {"token": token}).status_code == 404
    assert undo(owner_client, org, token) == [
        "Only the moderator who did it may undo an action. Nothing was changed."
    ]
    assert Membership.objects.filter(muted_at__isnull=False).count() == 2


def test_a_bulk_dismiss_from_the_queue_offers_undo_that_reopens_the_reports(
    moderator_client: Client, org: Organization, world: World
) -> None:
    reports = [
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=reporter,
            target_member=world.alice,
            target_message=world.alice_messages[0],
            reason="spam",
        )
        for reporter in (world.bob, world.carol)
    ]
    response = confirm(
        moderator_client, org, bulk_list="queue", ids=[reports[0].pk], action="dismiss"
    )
    (token,) = _undo_tokens(response)
    moderator_client.post(reverse("console:undo", args=[org.slug]), {"token": token})
    assert set(Report.objects.values_list("state", flat=True)) == {"open"}


def test_the_jobs_page_lists_the_organizations_latest_jobs_only(
    moderator_client: Client,
    org: Organization,
    other_org: Organization,
    world: World,
    settings: Any,
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 1}
    confirm(moderator_client, org, bulk_list="messages", all="1", query="", action="hide")
    job = BulkJob.objects.get()
    BulkJob.objects.create(
        organization=other_org, actor_label="x", action="delete", unit="message", total=1
    )
    url = reverse("console:bulk_job", args=[org.slug])
    page = moderator_client.get(url)
    assert [j.pk for j, _ in page.context["jobs"]] == [job.pk]
    assert f"?job={job.pk}" in page.content.decode()
    status = moderator_client.get(reverse("console:bulk_job_status", args=[org.slug])).json()
    assert [j["job"] for j in status["jobs"]] == [job.pk]
    count = moderator_client.get(reverse("console:bulk_count", args=[org.slug])).json()
    assert count == {"lists": ["queue", "messages", "users", "members"]}


# --- undo of a job ------------------------------------------------------------------------------


def _hide_all_as_a_job(client: Client, org: Organization, settings: Any) -> BulkJob:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 2}
    confirm(client, org, bulk_list="messages", all="1", query="", action="hide")
    job = BulkJob.objects.get()
    bulk.bulk_job_run(job_pk=job.pk, chunk_size=4)  # the worker's part
    job.refresh_from_db()
    return job


def _job_undo(client: Client, org: Organization, job: BulkJob) -> Any:
    return client.post(reverse("console:bulk_job_undo", args=[org.slug]), {"job": job.pk})


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_", "moderator_client"])
def test_a_finished_job_offers_undo_on_its_page_that_runs_as_a_job_of_its_own(
    persona: str, request: pytest.FixtureRequest, org: Organization, world: World, settings: Any
) -> None:
    client = request.getfixturevalue(persona)
    job = _hide_all_as_a_job(client, org, settings)
    url = reverse("console:bulk_job", args=[org.slug])
    html = client.get(url, {"job": job.pk}).content.decode()
    form = html[html.index('class="bulk-undo"') :]
    form = form[: form.index("</form>")]
    assert "data-bulk-undo" in form and " hidden" not in form.split(">")[0]
    assert "csrfmiddlewaretoken" in form and f'name="job" value="{job.pk}"' in form
    status = client.get(reverse("console:bulk_job_status", args=[org.slug]), {"job": job.pk})
    assert status.json()["undoable"] is True

    response = _job_undo(client, org, job)
    undo = BulkJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"{url}?job={undo.pk}"
    assert (undo.action, undo.total, undo.state) == ("undo", 6, "queued")
    assert Message.objects.filter(hidden_at__isnull=False).count() == 6  # not yet: the task
    bulk.bulk_job_run(job_pk=undo.pk, chunk_size=4)
    assert not Message.objects.filter(hidden_at__isnull=False).exists()
    assert len(actions(org, "message.hide.undo")) == 6
    page = client.get(url, {"job": undo.pk}).content.decode()
    assert f'This undoes <a href="?job={job.pk}">bulk action {job.pk}</a>' in page
    assert "bulk-undo" not in page  # an undo is not undone in turn
    again = client.get(url, {"job": job.pk}).content.decode()
    assert f'Undone by <a href="?job={undo.pk}">' in again and "bulk-undo" not in again


def test_an_unfinished_job_renders_its_undo_form_hidden_until_it_finishes(
    moderator_client: Client, org: Organization, world: World, settings: Any
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 2}
    confirm(moderator_client, org, bulk_list="messages", all="1", query="", action="hide")
    job = BulkJob.objects.get()
    html = moderator_client.get(
        reverse("console:bulk_job", args=[org.slug]), {"job": job.pk}
    ).content.decode()
    assert "data-bulk-undo hidden" in html
    response = _job_undo(moderator_client, org, job)
    assert "Nothing was changed. This bulk action has nothing to undo (yet)." in flash(response)
    assert BulkJob.objects.count() == 1


def test_a_job_undo_is_refused_twice_after_the_time_and_to_another_account(
    moderator_client: Client, owner_client: Client, org: Organization, world: World, settings: Any
) -> None:
    job = _hide_all_as_a_job(moderator_client, org, settings)
    page = owner_client.get(reverse("console:bulk_job", args=[org.slug]), {"job": job.pk})
    assert "bulk-undo" not in page.content.decode()  # not the owner's job
    refused = _job_undo(owner_client, org, job)
    assert "Only the moderator who did it may undo a bulk action." in flash(refused)[-1]
    BulkJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(seconds=31))
    late = _job_undo(moderator_client, org, job)
    assert "Too late to undo" in flash(late)[-1]
    BulkJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())
    _job_undo(moderator_client, org, job)
    twice = _job_undo(moderator_client, org, job)
    assert "already undone" in flash(twice)[-1]
    assert BulkJob.objects.count() == 2


def test_another_organizations_moderator_gets_404_for_a_job_undo(
    moderator_client: Client,
    outsider_client: Client,
    org: Organization,
    other_org: Organization,
    world: World,
    settings: Any,
) -> None:
    job = _hide_all_as_a_job(moderator_client, org, settings)
    assert _job_undo(outsider_client, org, job).status_code == 404
    assert _job_undo(outsider_client, other_org, job).status_code == 404
    assert _job_undo(moderator_client, org, BulkJob(pk=job.pk + 1)).status_code == 404
    assert BulkJob.objects.count() == 1


def test_undoing_a_queue_job_reopens_its_reports_and_unbans(
    moderator_client: Client, org: Organization, world: World, settings: Any
) -> None:
    reports = [
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=world.carol,
            target_member=message.author,
            target_message=message,
            reason="spam",
        )
        for message in (world.alice_messages[0], world.bob_messages[0], world.bob_messages[2])
    ]
    settings.CHATADMIN = {**settings.CHATADMIN, "BULK_SYNC_LIMIT": 1}
    confirm(
        moderator_client,
        org,
        bulk_list="queue",
        ids=[r.pk for r in reports],
        action="global_ban",
        duration="1d",
    )
    job = BulkJob.objects.get()
    bulk.bulk_job_run(job_pk=job.pk)
    assert Member.objects.filter(banned_at__isnull=False).count() == 2
    _job_undo(moderator_client, org, job)
    undo = BulkJob.objects.exclude(pk=job.pk).get()
    done = bulk.bulk_job_run(job_pk=undo.pk)
    assert done is not None and done.failed == 0, done.failures
    assert not Member.objects.filter(banned_at__isnull=False).exists()
    assert set(Report.objects.values_list("state", flat=True)) == {"open"}
    assert len(actions(org, "report.resolve.undo")) == 3
