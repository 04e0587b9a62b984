"""The chatroom list renders from values (``chatroom_page_values`` ->
``render_chatroom_values``), one statement per page; ``ChatroomSerializer`` stays the
contract: the two must give byte-identical JSON for chatrooms with every field set."""

from __future__ import annotations

from datetime import timedelta

from django.test import RequestFactory
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.audit.actor import Actor
from apps.calendar_events.services import calendar_event_create
from apps.channels.models import Channel, Membership
from apps.channels.selectors.chatrooms import (
    chatroom_assigned_ids,
    chatroom_page_values,
    chatrooms_of_organization,
    chatrooms_of_organization_q,
)
from apps.channels.services.chatrooms import chatroom_default_create
from apps.members.models import Member
from apps.messenger.api.serializers import ChatroomSerializer, render_chatroom_values
from apps.organizations.models import Organization
from tests.builders import make_chatroom
from tests.personas import BASE, make_member


def _every_kind_of_chatroom(org: Organization) -> None:
    """Four chatrooms: custom (one empty; one with assigned users, an avatar, a
    scheduled deletion to come, a member who left), default and event."""
    ann, bob, cid = (make_member(org, Member.OrgRole.MEMBER) for _ in range(3))
    make_chatroom(org, "Empty")
    with_avatar = make_chatroom(org, "Ävatar ✓", [cid, ann, bob])
    Channel.objects.filter(pk=with_avatar.pk).update(
        avatar=f"orgs/{org.pk}/avatars/{with_avatar.pk}-a b.png",
        updated_at=timezone.now() - timedelta(days=3, microseconds=417),
        scheduled_deletion_at=timezone.now() + timedelta(days=9, microseconds=123457),
    )
    Membership.objects.filter(channel=with_avatar, member=bob).update(joined_at=None)
    chatroom_default_create(organization=org, actor=Actor.system())
    calendar_event_create(
        organization=org,
        actor=Actor.system(),
        title="Kickoff",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2, microseconds=5),
        participants=[ann],
    )


def test_values_render_byte_identical_to_the_serializer(org) -> None:
    _every_kind_of_chatroom(org)
    request = RequestFactory().get(f"{BASE}/chatrooms")
    channels = list(chatrooms_of_organization(organization=org))
    context = {"assigned": chatroom_assigned_ids(channels=channels), "request": request}
    expected = ChatroomSerializer(channels, many=True, context=context).data

    rows, total = chatroom_page_values(where=chatrooms_of_organization_q(organization=org))
    rendered = [render_chatroom_values(row, request) for row in rows]

    assert total == len(channels) == 4
    assert {c.type for c in channels} == {"custom", "default", "event"}
    assert any(e["avatarURL"] for e in expected) and any(e["eventID"] for e in expected)
    assert any(e["scheduledDeletion"] for e in expected)
    assert JSONRenderer().render(rendered) == JSONRenderer().render(expected)


def test_the_list_answers_what_the_serializer_renders(org, api_token) -> None:
    _every_kind_of_chatroom(org)
    response = api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}&limit=3&offset=1")

    channels = list(chatrooms_of_organization(organization=org))[1:4]
    request = response.wsgi_request
    context = {"assigned": chatroom_assigned_ids(channels=channels), "request": request}
    expected = ChatroomSerializer(channels, many=True, context=context).data
    assert response.content == JSONRenderer().render({"entries": expected, "total": 4})


def test_a_page_counts_all_chatrooms_and_past_the_end_still_counts_them(org) -> None:
    _every_kind_of_chatroom(org)
    where = chatrooms_of_organization_q(organization=org)

    assert [len(chatroom_page_values(where=where, offset=o, limit=2)[0]) for o in (0, 3)] == [2, 1]
    assert chatroom_page_values(where=where, offset=3, limit=2)[1] == 4
    assert chatroom_page_values(where=where, offset=4, limit=2) == ([], 4)
    assert chatroom_page_values(where=where, offset=0, limit=50)[1] == 4


def test_an_organization_without_chatrooms_lists_none(org) -> None:
    where = chatrooms_of_organization_q(organization=org)

    assert chatroom_page_values(where=where, offset=0, limit=10) == ([], 0)
    assert chatroom_page_values(where=where) == ([], 0)
