"""ChannelFilterSet, as the console uses it (a QueryDict from a GET form)."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from apps.channels.filters import ChannelFilterSet
from apps.channels.selectors.channels import channel_list
from apps.members.models import Member


def names(filterset: ChannelFilterSet) -> list[str]:
    assert filterset.is_valid(), filterset.errors
    return sorted(filterset.qs.values_list("channel_id", flat=True))


def test_it_filters_a_querydict_by_tags_user_and_membership(org: Any, make_channel: Any) -> None:
    make_channel("a", tags=["red"], user_ids=["alice", "boss"])
    make_channel("b", tags=["blue"], user_ids=["bob"])
    boss = Member.objects.get(organization=org, user_id="boss")
    qs = channel_list(organization=org)
    assert names(ChannelFilterSet(QueryDict("tags=red&tags=blue"), queryset=qs)) == ["a", "b"]
    assert names(ChannelFilterSet(QueryDict("excludeTags=red"), queryset=qs)) == ["b"]
    assert names(ChannelFilterSet(QueryDict("userId=bob"), queryset=qs)) == ["b"]
    member = ChannelFilterSet(QueryDict("filter=member"), queryset=qs, admin_member=boss)
    assert names(member) == ["a"]
    not_member = ChannelFilterSet(QueryDict("filter=notMember"), queryset=qs, admin_member=boss)
    assert names(not_member) == ["b"]
    assert names(ChannelFilterSet(QueryDict(""), queryset=qs)) == ["a", "b"]


def test_an_unknown_membership_choice_is_invalid(org: Any) -> None:
    filterset = ChannelFilterSet(QueryDict("filter=mine"), queryset=channel_list(organization=org))
    assert not filterset.is_valid()
    assert "filter" in filterset.errors


def test_without_an_admin_member_filter_member_is_empty(org: Any, make_channel: Any) -> None:
    make_channel("a")
    qs = channel_list(organization=org)
    assert names(ChannelFilterSet(QueryDict("filter=member"), queryset=qs)) == []
    assert names(ChannelFilterSet(QueryDict("filter=notMember"), queryset=qs)) == ["a"]
