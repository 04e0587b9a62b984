"""``integrations.create``, ``.list``, ``.get``, ``.update``, ``.remove``: Rocket.Chat's
request fields and the stored document; every error code; another organization's ids."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from apps.audit.models import AuditEntry
from apps.integrations.models import Integration
from apps.integrations.services.integrations import integration_create
from apps.members.models import Member
from apps.organizations.models import Organization, hash_token
from apps.rocketchat import base
from tests.builders import form
from tests.factories import ChannelFactory
from tests.personas import SYSTEM, make_member

from .conftest import RocketClient, create_incoming, create_outgoing, rocket_client

pytestmark = pytest.mark.django_db

INCOMING_KEYS = {
    "_id",
    "type",
    "name",
    "enabled",
    "username",
    "userId",
    "channel",
    "scriptEnabled",
    "script",
    "alias",
    "avatar",
    "emoji",
    "overrideDestinationChannelEnabled",
    "_createdAt",
    "_createdBy",
    "_updatedAt",
}
OUTGOING_KEYS = (INCOMING_KEYS - {"overrideDestinationChannelEnabled"}) | {
    "event",
    "urls",
    "triggerWords",
    "triggerWordAnywhere",
    "targetRoom",
    "runOnEdits",
    "retryFailedCalls",
    "retryCount",
    "retryDelay",
    "impersonateUser",
}


def _error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False and isinstance(body["error"], str), body
    return response.status_code, body.get("errorType", "")


def _written(org: Organization) -> tuple[int, int, int]:
    """What a refused create or update must not have changed."""
    return (
        Integration.objects.filter(organization=org).count(),
        Member.objects.filter(organization=org).count(),
        AuditEntry.objects.filter(organization=org).count(),
    )


# --- create ---------------------------------------------------------------------------------


def test_create_incoming_answers_the_stored_document_and_its_token_once(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc, alias="CI", emoji=":ghost:", avatar="https://img.example/ci.png")
    assert set(doc) == INCOMING_KEYS | {"token"}
    assert doc["type"] == "webhook-incoming" and doc["name"] == "CI" and doc["enabled"] is True
    assert (doc["username"], doc["userId"]) == ("ci.bot", "ci.bot")
    assert doc["channel"] == ["#general"]
    assert (doc["alias"], doc["emoji"], doc["avatar"]) == (
        "CI",
        ":ghost:",
        "https://img.example/ci.png",
    )
    assert doc["_createdBy"] == {"_id": "admin@acme.test", "username": "admin@acme.test"}
    assert doc["_createdAt"].endswith("Z") and doc["_updatedAt"].endswith("Z")
    stored = Integration.objects.get(pk=int(doc["_id"]))
    assert stored.flavor == "rocketchat" and stored.token_hash == hash_token(doc["token"])
    assert doc["token"] not in str(stored.__dict__)  # only its hash is kept
    bot = Member.objects.get(organization=org, user_id="ci.bot")
    assert bot.is_bot
    assert AuditEntry.objects.filter(action="integration.create", target_id=doc["_id"]).exists()


def test_the_seeds_example_without_name_and_enabled_creates_an_enabled_one(
    rc: RocketClient, general: Any
) -> None:
    response = rc.call(
        "post",
        "integrations.create",
        {
            "type": "webhook-incoming",
            "username": "rocket.cat",
            "channel": "#general",
            "scriptEnabled": False,
        },
    )
    assert response.status_code == 200
    doc = response.json()["integration"]
    assert (doc["name"], doc["enabled"], doc["scriptEnabled"]) == ("", True, False)


def test_create_outgoing_answers_its_fields_and_its_signing_secret_never_its_token(
    rc: RocketClient, general: Any
) -> None:
    doc = create_outgoing(
        rc,
        triggerWords=["!guggy", "!gif"],
        triggerWordAnywhere=True,
        retryCount=3,
        retryDelay="powers-of-two",
        runOnEdits=True,
        impersonateUser=True,
        token="8DFS89DMKLWEN",
    )
    assert set(doc) == OUTGOING_KEYS | {"signingSecret"}
    assert doc["signingSecret"].startswith("whsec_")
    assert doc["type"] == "webhook-outgoing" and doc["event"] == "sendMessage"
    assert doc["urls"] == ["https://receiver.example/hook"]
    assert doc["triggerWords"] == ["!guggy", "!gif"]
    assert (doc["retryCount"], doc["retryDelay"]) == (3, "powers-of-two")
    assert doc["triggerWordAnywhere"] and doc["runOnEdits"] and doc["impersonateUser"]
    assert Integration.objects.get(pk=int(doc["_id"])).outgoing_token == "8DFS89DMKLWEN"


def test_create_takes_several_channels_and_a_user(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    ChannelFactory(organization=org, channel_id="ops", display_name="Ops")
    make_member(org, user_id="alice")
    doc = create_incoming(rc, channel="#general, #Ops,@alice")
    assert doc["channel"] == ["#general", "#Ops", "@alice"]
    doc = create_incoming(rc, channel=["#general", "@alice"])
    assert doc["channel"] == ["#general", "@alice"]


def test_create_takes_a_form_body(rc: RocketClient, general: Any) -> None:
    response = form(
        rc,
        "post",
        "/api/v1/integrations.create",
        {
            "type": "webhook-outgoing",
            "name": "Form",
            "enabled": "true",
            "event": "sendMessage",
            "username": "rocket.cat",
            "channel": "#general",
            "urls": ["https://a.example/x", "https://b.example/y"],
            "retryCount": "2",
            "scriptEnabled": "false",
        },
    )
    assert response.status_code == 200, response.content
    doc = response.json()["integration"]
    assert doc["urls"] == ["https://a.example/x", "https://b.example/y"]
    assert (doc["enabled"], doc["retryCount"]) == (True, 2)


def test_a_script_that_does_not_compile_is_saved_with_its_script_error(
    rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc, scriptEnabled=True, script="{{ request.content.text ")
    assert doc["scriptEnabled"] is True
    assert doc["scriptError"]


INCOMING_ERRORS = [
    ({"channel": "#nope"}, "error-invalid-channel"),
    ({"channel": None}, "error-invalid-channel"),
    ({"channel": " "}, "error-invalid-channel"),
    ({"channel": "general"}, "error-invalid-channel-start-with-chars"),
    ({"channel": ",".join(f"#c{i}" for i in range(51))}, "error-invalid-channel"),
    ({"channel": "all_public_channels"}, "error-invalid-channel-start-with-chars"),
    ({"username": None}, "error-invalid-username"),
    ({"username": ""}, "error-invalid-username"),
    ({"username": "two words"}, "error-invalid-username"),
    ({"type": None}, "invalid-params"),
    ({"type": "webhook-sideways"}, "invalid-params"),
    ({"enabled": "maybe"}, "invalid-params"),
    ({"name": 5}, "invalid-params"),
    ({"name": "x" * 201}, "invalid-params"),
    ({"channel": 5}, "invalid-params"),
    ({"channel": ["#general", 5]}, "invalid-params"),
    ({"avatar": "javascript:alert(1)"}, "invalid-params"),
    ({"event": "sendMessage"}, "invalid-params"),  # an outgoing field
    ({"urls": ["https://x.example"]}, "invalid-params"),
    ({"unknown": 1}, "invalid-params"),
    ({"alias": {"nested": "object"}}, "invalid-params"),
    ({"name": "nul\x00byte"}, "invalid-params"),
]


@pytest.mark.parametrize(("fields", "error_type"), INCOMING_ERRORS)
def test_a_bad_incoming_create_is_400_with_rocketchats_code_and_writes_nothing(
    org: Organization, rc: RocketClient, general: Any, fields: dict, error_type: str
) -> None:
    body = {
        "type": "webhook-incoming",
        "name": "CI",
        "enabled": True,
        "username": "ci.bot",
        "channel": "#general",
        "scriptEnabled": False,
        **fields,
    }
    body = {k: v for k, v in body.items() if v is not None}
    before = _written(org)
    response = rc.call("post", "integrations.create", body)
    assert _error(response) == (400, error_type)
    assert _written(org) == before


OUTGOING_ERRORS = [
    ({"event": None}, "error-invalid-event-type"),
    ({"event": "messagePinned"}, "error-invalid-event-type"),
    ({"urls": None}, "error-invalid-urls"),
    ({"urls": []}, "error-invalid-urls"),
    ({"urls": ["ftp://files.example/x"]}, "error-invalid-urls"),
    ({"urls": [f"https://x.example/{i}" for i in range(11)]}, "error-invalid-urls"),
    ({"triggerWords": [f"w{i}" for i in range(51)]}, "error-invalid-triggerWords"),
    ({"triggerWords": ["x" * 101]}, "error-invalid-triggerWords"),
    ({"targetRoom": "#nope"}, "error-invalid-targetRoom"),
    ({"targetRoom": "nowhere"}, "error-invalid-targetRoom"),
    ({"username": None}, "error-invalid-username"),
    ({"channel": "#nope"}, "error-invalid-channel"),
    ({"retryCount": "x"}, "invalid-params"),
    ({"retryCount": 99}, "invalid-params"),
    ({"retryCount": 1.5}, "invalid-params"),
    ({"retryDelay": "forever"}, "invalid-params"),
    ({"overrideDestinationChannelEnabled": True}, "invalid-params"),  # an incoming field
    ({"triggerWords": {"a": 1}}, "invalid-params"),
]


@pytest.mark.parametrize(("fields", "error_type"), OUTGOING_ERRORS)
def test_a_bad_outgoing_create_is_400_with_rocketchats_code_and_writes_nothing(
    org: Organization, rc: RocketClient, general: Any, fields: dict, error_type: str
) -> None:
    body = {
        "type": "webhook-outgoing",
        "name": "Guggy",
        "enabled": True,
        "event": "sendMessage",
        "username": "rocket.cat",
        "channel": "#general",
        "urls": ["https://receiver.example/hook"],
        "scriptEnabled": False,
        **fields,
    }
    body = {k: v for k, v in body.items() if v is not None}
    before = _written(org)
    response = rc.call("post", "integrations.create", body)
    assert _error(response) == (400, error_type)
    assert _written(org) == before


def test_scripts_turned_off_refuse_a_script_enabled_create(rc: RocketClient, general: Any) -> None:
    with override_settings(CHATADMIN={**settings.CHATADMIN, "INTEGRATION_SCRIPTS_ENABLED": False}):
        response = rc.call(
            "post",
            "integrations.create",
            {
                "type": "webhook-incoming",
                "username": "ci.bot",
                "channel": "#general",
                "scriptEnabled": True,
                "script": "{{ request.content.text }}",
            },
        )
    assert _error(response) == (400, "invalid-params")
    assert not Integration.objects.exists()


@pytest.mark.parametrize("kind", ["incoming", "outgoing"])
def test_a_member_without_the_permission_cannot_create_403(
    org: Organization, general: Any, kind: str
) -> None:
    client = rocket_client(org, "plain@acme.test", role=Member.OrgRole.MEMBER)
    before = _written(org)
    body = {
        "type": f"webhook-{kind}",
        "username": "ci.bot",
        "channel": "#general",
        "event": "sendMessage",
        "urls": ["https://x.example/"],
    }
    if kind == "incoming":
        body = {k: v for k, v in body.items() if k not in ("event", "urls")}
    response = client.call("post", "integrations.create", body)
    assert _error(response) == (403, "not_authorized")
    assert _written(org) == before


def test_another_organizations_channel_is_an_invalid_channel(
    other_org: Organization, rc: RocketClient, general: Any
) -> None:
    ChannelFactory(organization=other_org, channel_id="secret", display_name="Secret")
    response = rc.call(
        "post",
        "integrations.create",
        {"type": "webhook-incoming", "username": "ci.bot", "channel": "#secret"},
    )
    assert _error(response) == (400, "error-invalid-channel")


# --- list -----------------------------------------------------------------------------------


def test_list_answers_the_documents_newest_first_without_tokens(
    rc: RocketClient, general: Any
) -> None:
    first = create_incoming(rc, name="First")
    second = create_outgoing(rc, name="Second")
    response = rc.call("get", "integrations.list")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"integrations", "offset", "items", "count", "total", "success"}
    assert [i["_id"] for i in body["integrations"]] == [second["_id"], first["_id"]]
    assert (body["offset"], body["items"], body["count"], body["total"]) == (0, 2, 2, 2)
    assert set(body["integrations"][1]) == INCOMING_KEYS  # no token
    assert first["token"] not in response.content.decode()


def test_list_filters_by_name_and_type_and_pages(rc: RocketClient, general: Any) -> None:
    create_incoming(rc, name="Build alerts")
    create_incoming(rc, name="Deploys")
    create_outgoing(rc, name="Alerts out")
    names = lambda body: [i["name"] for i in body["integrations"]]  # noqa: E731
    body = rc.call("get", "integrations.list", {"name": "ALERT"}).json()
    assert names(body) == ["Alerts out", "Build alerts"] and body["total"] == 2
    body = rc.call("get", "integrations.list", {"type": "webhook-incoming"}).json()
    assert names(body) == ["Deploys", "Build alerts"]
    body = rc.call("get", "integrations.list", {"offset": 1, "count": 1}).json()
    assert names(body) == ["Deploys"]
    assert (body["offset"], body["items"], body["count"], body["total"]) == (1, 1, 1, 3)


def test_list_caps_count(rc: RocketClient, general: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(base, "MAX_COUNT", 2)
    for name in ("a", "b", "c"):
        create_incoming(rc, name=name)
    assert rc.call("get", "integrations.list", {"count": 50}).json()["items"] == 2
    assert rc.call("get", "integrations.list", {"count": 0}).json()["items"] == 2


def test_list_shows_neither_other_doors_nor_other_organizations_integrations(
    org: Organization, rc: RocketClient, other_rc: RocketClient, general: Any
) -> None:
    mine = create_incoming(rc)
    ChannelFactory(organization=other_rc.member.organization, channel_id="general")
    theirs = create_incoming(other_rc)
    integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.MESSAGING,
        direction="incoming",
        channel=general,
        username="messaging.bot",
    )
    assert [i["_id"] for i in rc.call("get", "integrations.list").json()["integrations"]] == [
        mine["_id"]
    ]
    assert [i["_id"] for i in other_rc.call("get", "integrations.list").json()["integrations"]] == [
        theirs["_id"]
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"type": "incoming"},
        {"count": -1},
        {"offset": "x"},
        {"offset": 10_001},
        {"query": '{"name": "x"}'},
        {"sort": '{"name": 1}'},
    ],
)
def test_a_bad_list_query_is_invalid_params(rc: RocketClient, query: dict) -> None:
    assert _error(rc.call("get", "integrations.list", query)) == (400, "invalid-params")


def test_a_member_without_any_integration_permission_cannot_list_403(org: Organization) -> None:
    client = rocket_client(org, "plain@acme.test", role=Member.OrgRole.MEMBER)
    assert _error(client.call("get", "integrations.list")) == (403, "not_authorized")


# --- get ------------------------------------------------------------------------------------


def test_get_answers_the_document_without_its_token(rc: RocketClient, general: Any) -> None:
    doc = create_incoming(rc)
    response = rc.call("get", "integrations.get", {"integrationId": doc["_id"]})
    assert response.status_code == 200
    got = response.json()["integration"]
    assert got == {k: v for k, v in doc.items() if k != "token"}


def test_get_with_created_by_finds_only_what_that_user_created(
    rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc)
    ok = rc.call("get", "integrations.get", {"integrationId": doc["_id"], "createdBy": rc.user_id})
    assert ok.status_code == 200
    other = rc.call("get", "integrations.get", {"integrationId": doc["_id"], "createdBy": "bob"})
    assert _error(other) == (404, "integration_not_found")


@pytest.mark.parametrize("integration_id", ["999999", "abc", "9" * 30, "-1", "0", "1.0", ""])
def test_get_of_an_unknown_id_is_404(rc: RocketClient, integration_id: str) -> None:
    response = rc.call("get", "integrations.get", {"integrationId": integration_id})
    if integration_id == "":
        assert _error(response) == (400, "invalid-params")
    else:
        assert _error(response) == (404, "integration_not_found")


def test_get_without_integration_id_is_invalid_params(rc: RocketClient) -> None:
    assert _error(rc.call("get", "integrations.get")) == (400, "invalid-params")


def test_get_of_another_doors_integration_is_404(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    issued = integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.STACKFIELD,
        direction="incoming",
        kind="chat-message",
        channel=general,
        username="stackfield.bot",
    )
    response = rc.call("get", "integrations.get", {"integrationId": str(issued.integration.pk)})
    assert _error(response) == (404, "integration_not_found")


# --- update ---------------------------------------------------------------------------------


def test_update_changes_the_fields_sent_and_keeps_the_others(
    org: Organization, rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc, alias="CI", emoji=":ghost:")
    ChannelFactory(organization=org, channel_id="ops")
    response = rc.call(
        "put",
        "integrations.update",
        {
            "type": "webhook-incoming",
            "integrationId": doc["_id"],
            "name": "Renamed",
            "channel": "#ops",
            "username": "ci.bot2",
            "overrideDestinationChannelEnabled": True,
        },
    )
    assert response.status_code == 200, response.content
    got = response.json()["integration"]
    assert (got["name"], got["channel"], got["username"]) == ("Renamed", ["#ops"], "ci.bot2")
    assert got["overrideDestinationChannelEnabled"] is True
    assert (got["alias"], got["emoji"], got["enabled"]) == ("CI", ":ghost:", True)
    assert "token" not in got
    assert got["_updatedAt"] >= doc["_updatedAt"]
    assert Member.objects.get(organization=org, user_id="ci.bot2").is_bot


def test_update_takes_the_body_rocketchat_api_sends(rc: RocketClient, general: Any) -> None:
    doc = create_outgoing(rc)
    response = rc.call(
        "put",
        "integrations.update",
        {
            "type": "webhook-outgoing",
            "name": "New name",
            "enabled": True,
            "username": "rocket.cat",
            "channel": "#general",
            "scriptEnabled": False,
            "integrationId": doc["_id"],
            "urls": ["https://new.example/hook"],
            "triggerWords": "!a,!b",
        },
    )
    assert response.status_code == 200, response.content
    got = response.json()["integration"]
    assert got["urls"] == ["https://new.example/hook"] and got["triggerWords"] == ["!a", "!b"]
    assert got["enabled"] is True and got["name"] == "New name"


def test_update_finds_an_outgoing_one_by_target_url(rc: RocketClient, general: Any) -> None:
    doc = create_outgoing(rc, urls=["https://a.example/x", "https://b.example/y"])
    response = rc.call(
        "put",
        "integrations.update",
        {"type": "webhook-outgoing", "target_url": "https://b.example/y", "name": "Found"},
    )
    assert response.status_code == 200
    assert response.json()["integration"]["_id"] == doc["_id"]
    missing = rc.call(
        "put",
        "integrations.update",
        {"type": "webhook-outgoing", "target_url": "https://c.example/", "name": "x"},
    )
    assert _error(missing) == (404, "integration_not_found")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"channel": ""}, (400, "error-invalid-channel")),
        ({"channel": "#nope"}, (400, "error-invalid-channel")),
        ({"channel": "nope"}, (400, "error-invalid-channel-start-with-chars")),
        ({"username": " "}, (400, "error-invalid-username")),
        ({"enabled": []}, (400, "invalid-params")),
        ({"event": "sendMessage"}, (400, "invalid-params")),
        ({"type": "webhook-outgoing"}, (404, "integration_not_found")),
        ({"integrationId": None}, (400, "invalid-params")),
        ({"integrationId": "424242"}, (404, "integration_not_found")),
        ({"integrationId": {"$ne": None}}, (400, "invalid-params")),
        ({"type": None}, (400, "invalid-params")),
    ],
)
def test_a_bad_update_is_refused_and_changes_nothing(
    org: Organization, rc: RocketClient, general: Any, fields: dict, expected: tuple
) -> None:
    doc = create_incoming(rc)
    body = {"type": "webhook-incoming", "integrationId": doc["_id"], "name": "x", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    before = Integration.objects.filter(pk=int(doc["_id"])).values().get()
    written = _written(org)
    assert _error(rc.call("put", "integrations.update", body)) == expected
    assert Integration.objects.filter(pk=int(doc["_id"])).values().get() == before
    assert _written(org) == written


# --- remove ---------------------------------------------------------------------------------


def test_remove_answers_the_integration_as_it_was_and_deletes_it(
    rc: RocketClient, general: Any
) -> None:
    doc = create_incoming(rc)
    response = rc.call(
        "post", "integrations.remove", {"type": "webhook-incoming", "integrationId": doc["_id"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["integration"] == {k: v for k, v in doc.items() if k != "token"}
    assert not Integration.objects.filter(pk=int(doc["_id"])).exists()
    assert AuditEntry.objects.filter(action="integration.remove", target_id=doc["_id"]).exists()
    again = rc.call(
        "post", "integrations.remove", {"type": "webhook-incoming", "integrationId": doc["_id"]}
    )
    assert _error(again) == (404, "integration_not_found")


def test_remove_finds_an_outgoing_one_by_target_url(rc: RocketClient, general: Any) -> None:
    doc = create_outgoing(rc)
    response = rc.call(
        "post",
        "integrations.remove",
        {"type": "webhook-outgoing", "target_url": "https://receiver.example/hook"},
    )
    assert response.status_code == 200
    assert response.json()["integration"]["_id"] == doc["_id"]
    assert not Integration.objects.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"type": "webhook-outgoing"}, (404, "integration_not_found")),  # the other type
        ({"type": None}, (400, "invalid-params")),
        ({"type": "webhook-incoming", "integrationId": None}, (400, "invalid-params")),
        ({"integrationId": None, "target_url": "https://x"}, (400, "invalid-params")),
        ({"name": "x"}, (400, "invalid-params")),
    ],
)
def test_a_bad_remove_is_refused_and_removes_nothing(
    rc: RocketClient, general: Any, body: dict, expected: tuple
) -> None:
    doc = create_incoming(rc)
    body = {"type": "webhook-incoming", "integrationId": doc["_id"], **body}
    body = {k: v for k, v in body.items() if v is not None}
    assert _error(rc.call("post", "integrations.remove", body)) == expected
    assert Integration.objects.filter(pk=int(doc["_id"])).exists()


# --- another organization -------------------------------------------------------------------


def test_another_organizations_token_finds_none_of_this_ones_integrations(
    rc: RocketClient, other_rc: RocketClient, general: Any
) -> None:
    incoming = create_incoming(rc)
    outgoing = create_outgoing(rc)
    before = Integration.objects.filter(pk=int(incoming["_id"])).values().get()
    for doc in (incoming, outgoing):
        pk, kind = doc["_id"], doc["type"]
        calls = [
            ("get", "integrations.get", {"integrationId": pk}),
            ("get", "integrations.history", {"id": pk}),
            ("put", "integrations.update", {"type": kind, "integrationId": pk, "name": "x"}),
            ("post", "integrations.remove", {"type": kind, "integrationId": pk}),
            ("post", "integrations.clearHistory", {"integrationId": pk}),
        ]
        for method, name, data in calls:
            response = other_rc.call(method, name, data)
            assert _error(response) == (404, "integration_not_found"), (name, kind)
    by_url = other_rc.call(
        "post",
        "integrations.remove",
        {"type": "webhook-outgoing", "target_url": "https://receiver.example/hook"},
    )
    assert _error(by_url) == (404, "integration_not_found")
    assert Integration.objects.filter(pk=int(incoming["_id"])).values().get() == before
    assert Integration.objects.count() == 2
    assert other_rc.call("get", "integrations.list").json()["total"] == 0
