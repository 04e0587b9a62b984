"""The broker taken away under real requests, a real worker and a real beat.

A Redis server of the test's own is the broker of the worker, of beat and of this
process (whose requests, sent with the test client, queue tasks: a purge when a channel
is closed, an outbox dispatch whenever an event was written). For ``CHAOS_OUTAGE_SECONDS``
(default 10; 60-second variants are marked ``slow``) it is either

- ``killed`` (SIGKILL: connections refused) and started again on the same port, empty
  (no persistence: every queued task is lost), or
- ``frozen`` (SIGSTOP: connections stay open and nothing answers, as with a hung host or
  a network partition) and then resumed.

Pinned: no request fails, and none waits longer than the broker timeouts of the
settings, because the broker is away; the worker and beat ride the outage out without a
restart; once the broker is back the work catches up by itself: the closed channel is
purged, the mute that expired meanwhile is lifted once, and every event written during
the outage is dispatched exactly once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from apps.audit.models import AuditEntry
from apps.channels.models import Membership
from apps.channels.services.channels import channel_create
from apps.events.models import Event
from tests.integration.harness import Cluster, Process, RedisServer, wait_for
from tests.integration.scenes import channel_with_messages, moderator
from tests.personas import TokenClient, make_admin_client

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE_SECONDS = float(os.environ.get("CHAOS_OUTAGE_SECONDS", "10"))
#: A request answers long before this with the broker away: a publish gives up at once
#: when the port refuses, and after CHATADMIN_BROKER_TIMEOUT (3 s) when nothing answers;
#: a request publishes at most twice. Generous, so that a slow machine never fails it.
REQUEST_BOUND_SECONDS = 20.0
#: How long the work may take to catch up once the broker is back (the worker
#: reconnects, beat's next sweeps and dispatches run).
CATCH_UP_SECONDS = 90.0

WORKER_ENV = {
    "DJANGO_LOG_LEVEL": "DEBUG",  # the built-in subscriber logs each delivery: count them
    "CHATADMIN_PURGE_SWEEP_INTERVAL_SECONDS": "2",
}


def answered(call: Callable[[], Any], what: str) -> Any:
    """``call()`` (a test-client request) in a thread of its own: fail, rather than hang,
    if it has not answered within REQUEST_BOUND_SECONDS."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["response"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connections.close_all()  # the thread's own database connection

    thread = threading.Thread(target=run, name=what, daemon=True)
    thread.start()
    thread.join(REQUEST_BOUND_SECONDS)
    if thread.is_alive():
        pytest.fail(f"{what} did not answer within {REQUEST_BOUND_SECONDS:.0f}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


def post_message(api: TokenClient, n: int) -> Any:
    body = {"channelId": "general", "type": "text", "data": {"text": f"during the outage {n}"}}
    return api.post("/api/v2/message", body, format="json")


def delivered_once(worker: Process, event: Event) -> bool:
    return worker.output().count(f"event {event.type} {event.event_id} ") == 1


def take_the_broker_away(server: RedisServer, how: str) -> None:
    if how == "killed":
        server.stop()  # SIGKILL: connections refused
    else:
        server.freeze()  # SIGSTOP: connections open, nothing answers


def bring_the_broker_back(server: RedisServer, how: str) -> None:
    if how == "killed":
        server.start()  # same port, empty: every queued task is gone
    else:
        server.thaw()


@pytest.mark.parametrize(
    ("how", "outage_seconds"),
    [
        pytest.param("killed", OUTAGE_SECONDS, id="killed"),
        pytest.param("frozen", OUTAGE_SECONDS, id="frozen"),
        pytest.param("killed", 60.0, id="killed-60s", marks=pytest.mark.slow),
        pytest.param("frozen", 60.0, id="frozen-60s", marks=pytest.mark.slow),
    ],
)
def test_requests_succeed_while_the_broker_is_down_and_the_work_catches_up_when_it_is_back(
    cluster: Cluster, redis_server: RedisServer, org: Any, how: str, outage_seconds: float
) -> None:
    api = make_admin_client(org)
    doomed = channel_with_messages(org, messages=200, reactions=20, files=3, channel_id="doomed")
    general = channel_create(
        organization=org, actor=moderator(), channel_id="general", user_ids=["alice", "bob"]
    )
    worker = cluster.worker(loglevel="DEBUG", env=WORKER_ENV)
    beat = cluster.beat(env=WORKER_ENV)
    wait_for(
        lambda: not Event.objects.filter(dispatched_at__isnull=True).exists(),
        what="the events of the set-up to be dispatched (the broker works)",
    )
    before_outage = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    pids = (worker.pid, beat.pid)

    # --- the outage: requests that publish tasks --------------------------------------------
    take_the_broker_away(redis_server, how)
    outage_ends = time.monotonic() + outage_seconds
    responses = {
        "close": answered(
            lambda: api.post("/api/v2/channel/doomed/close", {"reason": "spam"}, format="json"),
            "closing a channel",
        ),
        "mute": answered(
            lambda: api.put(
                "/api/v2/channel/general/users/mute",
                {"userIds": ["alice"], "mutePeriod": 1000},
                format="json",
            ),
            "muting a member for a second",
        ),
        "create": answered(
            lambda: api.post(
                "/api/v2/channel",
                {"channelId": "born-in-the-outage", "type": "standard", "userIds": ["bob"]},
                format="json",
            ),
            "creating a channel",
        ),
    }
    n = 0
    while n == 0 or time.monotonic() < outage_ends:  # requests keep coming all along
        responses[f"message {n}"] = answered(
            lambda n=n: post_message(api, n), f"posting message {n}"
        )
        n += 1
        time.sleep(min(1.0, max(0.0, outage_ends - time.monotonic())))
    statuses = {name: response.status_code for name, response in responses.items()}
    assert all(200 <= status < 300 for status in statuses.values()), statuses
    assert worker.alive and beat.alive, "the worker and beat ride the outage out"

    # --- the broker is back -------------------------------------------------------------------
    bring_the_broker_back(redis_server, how)
    outage_events = list(Event.objects.filter(id__gt=before_outage))
    assert {"channel.closed", "user.muted", "channel.created", "message.created"} <= {
        e.type for e in outage_events
    }
    wait_for(
        lambda: doomed.rows_left() == {"messages": 0, "reactions": 0, "files": 0},
        timeout=CATCH_UP_SECONDS,
        what="the closed channel to be purged",
    )
    assert doomed.files_on_disk() == []
    alice = Membership.objects.get(channel=general, member__user_id="alice")
    wait_for(
        lambda: Membership.objects.filter(pk=alice.pk, muted_at__isnull=True).exists(),
        timeout=CATCH_UP_SECONDS,
        what="the expired mute to be lifted by the sweep",
    )
    wait_for(
        lambda: not Event.objects.filter(dispatched_at__isnull=True).exists(),
        timeout=CATCH_UP_SECONDS,
        what="every event written during the outage to be dispatched",
    )
    assert (worker.pid, beat.pid) == pids and worker.alive and beat.alive, "no restart"

    # Nothing twice: one lift of the mute, one purge, every event delivered once.
    lifts = AuditEntry.objects.filter(action="channel.users.unmute.expired", target_id="general")
    assert [entry.after["userIds"] for entry in lifts] == [["alice"]]
    assert Event.objects.filter(type="user.unmuted", id__gt=before_outage).count() == 1
    purges = AuditEntry.objects.filter(action="channel.purge", target_id="doomed")
    assert [(p.after["messages"], p.after["reactions"], p.after["files"]) for p in purges] == [
        (200, 20, 3)
    ]
    for event in Event.objects.filter(id__gt=before_outage).order_by("id"):
        assert event.attempts == 1, event
        assert delivered_once(worker, event), f"{event.type} {event.event_id} delivered once"
