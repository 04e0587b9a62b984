"""The matchers of one process: per organization (a bounded LRU), tagged with the
organization's ``filter_version``, which the record services bump in the same
transaction as the change. A cached matcher is used only while its version is the
organization's current one, so a change made through any process applies in every
process from the next request:

- an Organization the request's token or session lookup loaded carries its
  ``filter_version`` read with it (``row_read_at``, stamped by
  ``apps.organizations.selectors.mark_row_read``): no query of its own;
- any other Organization (console, webhooks, tasks, tests' instances) costs one
  indexed read of the version;
- the process that made a change forgets its cached matcher (:func:`forget_version`),
  so even an Organization loaded before the change in the same request is not trusted.
"""

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
#: Seconds an Organization's ``filter_version`` stamped as read with its row
#: (``row_read_at``) is trusted: the request that loaded it, not a later one.
ROW_FRESH_FOR = 1.0


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


# organization pk -> (filter_version, matcher, forgotten: a change was made here since)
_cache: OrderedDict[int, tuple[int, Matcher, bool]] = OrderedDict()
_lock = threading.Lock()
#: The clock of ``row_read_at`` and :data:`ROW_FRESH_FOR` (tests replace it).
_clock = time.monotonic


def _read_version(organization_id: int) -> int:
    return (
        Organization.objects.filter(pk=organization_id)
        .values_list("filter_version", flat=True)
        .first()
    ) or 0


def _fresh_version(organization: Organization) -> int | None:
    """The ``filter_version`` the instance was loaded with, if it was read with its row
    in this request (stamped, less than :data:`ROW_FRESH_FOR` ago), else None."""
    read_at = getattr(organization, "row_read_at", None)
    if read_at is None or _clock() - read_at >= ROW_FRESH_FOR:
        return None
    return organization.filter_version


def matcher_for(organization: Organization) -> Matcher:
    """The organization's matcher, rebuilt only when its records changed.

    No query when the organization was loaded by this request's token or session lookup
    and the cached matcher is current; else one query (the ``filter_version``); a
    rebuild adds two.
    """
    with _lock:
        cached = _cache.get(organization.pk)
    version = None if cached is not None and cached[2] else _fresh_version(organization)
    if version is None:
        version = _read_version(organization.pk)
    if cached is not None and version == cached[0]:
        matcher = cached[1]
    else:
        # Built outside the lock (it may take a second at 100,000 records); the
        # version was read first, so the matcher holds at least that version's records
        # (a change committed meanwhile only causes one more rebuild).
        matcher = build_matcher(organization.pk)
    with _lock:
        _cache[organization.pk] = (version, matcher, False)
        _cache.move_to_end(organization.pk)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return matcher


def forget_version(organization_id: int) -> None:
    """Make this process re-read the organization's ``filter_version`` on its next
    check (now, and again when the current transaction commits), whatever version the
    Organization instance at hand was loaded with. The record services call it when
    they bump the version; other processes see the change from their next request."""

    def forget() -> None:
        with _lock:
            cached = _cache.get(organization_id)
            if cached is not None:
                _cache[organization_id] = (cached[0], cached[1], True)

    forget()
    transaction.on_commit(forget)


@receiver(post_save, sender=Organization, dispatch_uid="filtering-new-organization")
def _forget_new_organization(sender: type, instance: Organization, created: bool, **_: Any) -> None:
    """A new organization never inherits a cached matcher (test databases reuse pks)."""
    if created:
        with _lock:
            _cache.pop(instance.pk, None)
