"""A real Rocket.Chat REST client from PyPI (``rocketchat-API``, module ``rocketchat_API``)
drives ``/api/v1/`` over HTTP against a live server, unchanged: login, ``me`` and the
integrations methods, then the incoming URL it was given."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
)
from rocketchat_API.rocketchat import RocketChat

from apps.integrations.models import Integration
from apps.messages.models import Message
from apps.organizations.models import AccessToken, Organization
from tests.factories import AccountFactory, ChannelFactory, OrganizationFactory
from tests.personas import given_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme() -> tuple[Organization, str]:
    """acme with #general and an admin token held by admin@acme.test."""
    org = OrganizationFactory(slug="acme")
    ChannelFactory(organization=org, channel_id="general", display_name="General")
    issued = given_token(
        kind=AccessToken.Kind.ADMIN,
        account=AccountFactory(email="admin@acme.test"),
        organization=org,
    )
    return org, issued.raw


def test_rocketchat_api_logs_in_and_manages_integrations(
    live_server: Any, acme: tuple[Organization, str]
) -> None:
    org, token = acme
    rocket = RocketChat(user="admin@acme.test", password=token, server_url=live_server.url)
    assert rocket.headers == {"X-Auth-Token": token, "X-User-Id": "admin@acme.test"}
    me = rocket.me()
    assert me["success"] is True and me["_id"] == "admin@acme.test"

    incoming = rocket.integrations_create(
        "webhook-incoming",
        name="CI",
        enabled=True,
        username="ci.bot",
        channel="#general",
        script_enabled=False,
        alias="CI",
        emoji=":rocket:",
    )["integration"]
    assert incoming["type"] == "webhook-incoming" and incoming["channel"] == ["#general"]
    assert incoming["userId"] == "ci.bot" and incoming["token"]
    outgoing = rocket.integrations_create(
        "webhook-outgoing",
        name="Guggy",
        enabled=False,
        username="rocket.cat",
        channel="#general",
        script_enabled=False,
        event="sendMessage",
        urls=["http://text2gif.guggy.com/guggify"],
        triggerWords=["!guggy"],
    )["integration"]
    assert outgoing["event"] == "sendMessage" and outgoing["triggerWords"] == ["!guggy"]

    listed = list(rocket.integrations_list())
    assert [i["_id"] for i in listed] == [outgoing["_id"], incoming["_id"]]
    assert all("token" not in i for i in listed)
    got = rocket.integrations_get(incoming["_id"])["integration"]
    assert got["name"] == "CI" and "token" not in got

    updated = rocket.integrations_update(
        "webhook-incoming",
        name="CI renamed",
        enabled=True,
        username="ci.bot",
        channel="#general",
        script_enabled=False,
        integration_id=incoming["_id"],
    )["integration"]
    assert updated["name"] == "CI renamed" and updated["alias"] == "CI"

    posted = requests.post(
        f"{live_server.url}/hooks/{incoming['_id']}/{incoming['token']}",
        json={"text": "Build #7 passed"},
        timeout=30,
    )
    assert posted.status_code == 200 and posted.json() == {"success": True}
    assert Message.objects.get().data["text"] == "Build #7 passed"
    history = list(rocket.integrations_history(incoming["_id"]))
    assert [entry["step"] for entry in history] == ["incoming-posted"]

    with pytest.raises(RocketApiException) as refused:
        rocket.integrations_create(
            "webhook-incoming",
            name="Nowhere",
            enabled=True,
            username="ci.bot",
            channel="#nowhere",
            script_enabled=False,
        )
    assert (refused.value.status_code, refused.value.error_type) == (400, "error-invalid-channel")

    removed = rocket.integrations_remove("webhook-incoming", incoming["_id"])
    assert removed["success"] is True and removed["integration"]["_id"] == incoming["_id"]
    rocket.integrations_remove("webhook-outgoing", outgoing["_id"])
    assert not Integration.objects.filter(organization=org).exists()


def test_rocketchat_api_with_a_wrong_pair_is_refused(
    live_server: Any, acme: tuple[Organization, str]
) -> None:
    _, token = acme
    with pytest.raises(RocketAuthenticationException):
        RocketChat(user="admin@acme.test", password="not-the-token", server_url=live_server.url)
    rocket = RocketChat(auth_token=token, user_id="someone-else", server_url=live_server.url)
    with pytest.raises(RocketApiException) as refused:
        rocket.me()
    assert refused.value.status_code == 401
    assert refused.value.response_json["error"] == "unauthorized"
