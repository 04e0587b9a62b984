"""POST /api/v2/messages/:messageId/flags, POST and DELETE /api/v2/users/:userId/flags
(reports, an extension: docs/api/reports.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.events.models import Event
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.reports.models import Report
from tests.factories import ChannelFactory, MemberFactory, MessageFactory

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def form(data: dict[str, Any]) -> str:
    return urlencode(data, doseq=True)


def message_flags(message: Message | str) -> str:
    message_id = message.public_id if isinstance(message, Message) else message
    return f"/api/v2/messages/{message_id}/flags"


def user_flags(user_id: str) -> str:
    return f"/api/v2/users/{user_id}/flags"


@pytest.fixture
def reporter(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="reporter")


@pytest.fixture
def author(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="author")


@pytest.fixture
def message(org: Organization, author: Member) -> Message:
    return MessageFactory(channel=ChannelFactory(organization=org), author=author)


def nothing_written() -> bool:
    return not (Report.objects.exists() or AuditEntry.objects.exists() or Event.objects.exists())


# --- POST /api/v2/messages/:messageId/flags ----------------------------------------------
def test_it_reports_a_message_and_answers_the_report(api, reporter, author, message):
    resp = api.post(
        message_flags(message), {"reporterId": "reporter", "reason": "spam"}, format="json"
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()["report"]
    report = Report.objects.get()
    assert body == {
        "reportId": str(report.pk),
        "state": "open",
        "reason": "spam",
        "reporterId": "reporter",
        "targetUserId": "author",
        "targetMessageId": str(message.public_id),
        "createdAt": body["createdAt"],
        "resolvedAt": None,
        "resolvedBy": None,
    }
    assert body["createdAt"].endswith("Z")
    assert (report.reporter, report.target_member, report.target_message) == (
        reporter,
        author,
        message,
    )


def test_reporting_a_message_is_audited_and_emits_an_event(api, reporter, message):
    api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    entry = AuditEntry.objects.get(action="report.create")
    assert (entry.target_type, entry.target_id) == ("message", str(message.public_id))
    assert entry.actor_label.endswith("admin@acme.test") and entry.actor_token is not None
    assert entry.after["reporterId"] == "reporter"
    event = Event.objects.get(type="report.created")
    assert event.payload["targetMessageId"] == str(message.public_id)
    assert event.organization_id == message.organization_id


def test_it_reports_a_message_with_a_form_body(api, reporter, message):
    resp = api.post(
        message_flags(message),
        form({"reporterId": "reporter", "reason": "rude"}),
        content_type=FORM,
    )
    assert resp.status_code == 201
    assert Report.objects.get().reason == "rude"


def test_it_reports_a_message_with_a_multipart_body(api, reporter, message):
    resp = api.post(message_flags(message), {"reporterId": "reporter"}, format="multipart")
    assert resp.status_code == 201 and resp.json()["report"]["reason"] == ""


def test_reporting_requires_a_reporter(api, message):
    resp = api.post(message_flags(message), {"reason": "spam"}, format="json")
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == ("missing_parameter", "reporterId")
    assert nothing_written()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"reporterId": "x" * 129}, "reporterId"),
        ({"reporterId": "bad\nid"}, "reporterId"),
        ({"reporterId": ["a", "b"]}, "reporterId"),
        ({"reporterId": {"a": 1}}, "reporterId"),
        ({"reporterId": "reporter", "reason": "x" * 1001}, "reason"),
        ({"reporterId": "reporter", "reason": {"a": 1}}, "reason"),
    ],
)
def test_it_refuses_malformed_or_oversized_parameters(api, reporter, message, data, field):
    resp = api.post(message_flags(message), data, format="json")
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == ("invalid_parameter", field)
    assert nothing_written()


def test_it_accepts_a_reason_of_exactly_1000_characters(api, reporter, message):
    resp = api.post(
        message_flags(message), {"reporterId": "reporter", "reason": "x" * 1000}, format="json"
    )
    assert resp.status_code == 201


def test_it_refuses_a_body_that_is_not_json(api, reporter, message):
    resp = api.post(message_flags(message), "{nope", content_type="application/json")
    assert resp.status_code == 400 and resp.json()["code"] == "malformed_body"
    assert nothing_written()


#: A well-formed id no message has (a constant: pytest-xdist needs the same test ids
#: in every process).
UNKNOWN_ID = "5b0e7b4c-3f7e-4c2a-9d61-0a8f6f3e2b19"


@pytest.mark.parametrize("message_id", [UNKNOWN_ID, "not-a-uuid", "x" * 200])
def test_reporting_an_unknown_message_is_404(api, reporter, message_id):
    resp = api.post(message_flags(message_id), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 404
    assert (resp.json()["code"], resp.json()["field"]) == ("message_not_found", "messageId")
    assert nothing_written()


def test_reporting_a_deleted_message_is_404(api, reporter, message):
    Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now())
    resp = api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"
    assert nothing_written()


def test_reporting_a_message_of_a_closed_channel_is_404(api, reporter, message):
    type(message.channel).objects.filter(pk=message.channel_id).update(closed_at=timezone.now())
    resp = api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"
    assert nothing_written()


def test_an_unknown_reporter_is_404_and_is_not_provisioned(api, message):
    resp = api.post(message_flags(message), {"reporterId": "ghost"}, format="json")
    assert resp.status_code == 404
    assert (resp.json()["code"], resp.json()["field"]) == ("user_not_found", "reporterId")
    assert not Member.objects.filter(user_id="ghost").exists()
    assert nothing_written()


def test_a_reporter_of_another_organization_is_unknown(api, other_org, message):
    MemberFactory(organization=other_org, user_id="outsider")
    resp = api.post(message_flags(message), {"reporterId": "outsider"}, format="json")
    assert resp.status_code == 404 and resp.json()["field"] == "reporterId"
    assert nothing_written()


def test_a_user_cannot_report_their_own_message(api, author, message):
    resp = api.post(message_flags(message), {"reporterId": "author"}, format="json")
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == ("invalid_parameter", "reporterId")
    assert nothing_written()


def test_a_second_open_report_by_the_same_reporter_is_409(api, reporter, message):
    assert api.post(message_flags(message), {"reporterId": "reporter"}).status_code == 201
    resp = api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "already_reported"
    assert Report.objects.count() == 1
    assert AuditEntry.objects.filter(action="report.create").count() == 1
    assert Event.objects.filter(type="report.created").count() == 1


def test_a_report_after_the_first_was_resolved_is_accepted(api, reporter, message):
    api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    Report.objects.update(state=Report.State.DISMISSED, resolved_at=timezone.now())
    resp = api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 201
    assert list(Report.objects.order_by("pk").values_list("state", flat=True)) == [
        "dismissed",
        "open",
    ]


def test_other_reporters_may_report_the_same_message(api, org, reporter, message):
    MemberFactory(organization=org, user_id="second")
    assert api.post(message_flags(message), {"reporterId": "reporter"}).status_code == 201
    assert api.post(message_flags(message), {"reporterId": "second"}).status_code == 201
    assert Report.objects.filter(target_message=message, state="open").count() == 2


def test_another_organization_cannot_report_our_messages(other_api, other_org, reporter, message):
    MemberFactory(organization=other_org, user_id="reporter")
    resp = other_api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"
    assert nothing_written()


def test_reporting_a_message_requires_a_valid_token(anon_api, bad_token_api, reporter, message):
    for client in (anon_api, bad_token_api):
        resp = client.post(message_flags(message), {"reporterId": "reporter"}, format="json")
        assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
    assert nothing_written()


def test_message_flags_refuses_other_methods(api, message):
    assert api.get(message_flags(message)).status_code == 405
    assert api.delete(message_flags(message)).status_code == 405


def test_a_messages_flag_count_counts_open_reports_only(api, org, reporter, message):
    second = MemberFactory(organization=org, user_id="second")
    api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    api.post(message_flags(message), {"reporterId": "second"}, format="json")
    Report.objects.filter(reporter=second).update(state=Report.State.ACTIONED)
    body = api.get(f"/api/v2/message/{message.public_id}").json()["message"]
    assert (body["flagCount"], body["isHidden"]) == (1, False)
    listed = api.get("/api/v2/messages", {"channelId": message.channel.channel_id}).json()
    assert [m["flagCount"] for m in listed["messages"]] == [1]


# --- auto-hide -------------------------------------------------------------------------
def _three_reporters(org: Organization) -> list[str]:
    return [MemberFactory(organization=org, user_id=f"r{i}").user_id for i in range(3)]


def test_messages_are_never_hidden_by_default(api, org, message):
    for user_id in _three_reporters(org):
        api.post(message_flags(message), {"reporterId": user_id}, format="json")
    message.refresh_from_db()
    assert message.hidden_at is None
    assert not AuditEntry.objects.filter(action="message.hide").exists()
    assert not Event.objects.filter(type="message.hidden").exists()


def test_a_message_is_hidden_when_its_open_reports_reach_the_threshold(api, org, message):
    Organization.objects.filter(pk=org.pk).update(auto_hide_threshold=2)
    first, second, third = _three_reporters(org)
    api.post(message_flags(message), {"reporterId": first}, format="json")
    message.refresh_from_db()
    assert message.hidden_at is None
    api.post(message_flags(message), {"reporterId": second}, format="json")
    message.refresh_from_db()
    assert message.hidden_at is not None
    entry = AuditEntry.objects.get(action="message.hide")
    assert (entry.actor_label, entry.target_id) == ("system", str(message.public_id))
    assert entry.actor_account is None and entry.actor_token is None
    assert Event.objects.get(type="message.hidden").payload["openReports"] == 2
    # a third report is recorded; the message is not hidden twice
    assert api.post(message_flags(message), {"reporterId": third}).status_code == 201
    assert AuditEntry.objects.filter(action="message.hide").count() == 1
    # hidden messages stay visible to the admin API
    body = api.get(f"/api/v2/message/{message.public_id}").json()["message"]
    assert (body["isHidden"], body["flagCount"]) == (True, 3)


def test_resolved_reports_do_not_count_towards_the_threshold(api, org, message):
    Organization.objects.filter(pk=org.pk).update(auto_hide_threshold=2)
    first, second, _ = _three_reporters(org)
    api.post(message_flags(message), {"reporterId": first}, format="json")
    Report.objects.update(state=Report.State.DISMISSED)
    api.post(message_flags(message), {"reporterId": second}, format="json")
    message.refresh_from_db()
    assert message.hidden_at is None


# --- POST /api/v2/users/:userId/flags ----------------------------------------------------
def test_it_reports_a_user(api, reporter, author):
    resp = api.post(
        user_flags("author"), {"reporterId": "reporter", "reason": "harassment"}, format="json"
    )
    assert resp.status_code == 201
    body = resp.json()["report"]
    assert (body["targetUserId"], body["targetMessageId"], body["reporterId"]) == (
        "author",
        None,
        "reporter",
    )
    assert body["state"] == "open" and body["reason"] == "harassment"
    entry = AuditEntry.objects.get(action="report.create")
    assert (entry.target_type, entry.target_id, entry.reason) == ("user", "author", "harassment")
    assert Event.objects.get(type="report.created").payload["targetUserId"] == "author"


def test_it_reports_a_user_with_a_form_body(api, reporter, author):
    resp = api.post(user_flags("author"), form({"reporterId": "reporter"}), content_type=FORM)
    assert resp.status_code == 201
    assert Report.objects.get().target_member == author


def test_it_reports_a_user_id_with_special_characters(api, reporter, org):
    MemberFactory(organization=org, user_id="a.b@c.test/x")
    resp = api.post(user_flags("a.b@c.test/x"), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 201 and resp.json()["report"]["targetUserId"] == "a.b@c.test/x"


def test_reporting_a_user_requires_a_reporter(api, author):
    resp = api.post(user_flags("author"), form({}), content_type=FORM)
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == ("missing_parameter", "reporterId")
    assert nothing_written()


def test_reporting_a_user_refuses_an_oversized_reason(api, reporter, author):
    resp = api.post(
        user_flags("author"),
        form({"reporterId": "reporter", "reason": "x" * 1001}),
        content_type=FORM,
    )
    assert resp.status_code == 400 and resp.json()["field"] == "reason"
    assert nothing_written()


def test_reporting_an_unknown_user_is_404(api, reporter):
    resp = api.post(user_flags("ghost"), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 404
    assert (resp.json()["code"], resp.json()["field"]) == ("user_not_found", "userId")
    assert nothing_written()


def test_reporting_a_user_with_an_unknown_reporter_is_404(api, author):
    resp = api.post(user_flags("author"), {"reporterId": "ghost"}, format="json")
    assert resp.status_code == 404
    assert (resp.json()["code"], resp.json()["field"]) == ("user_not_found", "reporterId")
    assert nothing_written()


def test_a_user_cannot_report_themself(api, reporter):
    resp = api.post(user_flags("reporter"), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "reporterId"
    assert nothing_written()


def test_a_second_open_report_on_a_user_is_409(api, reporter, author, message):
    assert api.post(user_flags("author"), {"reporterId": "reporter"}).status_code == 201
    resp = api.post(user_flags("author"), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "already_reported"
    # a report on the user and one on their message are different targets
    assert api.post(message_flags(message), {"reporterId": "reporter"}).status_code == 201
    assert Report.objects.count() == 2


def test_another_organization_cannot_report_our_users(other_api, other_org, reporter, author):
    MemberFactory(organization=other_org, user_id="reporter")
    resp = other_api.post(user_flags("author"), {"reporterId": "reporter"}, format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "user_not_found"
    assert nothing_written()


def test_reporting_a_user_requires_a_valid_token(anon_api, bad_token_api, reporter, author):
    for client in (anon_api, bad_token_api):
        resp = client.post(user_flags("author"), {"reporterId": "reporter"}, format="json")
        assert resp.status_code == 401
    assert nothing_written()


def test_a_users_flag_count_counts_open_reports_only(api, org, reporter, author, message):
    second = MemberFactory(organization=org, user_id="second")
    api.post(user_flags("author"), {"reporterId": "reporter"}, format="json")
    api.post(user_flags("author"), {"reporterId": "second"}, format="json")
    api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    Report.objects.filter(reporter=second).update(state=Report.State.DISMISSED)
    users = api.get("/api/v2/users", {"search": "author"}).json()["users"]
    assert [(u["userId"], u["flagCount"]) for u in users] == [("author", 2)]
    flagged = api.get("/api/v2/users", {"filter": "flagged"}).json()["users"]
    assert [u["userId"] for u in flagged] == ["author"]


# --- DELETE /api/v2/users/:userId/flags --------------------------------------------------
def test_clearing_flags_dismisses_open_reports_and_records_who(api, org, reporter, author, message):
    api.post(user_flags("author"), {"reporterId": "reporter"}, format="json")
    api.post(message_flags(message), {"reporterId": "reporter"}, format="json")
    resp = api.delete(user_flags("author"))
    assert resp.status_code == 200 and resp.json()["user"]["flagCount"] == 0
    for report in Report.objects.all():
        assert report.state == "dismissed" and report.resolved_at is not None
        assert report.resolved_by_label.endswith("admin@acme.test")
    entry = AuditEntry.objects.get(action="user.flags.clear")
    assert (entry.target_id, entry.after["cleared"]) == ("author", 2)
    body = api.get(f"/api/v2/message/{message.public_id}").json()["message"]
    assert body["flagCount"] == 0
    # the same reporter may report again once the earlier report is resolved
    assert api.post(user_flags("author"), {"reporterId": "reporter"}).status_code == 201


def test_another_organization_cannot_clear_our_reports(other_api, api, reporter, author):
    api.post(user_flags("author"), {"reporterId": "reporter"}, format="json")
    resp = other_api.delete(user_flags("author"))
    assert resp.status_code == 404 and resp.json()["code"] == "user_not_found"
    assert Report.objects.get().state == "open"
    assert not AuditEntry.objects.filter(action="user.flags.clear").exists()
