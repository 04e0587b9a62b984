"""Outgoing webhooks under a worker SIGKILLed mid-send, and under two workers at once.

Real workers on a Redis server of the test's own and PostgreSQL; real HTTP receivers on
127.0.0.1 in this process (tests/integrations/receivers.py). Pinned (issue 14, "exactly
once per delivery in normal operation, at least once under faults"):

- A worker killed while a receiver holds one of its requests (read, never answered)
  loses nothing: once the claim's lease (``WEBHOOK_DELIVERY_LEASE_SECONDS``) has run out,
  a new worker sends that delivery again, with the same ``webhook-id``; every delivery
  ends succeeded; the only delivery that arrives twice is the one cut off by the kill.
- Two workers sending from the same due rows at the same moment never send one attempt
  twice: the claim is a guarded UPDATE, so each delivery arrives exactly once.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from apps.channels.services.channels import channel_create
from apps.core.publishing import publish
from apps.integrations.models import Delivery, Integration
from apps.integrations.services.delivery import RUN_TASK, NewDelivery, deliveries_create
from apps.integrations.services.integrations import IssuedIntegration, integration_create
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from tests.integration.harness import Cluster, wait_for
from tests.integrations.receivers import Answer, Receivers, Seen, allow_local
from tests.personas import SYSTEM, make_member

pytestmark = pytest.mark.django_db(transaction=True)

COMMON_ENV = {
    "CHATADMIN_WEBHOOK_ALLOWLIST": "127.0.0.1/32",
    "CHATADMIN_WEBHOOK_DELIVERY_CONCURRENCY": "8",
    "CHATADMIN_SWEEP_INTERVAL_SECONDS": "3600",  # the expiry sweeps out of the way
}
#: The killed worker: a request may take 12 s, and its claim is held 13 s (longer than a
#: request: a live send is never taken over), so the held request is still in flight
#: when the kill comes, a few seconds after it arrived.
KILLED_ENV = {
    **COMMON_ENV,
    "CHATADMIN_WEBHOOK_TIMEOUT_SECONDS": "12",
    "CHATADMIN_WEBHOOK_DELIVERY_LEASE_SECONDS": "13",
}
#: The worker started after the kill (its beat runs the due deliveries every 2 s).
RESTARTED_ENV = {
    **COMMON_ENV,
    "CHATADMIN_WEBHOOK_TIMEOUT_SECONDS": "2",
    "CHATADMIN_WEBHOOK_DELIVERY_LEASE_SECONDS": "3",
}
EVENTS = 20
WAIT = 60.0


def rc_hook(org: Organization, urls: list[str]) -> IssuedIntegration:
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        event="sendMessage",
        targets=["#general"],
        urls=urls,
        username="hook.bot",
        outgoing_token="rc-outgoing-token",
    )


def verified(seen: Seen, secret: str | None) -> Any:
    assert secret
    headers = {k: seen.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    return Webhook(secret).verify(seen.body, headers)


def statuses(integration: Integration) -> Counter[str]:
    return Counter(
        Delivery.objects.filter(integration=integration).values_list("status", flat=True)
    )


def test_a_worker_killed_mid_send_leaves_the_delivery_to_be_sent_again_with_its_webhook_id(
    cluster: Cluster, org: Organization, settings: Any
) -> None:
    allow_local(settings)
    alice = make_member(org, user_id="alice")
    general = channel_create(
        organization=org, actor=SYSTEM, channel_id="general", user_ids=["alice"]
    )
    held, release = threading.Event(), threading.Event()

    def hold(seen: Seen) -> Answer:  # read the request, never answer it (until the end)
        held.set()
        release.wait(WAIT * 2)
        return Answer(200)

    with Receivers() as pool:
        try:
            holding = pool.http(hold)  # its first request is held; later ones get 200
            prompt = pool.http()
            issued = rc_hook(org, [holding.url, prompt.url])
            integration = issued.integration
            for n in range(EVENTS):  # committed before the worker starts: one quick burst
                message_create(
                    organization=org,
                    actor=SYSTEM,
                    channel=general,
                    type="text",
                    data={"text": f"event {n}"},
                    author=alice,
                )
            total = EVENTS * 2
            first = cluster.worker(env=KILLED_ENV)

            # normal operation: all but the held delivery answered and recorded
            wait_for(
                lambda: held.is_set() and statuses(integration)["succeeded"] == total - 1,
                timeout=WAIT,
                what="every delivery but the held one to succeed",
            )
            before = holding.requests + prompt.requests
            assert len(before) == total
            assert len({seen.headers["webhook-id"] for seen in before}) == total, (
                "in normal operation no delivery arrives twice"
            )
            pending = Delivery.objects.get(integration=integration, status="pending")
            assert pending.url == holding.url and pending.attempts == 1
            assert pending.leased_until is not None and pending.leased_until > timezone.now()

            first.kill()  # SIGKILL to the worker's process group, its request in flight
            cluster.worker(beat=True, env=RESTARTED_ENV)
            wait_for(
                lambda: statuses(integration) == Counter({"succeeded": total}),
                timeout=WAIT,
                what="every delivery to succeed after the restart",
            )
        finally:
            release.set()

    rows = {
        (d.url, d.payload["message_id"]): d
        for d in Delivery.objects.filter(integration=integration)
    }
    arrivals: dict[tuple[str, str], list[str]] = defaultdict(list)
    for url, receiver in ((holding.url, holding), (prompt.url, prompt)):
        for seen in receiver.requests:
            body = verified(seen, issued.signing_secret)
            arrivals[(url, body["message_id"])].append(seen.headers["webhook-id"])
    assert set(arrivals) == set(rows), "every delivery arrived"
    for key, ids in arrivals.items():
        assert set(ids) == {rows[key].webhook_id}, "each arrival carries its delivery's id"
    again = {key for key, ids in arrivals.items() if len(ids) > 1}
    assert again == {(pending.url, pending.payload["message_id"])}
    assert len(arrivals[(pending.url, pending.payload["message_id"])]) == 2
    retried = Delivery.objects.get(pk=pending.pk)
    assert (retried.status, retried.attempts, retried.response_status) == ("succeeded", 2, 200)
    assert all(d.attempts == 1 for d in rows.values() if d.pk != pending.pk)


def _attempted_by_runs(output: str) -> list[int]:
    """What each ``integrations.deliveries_run`` of a worker's log returned (attempts)."""
    found = re.findall(
        r"Task integrations\.deliveries_run\[[^\]]+\] succeeded in [^:]+: (\d+)", output
    )
    return [int(n) for n in found]


def test_two_workers_sending_the_same_due_deliveries_never_send_one_twice(
    cluster: Cluster, org: Organization, settings: Any
) -> None:
    allow_local(settings)
    channel_create(organization=org, actor=SYSTEM, channel_id="general")
    with Receivers() as pool:
        receivers = [pool.http(), pool.http()]
        integration = rc_hook(org, [r.url for r in receivers]).integration
        env = {**COMMON_ENV, "CHATADMIN_WEBHOOK_DELIVERY_CONCURRENCY": "4"}
        workers = [cluster.worker(env=env, concurrency=2) for _ in range(2)]

        events = 60
        deliveries_create(  # commits at once: asks for one run
            NewDelivery(integration, "sendMessage", {"text": f"event {n}", "message_id": f"m{n}"})
            for n in range(events)
        )
        for _ in range(3):  # three more runs at the same moment: four pool processes
            assert publish(RUN_TASK, recovered_by=RUN_TASK)
        total = events * 2
        wait_for(
            lambda: statuses(integration) == Counter({"succeeded": total}),
            timeout=WAIT,
            what="every delivery to succeed",
        )
        arrivals = Counter(
            seen.headers["webhook-id"] for receiver in receivers for seen in receiver.requests
        )

    assert sum(arrivals.values()) == total
    assert set(arrivals.values()) == {1}, "no webhook-id arrives twice"
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    # (a run whose time budget ran out asks for another: count attempts, not runs)
    runs = wait_for(
        lambda: (
            (found := [_attempted_by_runs(w.output()) for w in workers])
            and sum(map(sum, found)) >= total
            and found
        ),
        timeout=WAIT,
        what="the runs to log their attempts",
    )
    assert sum(map(sum, runs)) == total  # every attempt was made by one run only
    assert all(sum(attempted) > 0 for attempted in runs), f"both workers sent: {runs}"
