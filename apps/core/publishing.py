"""Queueing Celery tasks from a request: after the commit, and never failing the request.

A task queued by a request (a purge when a channel is closed, a dispatch of the outbox
when an event was written) is a hint to do the work *now*: the work itself is recorded in
the database by the transaction (a closed channel with messages left, an undelivered
event), and a beat task re-finds it if the hint is lost. So a broker that is down or
unreachable must never fail or hold the request: :func:`publish` tries once, within the
broker socket timeouts (:data:`PUBLISH_OPTIONS`), logs a warning naming the beat task that
will catch up, and returns False.

After a failed publish, the process does not try again for
:data:`PAUSE_AFTER_FAILURE_SECONDS`: a broker that does not answer at all would otherwise
hold *every* request for the socket timeout (a sync web worker would serve one request
per ``CHATADMIN_BROKER_TIMEOUT`` seconds). The pause is a per-process hint, never the
truth: the work is in the database and beat finds it whatever this process skipped.

Every publish on a request path goes through :func:`publish_on_commit`; the tests of
``tests/chaos/test_broker_outage.py`` stop the broker under real requests.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger("chatadmin.tasks")

#: Options of a publish from a request: no kombu retries. A broker that refuses
#: connections fails the publish at once; one that does not answer (frozen, unreachable
#: host) after CHATADMIN_BROKER_TIMEOUT seconds (the socket timeouts of the CELERY_
#: settings): that is all a request ever waits. redis-py reconnects a pooled connection
#: that went stale after a broker restart by itself.
PUBLISH_OPTIONS: dict[str, Any] = {"retry": False}

#: Seconds a process skips publishing after a failed publish (see the module docstring).
PAUSE_AFTER_FAILURE_SECONDS = 10.0

#: ``time.monotonic()`` until which this process skips publishing.
_paused_until = 0.0


def resume() -> None:
    """Forget a failed publish: the next one tries the broker again (tests)."""
    global _paused_until
    _paused_until = 0.0


def publish(
    task: str, *args: Any, recovered_by: str, countdown: float = 0.0, **kwargs: Any
) -> bool:
    """Queue the task named ``task`` with ``(*args, **kwargs)`` (to run in ``countdown``
    seconds, else at once); True when the broker took
    it. Tasks are named, never imported: a service that queues one does not import the
    ``tasks`` module that imports it (no import cycle). Never raises: when
    the broker cannot take it, logs a warning (``recovered_by``: the beat task that
    re-finds the work) and returns False; for :data:`PAUSE_AFTER_FAILURE_SECONDS` after
    that, returns False at once without trying."""
    global _paused_until
    if time.monotonic() < _paused_until:
        logger.info(
            "not queueing %s%r: the broker failed moments ago; beat will catch up (%s)",
            task,
            tuple(args),
            recovered_by,
        )
        return False
    try:
        options = {"countdown": countdown} if countdown > 0 else {}
        current_app.signature(task).apply_async(args, kwargs, **PUBLISH_OPTIONS, **options)
    except Exception as exc:
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
        logger.warning(
            "could not queue %s%r (%s: %s); beat will catch up (%s)",
            task,
            tuple(args),
            type(exc).__name__,
            exc,
            recovered_by,
        )
        return False
    return True


def publish_on_commit(task: str, *args: Any, recovered_by: str, **kwargs: Any) -> None:
    """Queue the task once the current transaction commits (at once outside a
    transaction; never for a rolled-back one), with :func:`publish`: a broker outage never
    fails the request that committed."""
    transaction.on_commit(partial(publish, task, *args, recovered_by=recovered_by, **kwargs))
