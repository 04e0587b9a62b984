"""The client address, and a fixed-window counter per address (the console's throttle of
token issuing counts with it: apps.console.access.token_issue_retry_after).

The client address is ``REMOTE_ADDR``: ``X-Forwarded-For`` is written by the client and
is never trusted. Behind a proxy that sets a header of its own, name that header in
``CHATADMIN_CLIENT_IP_HEADER`` (a ``request.META`` key such as ``HTTP_X_REAL_IP``).

The per-address counter is a fixed one-hour window in Django's cache (``CACHE_URL``; the
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


def address_retry_after(address: str, limit: int) -> int | None:
    """None while ``address`` is within ``limit`` attempts this hour, else the seconds to
    wait (counted on every call)."""
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
