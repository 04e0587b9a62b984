"""Reads on organizations and tokens."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .models import AccessToken, hash_token

_LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_authenticate(*, raw: str, kind: str) -> AccessToken | None:
    """The active token of this kind whose hash matches, or None.

    Lookup is by the hash (an index probe), so no secret is compared in Python.
    ``last_used_at`` is refreshed at most once a minute to keep reads cheap.
    """
    if not raw or len(raw) > 200:
        return None
    token = (
        AccessToken.objects.select_related("organization", "account")
        .filter(token_hash=hash_token(raw), kind=kind, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.account.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
