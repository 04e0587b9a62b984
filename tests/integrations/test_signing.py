"""Outgoing webhooks are signed (Standard Webhooks), checked by a real local receiver with
the ``standardwebhooks`` package, as a receiver would; the signing secret is stored
encrypted and survives a rotation of the encryption keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from apps.audit.actor import Actor
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing
from apps.integrations.services.delivery import (
    NewDelivery,
    deliveries_create,
    deliveries_run,
    delivery_replay,
)
from apps.integrations.services.integrations import (
    IssuedIntegration,
    integration_create,
    integration_signing_secret_rotate,
)
from tests.factories import OrganizationFactory
from tests.integrations.receivers import Answer, Receiver, Receivers, Seen, allow_local

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


@pytest.fixture
def receivers(settings):
    allow_local(settings)
    with Receivers() as pool:
        yield pool


def _keys(settings, *keys: bytes) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_SECRET_KEYS": [k.decode() for k in keys]}


def _outgoing(url: str, **fields) -> IssuedIntegration:
    return integration_create(
        organization=OrganizationFactory(),
        actor=SYSTEM,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.OUTGOING,
        name="signed",
        urls=[url],
        **fields,
    )


def _deliver(integration: Integration, payload: dict | None = None) -> Delivery:
    deliveries_create([NewDelivery(integration, "test", payload or {"text": "hello"})])
    deliveries_run(threads=False)
    return Delivery.objects.filter(integration=integration).latest("pk")


def _due_now(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def _verifies(secret: str, seen: Seen) -> bool:
    try:
        Webhook(secret).verify(seen.body, seen.headers)
    except WebhookVerificationError:
        return False
    return True


def test_every_request_carries_the_standard_headers_and_the_issued_secret_verifies_it(
    receivers: Receivers,
):
    hook = receivers.http()
    issued = _outgoing(hook.url)
    assert issued.signing_secret.startswith("whsec_")
    delivery = _deliver(issued.integration, {"text": "héllo"})
    [seen] = hook.requests
    assert seen.headers["webhook-id"] == delivery.webhook_id
    assert seen.headers["webhook-timestamp"].isdigit()
    assert seen.headers["webhook-signature"].startswith("v1,")
    assert Webhook(issued.signing_secret).verify(seen.body, seen.headers) == {"text": "héllo"}
    assert not _verifies(signing.secret_new(), seen)


def test_the_signature_covers_the_rocketchat_token_put_in_at_send_time(receivers: Receivers):
    hook = receivers.http()
    issued = integration_create(
        organization=OrganizationFactory(),
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        event="sendMessage",
        urls=[hook.url],
        outgoing_token="rc-outgoing-token-1234",
    )
    _deliver(issued.integration)
    [seen] = hook.requests
    body = Webhook(issued.signing_secret).verify(seen.body, seen.headers)
    assert body["token"] == "rc-outgoing-token-1234"


def test_the_webhook_id_is_the_same_on_every_attempt_and_on_a_replay(
    receivers: Receivers, settings
):
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_RETRY_SCHEDULE": [0, 60, 60]}
    hook = receivers.http(Answer(500), Answer(500))
    issued = _outgoing(hook.url)
    delivery = _deliver(issued.integration)
    for _ in range(2):
        _due_now(delivery)
        deliveries_run(threads=False)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SUCCEEDED, 3)
    delivery_replay(actor=SYSTEM, delivery=delivery)
    deliveries_run(threads=False)
    seen = hook.wait_for_requests(4)
    assert [s.headers["webhook-id"] for s in seen] == [delivery.webhook_id] * 4
    assert all(_verifies(issued.signing_secret, s) for s in seen)


def test_after_a_rotation_both_secrets_verify_during_the_grace_and_only_the_new_one_after(
    receivers: Receivers,
):
    hook = receivers.http()
    issued = _outgoing(hook.url)
    old = issued.signing_secret
    new = integration_signing_secret_rotate(actor=SYSTEM, integration=issued.integration)
    assert new != old and new.startswith("whsec_")
    integration = Integration.objects.get(pk=issued.integration.pk)
    assert integration.previous_signing_secret_until > timezone.now()

    _deliver(integration)
    [during] = hook.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(old, during) and _verifies(new, during)

    Integration.objects.filter(pk=integration.pk).update(
        previous_signing_secret_until=timezone.now() - timedelta(seconds=1)
    )
    _deliver(integration, {"text": "after the grace"})
    after = hook.requests[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(new, after) and not _verifies(old, after)


def _database_text() -> str:
    """Every value of every row of every table, as text (a database dump)."""
    dump: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def test_the_signing_secret_is_stored_encrypted_and_appears_in_no_row_of_the_database(
    receivers: Receivers,
):
    hook = receivers.http()
    issued = _outgoing(hook.url)
    old = issued.signing_secret
    new = integration_signing_secret_rotate(actor=SYSTEM, integration=issued.integration)
    _deliver(issued.integration)
    row = Integration.objects.filter(pk=issued.integration.pk).values().get()
    assert row["signing_secret"] and row["previous_signing_secret"]
    values = repr(list(row.values()))
    dump = _database_text()
    for secret in (old, new):
        body = secret.removeprefix("whsec_")
        for text in (values, dump):
            assert secret not in text and body not in text
    assert signing.signing_secrets(Integration.objects.get(pk=issued.integration.pk)) == [new, old]


def test_a_secret_encrypted_under_an_old_key_still_decrypts_when_a_new_key_comes_first(
    receivers: Receivers, settings
):
    k1, k2 = Fernet.generate_key(), Fernet.generate_key()
    _keys(settings, k1)
    hook = receivers.http()
    issued = _outgoing(hook.url)
    _keys(settings, k2, k1)
    integration = Integration.objects.get(pk=issued.integration.pk)
    assert signing.signing_secrets(integration) == [issued.signing_secret]
    _deliver(integration)
    assert _verifies(issued.signing_secret, hook.requests[0])
    # what is encrypted now uses the first key: it no longer needs the old one
    stored = signing.secret_encrypt("whsec_dGVzdA==")
    _keys(settings, k2)
    assert signing.secret_decrypt(stored) == "whsec_dGVzdA=="
    assert signing.secret_decrypt(integration.signing_secret) == ""


def test_a_lost_key_leaves_no_secret_and_the_delivery_is_not_sent_unsigned(
    receivers: Receivers, settings
):
    k1, k2 = Fernet.generate_key(), Fernet.generate_key()
    _keys(settings, k1)
    hook = receivers.http()
    issued = _outgoing(hook.url)
    _keys(settings, k2)  # k1 lost
    integration = Integration.objects.get(pk=issued.integration.pk)
    assert signing.signing_secrets(integration) == []
    assert "webhook-signature" not in signing.sign_headers(
        integration, webhook_id="msg_x", body=b""
    )

    delivery = _deliver(integration)
    assert hook.requests == []
    assert delivery.status == Delivery.Status.PENDING  # retried: the key may come back
    assert delivery.error_message.startswith("signing_failed:")
    assert delivery.response_status is None

    _keys(settings, k2, k1)  # the key is restored: the retry goes out signed
    _due_now(delivery)
    deliveries_run(threads=False)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert _verifies(issued.signing_secret, hook.requests[0])


def test_a_rotation_after_a_lost_key_signs_again_with_the_new_secret_only(
    receivers: Receivers, settings
):
    k1, k2 = Fernet.generate_key(), Fernet.generate_key()
    _keys(settings, k1)
    hook: Receiver = receivers.http()
    issued = _outgoing(hook.url)
    _keys(settings, k2)
    new = integration_signing_secret_rotate(actor=SYSTEM, integration=issued.integration)
    integration = Integration.objects.get(pk=issued.integration.pk)
    assert signing.signing_secrets(integration) == [new]
    _deliver(integration)
    [seen] = hook.requests
    assert _verifies(new, seen) and not _verifies(issued.signing_secret, seen)
