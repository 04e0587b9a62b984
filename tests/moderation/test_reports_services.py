"""Services and selectors of reports: system reports, deduplication, resolving, auto-hide."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.members import services as member_services
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.selectors import report_get, report_list, report_open_count
from apps.reports.services import report_create, report_resolve, reports_resolve_for_member
from tests.factories import ChannelFactory, MemberFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="author")


@pytest.fixture
def reporter(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="reporter")


@pytest.fixture
def message(org: Organization, author: Member) -> Message:
    return MessageFactory(channel=ChannelFactory(organization=org), author=author)


def system_report(org: Organization, message: Message, reason: str = "filter: badword") -> Report:
    return report_create(
        organization=org,
        actor=Actor.system(),
        reporter=None,
        target_member=message.author,
        target_message=message,
        reason=reason,
    )


def test_the_system_may_report_a_message_and_is_audited_as_system(org, message):
    report = system_report(org, message)
    assert report.reporter is None and report.state == "open"
    entry = AuditEntry.objects.get(action="report.create")
    assert entry.actor_label == "system" and entry.after["reporterId"] is None
    assert Event.objects.filter(type="report.created").count() == 1


def test_a_second_system_report_on_a_message_returns_the_open_one(org, message):
    first = system_report(org, message)
    again = system_report(org, message, reason="filter: other")
    assert again.pk == first.pk
    assert Report.objects.count() == 1
    assert AuditEntry.objects.filter(action="report.create").count() == 1


def test_system_reports_on_different_messages_are_separate(org, author, message):
    other = MessageFactory(channel=message.channel, author=author)
    system_report(org, message)
    system_report(org, other)
    assert Report.objects.count() == 2


def test_a_system_report_after_the_first_was_resolved_is_a_new_one(org, message):
    first = system_report(org, message)
    report_resolve(actor=Actor.system(), report=first)
    assert system_report(org, message).pk != first.pk


def test_a_system_report_on_a_user_is_deduplicated_per_user(org, author):
    kwargs = dict(organization=org, actor=Actor.system(), reporter=None, target_member=author)
    assert report_create(**kwargs).pk == report_create(**kwargs).pk


def test_an_end_users_duplicate_leaves_the_outer_transaction_usable(org, reporter, message):
    kwargs = dict(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=message.author,
        target_message=message,
    )
    with transaction.atomic():
        report_create(**kwargs)
        with pytest.raises(DomainError) as caught:
            report_create(**kwargs)
        assert caught.value.code == "already_reported" and caught.value.status == 409
        assert Report.objects.count() == 1  # the savepoint kept the transaction alive


def test_reports_on_a_deleted_message_are_refused(org, reporter, message):
    Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now())
    with pytest.raises(DomainError) as caught:
        system_report(org, message)
    assert caught.value.code == "message_not_found"
    assert not Report.objects.exists()


def test_the_target_must_be_the_messages_author(org, reporter, message):
    with pytest.raises(ValueError):
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=None,
            target_member=reporter,
            target_message=message,
        )


def test_rows_of_another_organization_are_refused(org, other_org, message):
    outsider = MemberFactory(organization=other_org)
    with pytest.raises(ValueError):
        report_create(
            organization=org,
            actor=Actor.system(),
            reporter=outsider,
            target_member=message.author,
            target_message=message,
        )
    assert not Report.objects.exists()


def test_system_reports_count_towards_the_auto_hide_threshold(org, reporter, message):
    Organization.objects.filter(pk=org.pk).update(auto_hide_threshold=2)
    org.refresh_from_db()
    system_report(org, message)
    report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=message.author,
        target_message=message,
    )
    message.refresh_from_db()
    assert message.hidden_at is not None


def test_a_threshold_of_one_hides_at_the_first_report(org, message):
    Organization.objects.filter(pk=org.pk).update(auto_hide_threshold=1)
    org.refresh_from_db()
    system_report(org, message)
    message.refresh_from_db()
    assert message.hidden_at is not None
    hide = AuditEntry.objects.get(action="message.hide")
    assert hide.before == {"hiddenAt": None} and hide.after["threshold"] == 1


def test_resolving_one_report_records_who_and_when(org, actor, message):
    report = system_report(org, message)
    resolved = report_resolve(actor=actor, report=report, state=Report.State.ACTIONED)
    assert resolved.state == "actioned" and resolved.resolved_at is not None
    assert resolved.resolved_by_label == "moderator@acme.test"
    entry = AuditEntry.objects.get(action="report.resolve")
    assert entry.actor_account == actor.account
    assert (entry.before["state"], entry.after["state"]) == ("open", "actioned")


def test_resolving_a_resolved_report_is_a_conflict(org, message):
    report = system_report(org, message)
    report_resolve(actor=Actor.system(), report=report)
    with pytest.raises(DomainError) as caught:
        report_resolve(actor=Actor.system(), report=report)
    assert caught.value.code == "conflict"
    assert AuditEntry.objects.filter(action="report.resolve").count() == 1


def test_resolving_for_a_member_may_action_the_reports(org, reporter, author, message):
    system_report(org, message)
    report_create(organization=org, actor=Actor.system(), reporter=reporter, target_member=author)
    assert (
        reports_resolve_for_member(actor=Actor.system(), member=author, state=Report.State.ACTIONED)
        == 2
    )
    assert set(Report.objects.values_list("state", flat=True)) == {"actioned"}
    assert AuditEntry.objects.get(action="user.flags.clear").after["state"] == "actioned"


def test_member_flags_clear_delegates_to_the_reports_service(org, reporter, author):
    report_create(organization=org, actor=Actor.system(), reporter=reporter, target_member=author)
    assert member_services.member_flags_clear(actor=Actor.system(), member=author) == 1
    report = Report.objects.get()
    assert (report.state, report.resolved_by_label) == ("dismissed", "system")


def test_it_refuses_to_resolve_as_open(org, author):
    with pytest.raises(ValueError):
        reports_resolve_for_member(actor=Actor.system(), member=author, state=Report.State.OPEN)


# --- selectors -------------------------------------------------------------------------
def test_the_review_queue_lists_open_reports_oldest_first(org, other_org, reporter, message):
    first = system_report(org, message)
    second = report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=message.author,
        target_message=message,
    )
    report_resolve(actor=Actor.system(), report=first)
    other_message = MessageFactory(channel=ChannelFactory(organization=other_org))
    system_report(other_org, other_message)
    assert list(report_list(organization=org)) == [second]
    assert list(report_list(organization=org, state=None)) == [first, second]
    assert report_open_count(organization=org, target_message=message) == 1


@pytest.mark.parametrize("report_id", ["nope", "-1", "0", str(2**70)])
def test_report_get_answers_not_found_for_bad_ids(org, report_id):
    with pytest.raises(DomainError) as caught:
        report_get(organization=org, report_id=report_id)
    assert caught.value.code == "not_found"


def test_report_get_treats_another_organizations_report_as_unknown(org, other_org):
    theirs = MessageFactory(channel=ChannelFactory(organization=other_org))
    report = system_report(other_org, theirs)
    with pytest.raises(DomainError):
        report_get(organization=org, report_id=report.pk)
    assert report_get(organization=other_org, report_id=str(report.pk)) == report
