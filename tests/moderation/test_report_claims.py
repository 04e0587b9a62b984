"""Claims on reports (the console's review items): report_claim, report_release and
report_claim_holder in apps/reports."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.selectors import report_claim_holder
from apps.reports.services import (
    report_claim,
    report_create,
    report_release,
    report_resolve,
    reports_resolve_for_member,
)
from tests.factories import AccountFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann() -> Account:
    return AccountFactory(email="ann@acme.test")


@pytest.fixture
def bo() -> Account:
    return AccountFactory(email="bo@acme.test")


@pytest.fixture
def target(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="target")


@pytest.fixture
def report(org: Organization, target: Member) -> Report:
    reporter = MemberFactory(organization=org, user_id="reporter")
    return report_create(
        organization=org, actor=Actor.system(), reporter=reporter, target_member=target
    )


def fresh(report: Report) -> Report:
    return Report.objects.get(pk=report.pk)


def test_a_claim_is_one_update_and_holds_for_the_given_seconds(
    report: Report, ann: Account
) -> None:
    audit = AuditEntry.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        assert report_claim(report=report, account=ann, seconds=60)
    assert len(ctx) == 1 and ctx[0]["sql"].startswith("UPDATE")
    row = fresh(report)
    assert row.claimed_by_id == ann.pk
    assert row.claimed_until > timezone.now()
    assert row.claim_live()
    assert AuditEntry.objects.count() == audit  # a claim changes nothing: not audited


def test_the_default_claim_time_is_the_setting(report: Report, ann: Account, settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "CONSOLE_CLAIM_SECONDS": 42}
    before = timezone.now()
    report_claim(report=report, account=ann)
    until = fresh(report).claimed_until
    assert before + timedelta(seconds=42) <= until <= timezone.now() + timedelta(seconds=42)


def test_another_account_cannot_take_a_live_claim_but_the_holder_renews_it(
    report: Report, ann: Account, bo: Account
) -> None:
    assert report_claim(report=report, account=ann, seconds=60)
    first = fresh(report).claimed_until
    assert not report_claim(report=Report.objects.get(pk=report.pk), account=bo)
    assert fresh(report).claimed_by_id == ann.pk
    assert report_claim(report=report, account=ann, seconds=600)
    assert fresh(report).claimed_until > first
    holder = report_claim_holder(report=report)
    assert holder is not None and (holder.account_id, holder.email) == (ann.pk, "ann@acme.test")


def test_an_expired_claim_is_nobodys_and_may_be_taken(
    report: Report, ann: Account, bo: Account
) -> None:
    Report.objects.filter(pk=report.pk).update(
        claimed_by=ann, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert not fresh(report).claim_live()
    assert report_claim_holder(report=report) is None
    assert report_claim(report=report, account=bo)
    assert fresh(report).claimed_by_id == bo.pk


def test_release_drops_only_ones_own_claim(report: Report, ann: Account, bo: Account) -> None:
    report_claim(report=report, account=ann)
    assert not report_release(report=report, account=bo)
    assert fresh(report).claimed_by_id == ann.pk
    assert report_release(report=report, account=ann)
    assert (fresh(report).claimed_by_id, fresh(report).claimed_until) == (None, None)
    assert report_claim_holder(report=report) is None


def test_a_resolved_report_cannot_be_claimed_and_resolving_releases(
    org: Organization, report: Report, target: Member, ann: Account
) -> None:
    report_claim(report=report, account=ann)
    report_resolve(actor=Actor.system(), report=report)
    assert (fresh(report).claimed_by_id, fresh(report).claimed_until) == (None, None)
    assert not report_claim(report=report, account=ann)
    other = report_create(
        organization=org, actor=Actor.system(), reporter=None, target_member=target
    )
    report_claim(report=other, account=ann)
    reports_resolve_for_member(actor=Actor.system(), member=target)
    assert fresh(other).claimed_by_id is None


def test_deleting_the_account_drops_its_claims(report: Report, ann: Account) -> None:
    report_claim(report=report, account=ann)
    ann.delete()
    assert fresh(report).claimed_by_id is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_moderators_claiming_at_once_get_it_exactly_once(org: Organization) -> None:
    target = MemberFactory(organization=org, user_id="target")
    reporter = MemberFactory(organization=org, user_id="reporter")
    report = report_create(
        organization=org, actor=Actor.system(), reporter=reporter, target_member=target
    )
    accounts = [AccountFactory(email=f"m{i}@acme.test") for i in range(8)]
    barrier = threading.Barrier(len(accounts))
    won: list[int] = []

    def claim(account: Account) -> None:
        try:
            barrier.wait()
            if report_claim(report=Report(pk=report.pk), account=account):
                won.append(account.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert fresh(report).claimed_by_id == won[0]
