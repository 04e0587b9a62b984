"""The door itself: the URL's uuid, the limits (one call per interval, no double request),
Stackfield's error dialect for every refusal (also before a view runs), hostile bodies,
and the OpenAPI schema."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.audit.actor import Actor
from apps.integrations.models import Integration, IntegrationHistory
from apps.integrations.services.integrations import integration_create, integration_update
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.stackfield.dialect import CODES, INVALID_REQUEST, NOT_COMPLETED
from tests.factories import ChannelFactory

from .conftest import call, ok, person, refused, written

pytestmark = pytest.mark.django_db

MakeUrl = Callable[..., str]
DOC = Path(__file__).resolve().parents[2] / "docs" / "api" / "integrations-stackfield.md"


# --- the URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("uuid", ["e5a1cfbd-970e-45a1-b81c-3e004f9bdab5", "x", "9" * 300])
def test_an_unknown_uuid_is_404_4035(db: None, uuid: str) -> None:
    refused(call(uuid, {"Title": "x"}), 404, 4035)


@pytest.mark.parametrize("path", ["/apiwh/%00", "/apiwh/..%2F", "/apiwh/a/b", "/apiwh/"])
def test_a_path_that_names_no_url_is_404_in_stackfields_dialect(db: None, path: str) -> None:
    response = Client().post(path, data="{}", content_type="application/json")
    refused(response, 404, INVALID_REQUEST)


def test_the_secret_of_another_kind_of_integration_is_unknown_here(org: Organization) -> None:
    channel = ChannelFactory(organization=org)
    issued = integration_create(
        organization=org,
        actor=Actor.system(),
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        targets=[f"#{channel.channel_id}"],
        username="rc.bot",
    )
    assert issued.token is not None
    refused(call(issued.token, {"Title": "x"}), 404, 4035)
    assert not Message.objects.exists()


def test_a_disabled_url_is_403_4038_and_writes_nothing(
    make_url: MakeUrl, org: Organization
) -> None:
    uuid = make_url("chat-message")
    integration = Integration.objects.get()
    integration_update(actor=Actor.system(), integration=integration, enabled=False)
    before = written(org)
    refused(call(uuid, {"Title": "x"}), 403, 4038)
    assert written(org) == before


def test_only_post_is_answered(make_url: MakeUrl) -> None:
    uuid = make_url("chat-message")
    response = Client().get(f"/apiwh/{uuid}")
    refused(response, 405, INVALID_REQUEST)


# --- limits ----------------------------------------------------------------------------------


def test_a_second_call_within_the_interval_is_429_4040_with_retry_after(
    make_url: MakeUrl, org: Organization, general: Any, settings: Any
) -> None:
    settings.CHATADMIN = {**django_settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 60}
    uuid = make_url("chat-message")
    ok(call(uuid, {"Title": "first"}))
    before = written(org)
    response = call(uuid, {"Title": "second"})
    refused(response, 429, 4040)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert written(org) == before


def test_the_interval_is_per_url(make_url: MakeUrl, general: Any, settings: Any) -> None:
    settings.CHATADMIN = {**django_settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 60}
    first, second = make_url("chat-message"), make_url("chat-message")
    ok(call(first, {"Title": "a"}))
    ok(call(second, {"Title": "a"}))


def test_the_same_body_again_is_4057_and_creates_nothing(
    make_url: MakeUrl, org: Organization, general: Any
) -> None:
    uuid = make_url("chat-message")
    ok(call(uuid, {"Title": "Hello"}))
    before = written(org)
    refused(call(uuid, {"Title": "Hello"}), 409, 4057)
    assert written(org) == before
    ok(call(uuid, {"Title": "Hello", "n": 2}))  # another body is another request
    assert Message.objects.filter(channel=general).count() == 2


def test_a_refused_body_may_be_sent_again(
    make_url: MakeUrl, org: Organization, general: Any
) -> None:
    from django.utils import timezone

    from apps.channels.models import Channel

    uuid = make_url("chat-message")
    Channel.objects.filter(pk=general.pk).update(archived_at=timezone.now())
    refused(call(uuid, {"Title": "Hello"}), 403, 4036)
    Channel.objects.filter(pk=general.pk).update(archived_at=None)
    ok(call(uuid, {"Title": "Hello"}))  # the refusal recorded no request


def test_the_double_request_window_is_a_setting(
    make_url: MakeUrl, general: Any, settings: Any
) -> None:
    settings.CHATADMIN = {
        **django_settings.CHATADMIN,
        "WEBHOOK_MIN_INTERVAL_SECONDS": 0,
        "WEBHOOK_DOUBLE_REQUEST_SECONDS": 0,
    }
    uuid = make_url("chat-message")
    ok(call(uuid, {"Title": "Hello"}))
    ok(call(uuid, {"Title": "Hello"}))


def test_every_call_is_in_the_urls_history(make_url: MakeUrl, general: Any) -> None:
    uuid = make_url("chat-message")
    ok(call(uuid, {"Title": "fine"}))
    refused(call(uuid, {}), 400, 4050)
    steps = list(
        IntegrationHistory.objects.order_by("pk").values_list("step", "error", "error_message")
    )
    assert steps[0][:2] == ("incoming-posted", False)
    assert steps[1][:2] == ("incoming-refused", True) and "Title" in steps[1][2]


# --- hostile bodies --------------------------------------------------------------------------

HOSTILE_BODIES = {
    "not JSON": b"Title=Hello",
    "not UTF-8": b'{"Title": "\xff\xfe"}',
    "an array": b'[{"Title": "x"}]',
    "a string": b'"Title"',
    "null": b"null",
    "empty": b"",
    "spaces": b"   ",
    "NaN": b'{"Title": NaN}',
    "a duplicate key": b'{"Title": "a", "Title": "b"}',
    "nested too deep": b'{"Title": "x", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "nested past the parser's bound": b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}",
    "truncated": b'{"Title": "x"',
}


@pytest.mark.parametrize("kind", ["chat-message", "organization"])
@pytest.mark.parametrize("label", list(HOSTILE_BODIES))
def test_a_body_that_is_no_json_object_is_4031_and_writes_nothing(
    make_url: MakeUrl, org: Organization, kind: str, label: str
) -> None:
    uuid = make_url(kind)
    before = written(org)
    refused(call(uuid, raw=HOSTILE_BODIES[label]), 400, 4031)
    assert written(org) == before


@pytest.mark.parametrize(
    "body",
    [
        {"Title": "nul \u0000 here"},
        {"Title": "x", "Users": ["a\u0000@b.de"]},
        {"Title": "x", "Content": "\ud800"},
    ],
)
def test_a_string_with_nul_or_a_lone_surrogate_is_4056(
    make_url: MakeUrl, org: Organization, body: dict
) -> None:
    uuid = make_url("task")
    before = written(org)
    refused(call(uuid, raw=json.dumps(body).encode()), 400, 4056)
    assert written(org) == before


def test_a_body_over_the_size_limit_is_413_4042(make_url: MakeUrl, org: Organization) -> None:
    uuid = make_url("chat-message")
    before = written(org)
    huge = json.dumps({"Title": "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    refused(call(uuid, raw=huge.encode()), 413, 4042)
    assert written(org) == before


def test_a_body_with_a_utf8_bom_is_read(make_url: MakeUrl, general: Any) -> None:
    ok(call(make_url("chat-message"), raw=b'\xef\xbb\xbf{"Title": "BOM"}'))


@pytest.mark.parametrize(
    "body",
    [
        {"Title": "x", "Users": {"Email": "a@b.de"}},
        {"Title": "x", "DateStart": {"y": 2019}},
        {"Title": "x", "Content": ["a"]},
        {"Title": "x", "Users": [[["a@b.de"]]]},
        {"Title": "x", "Users": ["a@b.de"] * 1001},
    ],
)
def test_properties_of_the_wrong_type_are_4056(
    make_url: MakeUrl, org: Organization, body: dict
) -> None:
    uuid = make_url("task")
    before = written(org)
    refused(call(uuid, body), 400, 4056)
    assert written(org) == before


def test_unknown_properties_are_ignored(make_url: MakeUrl, general: Any) -> None:
    ok(call(make_url("chat-message"), {"Title": "x", "Extra": {"deep": [1, 2, {"x": None}]}}))


def test_a_bad_content_length_is_refused_in_stackfields_dialect(make_url: MakeUrl) -> None:
    uuid = make_url("chat-message")
    response = Client().post(
        f"/apiwh/{uuid}", data=b"{}", content_type="application/json", CONTENT_LENGTH="abc"
    )
    refused(response, 400, 4031)


# --- the error table -------------------------------------------------------------------------


def test_every_stackfield_code_of_the_table_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*(\d{4})\s*\|", doc, re.MULTILINE))
    used = {str(code) for code in CODES.values()} | {str(INVALID_REQUEST), str(NOT_COMPLETED)}
    assert used <= documented, sorted(used - documented)


def test_the_table_names_only_codes_of_the_catalog() -> None:
    from apps.core.errors import CATALOG

    assert {code for code, _ in CODES} <= set(CATALOG)


# --- OpenAPI ---------------------------------------------------------------------------------


def test_the_route_is_in_the_openapi_schema_with_stackfields_error_body(db: None) -> None:
    schema = Client().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/apiwh/{webhookId}"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    error = {"$ref": "#/components/schemas/StackfieldError"}
    for status in ("400", "403", "404", "409", "413", "415", "429", "503"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == error
    assert schema["components"]["schemas"]["StackfieldError"]["required"] == [
        "Result",
        "ErrorText",
    ]


# --- generated bodies ------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["2019-07-08 22:00", "a@b.de", "ArchiveRoom", "CreateRoom", "CreateUser"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = [
    "Title", "Content", "DateStart", "DateEnd", "Users", "Command", "RoomId", "Email",
    "DisplayName", "OrgRoleId", "Name", "Description", "TemplateId",
]  # fmt: skip
_bodies = st.dictionaries(st.sampled_from(_KEYS), _values, max_size=6)


@pytest.mark.parametrize(
    "kind", ["chat-message", "discussion", "task", "page", "event", "room-settings", "organization"]
)
def test_generated_bodies_are_answered_in_the_dialect_never_with_a_500(
    make_url: MakeUrl, org: Organization, general: Any, kind: str
) -> None:
    person(org, "a@b.de")
    uuid = make_url(kind, channel=general if kind == "room-settings" else None)

    @given(body=_bodies)
    @hypothesis_settings(
        max_examples=30,
        derandomize=True,  # the same cases on every run: CI stays reproducible
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(body: dict) -> None:
        response = call(uuid, body)
        assert response.status_code < 500, (body, response.content[:300])
        answer = response.json()
        if response.status_code == 200:
            assert answer["Result"] == "ok"
        else:
            assert set(answer) == {"Result", "ErrorText"} and answer["Result"].isdigit()

    check()
