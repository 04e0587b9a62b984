"""The chatroom services (apps/channels/services/chatrooms.py) and selectors
(apps/channels/selectors/chatrooms.py) of the chatroom service (/api/messenger/)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.selectors.chatrooms import (
    chatroom_assigned_ids,
    chatroom_for_event,
    chatroom_get,
    chatroom_member_of_account,
    chatrooms_assigned_to,
    chatrooms_of_organization,
)
from apps.channels.services import chatrooms
from apps.channels.services.channels import channel_users_ban
from apps.channels.services.chatrooms import (
    chatroom_avatar_set,
    chatroom_create_custom,
    chatroom_default_create,
    chatroom_default_remove,
    chatroom_delete,
    chatroom_update,
)
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.members.models import Member
from apps.messages.models import Message, MessageFile, Reaction
from apps.messages.services.messages import message_create
from apps.moderation.services import blacklist_records_add
from apps.retention.tasks import channel_scheduled_deletion_sweep
from tests.factories import AccountFactory, ChannelFactory, MemberFactory, MessageFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _png(size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, format="PNG", **save)
    return buffer.getvalue()


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), "blue")
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _assigned(channel: Channel) -> list[int]:
    return chatroom_assigned_ids(channels=[channel])[channel.pk]


def _code(call: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code, caught.value.field


@pytest.fixture
def alice(org: Any) -> Member:
    return MemberFactory(organization=org, user_id="alice")


@pytest.fixture
def bob(org: Any) -> Member:
    return MemberFactory(organization=org, user_id="bob")


@pytest.fixture
def room(org: Any, alice: Member) -> Channel:
    return chatroom_create_custom(organization=org, actor=SYSTEM, name="Team", members=[alice])


# --- create -------------------------------------------------------------------------------------


def test_create_custom_makes_a_custom_chatroom_with_members_and_creator(org, alice, bob):
    admin = MemberFactory(organization=org, user_id="boss", org_role=Member.OrgRole.ADMIN)
    room = chatroom_create_custom(
        organization=org, actor=SYSTEM, name="  Team  ", members=[alice, bob, alice], creator=admin
    )
    assert room.type == Channel.Type.CUSTOM
    assert room.display_name == "Team"
    assert room.channel_id.startswith("chatroom-") and len(room.channel_id) == 9 + 12
    assert _assigned(room) == sorted([alice.pk, bob.pk, admin.pk])
    assert room.member_count == 3
    entry = AuditEntry.objects.get(action="chatroom.create")
    assert (entry.target_type, entry.target_id) == ("chatroom", str(room.pk))
    assert entry.after["creator"] == admin.pk
    assert Event.objects.filter(type="channel.created").count() == 1
    assert Event.objects.filter(type="member.joined").count() == 1


@pytest.mark.parametrize(
    "name, code",
    [("", "missing_parameter"), ("   ", "missing_parameter"), ("x" * 256, "invalid_parameter")],
)
def test_create_custom_refuses_a_bad_name_and_writes_nothing(org, alice, name, code):
    assert _code(
        lambda: chatroom_create_custom(organization=org, actor=SYSTEM, name=name, members=[alice])
    ) == (code, "name")
    assert not Channel.objects.exists()


def test_create_custom_refuses_members_of_another_organization(org, other_org):
    stranger = MemberFactory(organization=other_org)
    assert _code(
        lambda: chatroom_create_custom(organization=org, actor=SYSTEM, name="x", members=[stranger])
    ) == ("invalid_parameter", "assignedUsers")
    assert not Channel.objects.exists()


def test_create_custom_refuses_too_many_members(org, monkeypatch):
    monkeypatch.setattr(chatrooms, "MAX_ASSIGNED_USERS", 2)
    people = [MemberFactory(organization=org) for _ in range(3)]
    assert _code(
        lambda: chatroom_create_custom(organization=org, actor=SYSTEM, name="x", members=people)
    ) == ("invalid_parameter", "assignedUsers")


# --- update -------------------------------------------------------------------------------------


def test_update_renames_and_replaces_the_assigned_users(org, room, alice, bob):
    carol = MemberFactory(organization=org)
    chatroom_update(channel=room, actor=SYSTEM, name="Renamed", members=[bob, carol])
    room.refresh_from_db()
    assert room.display_name == "Renamed"
    assert _assigned(room) == sorted([bob.pk, carol.pk])
    assert room.member_count == 2
    entry = AuditEntry.objects.get(action="chatroom.update")
    assert entry.before == {"name": "Team", "assignedUsers": [alice.pk]}
    assert entry.after == {"name": "Renamed", "assignedUsers": sorted([bob.pk, carol.pk])}
    assert Event.objects.filter(type="member.left").get().payload["userIds"] == ["alice"]
    assert Event.objects.filter(type="channel.updated").count() == 1


def test_update_with_nothing_given_changes_nothing(room, alice):
    chatroom_update(channel=room, actor=SYSTEM)
    room.refresh_from_db()
    assert (room.display_name, _assigned(room)) == ("Team", [alice.pk])


def test_update_with_an_empty_list_unassigns_everyone(room):
    chatroom_update(channel=room, actor=SYSTEM, members=[])
    room.refresh_from_db()
    assert (_assigned(room), room.member_count) == ([], 0)


def test_update_refuses_a_user_banned_from_the_chatroom(room, alice, bob):
    channel_users_ban(channel=room, actor=SYSTEM, user_ids=["bob"])
    assert _code(lambda: chatroom_update(channel=room, actor=SYSTEM, members=[bob])) == (
        "user_banned",
        "assignedUsers",
    )


@pytest.mark.parametrize("kind", [Channel.Type.DEFAULT, Channel.Type.EVENT, Channel.Type.STANDARD])
def test_only_custom_chatrooms_can_be_updated_deleted_or_get_an_avatar(org, kind):
    channel = ChannelFactory(organization=org, type=kind)
    for call in (
        lambda: chatroom_update(channel=channel, actor=SYSTEM, name="x"),
        lambda: chatroom_delete(channel=channel, actor=SYSTEM),
        lambda: chatroom_avatar_set(channel=channel, actor=SYSTEM, content=_png()),
    ):
        assert _code(call)[0] == "chatroom_not_custom"
    channel.refresh_from_db()
    assert channel.deleted_at is None and not channel.avatar


def test_update_of_a_deleted_chatroom_is_not_found(room):
    chatroom_delete(channel=room, actor=SYSTEM)
    assert _code(lambda: chatroom_update(channel=room, actor=SYSTEM, name="x"))[0] == (
        "chatroom_not_found"
    )


# --- delete and the sweep -----------------------------------------------------------------------


def test_delete_hides_at_once_and_schedules_the_purge_after_the_grace(org, room, alice):
    org.chatroom_deletion_grace_seconds = 3600
    org.save()
    room = chatroom_get(organization=org, room_id=room.pk)
    before = timezone.now()
    chatroom_delete(channel=room, actor=SYSTEM)
    room.refresh_from_db()
    assert room.deleted_at is not None
    assert before + timedelta(seconds=3600) <= room.scheduled_deletion_at
    assert room.scheduled_deletion_at <= timezone.now() + timedelta(seconds=3600)
    assert not Membership.objects.filter(channel=room, joined_at__isnull=False).exists()
    with pytest.raises(DomainError) as caught:
        chatroom_get(organization=org, room_id=room.pk)
    assert caught.value.code == "chatroom_not_found"
    assert list(chatrooms_of_organization(organization=org)) == []
    assert list(chatrooms_assigned_to(members=[alice])) == []
    assert AuditEntry.objects.filter(action="chatroom.delete", target_id=str(room.pk)).exists()
    assert Event.objects.filter(type="channel.deleted").count() == 1
    # not due yet: the sweep leaves it
    assert channel_scheduled_deletion_sweep() == 0
    assert Channel.objects.filter(pk=room.pk).exists()


def test_a_deleted_chatroom_is_purged_by_the_sweep_with_messages_reactions_and_files(
    org, room, alice, bob, django_capture_on_commit_callbacks
):
    keep = chatroom_create_custom(organization=org, actor=SYSTEM, name="Keep", members=[alice])
    message = MessageFactory(channel=room, author=alice)
    Reaction.objects.create(organization=org, message=message, member=bob, name="like")
    stored = MessageFile(
        message=message, variant="file", name="a.txt", content_type="text/plain", size=5
    )
    stored.file.save("a.txt", ContentFile(b"hello"), save=False)
    stored.save()
    kept = MessageFactory(channel=keep, author=alice)
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png())
    room.refresh_from_db()
    avatar_name = room.avatar.name
    assert default_storage.exists(stored.file.name) and default_storage.exists(avatar_name)

    with django_capture_on_commit_callbacks(execute=True):
        chatroom_delete(channel=room, actor=SYSTEM)  # grace 0: due at once
    assert not default_storage.exists(avatar_name)  # the avatar goes with the delete

    assert channel_scheduled_deletion_sweep() == 1
    assert not Channel.objects.filter(pk=room.pk).exists()
    assert not Message.objects.filter(channel_id=room.pk).exists()
    assert not Reaction.objects.exists()
    assert not MessageFile.objects.exists()
    assert not default_storage.exists(stored.file.name)
    assert Message.objects.filter(pk=kept.pk).exists()
    entry = AuditEntry.objects.get(action="channel.delete.scheduled")
    assert (entry.after["messages"], entry.after["reactions"], entry.after["files"]) == (1, 1, 1)
    assert channel_scheduled_deletion_sweep() == 0


def test_a_rolled_back_delete_keeps_the_avatar_and_its_file(
    room: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png())
    room.refresh_from_db()
    name = room.avatar.name
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        chatroom_delete(channel=room, actor=SYSTEM)
        raise RuntimeError("a later step of the request failed")
    assert callbacks == []
    room.refresh_from_db()
    assert room.deleted_at is None and room.avatar.name == name
    assert default_storage.exists(name)


def test_an_avatar_file_the_delete_could_not_remove_goes_with_the_purge(
    room: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png())
    room.refresh_from_db()
    name = room.avatar.name
    storage = Channel._meta.get_field("avatar").storage

    with (
        mock.patch.object(storage, "delete", side_effect=OSError("storage unavailable")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        chatroom_delete(channel=room, actor=SYSTEM)  # committed; the failure is logged
    room.refresh_from_db()
    assert room.deleted_at is not None
    assert room.avatar.name == name and default_storage.exists(name)  # still named: not lost

    assert channel_scheduled_deletion_sweep() == 1  # grace 0: due at once

    assert not Channel.objects.filter(pk=room.pk).exists()
    assert not default_storage.exists(name)


def test_messages_cannot_be_posted_in_a_deleted_chatroom(org, room, alice):
    chatroom_delete(channel=room, actor=SYSTEM)
    with pytest.raises(DomainError) as caught:
        message_create(
            organization=org,
            actor=SYSTEM,
            channel=Channel.objects.get(pk=room.pk),
            type="text",
            data={"text": "hi"},
            author=alice,
        )
    assert caught.value.code == "channel_not_found"


# --- default chatroom ---------------------------------------------------------------------------


def test_default_create_assigns_every_admin_and_member_but_not_guests(org, alice):
    admin = MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN)
    MemberFactory(organization=org, org_role=Member.OrgRole.GUEST)
    MemberFactory(organization=org, org_role=Member.OrgRole.EXTERNAL)
    room = chatroom_default_create(organization=org, actor=SYSTEM)
    assert (room.type, room.display_name) == (Channel.Type.DEFAULT, "General")
    assert _assigned(room) == sorted([alice.pk, admin.pk])
    assert AuditEntry.objects.filter(action="chatroom.default.create").exists()


def test_a_second_default_chatroom_is_a_409(org):
    chatroom_default_create(organization=org, actor=SYSTEM)
    assert _code(lambda: chatroom_default_create(organization=org, actor=SYSTEM))[0] == (
        "default_chatroom_exists"
    )
    assert Channel.objects.filter(type="default").count() == 1


def test_the_database_refuses_a_second_live_default_chatroom(org):
    chatroom_default_create(organization=org, actor=SYSTEM)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelFactory(organization=org, type=Channel.Type.DEFAULT)


def test_a_racing_default_create_is_a_409_not_a_500(org, monkeypatch):
    """The check passed (another request had not committed yet); the partial unique
    constraint then refuses the insert, inside a savepoint."""
    chatroom_default_create(organization=org, actor=SYSTEM)
    monkeypatch.setattr(chatrooms, "chatroom_default", lambda **kw: None)
    with transaction.atomic():
        assert _code(lambda: chatroom_default_create(organization=org, actor=SYSTEM))[0] == (
            "default_chatroom_exists"
        )
        assert Channel.objects.filter(type="default").count() == 1  # transaction usable


def test_default_remove_hides_it_and_allows_a_new_one(org):
    first = chatroom_default_create(organization=org, actor=SYSTEM)
    chatroom_default_remove(organization=org, actor=SYSTEM)
    first.refresh_from_db()
    assert first.deleted_at is not None and first.scheduled_deletion_at is not None
    assert AuditEntry.objects.filter(action="chatroom.default.remove").exists()
    second = chatroom_default_create(organization=org, actor=SYSTEM)
    assert second.pk != first.pk


def test_default_remove_without_one_is_404(org, other_org):
    chatroom_default_create(organization=other_org, actor=SYSTEM)
    assert _code(lambda: chatroom_default_remove(organization=org, actor=SYSTEM))[0] == (
        "chatroom_not_found"
    )


# --- avatar -------------------------------------------------------------------------------------


def test_avatar_is_stored_re_encoded_and_replacing_it_deletes_the_old_file(
    room, django_capture_on_commit_callbacks
):
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png(), content_type="image/png")
    room.refresh_from_db()
    first = room.avatar.name
    assert first.startswith(f"orgs/{room.organization_id}/avatars/{room.pk}-")
    assert first.endswith(".jpg")  # no transparency: JPEG
    with default_storage.open(first) as f:
        assert Image.open(f).size == (64, 48)
    with django_capture_on_commit_callbacks(execute=True):
        chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png(mode="RGBA"))
    room.refresh_from_db()
    assert room.avatar.name.endswith(".png") and room.avatar.name != first
    assert not default_storage.exists(first)
    actions = list(
        AuditEntry.objects.filter(target_type="chatroom").values_list("action", flat=True)
    )
    assert actions.count("chatroom.avatar") == 2


def test_a_large_avatar_is_scaled_down(room):
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png(size=(2000, 1000)))
    room.refresh_from_db()
    with default_storage.open(room.avatar.name) as f:
        assert max(Image.open(f).size) == 480


def test_avatar_metadata_is_stripped(room):
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_jpeg_with_exif())
    room.refresh_from_db()
    with default_storage.open(room.avatar.name) as f:
        data = f.read()
    assert b"SecretCamera" not in data


@pytest.mark.parametrize("content", [None, b""])
def test_an_empty_avatar_removes_it_and_its_file(room, content, django_capture_on_commit_callbacks):
    chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png())
    room.refresh_from_db()
    name = room.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        chatroom_avatar_set(channel=room, actor=SYSTEM, content=content)
    room.refresh_from_db()
    assert not room.avatar
    assert not default_storage.exists(name)
    assert AuditEntry.objects.filter(action="chatroom.avatar.remove").exists()


@pytest.mark.parametrize(
    "content",
    [b"not an image", b"%PDF-1.4 hello", _png()[:40], b"GIF89a" + b"\x00" * 20],
    ids=["text", "pdf", "truncated-png", "broken-gif"],
)
def test_anything_but_an_image_is_invalid_avatar_and_stores_nothing(room, content):
    assert _code(lambda: chatroom_avatar_set(channel=room, actor=SYSTEM, content=content)) == (
        "invalid_avatar",
        "avatar",
    )
    room.refresh_from_db()
    assert not room.avatar


def test_too_many_pixels_is_invalid_avatar(room, settings):
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_IMAGE_PIXELS": 100}
    assert _code(lambda: chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png()))[0] == (
        "invalid_avatar"
    )


def test_too_large_an_avatar_is_413(room, settings):
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_AVATAR_BYTES": 100}
    assert _code(lambda: chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png()))[0] == (
        "payload_too_large"
    )


def test_a_failed_avatar_write_leaves_no_file(room, monkeypatch, tmp_path):
    def boom(**kwargs: Any) -> None:
        raise RuntimeError("audit down")

    monkeypatch.setattr(chatrooms, "audit_record", boom)
    with pytest.raises(RuntimeError):
        chatroom_avatar_set(channel=room, actor=SYSTEM, content=_png())
    room.refresh_from_db()
    assert not room.avatar
    folder = f"orgs/{room.organization_id}/avatars"
    assert not default_storage.exists(folder) or default_storage.listdir(folder)[1] == []


# --- selectors ----------------------------------------------------------------------------------


def test_chatroom_get_scopes_to_the_organization_and_hides_standard_channels(org, other_org, room):
    assert chatroom_get(organization=org, room_id=room.pk) == room
    standard = ChannelFactory(organization=org)
    for organization, room_id in [(other_org, room.pk), (org, standard.pk), (org, 999_999)]:
        with pytest.raises(DomainError) as caught:
            chatroom_get(organization=organization, room_id=room_id)
        assert caught.value.code == "chatroom_not_found"
    # a personal token that names no organization reaches it through its Member there
    insider = MemberFactory(organization=org, account=AccountFactory())
    outsider = MemberFactory(organization=other_org, account=AccountFactory())
    assert chatroom_member_of_account(account=insider.account, room_id=room.pk) == insider
    assert chatroom_member_of_account(account=outsider.account, room_id=room.pk) is None


def test_chatroom_get_shows_a_member_only_the_chatrooms_it_is_assigned_to(org, room, alice, bob):
    admin = MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN)
    assert chatroom_get(organization=org, room_id=room.pk, member=alice) == room
    assert chatroom_get(organization=org, room_id=room.pk, member=admin) == room
    assert _code(lambda: chatroom_get(organization=org, room_id=room.pk, member=bob)) == (
        "chatroom_not_found",
        "roomID",
    )
    assert list(chatrooms_of_organization(organization=org, member=bob)) == []
    assert list(chatrooms_of_organization(organization=org, member=alice)) == [room]


def test_chatroom_get_hides_due_and_closed_chatrooms(org, room):
    Channel.objects.filter(pk=room.pk).update(scheduled_deletion_at=timezone.now())
    with pytest.raises(DomainError):
        chatroom_get(organization=org, room_id=room.pk)
    Channel.objects.filter(pk=room.pk).update(scheduled_deletion_at=None, closed_at=timezone.now())
    with pytest.raises(DomainError):
        chatroom_get(organization=org, room_id=room.pk)


def test_chatroom_for_event_is_scoped(org, other_org):
    from apps.calendar_events.services import calendar_event_create

    now = timezone.now()
    event = calendar_event_create(
        organization=org, actor=SYSTEM, title="t", starts_at=now, ends_at=now, participants=[]
    )
    assert chatroom_for_event(organization=org, event_id=event.pk).calendar_event_id == event.pk
    with pytest.raises(DomainError) as caught:
        chatroom_for_event(organization=other_org, event_id=event.pk)
    assert (caught.value.code, caught.value.field) == ("chatroom_not_found", "event_id")


def test_chatrooms_assigned_to_spans_organizations(org, other_org, alice):
    account = AccountFactory()
    mine_here = MemberFactory(organization=org, account=account)
    mine_there = MemberFactory(organization=other_org, account=account)
    a = chatroom_create_custom(organization=org, actor=SYSTEM, name="a", members=[mine_here])
    b = chatroom_create_custom(organization=other_org, actor=SYSTEM, name="b", members=[mine_there])
    chatroom_create_custom(organization=org, actor=SYSTEM, name="c", members=[alice])
    assert list(chatrooms_assigned_to(members=[mine_here, mine_there])) == [a, b]


def test_chatroom_assigned_ids_is_one_query_for_any_number_of_chatrooms(org, alice, bob):
    rooms = [
        chatroom_create_custom(organization=org, actor=SYSTEM, name=f"r{i}", members=[alice, bob])
        for i in range(5)
    ]
    with CaptureQueriesContext(connection) as one:
        chatroom_assigned_ids(channels=rooms[:1])
    with CaptureQueriesContext(connection) as five:
        result = chatroom_assigned_ids(channels=rooms)
    # one SELECT of the memberships, whatever the number of chatrooms
    assert len(one) == len(five) == 1
    assert result == {r.pk: sorted([alice.pk, bob.pk]) for r in rooms}


def test_chatrooms_of_organization_lists_only_live_chatrooms_by_id(org, other_org, room):
    ChannelFactory(organization=org)  # standard
    default = chatroom_default_create(organization=org, actor=SYSTEM)
    chatroom_create_custom(organization=other_org, actor=SYSTEM, name="x", members=[])
    gone = chatroom_create_custom(organization=org, actor=SYSTEM, name="gone", members=[])
    chatroom_delete(channel=gone, actor=SYSTEM)
    assert list(chatrooms_of_organization(organization=org)) == [room, default]


# --- messages with an author --------------------------------------------------------------------


def test_message_create_with_an_author_posts_as_that_member(org, room, alice):
    message = message_create(
        organization=org,
        actor=SYSTEM,
        channel=room,
        type="text",
        data={"text": "hello"},
        author=alice,
    )
    assert message.author_id == alice.pk


def test_message_create_with_an_author_applies_the_posting_rules_and_the_blacklist(
    org, room, alice, bob
):
    def post(author: Member, text: str = "hello") -> Any:
        return lambda: message_create(
            organization=org,
            actor=SYSTEM,
            channel=room,
            type="text",
            data={"text": text},
            author=author,
        )

    assert _code(post(bob))[0] == "not_a_member"
    blacklist_records_add(organization=org, actor=SYSTEM, patterns=["badword"])
    assert _code(post(alice, "a badword here"))[0] == "blacklisted_content"


def test_message_create_refuses_an_author_of_another_organization(org, other_org, room):
    stranger = MemberFactory(organization=other_org)
    assert (
        _code(
            lambda: message_create(
                organization=org,
                actor=SYSTEM,
                channel=room,
                type="text",
                data={"text": "x"},
                author=stranger,
            )
        )[0]
        == "forbidden"
    )
