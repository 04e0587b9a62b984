"""The delivery engine (apps.integrations.services.delivery) against real local HTTP
receivers (tests/integrations/receivers.py): what is sent, the status rules, the retry
schedules, the circuit breaker, claims and leases, isolation under threads, replay.

Most tests run attempts one by one in the test (``deliveries_run(threads=False)``) and
make "later" by moving ``next_attempt_at``; the ones marked ``transaction=True`` run the
worker's thread pool, whose threads use their own database connections.
"""

from __future__ import annotations

import email.utils
import json
import socket
import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import delivery_sql
from apps.integrations.services.delivery import (
    DUE_BATCH,
    MAX_RETRY_AFTER,
    NewDelivery,
    deliveries_create,
    deliveries_run,
    delivery_attempt,
    delivery_claim,
    delivery_replay,
    retry_delay,
)
from apps.integrations.services.integrations import integration_create, integration_update
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import AccessToken
from tests.factories import ChannelFactory, MemberFactory, OrganizationFactory
from tests.integration.harness import wait_for
from tests.integrations.receivers import (
    Answer,
    Receivers,
    Seen,
    allow_local,
    echo,
    outgoing_hook,
)
from tests.personas import given_token
from tests.processes import free_port

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
#: The schedule of these tests: three attempts, the later ones a minute apart (a test
#: makes "later" by moving next_attempt_at, so no run makes two attempts by itself).
SCHEDULE = [0, 60, 60]


@pytest.fixture
def receivers(settings):
    allow_local(settings)
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_RETRY_SCHEDULE": SCHEDULE}
    with Receivers() as pool:
        yield pool


def _config(settings, **values) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, **{f"WEBHOOK_{k}": v for k, v in values.items()}}


def _rocketchat(*urls: str, **fields) -> Integration:
    """A Rocket.Chat outgoing integration (its own retryCount / retryDelay)."""
    return integration_create(
        organization=OrganizationFactory(),
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        event="sendMessage",
        urls=list(urls),
        outgoing_token=fields.pop("outgoing_token", "rc-outgoing-token-5f3a9c"),
        **fields,
    ).integration


def _queue(integration: Integration, count: int = 1, payload: dict | None = None) -> list[Delivery]:
    deliveries_create(
        [NewDelivery(integration, "test", payload or {"text": f"event {i}"}) for i in range(count)]
    )
    return list(Delivery.objects.filter(integration=integration).order_by("pk"))


def _run() -> None:
    deliveries_run(threads=False)


def _fresh(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


def _due_now(*deliveries: Delivery) -> None:
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now()
    )


def _timed_run() -> tuple[datetime, datetime]:
    before = timezone.now()
    _run()
    return before, timezone.now()


# --- what is sent ----------------------------------------------------------------------


def test_rocketchat_token_is_sent_but_never_stored_and_an_echo_shows_it_redacted(
    receivers: Receivers,
):
    hook = receivers.http(default=echo)
    integration = _rocketchat(hook.url)
    [delivery] = _queue(integration, payload={"text": "hi", "channel_name": "general"})
    _run()
    [seen] = hook.requests
    assert seen.json() == {
        "token": "rc-outgoing-token-5f3a9c",
        "text": "hi",
        "channel_name": "general",
    }
    assert seen.headers["content-type"] == "application/json"
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert "token" not in delivery.payload
    assert "rc-outgoing-token-5f3a9c" not in json.dumps(delivery.payload)
    assert "rc-outgoing-token-5f3a9c" not in delivery.response_excerpt
    assert '"token":"[redacted]"' in delivery.response_excerpt


def test_a_token_across_the_excerpt_cut_leaves_no_part_of_it_in_the_history(
    receivers: Receivers,
):
    token = "rc-outgoing-token-" + "k" * 40
    # the echo starts so that the token straddles the 2000th character
    hook = receivers.http(default=lambda seen: Answer(200, "x" * 1980 + seen.body.decode()))
    integration = _rocketchat(hook.url, outgoing_token=token)
    [delivery] = _queue(integration)
    _run()
    excerpt = _fresh(delivery).response_excerpt
    assert len(excerpt) == 2000
    assert excerpt.endswith('{"token":"[redacted]')  # exactly at the cut
    assert "rc-out" not in excerpt


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_succeeds(receivers: Receivers, status: int):
    hook = receivers.http(default=Answer(status, "" if status == 204 else "ok"))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    _run()
    delivery = _fresh(delivery)
    assert (delivery.status, delivery.response_status, delivery.attempts) == (
        Delivery.Status.SUCCEEDED,
        status,
        1,
    )
    assert delivery.finished_at is not None and delivery.next_attempt_at is None
    assert delivery.leased_until is None and delivery.error_message == ""
    assert len(hook.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_3xx_is_a_failure_and_its_location_is_not_followed(receivers: Receivers, status: int):
    target = receivers.http()
    hook = receivers.http(default=Answer(status, headers={"Location": target.url}))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    _run()
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.PENDING  # retried on the schedule
    assert delivery.response_status == status
    assert "redirects are not followed" in delivery.error_message
    assert len(hook.requests) == 1 and target.requests == []


@pytest.mark.parametrize("status", [400, 404, 500])
def test_4xx_and_5xx_are_retried_on_the_schedule_then_failed(receivers: Receivers, status: int):
    hook = receivers.http(default=Answer(status, "nope"))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    for attempt in range(1, len(SCHEDULE) + 1):
        _due_now(delivery)
        before, after = _timed_run()
        delivery = _fresh(delivery)
        assert delivery.attempts == attempt and delivery.response_status == status
        assert delivery.error_message == f"HTTP {status}"
        if attempt < len(SCHEDULE):
            assert delivery.status == Delivery.Status.PENDING
            wait = timedelta(seconds=SCHEDULE[attempt])
            assert before + wait <= delivery.next_attempt_at <= after + wait * 1.2
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.next_attempt_at is None and delivery.finished_at is not None
    assert len(hook.requests) == len(SCHEDULE)
    _due_now(delivery)
    _run()
    assert len(hook.requests) == len(SCHEDULE)  # nothing more once failed


def test_the_default_schedule_is_immediate_then_5s_5min_30min_2h_5h_10h_10h_with_jitter():
    integration = Integration(flavor=Integration.Flavor.MESSAGING)
    expected = [5, 300, 1800, 7200, 18000, 36000, 36000]
    for attempts, seconds in enumerate(expected, start=1):
        delay = retry_delay(integration, attempts).total_seconds()
        assert seconds <= delay <= seconds * 1.2
    assert retry_delay(integration, 8) is None


def test_rocketchat_retry_failed_calls_off_fails_after_one_attempt(receivers: Receivers):
    hook = receivers.http(default=Answer(500))
    integration = _rocketchat(hook.url, retry_failed_calls=False)
    [delivery] = _queue(integration)
    _run()
    delivery = _fresh(delivery)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert retry_delay(integration, 1) is None


@pytest.mark.parametrize("count", [0, 1, 3])
def test_rocketchat_retry_count_n_makes_n_retries(receivers: Receivers, count: int):
    hook = receivers.http(default=Answer(500))
    integration = _rocketchat(hook.url, retry_count=count, retry_delay="increments-of-two")
    [delivery] = _queue(integration)
    for _ in range(count + 3):
        _due_now(delivery)
        _run()
    delivery = _fresh(delivery)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, count + 1)
    assert len(hook.requests) == count + 1


@pytest.mark.parametrize(
    ("mode", "seconds"),
    [
        ("powers-of-ten", [0.1, 1, 10, 100, 1000]),
        ("powers-of-two", [2, 4, 8, 16, 32]),
        ("increments-of-two", [2, 4, 6, 8, 10]),
    ],
)
def test_rocketchat_retry_delay_follows_its_mode_without_jitter(mode: str, seconds: list[float]):
    integration = Integration(flavor=Integration.Flavor.ROCKETCHAT, retry_count=5, retry_delay=mode)
    delays = [retry_delay(integration, attempts) for attempts in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in seconds] + [None]


def test_rocketchat_next_attempt_moves_by_its_retry_delay(receivers: Receivers):
    hook = receivers.http(default=Answer(503))
    integration = _rocketchat(hook.url, retry_count=3, retry_delay="powers-of-two")
    [delivery] = _queue(integration)
    for seconds in (2, 4, 8):
        _due_now(delivery)
        before, after = _timed_run()
        wait = timedelta(seconds=seconds)
        assert before + wait <= _fresh(delivery).next_attempt_at <= after + wait


# --- 410, Retry-After, timeouts, the breaker, days of failure ---------------------------


def test_410_disables_the_integration_audited_and_its_pending_deliveries_are_cancelled(
    receivers: Receivers,
):
    hook = receivers.http(default=Answer(410))
    integration = outgoing_hook(hook.url)
    first, second = _queue(integration, 2)
    _run()
    integration.refresh_from_db()
    assert not integration.enabled
    assert "410" in integration.disabled_reason
    entry = AuditEntry.objects.get(action="integration.disable", target_id=str(integration.pk))
    assert entry.actor_label == "system" and entry.reason == integration.disabled_reason
    assert entry.before == {"enabled": True} and entry.after == {"enabled": False}
    first, second = _fresh(first), _fresh(second)
    assert (first.status, first.response_status) == (Delivery.Status.FAILED, 410)
    assert second.status == Delivery.Status.CANCELLED  # at its claim, without a request
    assert second.error_message == "The integration is disabled."
    assert len(hook.requests) == 1


def test_a_delivery_to_a_url_removed_from_the_integration_is_cancelled_unsent(
    receivers: Receivers,
):
    kept, removed = receivers.http(), receivers.http()
    integration = outgoing_hook(kept.url, removed.url)
    queued = _queue(integration)
    integration_update(actor=SYSTEM, integration=integration, urls=[kept.url])
    _run()
    by_url = {d.url: _fresh(d) for d in queued}
    assert by_url[kept.url].status == Delivery.Status.SUCCEEDED
    gone = by_url[removed.url]
    assert gone.status == Delivery.Status.CANCELLED
    assert gone.error_message == "The URL is no longer one of the integration's."
    assert len(kept.requests) == 1 and removed.requests == []


def test_429_with_retry_after_seconds_sets_the_next_attempt(receivers: Receivers):
    hook = receivers.http(Answer(429, headers={"Retry-After": "120"}))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    before, after = _timed_run()
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.PENDING and delivery.response_status == 429
    wait = timedelta(seconds=120)
    assert before + wait <= delivery.next_attempt_at <= after + wait


def test_503_with_an_http_date_retry_after_sets_the_next_attempt(receivers: Receivers):
    when = (timezone.now() + timedelta(minutes=10)).replace(microsecond=0)
    hook = receivers.http(
        Answer(503, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)})
    )
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    before, after = _timed_run()
    assert when <= _fresh(delivery).next_attempt_at <= when + (after - before)


def test_a_retry_after_beyond_a_day_is_capped(receivers: Receivers):
    hook = receivers.http(Answer(429, headers={"Retry-After": "9999999"}))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    before, after = _timed_run()
    assert before + MAX_RETRY_AFTER <= _fresh(delivery).next_attempt_at <= after + MAX_RETRY_AFTER


def test_a_receiver_that_never_answers_is_a_timeout_failure(receivers: Receivers, settings):
    _config(settings, TIMEOUT_SECONDS=1)
    dead = receivers.silent()
    integration = outgoing_hook(dead.url)
    [delivery] = _queue(integration)
    before = timezone.now()
    _run()
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert delivery.response_status is None
    assert delivery.error_message.startswith("timeout:")
    assert delivery.next_attempt_at >= before + timedelta(seconds=SCHEDULE[1])
    assert dead.requests == 1


def test_a_refused_connection_is_a_connect_failure(receivers: Receivers):
    integration = outgoing_hook(f"http://127.0.0.1:{free_port()}/hook")
    [delivery] = _queue(integration)
    _run()
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.error_message.startswith("connect:")


def test_a_dead_endpoint_holds_back_its_own_pending_deliveries_not_another_endpoints(
    receivers: Receivers,
):
    dead = receivers.http(default=Answer(500))
    healthy = receivers.http()
    integration = outgoing_hook(dead.url, healthy.url)
    rows = _queue(integration, 2)
    _run()
    to_dead = [_fresh(d) for d in rows if d.url == dead.url]
    to_healthy = [_fresh(d) for d in rows if d.url == healthy.url]
    tried = [d for d in to_dead if d.attempts]
    [failed] = tried  # the first failure held back the other one
    [waiting] = [d for d in to_dead if not d.attempts]
    assert waiting.status == Delivery.Status.PENDING
    assert waiting.next_attempt_at == failed.next_attempt_at
    assert len(dead.requests) == 1
    assert [d.status for d in to_healthy] == [Delivery.Status.SUCCEEDED] * 2
    assert len(healthy.requests) == 2


def test_failing_longer_than_the_window_disables_on_the_next_failure(receivers: Receivers):
    hook = receivers.http(default=Answer(500))
    integration = outgoing_hook(hook.url)
    Integration.objects.filter(pk=integration.pk).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1)
    )
    _queue(integration)
    _run()
    integration.refresh_from_db()
    assert not integration.enabled
    assert "5 days" in integration.disabled_reason
    assert AuditEntry.objects.filter(
        action="integration.disable", target_id=str(integration.pk)
    ).exists()


def test_failing_within_the_window_does_not_disable_and_keeps_failing_since(
    receivers: Receivers,
):
    hook = receivers.http(default=Answer(500))
    integration = outgoing_hook(hook.url)
    since = timezone.now() - timedelta(days=4)
    Integration.objects.filter(pk=integration.pk).update(failing_since=since)
    _queue(integration)
    _run()
    integration.refresh_from_db()
    assert integration.enabled and integration.failing_since == since


def test_a_first_failure_sets_failing_since_and_a_success_clears_it(receivers: Receivers):
    hook = receivers.http(Answer(500), default=Answer(200))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    before, after = _timed_run()
    integration.refresh_from_db()
    assert before <= integration.failing_since <= after
    _due_now(delivery)
    _run()
    integration.refresh_from_db()
    assert integration.failing_since is None and integration.enabled


def test_a_large_response_is_read_up_to_the_cap_and_the_excerpt_is_at_most_2000_chars(
    receivers: Receivers, settings
):
    _config(settings, RESPONSE_MAX_BYTES=4096)
    hook = receivers.http(default=Answer(200, b"x" * 1_000_000))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    attempt = delivery_claim(delivery.pk)
    outcome = delivery_attempt(delivery.pk, attempt)
    assert outcome.ok and outcome.response.truncated
    assert len(outcome.response.body) == 4096
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.response_excerpt == "x" * 2000


def test_a_name_resolving_to_a_private_address_at_send_time_is_refused_and_nothing_is_sent(
    receivers: Receivers, monkeypatch
):
    answers = {"hooks.example.test": ["127.0.0.1"]}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):  # the resolver, outside our code
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    hook = receivers.http()
    integration = outgoing_hook(f"http://hooks.example.test:{hook.port}/hook")
    [first] = _queue(integration)
    _run()
    assert _fresh(first).status == Delivery.Status.SUCCEEDED  # the name reaches the receiver
    assert hook.requests[0].headers["host"] == f"hooks.example.test:{hook.port}"

    answers["hooks.example.test"] = ["127.0.0.1", "192.168.10.20"]  # it now also says private
    deliveries_create([NewDelivery(integration, "test", {"text": "again"})])
    _run()
    second = Delivery.objects.filter(integration=integration).latest("pk")
    assert second.status == Delivery.Status.FAILED  # final: no retry
    assert second.error_message.startswith("url_not_allowed:")
    assert "192.168.10.20" in second.error_message
    assert len(hook.requests) == 1


# --- claims and leases -----------------------------------------------------------------


def test_two_claims_of_one_due_delivery_give_the_attempt_to_one_only(receivers: Receivers):
    integration = outgoing_hook(receivers.http().url)
    [delivery] = _queue(integration)
    assert delivery_claim(delivery.pk) == 1
    assert delivery_claim(delivery.pk) is None
    delivery = _fresh(delivery)
    assert delivery.attempts == 1 and delivery.leased_until > timezone.now()


def test_a_delivery_not_yet_due_is_not_claimed(receivers: Receivers):
    integration = outgoing_hook(receivers.http().url)
    [delivery] = _queue(integration)
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert delivery_claim(delivery.pk) is None


def test_an_attempt_whose_lease_expired_and_was_claimed_again_records_nothing(
    receivers: Receivers,
):
    hook = receivers.http(Answer(500), default=Answer(200))
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    assert delivery_claim(delivery.pk) == 1
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert delivery_claim(delivery.pk) == 2
    delivery_attempt(delivery.pk, 1)  # the slow first sender comes back: sent, not recorded
    delivery = _fresh(delivery)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 2
    assert delivery.response_status is None and delivery.error_message == ""
    assert delivery.leased_until is not None
    integration.refresh_from_db()
    assert integration.failing_since is None
    delivery_attempt(delivery.pk, 2)
    delivery = _fresh(delivery)
    assert (delivery.status, delivery.response_status) == (Delivery.Status.SUCCEEDED, 200)
    assert [s.headers["webhook-id"] for s in hook.requests] == [delivery.webhook_id] * 2


def test_an_expired_lease_of_a_killed_sender_is_claimed_again_with_the_same_webhook_id(
    receivers: Receivers,
):
    hook = receivers.http()
    integration = outgoing_hook(hook.url)
    [delivery] = _queue(integration)
    assert delivery_claim(delivery.pk) == 1  # the sender dies here, before sending
    _run()
    assert hook.requests == []  # the lease still holds
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    _run()
    delivery = _fresh(delivery)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SUCCEEDED, 2)
    [seen] = hook.requests
    assert seen.headers["webhook-id"] == delivery.webhook_id


def test_a_run_whose_freshly_read_rows_another_process_claimed_reads_again_and_sends_the_rest(
    receivers: Receivers, monkeypatch
):
    """Every run reads the first due rows: another process's run may claim them between
    this run's read and its claim. The run reads the due rows again instead of ending
    while rows are still due (which left them to one process until the next run)."""
    hook = receivers.http()
    integration = outgoing_hook(hook.url)
    rows = _queue(integration, DUE_BATCH + 5)
    real_due = delivery_sql.due
    taken: list[int] = []

    def due_then_taken(limit: int, now: datetime, full) -> list[tuple[int, int, str]]:
        found = real_due(limit, now, full)
        if not taken:  # the other run's claim commits right after this read
            taken.extend(pk for pk, _, _ in found)
            assert [delivery_claim(pk) for pk in taken] == [1] * len(taken)
        return found

    monkeypatch.setattr(delivery_sql, "due", due_then_taken)
    result = deliveries_run(threads=False)
    assert len(taken) == DUE_BATCH
    assert result.succeeded == 5
    rest = [d for d in rows if d.pk not in taken]
    assert set(_statuses(rest)) == {Delivery.Status.SUCCEEDED}
    assert set(_statuses([d for d in rows if d.pk in taken])) == {Delivery.Status.PENDING}
    assert sorted(s.headers["webhook-id"] for s in hook.requests) == sorted(
        d.webhook_id for d in rest
    )


def test_claiming_and_recording_an_attempt_is_a_constant_number_of_statements(
    receivers: Receivers, django_assert_max_num_queries
):
    ok = receivers.http()
    down = receivers.http(default=Answer(500))
    # success: read, write, clear failing_since; failure: read, write, set failing_since,
    # check its age, hold back the endpoint's others (one statement however many); plus
    # the transaction's savepoint and release here
    for url, siblings, most in (
        (ok.url, 1, 5),
        (ok.url, 30, 5),
        (down.url, 1, 7),
        (down.url, 30, 7),
    ):
        integration = outgoing_hook(url)
        first, *_ = _queue(integration, siblings)
        with django_assert_max_num_queries(2):
            attempt = delivery_claim(first.pk)
        with django_assert_max_num_queries(most):
            delivery_attempt(first.pk, attempt)
    assert len(ok.requests) == 2 and len(down.requests) == 2


def test_a_stale_attempt_that_succeeds_posts_no_reply(receivers: Receivers):
    hook = receivers.http(default=Answer(200, "pong", {"Content-Type": "text/plain"}))
    org = OrganizationFactory()
    channel = ChannelFactory(organization=org)
    integration = outgoing_hook(hook.url, org=org, channel=channel, username="echo.bot")
    deliveries_create(
        [NewDelivery(integration, "command", {"text": "ping"}, context={"channel": channel.pk})]
    )
    [delivery] = Delivery.objects.filter(integration=integration)
    assert delivery_claim(delivery.pk) == 1
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert delivery_claim(delivery.pk) == 2
    delivery_attempt(delivery.pk, 1)  # succeeds at the receiver, but no longer holds it
    assert not Message.objects.filter(channel=channel).exists()
    delivery_attempt(delivery.pk, 2)
    [reply] = Message.objects.filter(channel=channel)
    assert reply.data["text"] == "pong" and reply.author.user_id == "echo.bot"
    assert _fresh(delivery).reply_message_id == str(reply.public_id)
    assert len(hook.requests) == 2


# --- replay ----------------------------------------------------------------------------


def test_replay_makes_a_finished_delivery_pending_again_and_audits_it(receivers: Receivers):
    hook = receivers.http(Answer(500), default=Answer(200))
    integration = _rocketchat(hook.url, retry_failed_calls=False)
    [delivery] = _queue(integration)
    _run()
    assert _fresh(delivery).status == Delivery.Status.FAILED
    replayed = delivery_replay(actor=SYSTEM, delivery=_fresh(delivery))
    assert replayed.status == Delivery.Status.PENDING and replayed.finished_at is None
    assert replayed.webhook_id == delivery.webhook_id
    entry = AuditEntry.objects.get(action="integration.delivery.replay")
    assert entry.target_id == str(integration.pk)
    assert entry.after == {"delivery": delivery.webhook_id}
    _run()
    assert _fresh(delivery).status == Delivery.Status.SUCCEEDED
    assert [s.headers["webhook-id"] for s in hook.requests] == [delivery.webhook_id] * 2


def test_replay_of_a_pending_delivery_is_400(receivers: Receivers):
    integration = outgoing_hook(receivers.http().url)
    [delivery] = _queue(integration)
    with pytest.raises(DomainError) as exc:
        delivery_replay(actor=SYSTEM, delivery=delivery)
    assert (exc.value.code, exc.value.status) == ("invalid_parameter", 400)
    assert not AuditEntry.objects.filter(action="integration.delivery.replay").exists()


def test_replay_on_a_disabled_integration_is_503(receivers: Receivers):
    integration = outgoing_hook(receivers.http(default=Answer(410)).url)
    [delivery] = _queue(integration)
    _run()
    with pytest.raises(DomainError) as exc:
        delivery_replay(actor=SYSTEM, delivery=_fresh(delivery))
    assert (exc.value.code, exc.value.status) == ("integration_disabled", 503)
    assert _fresh(delivery).status == Delivery.Status.FAILED


def test_replay_by_another_organizations_admin_is_forbidden(receivers: Receivers):
    integration = outgoing_hook(receivers.http().url)
    [delivery] = _queue(integration)
    _run()
    stranger = MemberFactory(organization=OrganizationFactory(), org_role=Member.OrgRole.ADMIN)
    with pytest.raises(DomainError) as exc:
        delivery_replay(actor=Actor.for_member(stranger), delivery=_fresh(delivery))
    assert (exc.value.code, exc.value.status) == ("forbidden", 403)
    insider = MemberFactory(organization=integration.organization, org_role=Member.OrgRole.ADMIN)
    assert delivery_replay(actor=Actor.for_member(insider), delivery=_fresh(delivery)).status == (
        Delivery.Status.PENDING
    )


def test_replay_with_another_organizations_admin_token_is_forbidden(receivers: Receivers):
    integration = outgoing_hook(receivers.http().url)
    [delivery] = _queue(integration)
    _run()
    token = given_token(kind=AccessToken.Kind.ADMIN, organization=OrganizationFactory()).token
    with pytest.raises(DomainError) as exc:
        delivery_replay(actor=Actor(token=token), delivery=_fresh(delivery))
    assert exc.value.code == "forbidden"
    own = given_token(kind=AccessToken.Kind.ADMIN, organization=integration.organization).token
    assert delivery_replay(actor=Actor(token=own), delivery=_fresh(delivery)).status == (
        Delivery.Status.PENDING
    )


def test_replay_by_a_member_without_the_permission_is_forbidden(receivers: Receivers):
    integration = outgoing_hook(receivers.http().url)
    [delivery] = _queue(integration)
    _run()
    member = MemberFactory(organization=integration.organization)
    with pytest.raises(DomainError) as exc:
        delivery_replay(actor=Actor.for_member(member), delivery=_fresh(delivery))
    assert exc.value.code == "forbidden"


def test_the_same_event_queued_twice_makes_one_delivery_per_url(receivers: Receivers):
    a, b = receivers.http(), receivers.http()
    integration = outgoing_hook(a.url, b.url)
    row = NewDelivery(integration, "test", {"text": "once"})
    deliveries_create([row])
    deliveries_create([row])
    assert Delivery.objects.filter(integration=integration).count() == 2
    _run()
    assert len(a.requests) == len(b.requests) == 1


# --- threads ---------------------------------------------------------------------------


def _statuses(rows: list[Delivery]) -> list[str]:
    return [_fresh(d).status for d in rows]


#: The in-memory SQLite test database is shared by threads in shared-cache mode, whose
#: table locks fail at once ("database table is locked") instead of waiting.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="threads writing at once need PostgreSQL (the SQLite test database is in memory)",
)


@pytest.fixture
def threads_close_connections(monkeypatch) -> None:
    """The pool's threads keep their connections (CONN_MAX_AGE) across attempts; here each
    closes its own after an attempt, so none outlives the test (its database is dropped).
    Every thread's connection shares this settings dict."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_threads_a_hung_endpoint_holds_at_most_its_share_while_the_healthy_all_succeed(
    receivers: Receivers, settings, threads_close_connections
):
    _config(
        settings,
        TIMEOUT_SECONDS=3,
        ENDPOINT_CONCURRENCY=2,
        DELIVERY_CONCURRENCY=8,
        RETRY_SCHEDULE=[0, 300],
    )
    dead = receivers.silent()
    healthy = [receivers.http() for _ in range(3)]
    org = OrganizationFactory()
    dead_rows = _queue(outgoing_hook(dead.url, org=org), 6)
    healthy_rows = [d for h in healthy for d in _queue(outgoing_hook(h.url, org=org), 4)]

    deliveries_run(threads=True, budget=30)
    wait_for(
        lambda: set(_statuses(healthy_rows)) == {Delivery.Status.SUCCEEDED},
        timeout=30,
        what="the healthy deliveries",
    )
    wait_for(
        lambda: (
            Delivery.objects.filter(
                pk__in=[d.pk for d in dead_rows], error_message__startswith="timeout"
            ).count()
            == 2
        ),
        timeout=30,
        what="the hung endpoint's attempts to time out",
    )
    for receiver in healthy:
        assert len({s.headers["webhook-id"] for s in receiver.requests}) == 4
        assert len(receiver.requests) == 4
    assert dead.requests <= 2 and dead.most_open <= 2
    dead_rows = [_fresh(d) for d in dead_rows]
    tried = [d for d in dead_rows if d.attempts]
    assert len(tried) == 2
    assert all(d.status == Delivery.Status.PENDING for d in dead_rows)
    later = min(d.next_attempt_at for d in tried)
    assert all(d.next_attempt_at >= later for d in dead_rows if not d.attempts)
    # the healthy ones did not wait for the hung endpoint's timeouts
    healthy_done = max(_fresh(d).finished_at for d in healthy_rows)
    assert healthy_done < min(d.last_attempt_at for d in tried) + timedelta(seconds=3)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_threads_two_concurrent_runs_send_each_delivery_once(receivers: Receivers):
    hooks = [receivers.http() for _ in range(3)]
    org = OrganizationFactory()
    rows = [d for h in hooks for d in _queue(outgoing_hook(h.url, org=org), 10)]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            deliveries_run(threads=False)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    runners = [threading.Thread(target=run) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=60)
    assert errors == []
    assert set(_statuses(rows)) == {Delivery.Status.SUCCEEDED}
    assert all(_fresh(d).attempts == 1 for d in rows)
    seen: list[Seen] = [s for h in hooks for s in h.requests]
    assert sorted(s.headers["webhook-id"] for s in seen) == sorted(d.webhook_id for d in rows)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_breaker_skips_a_row_another_sender_holds_instead_of_waiting_for_it(
    receivers: Receivers,
):
    """Two senders of one endpoint failing at once each hold their own row while holding
    the other's back: waiting for each other would deadlock."""
    hook = receivers.http(default=Answer(500))
    failing, held, free = _queue(outgoing_hook(hook.url), 3)
    locked, release, recorded = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:  # another sender, in the middle of recording its attempt
        try:
            with transaction.atomic():
                list(Delivery.objects.select_for_update().filter(pk=held.pk))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    def send(attempt: int) -> None:
        try:
            delivery_attempt(failing.pk, attempt)
            recorded.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    sender = threading.Thread(target=send, args=(delivery_claim(failing.pk),))
    sender.start()
    finished = recorded.wait(10)
    release.set()
    holder.join(30)
    sender.join(30)
    assert finished, "recording the failure waited for a row another sender holds"
    failing = _fresh(failing)
    assert failing.response_status == 500
    assert _fresh(free).next_attempt_at == failing.next_attempt_at
    assert _fresh(held).next_attempt_at < failing.next_attempt_at  # skipped, not waited for
