"""The console's channel list, channel page and channel actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services import channels as services
from apps.channels.services.channels import MAX_USER_IDS
from apps.channels.services.conversations import channel_archive, conversation_state_set
from apps.console import durations
from apps.console.channels.views import REPLIES_PER_THREAD
from apps.events.models import Event, EventType
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from apps.retention import services as retention

from ..factories import ChannelFactory, MessageFactory
from ..personas import make_member


def make_channel(
    org: Organization, channel_id: str = "lobby", user_ids: tuple[str, ...] = ("ann", "bob"), **kw
) -> Channel:
    return services.channel_create(
        organization=org, actor=Actor.system(), channel_id=channel_id, user_ids=user_ids, **kw
    )


def url(name: str, org: Organization, channel: Channel | str | None = None) -> str:
    if channel is None:
        return reverse(f"console:{name}", args=[org.slug])
    channel_id = channel if isinstance(channel, str) else channel.channel_id
    return reverse(f"console:{name}", args=[org.slug, channel_id])


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def audit(action: str, target_id: str) -> AuditEntry | None:
    return AuditEntry.objects.filter(action=action, target_id=target_id).order_by("-pk").first()


@pytest.fixture
def channel(org: Organization) -> Channel:
    return make_channel(org, tags=["support"])


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_the_organizations_channels_to_a_moderator(
    moderator_client: Client, org: Organization, other_org: Organization, channel: Channel
) -> None:
    make_channel(other_org, "globex-secret")
    response = moderator_client.get(url("channels", org))
    assert response.status_code == 200
    assert b"lobby" in response.content and b"support" in response.content
    assert b"globex-secret" not in response.content
    assert b"Acme" in response.content  # the page says which organization it shows


def test_the_list_searches_by_channel_id_and_display_name(
    moderator_client: Client, org: Organization
) -> None:
    make_channel(org, "lobby", display_name="Front desk")
    make_channel(org, "random")
    by_name = moderator_client.get(url("channels", org), {"q": "front"})
    assert b"lobby" in by_name.content and b"random" not in by_name.content
    by_id = moderator_client.get(url("channels", org), {"q": "RAND"})
    assert b"random" in by_id.content and b"lobby" not in by_id.content


def test_the_list_filters_by_muted_state_and_tag(
    moderator_client: Client, org: Organization
) -> None:
    muted = make_channel(org, "quiet-room", tags=["vip"])
    make_channel(org, "loud-room")
    services.channel_mute(channel=muted, actor=Actor.system(), mute_period=-1)
    only_muted = moderator_client.get(url("channels", org), {"muted": "yes"})
    assert b"quiet-room" in only_muted.content and b"loud-room" not in only_muted.content
    not_muted = moderator_client.get(url("channels", org), {"muted": "no"})
    assert b"loud-room" in not_muted.content and b"quiet-room" not in not_muted.content
    tagged = moderator_client.get(url("channels", org), {"tag": "vip"})
    assert b"quiet-room" in tagged.content and b"loud-room" not in tagged.content


def test_the_list_hides_closed_channels_unless_asked(
    moderator_client: Client, org: Organization
) -> None:
    gone = make_channel(org, "old-room")
    make_channel(org, "new-room")
    retention.channel_close(channel=gone, actor=Actor.system())
    default = moderator_client.get(url("channels", org))
    assert b"old-room" not in default.content and b"new-room" in default.content
    closed = moderator_client.get(url("channels", org), {"state": "closed"})
    assert b"old-room" in closed.content and b"new-room" not in closed.content


@pytest.mark.parametrize("sort", ["newest", "name", "activity", "members", "nonsense"])
def test_the_list_sorts_and_pages_without_repeating_rows(
    moderator_client: Client, org: Organization, sort: str
) -> None:
    now = timezone.now()
    for i in range(55):  # more than one page of 50
        ChannelFactory(
            organization=org,
            channel_id=f"room-{i:02}",
            display_name=f"Room {i:02}",
            member_count=i % 7,
            last_activity_at=None if i % 5 == 0 else now - timedelta(minutes=i),
        )
    seen: list[str] = []
    response = moderator_client.get(url("channels", org), {"sort": sort})
    for _ in range(5):
        page = response.context["page"]
        seen += [c.channel_id for c in page.items]
        if not page.next_cursor:
            break
        response = moderator_client.get(
            url("channels", org), {"sort": sort, "cursor": page.next_cursor}
        )
    assert sorted(seen) == [f"room-{i:02}" for i in range(55)]
    if sort == "name":
        assert seen == [f"room-{i:02}" for i in range(55)]
    back = moderator_client.get(url("channels", org), {"sort": sort, "cursor": page.prev_cursor})
    assert [c.channel_id for c in back.context["page"].items] == seen[:50]


def test_the_list_runs_as_many_queries_for_30_channels_as_for_1(
    moderator_client: Client, org: Organization
) -> None:
    make_channel(org, "first", tags=["a", "b"])
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("channels", org))
    for i in range(29):
        make_channel(org, f"more-{i}", tags=["a", "b"], user_ids=(f"user-{i}",))
    with CaptureQueriesContext(connection) as thirty:
        response = moderator_client.get(url("channels", org))
    assert len(response.context["page"].items) == 30
    # session + account, the organizations (the switcher's list, which holds this one),
    # staff role, the page, the tags (one prefetch): the same whatever the number of rows.
    assert len(thirty) == len(one)


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, org: Organization, channel: Channel
) -> None:
    for target in (
        url("channels", org),
        url("channel", org, channel),
        url("channel_close", org, channel),
    ):
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:login"))
    response = client.post(url("channel_mute", org, channel), {"duration": "1h"})
    assert response.status_code == 302 and reverse("console:login") in response["Location"]
    channel.refresh_from_db()
    assert channel.muted_at is None


# --- the channel page -----------------------------------------------------------------------


def test_the_channel_page_shows_members_state_and_recent_messages(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    services.channel_mute(channel=channel, actor=Actor.system(), mute_period=3600 * 1000)
    ann = Membership.objects.get(channel=channel, member__user_id="ann").member
    MessageFactory(channel=channel, author=ann, data={"text": "hello there"})
    response = moderator_client.get(url("channel", org, channel))
    assert response.status_code == 200
    content = response.content.decode()
    assert "ann" in content and "bob" in content
    assert "Muted until" in content
    assert "hello there" in content


def test_the_channel_page_searches_recent_messages(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    ann = Membership.objects.get(channel=channel, member__user_id="ann").member
    MessageFactory(channel=channel, author=ann, data={"text": "apples and pears"})
    MessageFactory(channel=channel, author=ann, data={"text": "bananas"})
    response = moderator_client.get(url("channel", org, channel), {"mq": "PEAR"})
    assert b"apples and pears" in response.content and b"bananas" not in response.content


def test_a_channel_id_with_characters_that_need_encoding_works(
    moderator_client: Client, org: Organization
) -> None:
    odd = make_channel(org, "café #1 ?x=%20&y")
    response = moderator_client.get(url("channel", org, odd))
    assert response.status_code == 200
    assert response.context["channel"].pk == odd.pk
    muted = moderator_client.post(url("channel_mute", org, odd), {"duration": "24h"}, follow=True)
    assert muted.status_code == 200
    odd.refresh_from_db()
    assert odd.is_muted()
    listed = moderator_client.get(url("channels", org))
    assert escape(url("channel", org, odd)).encode() in listed.content


def test_an_unknown_channel_is_404(moderator_client: Client, org: Organization) -> None:
    assert moderator_client.get(url("channel", org, "nope")).status_code == 404
    assert (
        moderator_client.post(url("channel_mute", org, "nope"), {"duration": "1h"}).status_code
        == 404
    )


@pytest.mark.parametrize("sort", ["joined", "user"])
def test_the_channel_page_pages_through_members(
    moderator_client: Client, org: Organization, sort: str
) -> None:
    crowd = make_channel(org, "crowd", user_ids=tuple(f"m{i:02}" for i in range(55)))
    first = moderator_client.get(url("channel", org, crowd), {"sort": sort})
    page = first.context["page"]
    assert len(page.items) == 50 and page.next_cursor
    second = moderator_client.get(
        url("channel", org, crowd), {"sort": sort, "cursor": page.next_cursor}
    )
    seen = [m.member.user_id for m in page.items + second.context["page"].items]
    assert sorted(seen) == [f"m{i:02}" for i in range(55)]
    if sort == "user":
        assert seen == [f"m{i:02}" for i in range(55)]


def test_the_channel_page_runs_as_many_queries_for_30_members_as_for_1(
    moderator_client: Client, org: Organization
) -> None:
    small = make_channel(org, "small", user_ids=("solo",))
    big = make_channel(org, "big", user_ids=tuple(f"m{i}" for i in range(30)))
    for ch in (small, big):
        member = Membership.objects.filter(channel=ch).first().member
        MessageFactory(channel=ch, author=member)
        services.channel_users_ban(channel=ch, actor=Actor.system(), user_ids=["banned-one"])
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("channel", org, small))
    with CaptureQueriesContext(connection) as thirty:
        response = moderator_client.get(url("channel", org, big))
    assert len(response.context["page"].items) == 30
    # Constant: the channel, a page of members (joined with the user), the bans, the
    # mutes, the recent messages and their tags (one prefetch), plus the base page's.
    assert len(thirty) == len(one)


# --- actions --------------------------------------------------------------------------------


def test_a_moderator_mutes_a_channel_for_one_hour(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_mute", org, channel), {"duration": "1h", "reason": "raid"}, follow=True
    )
    assert response.status_code == 200
    assert any("muted until" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.is_muted()
    expected = timezone.now() + timedelta(hours=1)
    assert abs((channel.mute_expires_at - expected).total_seconds()) < 60
    entry = audit("channel.mute", "lobby")
    assert entry is not None
    assert entry.actor_account == moderator and entry.reason == "raid"


@pytest.mark.parametrize(
    ("data", "minutes"),
    [({"duration": "24h"}, 24 * 60), ({"duration": "custom", "minutes": "90"}, 90)],
)
def test_mute_durations(
    moderator_client: Client, org: Organization, channel: Channel, data: dict, minutes: int
) -> None:
    moderator_client.post(url("channel_mute", org, channel), data)
    channel.refresh_from_db()
    expected = timezone.now() + timedelta(minutes=minutes)
    assert abs((channel.mute_expires_at - expected).total_seconds()) < 60


def test_a_channel_muted_until_unmuted_has_no_end_time(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    moderator_client.post(url("channel_mute", org, channel), {"duration": "forever"})
    channel.refresh_from_db()
    assert channel.is_muted() and channel.mute_expires_at is None


@pytest.mark.parametrize(
    "data",
    [
        {"duration": "custom"},
        {"duration": "custom", "minutes": "0"},
        {"duration": "custom", "minutes": "abc"},
        {"duration": "custom", "minutes": str(10**12)},
        {"duration": "week"},
        {"duration": "1h", "reason": "x" * 1001},
    ],
)
def test_a_bad_mute_is_refused_with_a_message_and_changes_nothing(
    moderator_client: Client, org: Organization, channel: Channel, data: dict
) -> None:
    response = moderator_client.post(url("channel_mute", org, channel), data, follow=True)
    assert response.status_code == 200
    assert any("Nothing was changed" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.muted_at is None
    assert not AuditEntry.objects.filter(action="channel.mute").exists()


def test_a_moderator_unmutes_a_channel(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    services.channel_mute(channel=channel, actor=Actor.system(), mute_period=-1)
    response = moderator_client.post(url("channel_unmute", org, channel), {}, follow=True)
    assert any("unmuted" in m for m in flashes(response))
    channel.refresh_from_db()
    assert not channel.is_muted()
    assert audit("channel.unmute", "lobby") is not None


def test_actions_are_posts_only(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    assert moderator_client.get(url("channel_mute", org, channel)).status_code == 405


def test_a_moderator_adds_members_one_per_line_or_comma_separated(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_members_add", org, channel),
        {"user_ids": "carl, dora\r\neve\n\ncarl"},
        follow=True,
    )
    assert any("Added" in m for m in flashes(response))
    current = set(
        Membership.objects.filter(channel=channel, joined_at__isnull=False).values_list(
            "member__user_id", flat=True
        )
    )
    assert current == {"ann", "bob", "carl", "dora", "eve"}
    channel.refresh_from_db()
    assert channel.member_count == 5
    entry = audit("channel.users.add", "lobby")
    assert entry.actor_account == moderator
    assert sorted(entry.after["userIds"]) == ["carl", "dora", "eve"]


@pytest.mark.parametrize(
    "user_ids",
    ["", " , \n ", ",".join(f"u{i}" for i in range(MAX_USER_IDS + 1)), "x" * 129, "bad\x01id"],
)
def test_bad_user_ids_are_refused_and_change_nothing(
    moderator_client: Client, org: Organization, channel: Channel, user_ids: str
) -> None:
    response = moderator_client.post(
        url("channel_members_add", org, channel), {"user_ids": user_ids}, follow=True
    )
    assert any("Nothing was changed" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.member_count == 2
    assert not AuditEntry.objects.filter(action="channel.users.add").exists()


def test_a_moderator_removes_a_member(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_members_remove", org, channel), {"user_ids": "ann"}, follow=True
    )
    assert any("Removed" in m for m in flashes(response))
    assert not Membership.objects.get(channel=channel, member__user_id="ann").is_member
    assert audit("channel.users.remove", "lobby").after["userIds"] == ["ann"]


def test_a_moderator_bans_members_with_a_reason_and_a_duration(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_ban", org, channel),
        {"user_ids": "bob", "reason": "spam", "duration": "24h"},
        follow=True,
    )
    assert any("Banned" in m for m in flashes(response))
    row = Membership.objects.get(channel=channel, member__user_id="bob")
    assert row.is_banned() and not row.is_member and row.ban_reason == "spam"
    expected = timezone.now() + timedelta(hours=24)
    assert abs((row.ban_expires_at - expected).total_seconds()) < 60
    entry = audit("channel.users.ban", "lobby")
    assert entry.actor_account == moderator and entry.reason == "spam"
    page = moderator_client.get(url("channel", org, channel))
    assert "spam" in page.content.decode()


def test_a_ban_without_a_reason_is_refused(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_ban", org, channel), {"user_ids": "bob", "duration": "forever"}, follow=True
    )
    assert any("Reason" in m for m in flashes(response))
    assert not Membership.objects.get(channel=channel, member__user_id="bob").is_banned()


def test_a_moderator_unbans_a_member(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    services.channel_users_ban(channel=channel, actor=Actor.system(), user_ids=["bob"])
    response = moderator_client.post(
        url("channel_unban", org, channel), {"user_ids": "bob"}, follow=True
    )
    assert any("Unbanned" in m for m in flashes(response))
    assert not Membership.objects.get(channel=channel, member__user_id="bob").is_banned()
    assert audit("channel.users.unban", "lobby") is not None


def test_adding_a_banned_user_shows_the_services_error(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    services.channel_users_ban(channel=channel, actor=Actor.system(), user_ids=["bob"])
    response = moderator_client.post(
        url("channel_members_add", org, channel), {"user_ids": "bob"}, follow=True
    )
    assert any("Banned from" in m for m in flashes(response))
    assert not Membership.objects.get(channel=channel, member__user_id="bob").is_member


def test_a_moderator_schedules_and_clears_the_deletion(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    when = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = moderator_client.post(
        url("channel_deletion_set", org, channel),
        {"at": when.strftime("%Y-%m-%dT%H:%M")},
        follow=True,
    )
    assert any("will be deleted" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.scheduled_deletion_at == when
    assert audit("channel.scheduledDeletion", "lobby") is not None
    response = moderator_client.post(url("channel_deletion_clear", org, channel), follow=True)
    assert any("cleared" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.scheduled_deletion_at is None
    assert audit("channel.scheduledDeletion.clear", "lobby") is not None


@pytest.mark.parametrize("at", ["", "tomorrow", "2020-13-40T10:00", "9999-01-01T00:00"])
def test_a_bad_deletion_time_is_refused(
    moderator_client: Client, org: Organization, channel: Channel, at: str
) -> None:
    response = moderator_client.post(
        url("channel_deletion_set", org, channel), {"at": at}, follow=True
    )
    assert any("Nothing was changed" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.scheduled_deletion_at is None


# --- closing (typed confirmation) ------------------------------------------------------------


def test_the_close_page_asks_to_type_the_channel_id(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    response = moderator_client.get(url("channel_close", org, channel))
    assert response.status_code == 200
    assert b"Type the channel" in response.content and b"cannot be undone" in response.content


@pytest.mark.parametrize("typed", ["", "Lobby", "lobby ", "other", "x" * 200])
def test_closing_with_a_wrong_id_is_refused_and_changes_nothing(
    moderator_client: Client, org: Organization, channel: Channel, typed: str
) -> None:
    response = moderator_client.post(
        url("channel_close", org, channel), {"confirm_channel_id": typed, "reason": "x"}
    )
    assert response.status_code == 400
    assert b"was not closed" in response.content or b"required" in response.content
    channel.refresh_from_db()
    assert not channel.is_closed and channel.member_count == 2
    assert not AuditEntry.objects.filter(action="channel.close").exists()


def test_closing_with_the_right_id_closes_the_channel(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_close", org, channel),
        {"confirm_channel_id": "lobby", "reason": "abandoned"},
        follow=True,
    )
    assert response.status_code == 200
    assert any("closed" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.is_closed and channel.member_count == 0
    entry = audit("channel.close", "lobby")
    assert entry.actor_account == moderator and entry.reason == "abandoned"
    assert b"Closed on" in response.content


def test_actions_on_a_closed_channel_show_the_error(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    retention.channel_close(channel=channel, actor=Actor.system())
    response = moderator_client.post(
        url("channel_mute", org, channel), {"duration": "1h"}, follow=True
    )
    assert any("closed" in m for m in flashes(response))
    again = moderator_client.post(
        url("channel_close", org, channel), {"confirm_channel_id": "lobby"}, follow=True
    )
    assert any("already closed" in m for m in flashes(again))


# --- other organizations -------------------------------------------------------------------


def test_an_outsider_gets_404_on_every_channel_page_and_action(
    outsider_client: Client, org: Organization, other_org: Organization, channel: Channel
) -> None:
    for target in (
        url("channels", org),
        url("channel", org, channel),
        url("channel_close", org, channel),
    ):
        assert outsider_client.get(target).status_code == 404
    posts = {
        "channel_mute": {"duration": "forever"},
        "channel_unmute": {},
        "channel_members_add": {"user_ids": "intruder"},
        "channel_members_remove": {"user_ids": "ann"},
        "channel_ban": {"user_ids": "ann", "reason": "x", "duration": "forever"},
        "channel_unban": {"user_ids": "ann"},
        "channel_deletion_set": {"at": "2030-01-01T00:00"},
        "channel_deletion_clear": {},
        "channel_close": {"confirm_channel_id": "lobby"},
    }
    for name, data in posts.items():
        # through this organization's URL, and through the outsider's own organization
        assert outsider_client.post(url(name, org, channel), data).status_code == 404
        assert outsider_client.post(url(name, other_org, channel), data).status_code == 404
    channel.refresh_from_db()
    assert channel.muted_at is None and not channel.is_closed
    assert channel.scheduled_deletion_at is None and channel.member_count == 2
    assert not Membership.objects.filter(channel=channel, banned_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(actor_account__email="mod@globex.test").exists()


# --- archived and deleted states (issue 16) -------------------------------------------------


def _delete(org: Organization, channel: Channel, *, grace_seconds: int = 3600) -> Channel:
    """Delete the channel as the messaging API does (an org admin member), with the
    organization's grace period set to ``grace_seconds``."""
    org.chatroom_deletion_grace_seconds = grace_seconds
    org.save(update_fields=["chatroom_deletion_grace_seconds"])
    admin = make_member(org, Member.OrgRole.ADMIN, user_id=f"admin-of-{channel.channel_id}")
    return conversation_state_set(channel=channel, member=admin, state="delete")


def _grace_over(channel: Channel) -> None:
    """The deletion's grace period has ended (the purge has not run yet)."""
    Channel.objects.filter(pk=channel.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(minutes=1)
    )


def test_the_list_shows_and_filters_archived_and_deleted_channels(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    archived = make_channel(org, "old-news")
    channel_archive(channel=archived, actor=Actor.system())
    deleted = _delete(org, make_channel(org, "gone"))
    default = moderator_client.get(url("channels", org))
    shown = {c.channel_id for c, _, _ in default.context["rows"]}
    assert shown == {"lobby", "old-news"}  # open channels, archived ones included
    assert b"archived" in default.content
    by_state = {
        state: {
            c.channel_id
            for c, _, _ in moderator_client.get(url("channels", org), {"state": state}).context[
                "rows"
            ]
        }
        for state in ("archived", "deleted", "all")
    }
    assert by_state["archived"] == {"old-news"}
    assert by_state["deleted"] == {"gone"}
    assert by_state["all"] == {"lobby", "old-news", "gone"}
    listed = moderator_client.get(url("channels", org), {"state": "deleted"}).content.decode()
    assert "Deleted" in listed and "restorable until" in listed
    assert deleted.scheduled_deletion_at.strftime("%Y-%m-%d %H:%M") in listed


def test_a_deleted_channel_past_its_grace_is_listed_as_being_purged(
    moderator_client: Client, org: Organization
) -> None:
    gone = _delete(org, make_channel(org, "gone"))
    _grace_over(gone)
    listed = moderator_client.get(url("channels", org), {"state": "deleted"})
    assert b"being purged" in listed.content


def test_the_page_of_a_deleted_channel_offers_to_restore_it_until_the_grace_ends(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    _delete(org, channel)
    response = moderator_client.get(url("channel", org, channel))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Deleted on" in content and "It can be restored until" in content
    assert url("channel_undelete", org, channel) in content
    # no action on a deleted channel but restoring it
    assert url("channel_mute", org, channel) not in content
    assert url("channel_members_mute", org, channel) not in content


def test_undeleting_within_the_grace_restores_the_channel_and_is_audited(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    _delete(org, channel)
    response = moderator_client.post(url("channel_undelete", org, channel), follow=True)
    assert any("restored" in m for m in flashes(response))
    channel.refresh_from_db()
    assert channel.deleted_at is None and channel.scheduled_deletion_at is None
    assert channel.member_count == 2  # the memberships were kept
    entry = audit("channel.undelete", "lobby")
    assert entry is not None and entry.actor_account == moderator
    assert entry.after == {"deletedAt": None} and entry.before["deletedAt"]
    assert Event.objects.filter(type=EventType.CHANNEL_UNDELETED).exists()


def test_undeleting_after_the_grace_is_refused_with_a_clear_message(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    _delete(org, channel)
    _grace_over(channel)
    page = moderator_client.get(url("channel", org, channel)).content.decode()
    assert "can no longer be restored" in page
    assert url("channel_undelete", org, channel) not in page
    response = moderator_client.post(url("channel_undelete", org, channel), follow=True)
    [message] = flashes(response)
    assert message.startswith("Nothing was changed.")
    assert "can no longer be restored: its grace period ended at" in message
    channel.refresh_from_db()
    assert channel.deleted_at is not None
    assert audit("channel.undelete", "lobby") is None


def test_undeleting_a_channel_that_is_not_deleted_changes_nothing(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(url("channel_undelete", org, channel), follow=True)
    assert any("is not deleted" in m for m in flashes(response))
    assert audit("channel.undelete", "lobby") is None


def test_a_moderator_archives_and_unarchives_a_channel(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    page = moderator_client.get(url("channel", org, channel)).content.decode()
    assert url("channel_archive", org, channel) in page
    archived = moderator_client.post(url("channel_archive", org, channel), follow=True)
    assert any("archived" in m for m in flashes(archived))
    channel.refresh_from_db()
    assert channel.archived_at is not None
    assert audit("channel.archive", "lobby").actor_account == moderator
    assert b"Archived on" in archived.content
    assert url("channel_unarchive", org, channel).encode() in archived.content
    again = moderator_client.post(url("channel_archive", org, channel), follow=True)
    assert any("already archived" in m for m in flashes(again))
    unarchived = moderator_client.post(url("channel_unarchive", org, channel), follow=True)
    assert any("unarchived" in m for m in flashes(unarchived))
    channel.refresh_from_db()
    assert channel.archived_at is None
    entry = audit("channel.unarchive", "lobby")
    assert entry.actor_account == moderator and entry.after == {"archivedAt": None}


# --- per-member mute and ban from the member rows ---------------------------------------------


def test_each_member_row_offers_mute_and_ban_with_the_console_durations(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    response = moderator_client.get(url("channel", org, channel))
    content = response.content.decode()
    assert content.count('aria-label="Mute ann in lobby"') == 1
    assert content.count('aria-label="Ban bob from lobby"') == 1
    for key, label in durations.duration_choices():
        assert f'<option value="{key}"' in content and f">{label}</option>" in content


@pytest.mark.parametrize(
    ("duration", "minutes", "expected"),
    [("60s", "", timedelta(seconds=60)), ("1w", "", timedelta(days=7)), ("custom", "90", None)],
)
def test_a_moderator_mutes_one_member_from_its_row(
    moderator_client: Client,
    moderator: Account,
    org: Organization,
    channel: Channel,
    duration: str,
    minutes: str,
    expected: timedelta | None,
) -> None:
    before = timezone.now()
    response = moderator_client.post(
        url("channel_members_mute", org, channel),
        {"user_ids": "ann", "duration": duration, "minutes": minutes, "reason": "spam"},
        follow=True,
    )
    assert any("Muted in lobby" in m and "ann" in m for m in flashes(response))
    ann = Membership.objects.get(channel=channel, member__user_id="ann")
    bob = Membership.objects.get(channel=channel, member__user_id="bob")
    assert ann.is_muted() and not bob.is_muted()
    length = expected or timedelta(minutes=90)
    assert before + length <= ann.mute_expires_at <= timezone.now() + length
    entry = audit("channel.users.mute", "lobby")
    assert entry.actor_account == moderator and entry.reason == "spam"
    assert entry.after["userIds"] == ["ann"]


def test_a_moderator_unmutes_a_member_from_the_muted_list(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    services.channel_users_mute(
        channel=channel, actor=Actor.system(), user_ids=["ann"], mute_period=-1
    )
    page = moderator_client.get(url("channel", org, channel)).content.decode()
    assert "Unmute ann" in page
    response = moderator_client.post(
        url("channel_members_unmute", org, channel), {"user_ids": "ann"}, follow=True
    )
    assert any("Unmuted in lobby: ann" in m for m in flashes(response))
    assert not Membership.objects.get(channel=channel, member__user_id="ann").is_muted()
    assert audit("channel.users.unmute", "lobby") is not None


def test_a_bad_member_mute_is_refused_and_changes_nothing(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    response = moderator_client.post(
        url("channel_members_mute", org, channel),
        {"user_ids": "ann", "duration": "custom"},
        follow=True,
    )
    assert any(m.startswith("Nothing was changed.") for m in flashes(response))
    assert not Membership.objects.get(channel=channel, member__user_id="ann").is_muted()


def test_a_moderator_bans_one_member_from_its_row_with_a_reason(
    moderator_client: Client, moderator: Account, org: Organization, channel: Channel
) -> None:
    refused = moderator_client.post(
        url("channel_ban", org, channel), {"user_ids": "bob", "duration": "1d"}, follow=True
    )
    assert any(m.startswith("Nothing was changed.") for m in flashes(refused))
    response = moderator_client.post(
        url("channel_ban", org, channel),
        {"user_ids": "bob", "duration": "1d", "reason": "flooding"},
        follow=True,
    )
    assert any("Banned from lobby: bob" in m for m in flashes(response))
    bob = Membership.objects.get(channel=channel, member__user_id="bob")
    assert bob.is_banned() and bob.joined_at is None and bob.ban_reason == "flooding"
    assert timedelta(hours=23) < bob.ban_expires_at - timezone.now() <= timedelta(days=1)
    entry = audit("channel.users.ban", "lobby")
    assert entry.actor_account == moderator and entry.reason == "flooding"


# --- reply threads ----------------------------------------------------------------------------


def _thread(channel: Channel, author_id: str, text: str, replies: int) -> Message:
    author = Membership.objects.get(channel=channel, member__user_id=author_id).member
    parent = message_create(
        organization=channel.organization,
        actor=Actor.system(),
        channel=channel,
        type="text",
        data={"text": text},
        author=author,
    )
    for i in range(replies):
        message_create(
            organization=channel.organization,
            actor=Actor.system(),
            channel=channel,
            type="text",
            data={"text": f"{text} reply {i}"},
            author=author,
            parent_id=str(parent.public_id),
        )
    return parent


def test_replies_are_shown_under_their_parent(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    _thread(channel, "ann", "first topic", replies=2)
    _thread(channel, "bob", "second topic", replies=0)
    response = moderator_client.get(url("channel", org, channel))
    threads = response.context["threads"]
    # newest thread first; replies oldest first under their parent; no reply at the top
    assert [parent[1] for parent, _, _ in threads] == ["second topic", "first topic"]
    assert [r[1] for r in threads[1][1]] == ["first topic reply 0", "first topic reply 1"]
    content = response.content.decode()
    assert content.index("first topic") < content.index("first topic reply 0")
    assert content.index("first topic reply 0") < content.index("first topic reply 1")
    assert "2 replies" in content


def test_a_long_thread_shows_its_newest_replies_and_says_how_many_more(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    _thread(channel, "ann", "busy", replies=REPLIES_PER_THREAD + 3)
    response = moderator_client.get(url("channel", org, channel))
    [(_parent, replies, more)] = response.context["threads"]
    assert [r[1] for r in replies] == [f"busy reply {i}" for i in range(3, REPLIES_PER_THREAD + 3)]
    assert more == 3 and b"3 earlier replies not shown" in response.content


def test_a_text_search_lists_matching_replies_too(
    moderator_client: Client, org: Organization, channel: Channel
) -> None:
    _thread(channel, "ann", "topic", replies=1)
    response = moderator_client.get(url("channel", org, channel), {"mq": "reply"})
    assert [row[1] for row in response.context["recent_rows"]] == ["topic reply 0"]


def test_threads_cost_the_same_queries_for_one_thread_as_for_many(
    moderator_client: Client, org: Organization
) -> None:
    small = make_channel(org, "small", user_ids=("ann",))
    big = make_channel(org, "big", user_ids=("ann",))
    _thread(small, "ann", "only", replies=1)
    for i in range(12):
        _thread(big, "ann", f"t{i}", replies=3)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("channel", org, small))
    with CaptureQueriesContext(connection) as twelve:
        response = moderator_client.get(url("channel", org, big))
    assert len(response.context["threads"]) == 12
    assert sum(len(replies) for _, replies, _ in response.context["threads"]) == 36
    # the top-level messages, then ONE query for every thread's replies
    assert len(twelve) == len(one)


# --- roles ------------------------------------------------------------------------------------

NEW_ACTIONS = {
    "channel_members_mute": {"user_ids": "ann", "duration": "1h", "reason": "x"},
    "channel_members_unmute": {"user_ids": "ann"},
    "channel_archive": {},
    "channel_unarchive": {},
    "channel_undelete": {},
}


@pytest.mark.parametrize("client_fixture", ["owner_client", "admin_client_", "moderator_client"])
def test_every_console_role_may_use_the_state_and_member_actions(
    request: pytest.FixtureRequest, org: Organization, channel: Channel, client_fixture: str
) -> None:
    client = request.getfixturevalue(client_fixture)
    for name, data in NEW_ACTIONS.items():
        if name == "channel_undelete":
            _delete(org, channel)
        response = client.post(url(name, org, channel), data, follow=True)
        assert response.status_code == 200, name
        assert not any(m.startswith("Nothing was changed") for m in flashes(response)), name
    assert {
        e.action for e in AuditEntry.objects.filter(target_id="lobby", actor_account__isnull=False)
    } >= {
        "channel.users.mute",
        "channel.users.unmute",
        "channel.archive",
        "channel.unarchive",
        "channel.undelete",
    }


def test_an_outsider_gets_404_on_the_state_and_member_actions(
    outsider_client: Client, org: Organization, other_org: Organization, channel: Channel
) -> None:
    channel_archive(channel=channel, actor=Actor.system())
    deleted = _delete(org, make_channel(org, "gone"))
    for name, data in NEW_ACTIONS.items():
        target = deleted if name == "channel_undelete" else channel
        assert outsider_client.post(url(name, org, target), data).status_code == 404
        assert outsider_client.post(url(name, other_org, target), data).status_code == 404
    assert outsider_client.get(url("channel", org, deleted)).status_code == 404
    channel.refresh_from_db()
    deleted.refresh_from_db()
    assert channel.archived_at is not None and deleted.deleted_at is not None
    assert not Membership.objects.filter(channel=channel, muted_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(actor_account__email="mod@globex.test").exists()
