"""The client address, and the throttle of the console's token-issuing endpoints.

The client address is ``REMOTE_ADDR``: ``X-Forwarded-For`` is written by the client and
is never trusted. Behind a proxy that sets a header of its own, name that header in
``CHATADMIN_CLIENT_IP_HEADER`` (a ``request.META`` key such as ``HTTP_X_REAL_IP``).

Token issuing (admin, API and personal tokens) is limited per account and per address,
per hour:

- per account: the AccessToken rows the account issued in the last hour, revoked or not
  (so issue-and-revoke loops count). The rows are the counter: exact across processes,
  nothing new to store;
- per address: a fixed one-hour window counter in Django's cache (``CACHE_URL``; the
  default local-memory cache counts per process, a shared cache counts globally).
"""

from __future__ import annotations

import ipaddress
import math
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from apps.organizations.models import AccessToken

WINDOW = timedelta(hours=1)


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, or None when there is no valid one (also django-axes'
    ``AXES_CLIENT_IP_CALLABLE``; axes stores it in an address column, so anything that
    is not an IP address is never returned)."""
    header = getattr(settings, "CHATADMIN_CLIENT_IP_HEADER", "")
    if header:
        value = _address(request.META.get(header, "").split(",")[0])
        if value:
            return value
    return _address(request.META.get("REMOTE_ADDR"))


def _account_retry_after(account_id: int, limit: int) -> int | None:
    since = timezone.now() - WINDOW
    recent = AccessToken.objects.filter(account_id=account_id, created_at__gte=since)
    created = list(recent.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    if len(created) < limit:
        return None
    # The oldest of the last `limit` tokens leaves the window first.
    wait = (created[-1] + WINDOW - timezone.now()).total_seconds()
    return max(1, math.ceil(wait))


def _address_retry_after(address: str, limit: int) -> int | None:
    window_seconds = int(WINDOW.total_seconds())
    now = time.time()
    window = int(now // window_seconds)
    key = f"throttle:token-issue:{address}:{window}"
    cache.add(key, 0, timeout=window_seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window_seconds + 60)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * window_seconds - now))


def token_issue_retry_after(request: HttpRequest) -> int | None:
    """None if ``request.user`` may issue a token now, else the seconds to wait.

    The address is counted on every attempt; the account on the tokens it issued.
    """
    limits = settings.CHATADMIN
    waits = [
        _address_retry_after(
            client_ip(request) or "unknown", limits["TOKEN_ISSUE_PER_ADDRESS_HOUR"]
        ),
        _account_retry_after(request.user.pk, limits["TOKEN_ISSUE_PER_ACCOUNT_HOUR"]),
    ]
    waits = [wait for wait in waits if wait is not None]
    return max(waits) if waits else None
