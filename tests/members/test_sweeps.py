"""Timed global bans: POST /api/v2/users/ban with banPeriod, and the sweep that makes an
expired ban final (apps/members/tasks.py)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.rules import check_can_post
from apps.channels.services import channels as channel_services
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.members import services
from apps.members.models import Member
from apps.members.services import MAX_BAN_PERIOD_MS
from apps.members.tasks import member_bans_expire_sweep
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"
BAN = "/api/v2/users/ban"
SYSTEM = Actor.system()


def _expire(member: Member) -> None:
    Member.objects.filter(pk=member.pk).update(
        banned_at=timezone.now() - timedelta(hours=1),
        ban_expires_at=timezone.now() - timedelta(seconds=1),
    )


# --- the endpoint ------------------------------------------------------------------------
def test_a_timed_global_ban_sets_its_expiry_and_is_audited(api, org):
    MemberFactory(organization=org, user_id="troll")
    before = timezone.now()
    resp = api.post(BAN, {"userId": "troll", "banPeriod": 60_000, "reason": "spam"}, format="json")
    assert resp.status_code == 200 and resp.json()["user"]["isGlobalBan"] is True
    member = Member.objects.get(user_id="troll")
    assert member.ban_reason == "spam"
    assert before + timedelta(seconds=60) <= member.ban_expires_at
    assert member.ban_expires_at <= timezone.now() + timedelta(seconds=60)
    entry = AuditEntry.objects.get(action="user.ban")
    assert entry.after["banPeriod"] == 60_000 and entry.after["banExpiresAt"] is not None
    event = Event.objects.get(type="user.banned")
    assert event.payload["userIds"] == ["troll"] and event.payload["reason"] == "spam"
    assert event.payload["banExpiresAt"].endswith("Z")


def test_an_expired_global_ban_no_longer_counts_before_any_sweep(api, org, make_member_post):
    member = Member.objects.get(organization=org, user_id="troll")  # a member of "general"
    api.post(BAN, {"userId": "troll", "banPeriod": 60_000}, format="json")
    _expire(member)
    assert api.get("/api/v2/users").json()["users"][0]["isGlobalBan"] is False
    make_member_post(member)  # check_can_post does not refuse


@pytest.fixture
def make_member_post(org):
    channel = channel_services.channel_create(
        organization=org, actor=SYSTEM, channel_id="general", user_ids=["troll"]
    )

    def check(member: Member) -> None:
        check_can_post(channel=channel, member=Member.objects.get(pk=member.pk))

    return check


def test_a_global_ban_still_running_refuses_posts(api, org, make_member_post):
    member = Member.objects.get(organization=org, user_id="troll")
    api.post(BAN, {"userId": "troll", "banPeriod": 60_000}, format="json")
    with pytest.raises(DomainError) as exc:
        make_member_post(member)
    assert exc.value.code == "user_globally_banned"


@pytest.mark.parametrize("period", [-1, None])
def test_absent_or_minus_one_bans_until_unbanned(api, org, period):
    MemberFactory(organization=org, user_id="troll")
    body = {"userId": "troll"} if period is None else {"userId": "troll", "banPeriod": period}
    assert api.post(BAN, body, format="json").status_code == 200
    member = Member.objects.get(user_id="troll")
    assert member.banned_at is not None and member.ban_expires_at is None


def test_a_form_body_takes_a_ban_period(api, org):
    MemberFactory(organization=org, user_id="troll")
    resp = api.post(BAN, urlencode({"userId": "troll", "banPeriod": "1000"}), content_type=FORM)
    assert resp.status_code == 200
    assert Member.objects.get(user_id="troll").ban_expires_at is not None


@pytest.mark.parametrize("period", [0, -2, MAX_BAN_PERIOD_MS + 1, "later", 2.5, [5], ""])
def test_bad_ban_periods_are_400_and_change_nothing(api, org, period):
    MemberFactory(organization=org, user_id="troll")
    resp = api.post(BAN, {"userId": "troll", "banPeriod": period}, format="json")
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == ("invalid_parameter", "banPeriod")
    assert Member.objects.get(user_id="troll").banned_at is None
    assert not AuditEntry.objects.exists()


def test_the_service_refuses_a_zero_period_too(org):
    member = MemberFactory(organization=org, user_id="troll")
    with pytest.raises(DomainError) as exc:
        services.member_ban(actor=SYSTEM, member=member, ban_period=0)
    assert (exc.value.code, exc.value.field) == ("invalid_parameter", "banPeriod")


def test_another_organization_cannot_ban_with_a_period(other_api, org):
    MemberFactory(organization=org, user_id="troll")
    resp = other_api.post(BAN, {"userId": "troll", "banPeriod": 1000}, format="json")
    assert (resp.status_code, resp.json()["code"]) == (404, "user_not_found")
    assert Member.objects.get(user_id="troll").banned_at is None
    assert not AuditEntry.objects.exists() and not Event.objects.exists()


# --- the sweep ---------------------------------------------------------------------------
def test_the_sweep_lifts_an_expired_global_ban_once_by_the_system(org):
    troll = MemberFactory(organization=org, user_id="troll")
    services.member_ban(actor=SYSTEM, member=troll, reason="spam", ban_period=60_000)
    _expire(troll)
    assert member_bans_expire_sweep() == 1
    troll.refresh_from_db()
    assert (troll.banned_at, troll.ban_expires_at, troll.ban_reason) == (None, None, "")
    entry = AuditEntry.objects.get(action="user.unban.expired")
    assert (entry.actor_label, entry.actor_account, entry.actor_token) == ("system", None, None)
    assert (entry.target_type, entry.target_id) == ("user", "troll")
    assert entry.reason == "spam"
    assert entry.before["bannedAt"] is not None and entry.after["bannedAt"] is None
    event = Event.objects.get(type="user.unbanned")
    assert event.payload == {
        "organization": "acme",
        "userIds": ["troll"],
        "actor": "system",
        "reason": "expired",
        "bannedAt": event.payload["bannedAt"],
        "expiredAt": event.payload["expiredAt"],
    }
    # twice: nothing more
    assert member_bans_expire_sweep() == 0
    assert AuditEntry.objects.filter(action="user.unban.expired").count() == 1
    assert Event.objects.filter(type="user.unbanned").count() == 1


def test_the_sweep_leaves_running_and_open_ended_bans(org, other_org):
    running = MemberFactory(organization=org, user_id="running")
    forever = MemberFactory(organization=org, user_id="forever")
    services.member_ban(actor=SYSTEM, member=running, ban_period=60_000)
    services.member_ban(actor=SYSTEM, member=forever)
    expired = MemberFactory(organization=other_org, user_id="elsewhere")
    _expire(expired)
    assert member_bans_expire_sweep() == 1  # every organization's, only the expired one
    assert Member.objects.get(pk=running.pk).is_globally_banned()
    assert Member.objects.get(pk=forever.pk).is_globally_banned()
    assert Member.objects.get(pk=expired.pk).banned_at is None
    entry = AuditEntry.objects.get(action="user.unban.expired")
    assert entry.organization == other_org


def test_the_sweep_works_in_batches_from_the_settings(settings, org):
    settings.CHATADMIN = {**settings.CHATADMIN, "SWEEP_BATCH_SIZE": 2}
    members = [MemberFactory(organization=org) for _ in range(5)]
    for member in members:
        _expire(member)
    assert member_bans_expire_sweep() == 5
    assert not Member.objects.filter(banned_at__isnull=False).exists()
    assert AuditEntry.objects.filter(action="user.unban.expired").count() == 5


def test_a_ban_renewed_after_expiry_is_not_lifted(org):
    troll = MemberFactory(organization=org, user_id="troll")
    _expire(troll)
    services.member_ban(actor=SYSTEM, member=troll)  # renewed, open-ended
    assert member_bans_expire_sweep() == 0
    assert Member.objects.get(pk=troll.pk).is_globally_banned()
