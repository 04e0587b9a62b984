"""Scenes of the messaging API's message tests: channels made through the services (the
visibility and the archive set as plain rows where said), messages posted through the
API, and the routes' URLs."""

from __future__ import annotations

from typing import Any

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_create
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from tests.personas import MessagingClient

SYSTEM = Actor.system()
BASE = "/api/messaging"


def make_channel(
    organization: Any,
    *members: Member,
    channel_id: str = "general",
    visibility: str = Channel.Visibility.PUBLIC,
    owner: Member | None = None,
) -> Channel:
    """A channel with ``members`` joined (through the v2 service); its visibility is set
    as a plain row (v2 makes private channels), and so is ``owner``'s ownership."""
    channel = channel_create(
        organization=organization,
        actor=SYSTEM,
        channel_id=channel_id,
        user_ids=[m.user_id for m in members],
    )
    Channel.objects.filter(pk=channel.pk).update(visibility=visibility)
    if owner is not None:
        Membership.objects.filter(channel=channel, member=owner).update(is_owner=True)
    channel.refresh_from_db()
    return channel


def archive(channel: Channel) -> None:
    """Archived as a plain row (the state route is the channels area's)."""
    from django.utils import timezone

    Channel.objects.filter(pk=channel.pk).update(archived_at=timezone.now())


def posted(channel: Channel, author: Member, text: str = "hello", parent: Message | None = None):
    """A text message by ``author``, through the service every surface uses."""
    return message_create(
        organization=channel.organization,
        actor=Actor.for_member(author),
        channel=channel,
        type=Message.Type.TEXT,
        data={"text": text},
        parent_id=str(parent.public_id) if parent is not None else None,
        author=author,
    )


def messages_url(channel: Channel | int) -> str:
    pk = channel.pk if isinstance(channel, Channel) else channel
    return f"{BASE}/channels/{pk}/messages/"


def message_url(channel: Channel | int, message: Message | int, tail: str = "") -> str:
    cpk = channel.pk if isinstance(channel, Channel) else channel
    mpk = message.pk if isinstance(message, Message) else message
    return f"{BASE}/channels/{cpk}/messages/{mpk}{tail}"


def mark_url(channel: Channel | int) -> str:
    pk = channel.pk if isinstance(channel, Channel) else channel
    return f"{BASE}/channels/{pk}/messages/mark-as-read"


def attach_url(channel: Channel | int) -> str:
    pk = channel.pk if isinstance(channel, Channel) else channel
    return f"{BASE}/channels/{pk}/attach"


def post(client: MessagingClient, channel: Channel | int, text: Any = "hello") -> Any:
    return client.post(messages_url(channel), {"message": text}, format="json")


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def unread(channel: Channel, member: Member) -> int:
    """The member's unread count as data: message_count - read_count."""
    channel.refresh_from_db()
    row = Membership.objects.get(channel=channel, member=member)
    return max(channel.message_count - row.read_count, 0)


def live_unread(channel: Channel, member: Member) -> int:
    """The same counted from the rows (what the data must always equal)."""
    row = Membership.objects.get(channel=channel, member=member)
    live = Message.objects.filter(channel=channel, deleted_at__isnull=True)
    if row.last_read_message_pk is None:
        return live.count()
    return live.filter(pk__gt=row.last_read_message_pk).count()
