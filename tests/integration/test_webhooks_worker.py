"""Outgoing webhooks end to end: a real Celery worker (with beat) on a real broker and
PostgreSQL sends to real HTTP receivers on 127.0.0.1 in this process.

The chain under test is the production one: a message posted through
``message_create`` commits an outbox event; the worker dispatches it, the fan-out
(apps.integrations.services.outgoing) writes the deliveries and asks for a run; the worker
signs and sends each one (apps.integrations.services.delivery, apps.core.egress), records
it, and posts the endpoint's reply back as the bot (apps.integrations.services.replies).
The worker allows loopback receivers (``CHATADMIN_WEBHOOK_ALLOWLIST``) and retries on a
short schedule; beat runs the due retries every 2 seconds.

Run by ``.ci/run``; locally:
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_integration
CELERY_BROKER_URL=redis://127.0.0.1:6379/14 .venv/bin/pytest tests/integration``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.events.models import Event
from apps.integrations.models import Delivery, Integration
from apps.integrations.services.integrations import IssuedIntegration, integration_create
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.organizations.models import Organization
from tests.integrations.receivers import Answer, Receivers, Seen, allow_local
from tests.personas import SYSTEM, make_member, session_client

from .conftest import Cluster, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

#: The worker's settings: loopback receivers allowed, retries 0 s, 1 s, 1 s; the expiry
#: sweeps (every second in the harness) out of the way of the deliveries.
WORKER_ENV = {
    "CHATADMIN_WEBHOOK_ALLOWLIST": "127.0.0.1/32",
    "CHATADMIN_WEBHOOK_RETRY_SCHEDULE": "0,1,1",
    "CHATADMIN_SWEEP_INTERVAL_SECONDS": "3600",
}
#: Seconds to wait for something the worker does (a dispatch, a send, a retry via beat).
WAIT = 30.0
RC_TOKEN = "rc-outgoing-token-for-the-receiver"


@pytest.fixture
def receivers(settings: Any) -> Iterator[Receivers]:
    allow_local(settings)  # integration_create checks the URLs in this process
    with Receivers() as pool:
        yield pool


@pytest.fixture
def world(org: Organization) -> dict[str, Any]:
    """``#general`` with alice in it."""
    alice = make_member(org, user_id="alice", display_name="Alice")
    general = channel_create(
        organization=org, actor=SYSTEM, channel_id="general", user_ids=["alice"]
    )
    return {"org": org, "alice": alice, "general": general}


def rc_hook(org: Organization, url: str, **fields: Any) -> IssuedIntegration:
    """An outgoing Rocket.Chat integration on ``sendMessage`` in ``#general``."""
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        name="to the receiver",
        event="sendMessage",
        targets=["#general"],
        urls=[url],
        username="hook.bot",
        outgoing_token=RC_TOKEN,
        **fields,
    )


def post(channel: Channel, author: Member, text: str) -> Message:
    return message_create(
        organization=channel.organization,
        actor=SYSTEM,
        channel=channel,
        type="text",
        data={"text": text},
        author=author,
    )


def verified(seen: Seen, secret: str | None) -> Any:
    """The body, once its Standard Webhooks signature checks out with ``secret`` (as a
    receiver checks it); raises otherwise."""
    assert secret and secret.startswith("whsec_")
    headers = {k: seen.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    return Webhook(secret).verify(seen.body, headers)


def finished(integration: Integration) -> list[Delivery]:
    """The integration's deliveries once none is pending (else [])."""
    rows = list(Delivery.objects.filter(integration=integration).order_by("pk"))
    return rows if rows and all(r.status != Delivery.Status.PENDING for r in rows) else []


def test_a_posted_message_reaches_the_receiver_signed_with_rocket_chats_payload_and_token(
    cluster: Cluster, world: dict[str, Any], receivers: Receivers
) -> None:
    receiver = receivers.http()
    issued = rc_hook(world["org"], receiver.url)
    cluster.worker(env=WORKER_ENV)  # each commit asks it for a dispatch, then for a run

    message = post(world["general"], world["alice"], "hello receivers")

    [seen] = receiver.wait_for_requests(1, timeout=WAIT)
    body = verified(seen, issued.signing_secret)
    assert seen.method == "POST" and seen.headers["content-type"] == "application/json"
    assert body["token"] == RC_TOKEN
    assert body["text"] == "hello receivers"
    assert (body["channel_id"], body["channel_name"]) == ("general", "general")
    assert (body["user_id"], body["user_name"]) == ("alice", "alice")
    assert body["message_id"] == str(message.public_id)
    assert body["bot"] is False
    [delivery] = wait_for(lambda: finished(issued.integration), timeout=WAIT, what="the record")
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert (delivery.attempts, delivery.response_status) == (1, 200)
    assert delivery.webhook_id == seen.headers["webhook-id"]
    assert "token" not in delivery.payload  # the secret is added at send time only


def test_a_receiver_that_fails_twice_gets_three_attempts_with_one_webhook_id(
    cluster: Cluster, world: dict[str, Any], receivers: Receivers
) -> None:
    receiver = receivers.http(Answer(500, "down"), Answer(502, "still down"))  # then 200
    # Rocket.Chat's own schedule: 2 retries, 0.1 s then 1 s (beat runs them)
    issued = rc_hook(world["org"], receiver.url, retry_count=2, retry_delay="powers-of-ten")
    cluster.worker(beat=True, env=WORKER_ENV)

    post(world["general"], world["alice"], "try until it works")

    arrivals = receiver.wait_for_requests(3, timeout=WAIT)
    assert len({seen.headers["webhook-id"] for seen in arrivals}) == 1
    assert len({seen.body for seen in arrivals}) == 1  # the same request, re-signed
    for seen in arrivals:
        verified(seen, issued.signing_secret)
    [delivery] = wait_for(lambda: finished(issued.integration), timeout=WAIT, what="the record")
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert (delivery.attempts, delivery.response_status) == (3, 200)
    assert delivery.webhook_id == arrivals[0].headers["webhook-id"]
    assert len(receiver.requests) == 3


def test_a_json_reply_is_posted_back_by_the_bot_and_does_not_trigger_the_hook_again(
    cluster: Cluster, world: dict[str, Any], receivers: Receivers
) -> None:
    pytest.importorskip(
        "apps.integrations.services.replies",
        reason="replies (helper D: apps/integrations/services/replies.py) are not there yet",
    )
    receiver = receivers.http(default=Answer.json(200, {"text": "pong"}))
    issued = rc_hook(world["org"], receiver.url)
    cluster.worker(env=WORKER_ENV)

    post(world["general"], world["alice"], "ping")

    reply = wait_for(
        lambda: Message.objects.filter(channel=world["general"], data__text="pong").first(),
        timeout=WAIT,
        what="the reply in #general",
    )
    assert reply.author.user_id == "hook.bot"
    assert reply.data["bot"] == {"i": str(issued.integration.pk)}
    wait_for(
        lambda: Delivery.objects.filter(
            integration=issued.integration, reply_message_id=str(reply.public_id)
        ).exists(),
        timeout=WAIT,
        what="the delivery to name its reply",
    )
    # the reply's own event is dispatched, and the loop guard keeps it from the hook
    wait_for(
        lambda: not Event.objects.filter(dispatched_at__isnull=True).exists(),
        timeout=WAIT,
        what="every event to be dispatched",
    )
    assert Delivery.objects.filter(integration=issued.integration).count() == 1
    assert len(receiver.requests) == 1


def test_a_messaging_webhook_run_by_its_command_reaches_its_receiver_and_the_reply_is_posted(
    cluster: Cluster, org: Organization, receivers: Receivers
) -> None:
    receiver = receivers.http(
        default=Answer(200, "deploying prod", {"Content-Type": "text/plain; charset=utf-8"})
    )
    root = make_member(org, role=Member.OrgRole.ADMIN, user_id="root")
    alice = make_member(org, user_id="alice")
    bot = make_member(org, user_id="ci.bot", display_name="CI", is_bot=True)
    room = channel_create(organization=org, actor=SYSTEM, channel_id="room", user_ids=["alice"])
    issued = integration_create(
        organization=org,
        actor=Actor.for_member(root),
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.OUTGOING,
        channel=room,
        bot=bot,
        trigger_words=["deploy"],
        urls=[receiver.url],
    )
    cluster.worker(env=WORKER_ENV)

    response = session_client(alice).post(
        f"/api/messaging/channels/{room.pk}/messages/command/deploy/exec",
        {"input": "prod now", "params": ["prod"]},
        format="json",
    )
    assert response.status_code == 200, response.content

    [seen] = receiver.wait_for_requests(1, timeout=WAIT)
    assert verified(seen, issued.signing_secret) == {"text": "prod now"}
    [delivery] = wait_for(lambda: finished(issued.integration), timeout=WAIT, what="the record")
    assert (delivery.status, delivery.event) == (Delivery.Status.SUCCEEDED, "command")
    assert delivery.webhook_id == seen.headers["webhook-id"]
    # the text/plain answer is the bot's reply in the command's channel
    reply = wait_for(
        lambda: Message.objects.filter(channel=room, data__text="deploying prod").first(),
        timeout=WAIT,
        what="the reply in the room",
    )
    assert reply.author_id == bot.pk
    wait_for(
        lambda: Delivery.objects.filter(
            pk=delivery.pk, reply_message_id=str(reply.public_id)
        ).exists(),
        timeout=WAIT,
        what="the delivery to name its reply",
    )
