"""``manage.py seed_demo``: the demo data of ``make run``, idempotent."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from apps.accounts.models import Account
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.members.models import Member, MemberSession
from apps.messages.models import Message
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import AccessToken, Organization
from apps.reports.models import Report
from tests.personas import MessagingClient, TokenClient

TOKEN = re.compile(r"ca_adm_[A-Za-z0-9_-]{43}")


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


SESSION = re.compile(r"cas_[A-Za-z0-9_-]{43}")

#: What a second run adds by design: the demo token and alice's session are rotated
#: through the audited services (the previous ones revoked, not deleted), so an access
#: token, a session and four audit entries more (checked by
#: ``test_a_second_run_only_rotates_the_token_and_the_session_audited``).
ROTATION = {AccessToken, MemberSession, AuditEntry}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model not in ROTATION
    }


@pytest.mark.django_db
def test_it_seeds_a_demo_organization() -> None:
    seed()
    org = Organization.objects.get(slug="demo")
    assert Member.objects.filter(organization=org).count() >= 6
    channels = Channel.objects.filter(organization=org)
    assert sorted(channels.values_list("channel_id", flat=True)) == ["general", "random", "support"]
    assert all(c.tag_rows.exists() and c.member_count > 0 for c in channels)
    messages = Message.objects.filter(organization=org)
    assert 15 <= messages.count() <= 30
    parent = messages.filter(children_count__gt=0).get()
    assert messages.filter(parent=parent).count() == parent.children_count
    for channel in channels:
        assert channel.message_count == messages.filter(channel=channel).count()
    assert BlacklistRecord.objects.filter(organization=org).count() == 2
    assert WhitelistRecord.objects.filter(organization=org).count() == 1
    assert Report.objects.filter(organization=org, state="open").count() == 1
    admin = Account.objects.get(email="admin@demo.local")
    assert admin.is_superuser and admin.check_password("demo-admin-pass")


@pytest.mark.django_db
def test_a_second_run_creates_nothing_new() -> None:
    seed()
    before = row_counts()
    seed()
    assert row_counts() == before


@pytest.mark.django_db
def test_it_prints_the_urls_the_login_and_a_working_token() -> None:
    output = seed()
    for text in (
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/api/docs/",
        "admin@demo.local",
        "demo-admin-pass",
        "http://127.0.0.1:8000/console/",
    ):
        assert text in output
    first = TOKEN.findall(output)[0]
    second_output = seed()
    second = TOKEN.findall(second_output)[0]
    assert first != second
    assert "demo-admin-pass unless changed" in second_output
    assert "changepassword admin@demo.local" in second_output


@pytest.mark.django_db
@pytest.mark.urls("tests.core.urls")
def test_the_printed_token_acts_for_the_demo_organization_and_rotates() -> None:
    first = TOKEN.findall(seed())[0]
    org = Organization.objects.get(slug="demo")
    response = TokenClient(first, org).get("/api/test/echo")
    assert response.status_code == 200
    assert response.json()["organization"] == "demo"
    second = TOKEN.findall(seed())[0]
    assert TokenClient(first, org).get("/api/test/echo").status_code == 401
    assert TokenClient(second, org).get("/api/test/echo").status_code == 200


@pytest.mark.django_db
def test_the_printed_session_acts_as_alice_on_the_messaging_api_and_rotates() -> None:
    first = SESSION.findall(seed())[0]
    assert MessagingClient(token=first).get("/api/messaging/channels/").status_code == 200
    second = SESSION.findall(seed())[0]
    assert MessagingClient(token=first).get("/api/messaging/channels/").status_code == 401
    response = MessagingClient(token=second).get("/api/messaging/channels/")
    assert response.status_code == 200
    assert {c["name"] for c in response.json()["response"]} >= {"General"}


@pytest.mark.django_db
def test_it_keeps_a_changed_admin_password() -> None:
    seed()
    admin = Account.objects.get(email="admin@demo.local")
    admin.set_password("something-else-entirely")
    admin.save(update_fields=["password"])
    seed()
    admin.refresh_from_db()
    assert admin.check_password("something-else-entirely")


@pytest.mark.django_db
def test_a_second_run_only_rotates_the_token_and_the_session_audited() -> None:
    first = TOKEN.findall(seed())[0]
    seen = AuditEntry.objects.count()
    second = TOKEN.findall(seed())[0]
    added = AuditEntry.objects.order_by("pk")[seen:]
    assert [(e.action, e.actor_label) for e in added] == [
        ("token.revoke", "admin@demo.local"),
        ("token.issue", "admin@demo.local"),
        ("session.revoke", "admin@demo.local"),
        ("session.issue", "admin@demo.local"),
    ]
    tokens = AccessToken.objects.filter(organization__slug="demo", name="demo")
    assert [t.prefix for t in tokens.filter(revoked_at__isnull=True)] == [second[:12]]
    assert tokens.get(prefix=first[:12]).revoked_at is not None


@pytest.mark.django_db
def test_every_write_is_audited_as_the_demo_admin() -> None:
    seed()
    entries = AuditEntry.objects.filter(organization__slug="demo")
    assert {e.actor_label for e in entries} == {"admin@demo.local"}
    assert {
        "staff.add",
        "token.issue",
        "channel.create",
        "blacklist.add",
        "whitelist.add",
        "report.create",
    } <= set(entries.values_list("action", flat=True))
    assert entries.get(action="staff.add").after["role"] == "owner"
