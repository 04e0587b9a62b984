"""The outbox in the Django admin: read-only, with a "retry now" for failing events."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.events.models import Event
from tests.factories import AccountFactory

from .conftest import record


def test_the_admin_lists_failing_events_and_retries_them_now(org) -> None:
    failing, fine = record(org, 2)
    Event.objects.filter(pk=failing.pk).update(
        attempts=3, last_error="boom", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    client = Client()
    client.force_login(AccountFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:events_event_changelist")

    page = client.get(url, {"delivery": "failing"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [failing]
    assert client.get(reverse("admin:events_event_change", args=[failing.pk])).status_code == 200

    client.post(url, {"action": "retry_now", "_selected_action": [failing.pk, fine.pk]})
    failing.refresh_from_db()
    assert failing.next_attempt_at is None and failing.dispatched_at is None
    assert client.get(reverse("admin:events_event_add")).status_code == 403
