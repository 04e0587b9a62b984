"""Queueing Celery tasks from a request: after the commit, and never failing the request.

A task queued by a request (a purge when a channel is closed, a dispatch of the outbox
when an event was written) is a hint to do the work *now*: the work itself is recorded in
the database by the transaction (a closed channel with messages left, an undelivered
event), and a beat task re-finds it if the hint is lost. So a broker that is down or
unreachable must never fail or hold the request: :func:`publish` tries once, within the
broker socket timeouts (:data:`PUBLISH_OPTIONS`), logs a warning naming the beat task that
will catch up, and returns False.

Every publish on a request path goes through :func:`publish_on_commit`; the tests of
``tests/chaos/test_broker_outage.py`` stop the broker under real requests.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger("chatadmin.tasks")

#: Options of a publish from a request: no kombu retries. A broker that refuses
#: connections fails the publish at once; one that does not answer (frozen, unreachable
#: host) after CHATADMIN_BROKER_TIMEOUT seconds (the socket timeouts of the CELERY_
#: settings): that is all a request ever waits. redis-py reconnects a pooled connection
#: that went stale after a broker restart by itself.
PUBLISH_OPTIONS: dict[str, Any] = {"retry": False}


def publish(task: Task, *args: Any, recovered_by: str, **kwargs: Any) -> bool:
    """Queue ``task(*args, **kwargs)``; True when the broker took it. Never raises: when
    the broker cannot take it, logs a warning (``recovered_by``: the beat task that
    re-finds the work) and returns False."""
    try:
        task.apply_async(args, kwargs, **PUBLISH_OPTIONS)
    except Exception as exc:
        logger.warning(
            "could not queue %s%r (%s: %s); beat will catch up (%s)",
            task.name,
            tuple(args),
            type(exc).__name__,
            exc,
            recovered_by,
        )
        return False
    return True


def publish_on_commit(task: Task, *args: Any, recovered_by: str, **kwargs: Any) -> None:
    """Queue the task once the current transaction commits (at once outside a
    transaction; never for a rolled-back one), with :func:`publish`: a broker outage never
    fails the request that committed."""
    transaction.on_commit(partial(publish, task, *args, recovered_by=recovered_by, **kwargs))
