"""Stackfield's webhook URLs (``POST /apiwh/<uuid>``): the scene and the client.

- ``general``: a channel of acme (the ``org`` fixture) that the posting URLs are bound to;
- ``make_url(kind, channel=...)``: a URL made the way the console and the CLI make one
  (``stackfield_url_create``), returned as its uuid;
- ``call(uuid, body)``: a POST as Stackfield's clients send it (JSON unless told);
- ``person(org, email)``: a member named by email the way ``create_event`` makes one (an
  account linked to a member whose userId is the email);
- ``written(org)``: every row a call may write, to show a refused call wrote nothing.

The one-call-per-second limit is off here (``WEBHOOK_MIN_INTERVAL_SECONDS`` 0) except in
the tests of that limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.accounts.services import account_get_or_create
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.calendar_events.models import CalendarEvent
from apps.channels.models import Channel
from apps.events.models import Event
from apps.integrations.models import IntegrationRequest
from apps.integrations.services.stackfield import stackfield_url_create
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.messages.models import Message, MessageFile
from apps.organizations.models import Organization
from tests.builders import snapshot
from tests.factories import ChannelFactory

SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _unthrottled(settings: Any) -> None:
    settings.CHATADMIN = {**django_settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 0}


@pytest.fixture
def general(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general", display_name="General")


def url_for(
    organization: Organization, kind: str, channel: Channel | None = None, **kwargs: Any
) -> str:
    """A new Stackfield URL of ``kind``; its uuid."""
    issued = stackfield_url_create(
        organization=organization, actor=SYSTEM, kind=kind, channel=channel, **kwargs
    )
    assert issued.token is not None
    return issued.token


@pytest.fixture
def make_url(org: Organization, general: Channel) -> Callable[..., str]:
    """``make_url(kind)``: a URL of acme, bound to ``general`` for the posting kinds."""

    def make(kind: str, channel: Channel | None = None, bound: bool = True) -> str:
        if channel is None and bound and kind not in ("organization", "room-settings"):
            channel = general
        return url_for(org, kind, channel)

    return make


def call(
    uuid: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    **extra: Any,
) -> Any:
    """``POST /apiwh/<uuid>`` with ``body`` as JSON (or the bytes ``raw``)."""
    data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
    return APIClient().generic("POST", f"/apiwh/{uuid}", data, content_type, **extra)


def upload_call(uuid: str, files: dict[str, Any], **extra: Any) -> Any:
    """A multipart POST, as ``curl -F File=@...`` sends it."""
    return APIClient().post(f"/apiwh/{uuid}", files, format="multipart", **extra)


def refused(response: Any, status: int, code: int) -> dict[str, Any]:
    """The answer is Stackfield's error ``code`` with HTTP ``status``."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["Result"] == str(code), body
    assert isinstance(body["ErrorText"], str) and body["ErrorText"]
    assert set(body) == {"Result", "ErrorText"}
    return body


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["Result"] == "ok", body
    return body


def person(organization: Organization, email: str, role: str = Member.OrgRole.MEMBER) -> Member:
    """The member ``email`` names: an account linked to a member whose userId is the
    email (``member_get_or_create_for_account(claim_user_id=True)``, as the CLI does)."""
    account: Account = account_get_or_create(email=email)[0]
    return member_get_or_create_for_account(
        organization=organization, account=account, actor=SYSTEM, role=role, claim_user_id=True
    ).member


def written(organization: Organization) -> dict[str, Any]:
    """Every row a call may write in ``organization`` (the integration's history aside)."""
    return {
        **snapshot(organization),
        "messages": list(Message.objects.filter(organization=organization).order_by("pk").values()),
        "files": MessageFile.objects.filter(message__organization=organization).count(),
        "calendar_events": list(
            CalendarEvent.objects.filter(organization=organization).order_by("pk").values()
        ),
        "events": Event.objects.filter(organization=organization).count(),
        "accounts": Account.objects.count(),
        "audit": AuditEntry.objects.filter(organization=organization).count(),
        "requests": IntegrationRequest.objects.filter(
            integration__organization=organization
        ).count(),
    }
