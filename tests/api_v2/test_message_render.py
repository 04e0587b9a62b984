"""The v2 message reads render from values (``with_render_values`` ->
``render_message_values``), one statement per page; ``MessageSerializer`` stays the
contract: the two must give byte-identical JSON for messages with every field set."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.api_v2.messages.serializers import MessageSerializer, render_message_values
from apps.channels.models import Channel
from apps.messages.models import Message, MessageFile, Reaction
from apps.messages.selectors.messages import (
    message_reaction_counts,
    message_visible,
    with_details,
    with_render_values,
)
from apps.organizations.models import Organization
from apps.reports.models import Report
from tests.builders import tag
from tests.factories import ChannelFactory, MemberFactory, MessageFactory

#: Reaction names whose orders differ between collations and code points.
REACTIONS = {"Zeta": 1, "alpha": 3, "+1": 2, "éclair": 1, "Ärger": 2, "_x": 1}


def _react(message: Message, counts: dict[str, int]) -> None:
    for name, count in counts.items():
        for _ in range(count):
            Reaction.objects.create(
                organization=message.organization,
                message=message,
                member=MemberFactory(organization=message.organization),
                name=name,
            )


def _report(message: Message, state: str = Report.State.OPEN) -> None:
    Report.objects.create(
        organization=message.organization,
        reporter=MemberFactory(organization=message.organization),
        target_member=message.author,
        target_message=message,
        reason="spam",
        state=state,
    )


def _file(message: Message, variant: str, name: str, content_type: str) -> None:
    MessageFile.objects.create(
        message=message,
        variant=variant,
        file=f"messages/{message.public_id}/{name}",
        name=name,
        content_type=content_type,
        size=123,
        width=64 if variant != MessageFile.Variant.FILE else None,
        height=64 if variant != MessageFile.Variant.FILE else None,
    )


@pytest.fixture
def messages(org: Organization) -> list[Message]:
    """Messages with every field a v2 message renders set, and some unset."""
    channel = ChannelFactory(organization=org, channel_id="render-ü")
    now = timezone.now()
    parent = MessageFactory(channel=channel, data={"text": "parent", "n": [1, 2.5, None]})
    full = MessageFactory(
        channel=channel,
        parent=parent,
        data={"text": 'tags "quoted" \\ and ünïcode ✓', "extra": {"a": True}},
        edited_at=now - timedelta(seconds=5, microseconds=123456),
        hidden_at=now,
    )
    tag(full, "zulu", "alpha", "Mike")  # in the order they were added, not sorted
    _react(full, REACTIONS)
    _report(full)
    _report(full)
    _report(full, Report.State.DISMISSED)
    image = MessageFactory(
        channel=channel, type=Message.Type.IMAGE, data={"caption": "a picture", "width": 64}
    )
    _file(image, MessageFile.Variant.SMALL, "a.png", "image/png")
    _file(image, MessageFile.Variant.FULL, "a.png", "image/png")
    file = MessageFactory(channel=channel, type=Message.Type.FILE, data={"name": "r.pdf"})
    _file(file, MessageFile.Variant.FILE, "r.pdf", "application/pdf")
    _react(file, {"+1": 1})
    deleted = MessageFactory(channel=channel, parent=parent, deleted_at=now)
    tag(deleted, "gone")
    orphan = MessageFactory(channel=channel, author=None, type=Message.Type.CUSTOM, data={})
    Message.objects.filter(pk=parent.pk).update(children_count=2)
    return [parent, full, image, file, deleted, orphan]


def _serializer_data(queryset: Any) -> Any:
    models = list(with_details(queryset).order_by("pk"))
    reactions = message_reaction_counts(message_ids=[m.pk for m in models])
    return MessageSerializer(models, many=True, context={"reactions": reactions}).data


def _serialized(queryset: Any) -> bytes:
    return JSONRenderer().render(_serializer_data(queryset))


def _rendered(queryset: Any) -> bytes:
    rows = with_render_values(queryset).order_by("pk")
    return JSONRenderer().render([render_message_values(row) for row in rows])


def test_values_render_byte_identical_json_to_the_serializer(
    org: Organization, messages: list[Message]
) -> None:
    queryset = message_visible(organization=org)

    rendered = _rendered(queryset)

    assert rendered == _serialized(queryset)
    assert len(messages) == 6  # every field set somewhere: checked below
    by_id = {m["messageId"]: m for m in json.loads(rendered)}
    full = by_id[str(messages[1].public_id)]
    assert full["tags"] == ["zulu", "alpha", "Mike"]
    assert full["parentId"] == str(messages[0].public_id)
    assert full["flagCount"] == 2
    assert sorted(full["reactions"].items()) == sorted(REACTIONS.items())
    assert full["reactionsCount"] == sum(REACTIONS.values())
    assert full["isHidden"] is True and full["editedAt"] is not None
    deleted = by_id[str(messages[4].public_id)]
    assert deleted["isDeleted"] is True and deleted["data"] == {}
    assert deleted["tags"] == ["gone"]
    assert by_id[str(messages[5].public_id)]["userId"] is None
    assert by_id[str(messages[0].public_id)]["childrenNumber"] == 2


def test_a_message_without_tags_reactions_or_reports_renders_empty_ones(
    org: Organization,
) -> None:
    MessageFactory(channel=ChannelFactory(organization=org))

    (row,) = with_render_values(message_visible(organization=org))

    assert (row["tag_names"], row["reaction_counts"], row["flag_count"]) == ([], {}, 0)
    assert render_message_values(row)["reactionsCount"] == 0


def test_a_page_of_rendered_values_is_one_statement_however_many_messages(
    org: Organization, messages: list[Message]
) -> None:
    channel: Channel = messages[0].channel

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = list(with_render_values(Message.objects.filter(channel=channel)))
        assert rows
        return len(captured)

    few = count()
    for m in (MessageFactory(channel=channel) for _ in range(10)):
        tag(m, "t1", "t2")
        _react(m, {"x": 1, "y": 2})

    assert few == count() == 1


def test_the_detail_answers_what_the_serializer_renders(
    api: Any, org: Organization, messages: list[Message]
) -> None:
    for message in messages:
        queryset = message_visible(organization=org).filter(pk=message.pk)

        response = api.get(f"/api/v2/message/{message.public_id}")

        assert response.status_code == 200
        (expected,) = _serializer_data(queryset)
        assert response.content == JSONRenderer().render({"message": expected})
