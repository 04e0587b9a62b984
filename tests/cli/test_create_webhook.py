"""``manage.py create_webhook --org SLUG --kind KIND [--channel CHANNELID]``: a Stackfield
URL from the shell, printed alone on the last line, that works at once."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.integrations.models import Integration
from apps.integrations.selectors import integration_by_secret
from apps.messages.models import Message
from apps.organizations.models import Organization
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

BASE = "http://127.0.0.1:8000/apiwh/"


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_webhook", *args, stdout=out)
    return out.getvalue()


def last_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def test_it_prints_a_working_url_alone_on_the_last_line(org: Organization) -> None:
    channel = ChannelFactory(organization=org, channel_id="general")
    output = run("--org", "acme", "--kind", "chat-message", "--channel", "general")
    url = last_line(output)
    assert url.startswith(BASE) and " " not in url
    uuid = url.removeprefix(BASE)
    assert uuid not in output.splitlines()[0]
    integration = integration_by_secret(secret=uuid, flavor="stackfield")
    assert integration.kind == "chat-message" and integration.channel == channel
    assert integration.bot.user_id == "stackfield" and integration.token_hash != uuid
    answer = APIClient().post(
        url.removeprefix("http://127.0.0.1:8000"),
        json.dumps({"Title": "from the shell"}),
        content_type="application/json",
    )
    assert answer.json() == {"Result": "ok"}
    assert Message.objects.get(channel=channel).data["text"] == "from the shell"
    entry = AuditEntry.objects.get(organization=org, action="integration.create")
    assert entry.actor_label == "system"


@pytest.mark.parametrize("kind", ["chat-message", "discussion", "task", "page", "file", "event"])
def test_a_kind_that_posts_refuses_to_be_made_without_a_channel(
    org: Organization, kind: str
) -> None:
    with pytest.raises(CommandError, match="channel"):
        run("--org", "acme", "--kind", kind)
    assert not Integration.objects.exists()


def test_room_settings_takes_a_channel_or_none(org: Organization) -> None:
    ChannelFactory(organization=org, channel_id="general")
    run("--org", "acme", "--kind", "room-settings", "--channel", "general")
    run("--org", "acme", "--kind", "room-settings")
    assert sorted((i.kind, i.channel_id is not None) for i in Integration.objects.all()) == [
        ("room-settings", False),
        ("room-settings", True),
    ]


def test_an_organization_url_takes_no_channel(org: Organization) -> None:
    ChannelFactory(organization=org, channel_id="general")
    with pytest.raises(CommandError, match="channel"):
        run("--org", "acme", "--kind", "organization", "--channel", "general")
    assert last_line(run("--org", "acme", "--kind", "organization")).startswith(BASE)


def test_an_unknown_kind_is_refused(org: Organization) -> None:
    with pytest.raises(CommandError, match="kind"):
        run("--org", "acme", "--kind", "spreadsheet")


def test_an_unknown_organization_is_refused(db: None) -> None:
    with pytest.raises(CommandError, match="No organization"):
        run("--org", "nope", "--kind", "organization")


def test_a_channel_of_another_organization_or_a_closed_one_is_refused(
    org: Organization, other_org: Organization
) -> None:
    ChannelFactory(organization=other_org, channel_id="theirs")
    ChannelFactory(organization=org, channel_id="closed", closed_at=timezone.now())
    for channel in ("theirs", "closed", "missing"):
        with pytest.raises(CommandError, match="No open channel"):
            run("--org", "acme", "--kind", "task", "--channel", channel)
    assert not Integration.objects.exists()


def test_the_base_url_is_an_option(org: Organization) -> None:
    url = last_line(
        run("--org", "acme", "--kind", "organization", "--base-url", "https://chat.example.com/")
    )
    assert url.startswith("https://chat.example.com/apiwh/")


@pytest.mark.parametrize("base", ["ftp://x", "chat.example.com", "", "https://x/?a=1"])
def test_a_base_url_that_is_no_http_url_is_refused(org: Organization, base: str) -> None:
    with pytest.raises(CommandError, match="--base-url"):
        run("--org", "acme", "--kind", "organization", "--base-url", base)
    assert not Integration.objects.exists()
