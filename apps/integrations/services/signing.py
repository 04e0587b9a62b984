"""The signing secrets of outgoing integrations: Standard Webhooks (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``), signed with the
``standardwebhooks`` package.

A secret (``whsec_`` + base64 of 32 random bytes) is shown once, when it is made (at
create, at a rotation). It is stored encrypted with Fernet under a key that is not in the
database (``CHATADMIN_WEBHOOK_SECRET_KEYS``, else one derived from ``SECRET_KEY``), so a
database dump alone does not reveal it. After a rotation the previous secret also signs
for ``WEBHOOK_SECRET_GRACE_HOURS`` (two signatures, space-separated, as the standard
allows), so a receiver can switch over without losing a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook

from apps.integrations.models import Integration

PREFIX = "whsec_"


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.CHATADMIN["WEBHOOK_SECRET_KEYS"] if k.strip()]
    if not keys:
        digest = hashlib.sha256(
            b"chatadmin.webhook-secrets:" + settings.SECRET_KEY.encode()
        ).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def secret_new() -> str:
    """A fresh signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(stored: str) -> str:
    """The secret a stored value holds; '' when it cannot be decrypted (a lost key)."""
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return ""


def signing_secret_set(integration: Integration) -> str:
    """Give a new (unsaved) outgoing integration its secret; returns it (shown once)."""
    secret = secret_new()
    integration.signing_secret = secret_encrypt(secret)
    return secret


def signing_secrets(integration: Integration, now: datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous one within its grace."""
    now = now or timezone.now()
    found = [secret_decrypt(integration.signing_secret)]
    until = integration.previous_signing_secret_until
    if integration.previous_signing_secret and until is not None and until > now:
        found.append(secret_decrypt(integration.previous_signing_secret))
    return [s for s in found if s]


def sign_headers(
    integration: Integration, *, webhook_id: str, body: bytes, now: datetime | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (one signature per secret in use)."""
    now = now or timezone.now()
    signatures = [
        Webhook(secret).sign(msg_id=webhook_id, timestamp=now, data=body)
        for secret in signing_secrets(integration, now)
    ]
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp()))}
    if signatures:
        headers["webhook-signature"] = " ".join(signatures)
    return headers
