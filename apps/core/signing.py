"""Signed URLs: a link that proves who it was made for and until when.

An ``<img src>`` cannot send an ``Authorization`` header, so files and avatars are
served on a signed link instead: ``?sign=...&userID=...&expires=...``. The signature
is HMAC-SHA256 (key derived from ``settings.SECRET_KEY`` with a purpose salt, so it
signs nothing else) over the object kind, the object id, the user id and the expiry
(a Unix timestamp). Verification is constant-time; an expired or tampered link is
403 ``invalid_signature``. Links live ``CHATADMIN["SIGNED_URL_TTL_SECONDS"]``.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from apps.core.errors import DomainError

#: The purpose salt: a signature made here is valid for nothing else keyed on SECRET_KEY.
_SALT = "chatadmin.core.signing.signed-url"
_MAX_SIGN_LENGTH = 128


def ttl_seconds() -> int:
    return int(settings.CHATADMIN.get("SIGNED_URL_TTL_SECONDS", 3600))


def expiry(now: float | None = None) -> int:
    """The expiry timestamp of a link made at ``now`` (default: the current time): the
    TTL from now, rounded up to a step of ``min(300, TTL // 12)`` seconds, so the links
    rendered within one step are the same URL (a browser caches the image once)."""
    ttl = ttl_seconds()
    step = max(1, min(300, ttl // 12))
    at = int(now if now is not None else time.time()) + ttl
    return -(-at // step) * step


def _signature(kind: str, object_id: int | str, user_id: int | str, expires: int | str) -> str:
    value = f"{kind}\n{object_id}\n{user_id}\n{int(expires)}"
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()


def sign(kind: str, object_id: int | str, user_id: int | str, expires: int | str) -> str:
    """The hex HMAC-SHA256 signature of (kind, object id, user id, expiry)."""
    return _signature(kind, object_id, user_id, expires)


def signed_params(
    kind: str, object_id: int | str, user_id: int | str, *, now: float | None = None
) -> dict[str, str]:
    """The query parameters of a signed link: ``sign``, ``userID``, ``expires``."""
    expires = expiry(now)
    return {
        "sign": _signature(kind, object_id, user_id, expires),
        "userID": str(user_id),
        "expires": str(expires),
    }


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value  # no trimming: "1\x85" is not the user 1
        if text.isascii() and text.isdigit() and len(text) <= 20:
            return int(text)
    return None


def verify(
    kind: str,
    object_id: int | str,
    user_id: int | str | None,
    expires: int | str | None,
    sign: str | None,
    *,
    now: float | None = None,
) -> bool:
    """True if ``sign`` signs these values and the expiry has not passed."""
    sign_value = sign
    user = _as_int(user_id)
    until = _as_int(expires)
    if user is None or until is None or not isinstance(sign_value, str):
        return False
    if not sign_value or len(sign_value) > _MAX_SIGN_LENGTH or not sign_value.isascii():
        return False
    if until <= int(now if now is not None else time.time()):
        return False
    expected = _signature(kind, object_id, user, until)
    return hmac.compare_digest(expected.encode(), sign_value.strip().lower().encode())


def verify_or_403(
    kind: str,
    object_id: int | str,
    user_id: int | str | None,
    expires: int | str | None,
    sign: str | None,
) -> int:
    """The signed user id, or 403 ``invalid_signature`` (missing, tampered or expired)."""
    if not verify(kind, object_id, user_id, expires, sign):
        raise DomainError("invalid_signature")
    return int(_as_int(user_id) or 0)
