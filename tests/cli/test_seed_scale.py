"""``manage.py seed_scale``: many rows fast, with correct counters, on any database."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Q

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.messages.models import Message
from apps.reports.models import Report


def _seed(**options: object) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_scale", stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_it_seeds_users_channels_messages_with_correct_counters() -> None:
    output = _seed(org="big", messages=2_345, users=120, channels=7, chunk=500)
    assert "messages" in output and "100%" in output  # the progress line
    assert Member.objects.filter(organization__slug="big").count() == 120
    assert Channel.objects.filter(organization__slug="big").count() == 7
    assert Message.objects.filter(organization__slug="big").count() == 2_345
    assert Report.objects.filter(state="open").count() == 1  # one per 2,000 messages
    assert AuditEntry.objects.count() == 23
    # every message is by a current member of its channel
    assert not Message.objects.exclude(
        author__memberships__channel=F("channel"),
        author__memberships__joined_at__isnull=False,
    ).exists()
    counted = Channel.objects.annotate(
        n=Count("messages", filter=Q(messages__deleted_at__isnull=True), distinct=True),
        m=Count("memberships", filter=Q(memberships__joined_at__isnull=False), distinct=True),
        last=Max("messages__created_at"),
    )
    for channel in counted:
        assert (channel.message_count, channel.member_count) == (channel.n, channel.m)
        assert channel.last_activity_at == channel.last
    # creation time grows with the id (lists are ordered by id)
    times = list(Message.objects.order_by("pk").values_list("created_at", flat=True))
    assert times == sorted(times)


@pytest.mark.django_db
def test_a_second_run_reuses_users_and_channels_and_adds_messages() -> None:
    _seed(org="big", messages=100, users=20, channels=3, quiet=True)
    _seed(org="big", messages=50, users=20, channels=3, quiet=True)
    assert Member.objects.count() == 20
    assert Membership.objects.count() == 20
    assert Message.objects.count() == 150
    assert sum(Channel.objects.values_list("message_count", flat=True)) == 150
