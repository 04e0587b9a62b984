"""The organization's content-filter policy (block, flag, mask), end to end through
POST /api/v2/message and /api/v2/messages/images, and on edited text
(``message_text_update``)."""

from __future__ import annotations

import pytest

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_text_update
from apps.moderation.filter.policy import filter_message_texts
from apps.organizations.models import Organization
from apps.reports.models import Report
from tests.builders import photo_bytes as image_bytes
from tests.builders import upload
from tests.factories import ChannelFactory, MemberFactory, MessageFactory

from .helpers import blacklist, whitelist

CREATE = "/api/v2/message"
IMAGES = "/api/v2/messages/images"


@pytest.fixture
def channel(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


def set_policy(org: Organization, policy: str) -> None:
    Organization.objects.filter(pk=org.pk).update(filter_policy=policy)
    org.refresh_from_db()


def post(api, text: str):
    body = {"channelId": "general", "type": "text", "data": {"text": text}}
    return api.post(CREATE, body, format="json")


# --- block (the default) -------------------------------------------------------------------


def test_block_refuses_the_message_and_names_the_record(api, org, channel) -> None:
    blacklist(org, "bad", exact=True)

    response = post(api, "so BAD!")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "blacklisted_content"
    assert body["field"] == "data.text"
    assert "(record “bad”)" in body["message"]
    assert not Message.objects.exists()
    assert not Report.objects.exists()


def test_block_lets_clean_text_through(api, org, channel) -> None:
    blacklist(org, "bad", exact=True)

    response = post(api, "a badge is fine")

    assert response.status_code == 201
    assert response.json()["message"]["data"]["text"] == "a badge is fine"


# --- flag ------------------------------------------------------------------------------------


def test_flag_stores_the_message_and_opens_a_system_report(api, org, channel) -> None:
    set_policy(org, "flag")
    blacklist(org, "bad", exact=True)

    response = post(api, "so BAD!")

    assert response.status_code == 201, response.json()
    message = Message.objects.get()
    assert message.data["text"] == "so BAD!"  # unchanged
    report = Report.objects.get()
    assert report.target_message == message
    assert report.target_member == message.author
    assert report.reporter is None
    assert report.state == Report.State.OPEN
    assert report.reason == "Blacklisted content: bad"
    entry = AuditEntry.objects.get(action="report.create")
    assert entry.actor_label == "system"
    assert entry.target_id == str(message.public_id)


def test_flag_opens_no_report_for_clean_text(api, org, channel) -> None:
    set_policy(org, "flag")
    blacklist(org, "bad", exact=True)

    assert post(api, "all good").status_code == 201
    assert not Report.objects.exists()


def test_flag_on_an_image_caption(api, org, channel) -> None:
    set_policy(org, "flag")
    blacklist(org, "bad")
    body = {"channelId": "general", "file": upload(image_bytes((40, 20))), "caption": "bad cat"}

    response = api.post(IMAGES, body, format="multipart")

    assert response.status_code == 201, response.json()
    message = Message.objects.get()
    assert message.data["caption"] == "bad cat"
    assert Report.objects.get().target_message == message


# --- mask ------------------------------------------------------------------------------------


def test_mask_stores_the_text_with_the_matches_replaced(api, org, channel) -> None:
    set_policy(org, "mask")
    blacklist(org, "bad", exact=True)
    blacklist(org, "straße")

    response = post(api, "BAD news from the STRASSE, not a badge")

    assert response.status_code == 201, response.json()
    expected = "*** news from the ***, not a badge"
    assert response.json()["message"]["data"]["text"] == expected
    assert Message.objects.get().data["text"] == expected
    assert not Report.objects.exists()


def test_mask_on_an_image_caption(api, org, channel) -> None:
    set_policy(org, "mask")
    blacklist(org, "bad", exact=True)
    body = {"channelId": "general", "file": upload(image_bytes((40, 20))), "caption": "a bad cat"}

    response = api.post(IMAGES, body, format="multipart")

    assert response.status_code == 201, response.json()
    assert Message.objects.get().data["caption"] == "a *** cat"


@pytest.mark.parametrize("policy", ["block", "flag", "mask"])
def test_a_url_off_the_whitelist_is_refused_under_every_policy(api, org, channel, policy) -> None:
    set_policy(org, policy)
    whitelist(org, "example.com")
    blacklist(org, "bad")

    response = post(api, "bad link: https://evil.test/x")

    assert response.status_code == 400
    code = "blacklisted_content" if policy == "block" else "url_not_whitelisted"
    assert response.json()["code"] == code
    assert not Message.objects.exists()
    assert not Report.objects.exists()


def test_filter_message_texts_reports_hits_per_field(org: Organization) -> None:
    set_policy(org, "mask")
    blacklist(org, "bad", exact=True)

    outcome = filter_message_texts(organization=org, texts={"a": "bad", "b": "fine", "c": ""})

    assert outcome.texts == {"a": "***", "b": "fine", "c": ""}
    assert outcome.hits == {"a": "bad"}
    assert outcome.flag_reason is None


# --- edited text -----------------------------------------------------------------------------


@pytest.fixture
def author(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="alice")


@pytest.fixture
def message(channel: Channel, author: Member) -> Message:
    return MessageFactory(channel=channel, author=author, type="text", data={"text": "hello"})


@pytest.fixture
def actor() -> Actor:
    return Actor.system()


def test_an_edit_is_audited_and_sets_edited_at(org, message, actor) -> None:
    updated = message_text_update(organization=org, actor=actor, message=message, text="hi")

    assert updated.data["text"] == "hi"
    assert updated.edited_at is not None
    message.refresh_from_db()
    assert message.data["text"] == "hi"
    entry = AuditEntry.objects.get(action="message.edit")
    assert entry.target_id == str(message.public_id)
    assert entry.before == {"text": "hello"}


def test_an_edit_is_blocked_like_a_new_message(org, message, actor) -> None:
    blacklist(org, "bad", exact=True)

    with pytest.raises(DomainError) as caught:
        message_text_update(organization=org, actor=actor, message=message, text="so bad")

    assert caught.value.code == "blacklisted_content"
    assert caught.value.field == "text"
    message.refresh_from_db()
    assert message.data["text"] == "hello"
    assert message.edited_at is None
    assert not AuditEntry.objects.filter(action="message.edit").exists()


def test_an_edit_is_masked_under_the_mask_policy(org, message, actor) -> None:
    set_policy(org, "mask")
    blacklist(org, "bad", exact=True)

    message_text_update(organization=org, actor=actor, message=message, text="so bad!")

    message.refresh_from_db()
    assert message.data["text"] == "so ***!"


def test_an_edit_is_flagged_under_the_flag_policy(org, message, actor) -> None:
    set_policy(org, "flag")
    blacklist(org, "bad", exact=True)

    message_text_update(organization=org, actor=actor, message=message, text="so bad!")
    message_text_update(organization=org, actor=actor, message=message, text="bad again")

    message.refresh_from_db()
    assert message.data["text"] == "bad again"
    report = Report.objects.get()  # one open system report per message
    assert report.target_message == message
    assert report.reporter is None


def test_an_edit_of_a_caption_and_of_a_file_message(org, channel, author, actor) -> None:
    blacklist(org, "bad", exact=True)
    image = MessageFactory(channel=channel, author=author, type="image", data={"caption": ""})
    message_text_update(organization=org, actor=actor, message=image, text="a cat")
    image.refresh_from_db()
    assert image.data["caption"] == "a cat"
    with pytest.raises(DomainError) as caught:
        message_text_update(organization=org, actor=actor, message=image, text="bad cat")
    assert caught.value.code == "blacklisted_content"

    file = MessageFactory(channel=channel, author=author, type="file", data={"name": "x"})
    with pytest.raises(DomainError) as caught:
        message_text_update(organization=org, actor=actor, message=file, text="hi")
    assert caught.value.code == "invalid_parameter"


def test_an_edit_of_a_deleted_message_is_not_found(org, message, actor) -> None:
    from django.utils import timezone

    Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now())

    with pytest.raises(DomainError) as caught:
        message_text_update(organization=org, actor=actor, message=message, text="hi")

    assert caught.value.code == "message_not_found"


def test_an_edit_of_another_organizations_message_is_not_found(other_org, message, actor) -> None:
    with pytest.raises(DomainError) as caught:
        message_text_update(organization=other_org, actor=actor, message=message, text="hi")

    assert caught.value.code == "message_not_found"
    message.refresh_from_db()
    assert message.data["text"] == "hello"
