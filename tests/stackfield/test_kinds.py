"""The kinds of Stackfield URL that post into their channel: chat message, discussion,
task, page, event, file. Each posts as the organization's ``stackfield`` bot through the
one posting path; each refusal is Stackfield's code and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.audit.actor import Actor
from apps.calendar_events.models import CalendarEvent
from apps.channels.models import Channel
from apps.integrations.models import Integration, IntegrationHistory
from apps.members.models import Member
from apps.members.services import member_deactivate
from apps.messages.models import Message, MessageFile
from apps.moderation.models import FilterRefusalDay
from apps.organizations.models import Organization
from tests.builders import blacklist
from tests.factories import ChannelFactory, MemberFactory

from .conftest import call, ok, person, refused, upload_call, written

pytestmark = pytest.mark.django_db

MakeUrl = Callable[..., str]


def only_message(channel: Channel) -> Message:
    [message] = Message.objects.filter(channel=channel)
    return message


# --- chat message --------------------------------------------------------------------------


def test_a_chat_message_posts_the_title_as_the_stackfield_bot(
    make_url: MakeUrl, general: Channel
) -> None:
    uuid = make_url("chat-message")
    assert ok(call(uuid, {"Title": "Hello World!"})) == {"Result": "ok"}
    message = only_message(general)
    integration = Integration.objects.get()
    assert message.type == Message.Type.TEXT
    assert message.data == {"text": "Hello World!", "bot": {"i": str(integration.pk)}}
    assert message.author.user_id == "stackfield" and message.author.is_bot
    history = IntegrationHistory.objects.get(integration=integration)
    assert history.step == "incoming-posted" and history.message_id == str(message.public_id)
    assert history.data == {"Title": "Hello World!"}


@pytest.mark.parametrize("title", [None, "", "   ", "\u200b"])
def test_a_missing_or_empty_title_is_4050(
    make_url: MakeUrl, org: Organization, title: str | None
) -> None:
    uuid = make_url("chat-message")
    before = written(org)
    body = {} if title is None else {"Title": title}
    refused(call(uuid, body), 400, 4050)
    assert written(org) == before


@pytest.mark.parametrize("title", [5, ["x"], {"a": 1}, True, "x" * 10_001])
def test_a_title_that_is_no_text_or_too_long_is_4056(
    make_url: MakeUrl, org: Organization, title: object
) -> None:
    uuid = make_url("chat-message")
    before = written(org)
    refused(call(uuid, {"Title": title}), 400, 4056)
    assert written(org) == before


def test_the_content_filter_refuses_with_4031_and_counts_the_refusal(
    make_url: MakeUrl, org: Organization
) -> None:
    blacklist(org, "spoiler")
    uuid = make_url("chat-message")
    before = written(org)
    refused(call(uuid, {"Title": "a spoiler here"}), 400, 4031)
    assert written(org) == before
    assert FilterRefusalDay.objects.get(organization=org).blacklisted == 1
    history = IntegrationHistory.objects.get(step="incoming-refused")
    assert history.error and history.data == {"Title": "a spoiler here"}


@pytest.mark.parametrize("state", ["archived_at", "closed_at"])
def test_an_archived_or_closed_channel_is_4036(
    make_url: MakeUrl, org: Organization, general: Channel, state: str
) -> None:
    uuid = make_url("chat-message")
    Channel.objects.filter(pk=general.pk).update(**{state: timezone.now()})
    before = written(org)
    refused(call(uuid, {"Title": "x"}), 403, 4036)
    assert written(org) == before


def test_a_deleted_channel_is_4036(make_url: MakeUrl, org: Organization, general: Channel) -> None:
    uuid = make_url("chat-message")
    Channel.objects.filter(pk=general.pk).update(deleted_at=timezone.now())
    refused(call(uuid, {"Title": "x"}), 404, 4036)


def test_a_deactivated_bot_cannot_post(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("chat-message")
    MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN)  # not the last admin
    member_deactivate(actor=Actor.system(), member=Member.objects.get(user_id="stackfield"))
    before = written(org)
    refused(call(uuid, {"Title": "x"}), 403, 4031)
    assert written(org) == before


def test_a_json_body_sent_with_a_form_content_type_is_read_as_json(
    make_url: MakeUrl, general: Channel
) -> None:
    uuid = make_url("chat-message")
    raw = b'{"Title": "curl -d without -H"}'
    ok(call(uuid, raw=raw, content_type="application/x-www-form-urlencoded"))
    assert only_message(general).data["text"] == "curl -d without -H"


# --- discussion ----------------------------------------------------------------------------


def test_a_discussion_opens_a_thread_whose_first_reply_is_the_content(
    make_url: MakeUrl, general: Channel
) -> None:
    uuid = make_url("discussion")
    ok(call(uuid, {"Title": "That's a title!", "Content": "Look at that description!"}))
    root = Message.objects.get(channel=general, parent__isnull=True)
    reply = Message.objects.get(channel=general, parent=root)
    assert root.data["kind"] == "discussion" and root.data["text"] == "That's a title!"
    assert reply.data["text"] == "Look at that description!"
    assert reply.author == root.author and root.author.user_id == "stackfield"
    root.refresh_from_db()
    assert root.children_count == 1


def test_a_discussion_without_content_is_its_opening_message_alone(
    make_url: MakeUrl, general: Channel
) -> None:
    ok(call(make_url("discussion"), {"Title": "Just a topic"}))
    assert only_message(general).data["kind"] == "discussion"


def test_a_discussion_needs_a_title(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("discussion")
    before = written(org)
    refused(call(uuid, {"Content": "no title"}), 400, 4050)
    assert written(org) == before


def test_a_discussion_whose_reply_is_refused_writes_no_opening_message(
    make_url: MakeUrl, org: Organization
) -> None:
    blacklist(org, "spoiler")
    uuid = make_url("discussion")
    before = written(org)
    refused(call(uuid, {"Title": "fine", "Content": "a spoiler"}), 400, 4031)
    assert written(org) == before


# --- task ------------------------------------------------------------------------------------


def test_a_task_is_a_custom_message_with_its_fields_in_data(
    make_url: MakeUrl, org: Organization, general: Channel
) -> None:
    alice = person(org, "user1@demo.de")
    bob = person(org, "user2@demo.de")
    body = {
        "Title": "That's a title!",
        "Content": "Look at that description!",
        "DateStart": "2019-07-08 22:00",
        "Users": ["user1@demo.de", {"Email": "USER2@demo.de", "IsAdmin": "true"}],
    }
    ok(call(make_url("task"), body))
    message = only_message(general)
    assert message.type == Message.Type.CUSTOM
    assert message.data["kind"] == "task"
    assert message.data["text"] == "That's a title!"
    assert message.data["attachments"] == [{"text": "Look at that description!"}]
    assert message.data["task"] == {
        "dateStart": "2019-07-08T22:00:00Z",
        "dateEnd": None,
        "assignees": [alice.user_id, bob.user_id],
    }


def test_a_task_without_dates_users_or_content_is_its_title(
    make_url: MakeUrl, general: Channel
) -> None:
    ok(call(make_url("task"), {"Title": "Minimal"}))
    data = only_message(general).data
    assert "attachments" not in data
    assert data["task"] == {"dateStart": None, "dateEnd": None, "assignees": []}


def test_a_task_ending_before_it_starts_is_4055(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("task")
    before = written(org)
    body = {"Title": "t", "DateStart": "2019-07-08 22:00", "DateEnd": "2019-07-08 21:59"}
    refused(call(uuid, body), 400, 4055)
    assert written(org) == before


@pytest.mark.parametrize(
    "date", ["tomorrow", "2019-13-01 10:00", "2019-07-08 25:00", 20190708, ["2019-07-08"]]
)
def test_a_date_that_cannot_be_parsed_is_4056(
    make_url: MakeUrl, org: Organization, date: object
) -> None:
    uuid = make_url("task")
    before = written(org)
    refused(call(uuid, {"Title": "t", "DateStart": date}), 400, 4056)
    assert written(org) == before


def test_an_assignee_nobody_has_is_4061(make_url: MakeUrl, org: Organization) -> None:
    person(org, "known@demo.de")
    uuid = make_url("task")
    before = written(org)
    body = {"Title": "t", "Users": ["known@demo.de", "nobody@demo.de"]}
    text = refused(call(uuid, body), 404, 4061)["ErrorText"]
    assert "nobody@demo.de" in text
    assert written(org) == before


def test_another_organizations_member_is_unknown_here(
    make_url: MakeUrl, org: Organization, other_org: Organization
) -> None:
    person(other_org, "elsewhere@globex.test")
    uuid = make_url("task")
    before = written(org)
    refused(call(uuid, {"Title": "t", "Users": ["elsewhere@globex.test"]}), 404, 4061)
    assert written(org) == before


@pytest.mark.parametrize(
    "users",
    [["not-an-email"], [5], [{"IsAdmin": True}], [{"Email": "a@b.de", "IsAdmin": 3}], "a@b.de"],
)
def test_users_that_are_not_emails_are_4056(
    make_url: MakeUrl, org: Organization, users: object
) -> None:
    person(org, "a@b.de")
    uuid = make_url("task")
    before = written(org)
    refused(call(uuid, {"Title": "t", "Users": users}), 400, 4056)
    assert written(org) == before


def test_a_deactivated_assignee_is_4076(make_url: MakeUrl, org: Organization) -> None:
    MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN)
    gone = person(org, "gone@demo.de")
    member_deactivate(actor=Actor.system(), member=gone)
    uuid = make_url("task")
    before = written(org)
    refused(call(uuid, {"Title": "t", "Users": ["gone@demo.de"]}), 403, 4076)
    assert written(org) == before


def test_an_email_finds_the_member_whose_user_id_it_is(
    make_url: MakeUrl, org: Organization, general: Channel
) -> None:
    MemberFactory(organization=org, user_id="plain@demo.de")  # no account linked
    ok(call(make_url("task"), {"Title": "t", "Users": ["Plain@Demo.de"]}))
    assert only_message(general).data["task"]["assignees"] == ["plain@demo.de"]


# --- page ------------------------------------------------------------------------------------


def test_a_page_is_a_custom_message_with_title_and_content(
    make_url: MakeUrl, general: Channel
) -> None:
    ok(call(make_url("page"), {"Title": "Handbook", "Content": "Chapter one"}))
    message = only_message(general)
    assert message.type == Message.Type.CUSTOM
    assert message.data["kind"] == "page" and message.data["text"] == "Handbook"
    assert message.data["attachments"] == [{"text": "Chapter one"}]


def test_a_pages_content_goes_through_the_content_filter(
    make_url: MakeUrl, org: Organization
) -> None:
    blacklist(org, "spoiler")
    uuid = make_url("page")
    before = written(org)
    refused(call(uuid, {"Title": "fine", "Content": "a spoiler"}), 400, 4031)
    assert written(org) == before


# --- event -----------------------------------------------------------------------------------


def test_an_event_is_a_calendar_event_with_its_invitees_announced_in_the_channel(
    make_url: MakeUrl, org: Organization, general: Channel
) -> None:
    alice = person(org, "user1@demo.de")
    body = {
        "Title": "That's a title!",
        "Content": "Look at that description!",
        "DateStart": "2019-07-08 22:00",
        "DateEnd": "2019-07-08 23:00",
        "Users": ["user1@demo.de"],
    }
    ok(call(make_url("event"), body))
    event = CalendarEvent.objects.get(organization=org)
    assert event.title == "That's a title!"
    assert event.starts_at == datetime(2019, 7, 8, 22, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2019, 7, 8, 23, 0, tzinfo=UTC)
    assert list(event.participants.all()) == [alice]
    announcement = only_message(general)
    assert announcement.type == Message.Type.CUSTOM and announcement.data["kind"] == "event"
    assert announcement.data["attachments"] == [{"text": "Look at that description!"}]
    assert announcement.data["event"] == {
        "id": str(event.pk),
        "dateStart": "2019-07-08T22:00:00Z",
        "dateEnd": "2019-07-08T23:00:00Z",
        "chatroomId": event.chatroom.channel_id,
        "invitees": [alice.user_id],
    }


def test_an_event_date_with_an_offset_keeps_its_offset(
    make_url: MakeUrl, org: Organization
) -> None:
    body = {"Title": "t", "DateStart": "2019-07-08T22:00+02:00", "DateEnd": "2019-07-08 23:00"}
    ok(call(make_url("event"), body))
    assert CalendarEvent.objects.get().starts_at == datetime(2019, 7, 8, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize("missing", ["DateStart", "DateEnd"])
def test_an_event_needs_both_dates(make_url: MakeUrl, org: Organization, missing: str) -> None:
    body = {"Title": "t", "DateStart": "2019-07-08 22:00", "DateEnd": "2019-07-08 23:00"}
    del body[missing]
    uuid = make_url("event")
    before = written(org)
    refused(call(uuid, body), 400, 4031)
    assert written(org) == before


def test_an_event_ending_before_it_starts_is_4055(make_url: MakeUrl, org: Organization) -> None:
    body = {"Title": "t", "DateStart": "2019-07-08 22:00", "DateEnd": "2019-07-07 22:00"}
    uuid = make_url("event")
    before = written(org)
    refused(call(uuid, body), 400, 4055)
    assert written(org) == before


def test_an_event_with_an_unknown_invitee_makes_no_event(
    make_url: MakeUrl, org: Organization
) -> None:
    body = {
        "Title": "t",
        "DateStart": "2019-07-08 22:00",
        "DateEnd": "2019-07-08 23:00",
        "Users": ["nobody@demo.de"],
    }
    uuid = make_url("event")
    before = written(org)
    refused(call(uuid, body), 404, 4061)
    assert written(org) == before


def test_an_event_whose_announcement_is_refused_makes_no_event(
    make_url: MakeUrl, org: Organization, general: Channel
) -> None:
    uuid = make_url("event")
    Channel.objects.filter(pk=general.pk).update(archived_at=timezone.now())
    body = {"Title": "t", "DateStart": "2019-07-08 22:00", "DateEnd": "2019-07-08 23:00"}
    before = written(org)
    refused(call(uuid, body), 403, 4036)
    assert written(org) == before


# --- file ------------------------------------------------------------------------------------


def test_a_file_is_a_file_message(make_url: MakeUrl, general: Channel) -> None:
    content = b"%PDF-1.4 report"
    upload = SimpleUploadedFile("report.pdf", content, content_type="application/pdf")
    ok(upload_call(make_url("file"), {"File": upload}))
    message = only_message(general)
    assert message.type == Message.Type.FILE and message.author.user_id == "stackfield"
    assert message.data == {
        "name": "report.pdf",
        "size": len(content),
        "contentType": "application/pdf",
    }
    stored = MessageFile.objects.get(message=message)
    with stored.file.open("rb") as handle:
        assert handle.read() == content
    history = IntegrationHistory.objects.get(step="incoming-posted")
    assert history.data == {"File": {"name": "report.pdf", "size": len(content)}}


def test_a_file_call_without_a_file_is_4041(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("file")
    before = written(org)
    refused(upload_call(uuid, {"Other": "x"}), 400, 4041)
    assert written(org) == before


def test_an_empty_file_is_4041(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("file")
    before = written(org)
    refused(upload_call(uuid, {"File": SimpleUploadedFile("e.txt", b"")}), 400, 4041)
    assert written(org) == before


def test_a_file_over_the_size_limit_is_4042(
    make_url: MakeUrl, org: Organization, settings: object
) -> None:
    settings.CHATADMIN = {  # type: ignore[attr-defined]
        **django_settings.CHATADMIN,
        "WEBHOOK_MIN_INTERVAL_SECONDS": 0,
        "MAX_FILE_BYTES": 100,
    }
    uuid = make_url("file")
    before = written(org)
    upload = SimpleUploadedFile("big.bin", b"x" * 101)
    refused(upload_call(uuid, {"File": upload}), 413, 4042)
    assert written(org) == before


def test_a_file_url_given_json_is_4045(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("file")
    before = written(org)
    refused(call(uuid, {"File": "C:\\Pictures\\MyImage.jpg"}), 415, 4045)
    assert written(org) == before


def test_a_file_field_that_is_text_is_4045(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("file")
    before = written(org)
    refused(upload_call(uuid, {"File": "not a file part"}), 415, 4045)
    assert written(org) == before


def test_two_files_in_one_call_are_refused(make_url: MakeUrl, org: Organization) -> None:
    files = [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.txt", b"b")]
    uuid = make_url("file")
    before = written(org)
    refused(upload_call(uuid, {"File": files}), 400, 4056)
    assert written(org) == before


def test_the_same_file_again_is_a_double_request(make_url: MakeUrl, general: Channel) -> None:
    uuid = make_url("file")
    ok(upload_call(uuid, {"File": SimpleUploadedFile("a.txt", b"same bytes")}))
    refused(upload_call(uuid, {"File": SimpleUploadedFile("a.txt", b"same bytes")}), 409, 4057)
    ok(upload_call(uuid, {"File": SimpleUploadedFile("a.txt", b"other bytes")}))
    assert Message.objects.filter(channel=general).count() == 2


def test_a_channel_of_another_organization_cannot_be_bound(
    org: Organization, other_org: Organization
) -> None:
    from apps.core.errors import DomainError
    from apps.integrations.services.stackfield import stackfield_url_create

    theirs = ChannelFactory(organization=other_org)
    with pytest.raises(DomainError) as exc:
        stackfield_url_create(
            organization=org, actor=Actor.system(), kind="chat-message", channel=theirs
        )
    assert exc.value.code == "channel_not_found"
    assert not Integration.objects.exists()
