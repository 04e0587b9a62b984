"""Scene helpers of the content-filter tests."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from apps.moderation.filter.cache import forget_version
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import Organization


def blacklist(org: Organization, *patterns: str, exact: bool = False) -> list[BlacklistRecord]:
    """Plain rows for setting up a scene (the services are tested on their own)."""
    rows = [
        BlacklistRecord.objects.create(organization=org, pattern=p, is_match_exact_word=exact)
        for p in patterns
    ]
    bump(org)
    return rows


def whitelist(org: Organization, *patterns: str) -> list[WhitelistRecord]:
    rows = [WhitelistRecord.objects.create(organization=org, pattern=p) for p in patterns]
    bump(org)
    return rows


def bump(org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(filter_version=F("filter_version") + 1)
    forget_version(org.pk)  # as the record services do


def version(org: Organization) -> int:
    return Organization.objects.values_list("filter_version", flat=True).get(pk=org.pk)


def snapshot(model: Any, org: Organization) -> list[tuple[Any, ...]]:
    return list(model.objects.filter(organization=org).order_by("pk").values_list("pk", "pattern"))
