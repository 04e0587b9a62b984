"""apps.core.compiled: a statement compiled once, run with typed parameters."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.compiled import CompiledRead
from apps.messages.models import Message

from ..factories import ChannelFactory, MessageFactory

pytestmark = pytest.mark.django_db

_FIELD = Message._meta.get_field


def _read() -> CompiledRead:
    return CompiledRead(
        lambda organization, public_id, after: (
            Message.objects.filter(
                organization=organization, public_id=public_id, created_at__gt=after
            )
            .order_by()
            .values("pk", "data", channel_key=F("channel__channel_id"))[:1]
        ),
        organization=_FIELD("organization"),
        public_id=_FIELD("public_id"),
        after=_FIELD("created_at"),
    )


def test_a_compiled_read_finds_by_int_uuid_and_datetime_parameters_as_the_orm_does() -> None:
    message = MessageFactory(data={"text": "hello"})
    read = _read()
    earlier = message.created_at - timedelta(seconds=1)
    row = read.first_dict(
        organization=message.organization_id, public_id=message.public_id, after=earlier
    )
    assert row == {
        "pk": message.pk,
        "data": {"text": "hello"},
        "channel_key": message.channel.channel_id,
    }
    # the same statement with other values: nothing (another organization, another id,
    # a time after the message)
    assert (
        read.first_dict(
            organization=message.organization_id + 1000, public_id=message.public_id, after=earlier
        )
        is None
    )
    assert (
        read.first_dict(organization=message.organization_id, public_id=uuid.uuid4(), after=earlier)
        is None
    )
    assert (
        read.first_dict(
            organization=message.organization_id,
            public_id=message.public_id,
            after=timezone.now() + timedelta(days=1),
        )
        is None
    )


def test_a_compiled_read_is_built_once_and_then_sends_one_statement_per_call() -> None:
    message = MessageFactory()
    other = MessageFactory(channel=ChannelFactory(organization=message.organization))
    read = _read()
    built: list[int] = []
    original = read._build
    read._build = lambda **kw: built.append(1) or original(**kw)  # type: ignore[method-assign]
    earlier = timezone.now() - timedelta(days=1)
    with CaptureQueriesContext(connection) as queries:
        for target in (message, other, message):
            row = read.first_dict(
                organization=target.organization_id, public_id=target.public_id, after=earlier
            )
            assert row is not None and row["pk"] == target.pk
    assert len(built) == 1
    assert len(queries) == 3


def test_a_lookup_that_rewrites_its_value_is_refused_when_compiled() -> None:
    read = CompiledRead(
        lambda text: Message.objects.filter(type__contains=text).values_list("pk"),
        text=_FIELD("type"),
    )
    with pytest.raises(ValueError, match="parameters not in the compiled statement"):
        read.first(text="x")
