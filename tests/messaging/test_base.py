"""The messaging API's door: session authentication and its error dialect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.members.models import Member, MemberSession
from tests.personas import MessagingClient


@pytest.mark.django_db
def test_it_answers_an_unknown_path_in_its_own_error_dialect(as_alice: MessagingClient) -> None:
    response = as_alice.get("/api/messaging/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Not found.", "code": "not_found"}}


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Token abc"])
def test_it_refuses_a_missing_or_bad_session_with_401(header: str, org) -> None:
    client = MessagingClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/messaging/channels/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.django_db
def test_an_expired_or_revoked_session_stops_at_once(
    as_alice: MessagingClient, alice: Member
) -> None:
    assert as_alice.get("/api/messaging/channels/").status_code == 200
    MemberSession.objects.filter(member=alice).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert as_alice.get("/api/messaging/channels/").status_code == 401
