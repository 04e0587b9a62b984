"""One attempt of an outgoing webhook delivery, without the database: what is sent (the
body, with Rocket.Chat's token put in at send time, and the Standard Webhooks headers),
the exchange through the SSRF-safe client (apps.core.egress), what the answer means (the
status rules) and when the next attempt is due (the retry schedules).
apps.integrations.services.delivery claims, records and runs the attempts.
"""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.core import egress
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing

#: How much of a response body the history keeps.
MAX_EXCERPT = 2000
#: Retry-After is honoured up to this long.
MAX_RETRY_AFTER = timedelta(days=1)
#: Up to this share of a retry's delay is added at random (no thundering herd).
JITTER = 0.2
#: Statuses after which an endpoint counts as down (its other deliveries wait with it).
DOWN_STATUSES = frozenset({429, 500, 502, 503, 504})


def request_body(delivery: Delivery, integration: Integration) -> bytes:
    """The JSON body of an attempt: the payload, with Rocket.Chat's ``token`` (the
    integration's outgoing token, the dialect's own check) put in at send time."""
    payload = dict(delivery.payload)
    if integration.flavor == Integration.Flavor.ROCKETCHAT:
        payload = {"token": integration.outgoing_token, **payload}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def request_headers(
    delivery: Delivery, integration: Integration, body: bytes, now: datetime
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        **signing.sign_headers(integration, webhook_id=delivery.webhook_id, body=body, now=now),
    }


def redact(text: str, integration: Integration) -> str:
    """A response excerpt without the integration's secrets (an endpoint that echoes the
    request must not put the token into the history)."""
    if not text:
        return text
    for secret in (integration.outgoing_token, *signing.signing_secrets(integration)):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


@dataclass
class Outcome:
    """What one attempt came to."""

    status: int | None = None
    excerpt: str = ""
    error: str = ""
    #: the endpoint is down (timeout, connection refused, 5xx, 429): its others wait
    down: bool = False
    #: a wait the endpoint asked for (Retry-After)
    wait: timedelta | None = None
    #: no retry (a refused URL, a 410)
    final: bool = False
    response: egress.EgressResponse | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _secret_decrypts(integration: Integration) -> bool:
    """Whether the integration's signing secret (if it has one) decrypts: asked once per
    secret of a run's integration object (a decryption costs as much as the signature)."""
    stored = integration.signing_secret
    if not stored:
        return True
    known = integration.__dict__.get("_secret_decrypts")
    if known is None or known[0] != stored:
        known = (stored, bool(signing.secret_decrypt(stored)))
        integration.__dict__["_secret_decrypts"] = known
    return known[1]


def send(delivery: Delivery, integration: Integration) -> Outcome:
    """Send one attempt of ``delivery`` and tell what came of it (nothing is recorded)."""
    if not _secret_decrypts(integration):
        # never unsigned: the receiver could not tell it from a forgery (retried: the key
        # may be put back; a rotation gives a secret that decrypts)
        return Outcome(
            error="signing_failed: the signing secret cannot be decrypted (its key is "
            "missing from CHATADMIN_WEBHOOK_SECRET_KEYS); nothing was sent. Restore the "
            "key or rotate the signing secret."
        )
    now = timezone.now()
    body = request_body(delivery, integration)
    headers = request_headers(delivery, integration, body, now)
    try:
        response = egress.post(delivery.url, body, headers)
    except egress.EgressRefused as exc:
        return Outcome(error=f"url_not_allowed: {exc}", final=True)
    except egress.EgressFailed as exc:
        down = exc.kind in ("timeout", "connect")
        return Outcome(error=f"{exc.kind}: {exc}", down=down)
    # redacted before it is cut: a secret across the cut must not leave its first half
    excerpt = redact(response.body.decode("utf-8", "replace"), integration)[:MAX_EXCERPT]
    outcome = Outcome(status=response.status, excerpt=excerpt, response=response)
    if outcome.ok:
        return outcome
    if 300 <= response.status < 400:
        outcome.error = f"HTTP {response.status}: redirects are not followed"
    else:
        outcome.error = f"HTTP {response.status}"
    if response.status == 410:
        outcome.final = True
    if response.status in DOWN_STATUSES:
        outcome.down = True
    if response.status in (429, 503):
        outcome.wait = retry_after(response.headers, timezone.now())
    return outcome


# --- the schedule ----------------------------------------------------------------------


def retry_delay(integration: Integration, attempts: int) -> timedelta | None:
    """The wait after ``attempts`` failed attempts before the next one; None: no more.

    Rocket.Chat integrations follow their own settings (``retryFailedCalls``,
    ``retryCount`` retries, ``retryDelay``), the others ``WEBHOOK_RETRY_SCHEDULE``."""
    if integration.flavor == Integration.Flavor.ROCKETCHAT:
        if not integration.retry_failed_calls or attempts > integration.retry_count:
            return None
        tries = attempts - 1
        if integration.retry_delay == "powers-of-two":
            seconds = 2.0 ** (tries + 1)
        elif integration.retry_delay == "increments-of-two":
            seconds = (tries + 1) * 2.0
        else:  # powers-of-ten: 0.1 s, 1 s, 10 s, 100 s ...
            seconds = 10.0 ** (tries + 2) / 1000
        return timedelta(seconds=seconds)
    schedule = settings.CHATADMIN["WEBHOOK_RETRY_SCHEDULE"]
    if attempts >= len(schedule):
        return None
    seconds = float(schedule[attempts])
    return timedelta(seconds=seconds * (1 + random.uniform(0, JITTER)))


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """A ``Retry-After`` header's wait (seconds or an HTTP date), capped; None if absent
    or unreadable."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        wait_for = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        wait_for = when - now
    return max(timedelta(0), min(wait_for, MAX_RETRY_AFTER))
