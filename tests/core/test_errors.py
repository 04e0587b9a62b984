"""Every error is one JSON shape with a stable code (DESIGN.md invariant 6)."""

from __future__ import annotations

import json

import pytest

from apps.core.errors import CATALOG, DomainError, error_body
from apps.organizations.models import AccessToken
from tests.personas import TokenClient, revoke_token

from .conftest import ECHO

pytestmark = pytest.mark.urls("tests.core.urls")


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def assert_unauthorized(response) -> None:  # type: ignore[no-untyped-def]
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- 401 ------------------------------------------------------------------------------


def test_it_answers_401_without_a_token(anon_api: TokenClient) -> None:
    assert_unauthorized(anon_api.get(ECHO))
    assert_unauthorized(anon_api.post(ECHO, {"a": 1}, format="json"))


def test_it_answers_401_with_a_bad_token(org, db) -> None:  # type: ignore[no-untyped-def]
    assert_unauthorized(TokenClient("ca_adm_not-a-real-token", org).get(ECHO))
    assert_unauthorized(TokenClient("x" * 5000, org).get(ECHO))


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc", "bearer"]
)
def test_it_answers_401_with_a_malformed_authorization_header(
    anon_api: TokenClient, header: str
) -> None:
    assert_unauthorized(anon_api.get(ECHO, HTTP_AUTHORIZATION=header))


def test_it_answers_401_with_a_revoked_token(api: TokenClient) -> None:
    assert api.get(ECHO).status_code == 200
    token = AccessToken.objects.get(prefix=api.raw_token[:12])
    revoke_token(token=token)
    assert_unauthorized(api.get(ECHO))


def test_it_answers_401_with_a_token_of_another_kind(api_token_client: TokenClient) -> None:
    assert_unauthorized(api_token_client.get(ECHO))


def test_it_answers_401_when_the_tokens_account_is_deactivated(api: TokenClient) -> None:
    token = AccessToken.objects.select_related("account").get(prefix=api.raw_token[:12])
    token.account.is_active = False
    token.account.save(update_fields=["is_active"])
    assert_unauthorized(api.get(ECHO))


def test_it_accepts_a_valid_token_and_binds_the_organization(api: TokenClient) -> None:
    response = api.get(ECHO)
    assert response.status_code == 200
    assert response.json()["organization"] == "acme"


# --- 404 / 405 / 415 --------------------------------------------------------------------


@pytest.mark.urls("chatadmin.urls")
@pytest.mark.parametrize("path", ["/api/v2/no-such-thing", "/api/nope", "/api/v2/channel/x/y/z/w"])
def test_it_answers_json_404_for_unknown_api_paths(api: TokenClient, path: str) -> None:
    assert_error(api.get(path), 404, "not_found")
    assert_error(api.post(path, {}, format="json"), 404, "not_found")


@pytest.mark.urls("chatadmin.urls")
def test_it_keeps_html_404_outside_the_api(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_it_answers_json_405_for_a_method_the_path_does_not_have(api: TokenClient) -> None:
    response = api.delete(ECHO)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_it_answers_415_for_an_unsupported_content_type(api: TokenClient) -> None:
    response = api.post(ECHO, "<a>1</a>", content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")
    response = api.post(ECHO, "a=1", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


# --- 400 malformed_body ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{broken",
        '{"a": 1,}',
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": 1e999}',
        "[" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"a":' * 40 + "1" + "}" * 40,
    ],
    ids=["broken", "trailing-comma", "nan", "infinity", "overflow", "deep-1", "deep-2", "deep-40"],
)
def test_it_answers_400_malformed_body_for_broken_json(api: TokenClient, body: str) -> None:
    assert_error(api.post(ECHO, body, content_type="application/json"), 400, "malformed_body")


def test_it_answers_400_malformed_body_for_invalid_utf8(api: TokenClient) -> None:
    response = api.post(ECHO, b'{"a": "\xff"}', content_type="application/json")
    assert_error(response, 400, "malformed_body")


def test_it_refuses_a_decompressing_charset(api: TokenClient) -> None:
    response = api.post(ECHO, '{"a": 1}', content_type="application/json; charset=bz2_codec")
    assert_error(response, 400, "malformed_body")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "true", "null"])
def test_it_answers_400_malformed_body_for_a_json_body_that_is_not_an_object(
    api: TokenClient, body: str
) -> None:
    assert_error(api.post(ECHO, body, content_type="application/json"), 400, "malformed_body")


def test_it_accepts_moderately_nested_json(api: TokenClient) -> None:
    body = '{"a":' * 10 + "1" + "}" * 10
    assert api.post(ECHO, body, content_type="application/json").status_code == 200


def test_it_treats_an_empty_body_as_no_parameters(api: TokenClient) -> None:
    response = api.post(ECHO, "", content_type="application/json")
    assert response.status_code == 200
    assert response.json()["params"] == {}


# --- 413 --------------------------------------------------------------------------------


@pytest.fixture
def small_body_limit(settings) -> int:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    return 1000


def test_it_answers_413_for_a_json_body_over_the_limit(
    api: TokenClient, small_body_limit: int
) -> None:
    body = json.dumps({"a": "x" * (small_body_limit + 1)})
    assert_error(api.post(ECHO, body, content_type="application/json"), 413, "payload_too_large")


def test_it_answers_413_for_a_form_body_over_the_limit(
    api: TokenClient, small_body_limit: int
) -> None:
    body = "a=" + "x" * (small_body_limit + 1)
    response = api.post(ECHO, body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "payload_too_large")


def test_it_answers_413_for_multipart_fields_over_the_limit(
    api: TokenClient, small_body_limit: int
) -> None:
    response = api.post(ECHO, {"a": "x" * (small_body_limit + 1)}, format="multipart")
    assert_error(response, 413, "payload_too_large")


def test_it_answers_413_for_too_many_form_fields(api: TokenClient) -> None:
    body = "&".join(f"k{i}=1" for i in range(2500))
    response = api.post(ECHO, body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "payload_too_large")


def test_it_accepts_a_body_just_under_the_limit(api: TokenClient, small_body_limit: int) -> None:
    body = json.dumps({"a": "x" * (small_body_limit - 20)})
    assert api.post(ECHO, body, content_type="application/json").status_code == 200


# --- DomainError and the catalog ---------------------------------------------------------


def test_domain_error_takes_status_and_default_message_from_the_catalog() -> None:
    error = DomainError("channel_not_found", field="channelId")
    assert (error.status, error.message, error.field) == (404, "Channel not found.", "channelId")


def test_domain_error_refuses_a_code_outside_the_catalog() -> None:
    with pytest.raises(ValueError):
        DomainError("no_such_code")


def test_error_body_omits_field_when_there_is_none() -> None:
    assert error_body("not_found") == {
        "status": "error",
        "code": "not_found",
        "message": "Not found.",
    }


def test_every_catalog_entry_is_a_sane_status_and_message() -> None:
    for code, (status, message) in CATALOG.items():
        assert code == code.lower() and " " not in code
        assert 400 <= status <= 599, code
        assert message.endswith("."), code


def test_a_validation_error_names_the_field(api: TokenClient) -> None:
    response = api.get("/api/test/members", {"limit": "many"})
    body = assert_error(response, 400, "invalid_parameter")
    assert body["field"] == "limit"
    response = api.get("/api/test/members", {"limit": "0"})
    assert assert_error(response, 400, "invalid_parameter")["field"] == "limit"


def test_it_never_leaks_a_traceback_on_a_500(api: TokenClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.core import urls

    def boom(self, request):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail")

    monkeypatch.setattr(urls.EchoView, "get", boom)
    api.raise_request_exception = False
    response = api.get(ECHO)
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in json.dumps(body)


def test_it_answers_406_when_the_client_accepts_no_json(api: TokenClient) -> None:
    assert_error(api.get(ECHO, HTTP_ACCEPT="text/html"), 406, "not_acceptable")
    assert api.get(ECHO, HTTP_ACCEPT="text/html, */*").status_code == 200
