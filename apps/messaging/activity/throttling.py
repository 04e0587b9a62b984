"""The per-member throttle of ``POST /activity/``: at most
``CHATADMIN["ACTIVITY_PER_MEMBER_MINUTE"]`` requests a minute (default 60) per member,
counted in Django's cache (a shared cache, ``CACHE_URL``, counts across processes; the
default local-memory cache counts per process). Over it: 429 ``throttled`` with
``Retry-After``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ActivityMemberThrottle(SimpleRateThrottle):
    scope = "messaging-activity"

    def get_rate(self) -> str:
        per_minute = int(settings.CHATADMIN.get("ACTIVITY_PER_MEMBER_MINUTE", 60))
        return f"{max(1, per_minute)}/min"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        session = getattr(request, "auth", None)
        member_pk = getattr(session, "member_id", None)
        if member_pk is None:
            return None  # unauthenticated: refused before the throttle counts
        return f"throttle:{self.scope}:{member_pk}"
