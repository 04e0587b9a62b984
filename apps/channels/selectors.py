"""Reads on channels and memberships, always scoped to an organization."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core.errors import DomainError
from apps.organizations.models import Organization

from .models import Channel


def channel_get(
    *,
    organization: Organization,
    channel_id: str,
    field: str = "channelId",
    for_update: bool = False,
) -> Channel:
    """The channel, or DomainError(channel_not_found); another org's id looks the same."""
    qs = Channel.objects.filter(organization=organization, channel_id=channel_id)
    if for_update:
        qs = qs.select_for_update()
    channel = qs.first()
    if channel is None:
        raise DomainError(
            "channel_not_found", f"No channel with channelId {channel_id!r}.", field=field
        )
    return channel


def channel_list(*, organization: Organization) -> QuerySet[Channel]:
    return Channel.objects.filter(organization=organization)
