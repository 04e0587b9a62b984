"""message_query's common page runs compiled (apps.core.compiled): the same rows as the
ORM's build of the same page, in every shape (either direction, either pivot, both)."""

from __future__ import annotations

import itertools

import pytest
from django.db.models import Q

from apps.messages.models import Message
from apps.messages.selectors.messages import _page, _page_read

from ..factories import ChannelFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("ascending", "lower", "upper"),
    list(itertools.product([True, False], [None, 5], [None, 20])),
    ids=lambda value: str(value),
)
def test_a_compiled_page_has_the_rows_of_the_orms_page(
    ascending: bool, lower: int | None, upper: int | None
) -> None:
    channel = ChannelFactory()
    other = ChannelFactory(organization=channel.organization)
    messages = [
        MessageFactory(channel=channel, organization=channel.organization) for _ in range(30)
    ]
    MessageFactory(channel=other, organization=channel.organization)  # not listed
    Message.objects.filter(pk=messages[12].pk).update(deleted_at=messages[12].created_at)
    pks = [m.pk for m in messages]
    low = pks[lower] if lower is not None else None
    high = pks[upper] if upper is not None else None
    scoped = Q(organization=channel.organization, channel=channel, deleted_at__isnull=True)
    expected = list(_page(scoped, None, ascending, 7, low, high))
    pivots = {k: v for k, v in (("lower", low), ("upper", high)) if v is not None}
    compiled = _page_read(ascending, 7, low is not None, high is not None).all_dicts(
        organization=channel.organization_id, channel=channel.pk, **pivots
    )
    assert compiled == expected
    assert len(compiled) == 8  # (the page and the extra row: every shape has more)
    assert messages[12].pk not in [row["pk"] for row in compiled]
