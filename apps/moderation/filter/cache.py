"""The matchers of one process: per organization (a bounded LRU), tagged with the
organization's ``filter_version``, which the record services bump in the same
transaction as the change. A process reads that version at most once per
:data:`VERSION_TTL` seconds per organization (so most messages cost no query), and the
process that made the change forgets its cached version at once
(:func:`forget_version`): a change applies in every process within a second."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.moderation.filter.matcher import Matcher, compile_matcher
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import Organization

#: Organizations whose matcher one process keeps.
CACHE_SIZE = 256
#: Seconds a process trusts the organization's ``filter_version`` it last read: the
#: bound on how long a record change made in another process may go unseen.
VERSION_TTL = 1.0


def build_matcher(organization_id: int) -> Matcher:
    """The organization's matcher, from its records (two queries)."""
    return compile_matcher(
        BlacklistRecord.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pattern", "is_match_exact_word"),
        WhitelistRecord.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pattern", flat=True),
    )


# organization pk -> (filter_version, matcher, when the version was read)
_cache: OrderedDict[int, tuple[int, Matcher, float]] = OrderedDict()
_lock = threading.Lock()
#: The clock of :data:`VERSION_TTL` (tests replace it).
_clock = time.monotonic


def _read_version(organization_id: int) -> int:
    return (
        Organization.objects.filter(pk=organization_id)
        .values_list("filter_version", flat=True)
        .first()
    ) or 0


def matcher_for(organization: Organization) -> Matcher:
    """The organization's matcher, rebuilt only when its records changed.

    No query while the version read less than :data:`VERSION_TTL` ago is trusted; one
    query (the ``filter_version``) after that; a rebuild adds two.
    """
    now = _clock()
    with _lock:
        cached = _cache.get(organization.pk)
        if cached is not None and now - cached[2] < VERSION_TTL:
            _cache.move_to_end(organization.pk)
            return cached[1]
    version = _read_version(organization.pk)
    if cached is not None and cached[0] == version:
        matcher = cached[1]
    else:
        # Built outside the lock (it may take a second at 100,000 records); the
        # version was read first, so a change committed meanwhile only causes one more
        # rebuild.
        matcher = build_matcher(organization.pk)
    with _lock:
        _cache[organization.pk] = (version, matcher, now)
        _cache.move_to_end(organization.pk)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return matcher


def forget_version(organization_id: int) -> None:
    """Make this process re-read the organization's ``filter_version`` on its next
    check (now, and again when the current transaction commits). The record services
    call it when they bump the version, so the process that made a change sees it at
    once; other processes see it within :data:`VERSION_TTL`."""

    def forget() -> None:
        with _lock:
            cached = _cache.get(organization_id)
            if cached is not None:
                _cache[organization_id] = (cached[0], cached[1], float("-inf"))

    forget()
    transaction.on_commit(forget)


@receiver(post_save, sender=Organization, dispatch_uid="filtering-new-organization")
def _forget_new_organization(sender: type, instance: Organization, created: bool, **_: Any) -> None:
    """A new organization never inherits a cached matcher (test databases reuse pks)."""
    if created:
        with _lock:
            _cache.pop(instance.pk, None)
