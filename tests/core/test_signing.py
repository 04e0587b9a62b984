"""Signed URLs (apps.core.signing): HMAC-SHA256 over kind, object id, user id and expiry,
keyed from SECRET_KEY with a purpose salt; constant-time compare; links expire."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from django.utils.crypto import salted_hmac

from apps.core import signing
from apps.core.errors import DomainError

NOW = 1_800_000_000


def test_signed_params_verify_for_the_same_kind_object_and_user() -> None:
    params = signing.signed_params("attachment", 42, 7, now=NOW)

    assert set(params) == {"sign", "userID", "expires"}
    assert params["userID"] == "7"
    assert signing.verify("attachment", 42, "7", params["expires"], params["sign"], now=NOW)


def test_the_signature_is_hmac_sha256_hex() -> None:
    sign = signing.sign("attachment", 42, 7, NOW + 3600)

    assert len(sign) == 64 and int(sign, 16) >= 0
    assert sign != hmac.new(b"", b"", hashlib.sha256).hexdigest()
    assert sign == signing.sign("attachment", "42", "7", str(NOW + 3600))  # str or int


@pytest.mark.parametrize(
    ("kind", "object_id", "user_id"),
    [("avatar", 42, 7), ("attachment", 43, 7), ("attachment", 42, 8)],
    ids=["other-kind", "other-object", "other-user"],
)
def test_a_signature_does_not_fit_anything_else(kind, object_id, user_id) -> None:
    params = signing.signed_params("attachment", 42, 7, now=NOW)

    assert not signing.verify(kind, object_id, user_id, params["expires"], params["sign"], now=NOW)


def test_a_longer_expiry_invalidates_the_signature() -> None:
    params = signing.signed_params("attachment", 42, 7, now=NOW)
    later = int(params["expires"]) + 86400

    assert not signing.verify("attachment", 42, 7, later, params["sign"], now=NOW)


def test_an_expired_link_no_longer_verifies() -> None:
    params = signing.signed_params("attachment", 42, 7, now=NOW)
    expires = int(params["expires"])

    assert signing.verify("attachment", 42, 7, expires, params["sign"], now=expires - 1)
    assert not signing.verify("attachment", 42, 7, expires, params["sign"], now=expires)


@pytest.mark.parametrize(
    ("user_id", "expires", "sign"),
    [
        (None, "1", "x"),
        ("7", None, "x"),
        ("7", "1", None),
        ("7", "1", ""),
        ("abc", "1", "x"),
        ("7", "soon", "x"),
        ("7", "1" * 30, "x"),
        ("7", "1", "a" * 10_000),
        ("7", "1", "é" * 64),
        (True, "1", "x"),
        ("7", "1", ["x"]),
    ],
)
def test_missing_or_malformed_parts_never_verify_and_never_raise(user_id, expires, sign) -> None:
    assert signing.verify("attachment", 42, user_id, expires, sign, now=0) is False


def test_verify_or_403_answers_invalid_signature() -> None:
    with pytest.raises(DomainError) as caught:
        signing.verify_or_403("attachment", 42, "7", str(int(time.time()) + 60), "0" * 64)
    assert caught.value.code == "invalid_signature"
    assert caught.value.status == 403

    params = signing.signed_params("attachment", 42, 7)
    assert signing.verify_or_403("attachment", 42, "7", params["expires"], params["sign"]) == 7


def test_the_key_depends_on_secret_key_and_a_purpose_salt(settings) -> None:
    sign = signing.sign("attachment", 42, 7, NOW)
    # not the bare salted_hmac of another purpose, nor a plain HMAC with SECRET_KEY
    assert sign != salted_hmac("", "attachment\n42\n7\n" + str(NOW), algorithm="sha256").hexdigest()
    plain = hmac.new(settings.SECRET_KEY.encode(), b"attachment\n42\n7\n", hashlib.sha256)
    assert sign != plain.hexdigest()

    settings.SECRET_KEY = "another-secret-key-for-this-test-only"
    assert signing.sign("attachment", 42, 7, NOW) != sign


def test_links_expire_after_the_ttl_rounded_up_to_a_step(settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "SIGNED_URL_TTL_SECONDS": 3600}
    expires = int(signing.signed_params("attachment", 1, 1, now=NOW + 1)["expires"])

    assert NOW + 1 + 3600 <= expires < NOW + 1 + 3600 + 300
    assert expires % 300 == 0
    # rendered twice within a step: the same URL (a browser caches the image once)
    assert signing.signed_params("attachment", 1, 1, now=NOW + 2) == signing.signed_params(
        "attachment", 1, 1, now=NOW + 1
    )


def test_a_short_ttl_is_honoured(settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "SIGNED_URL_TTL_SECONDS": 10}

    assert int(signing.signed_params("attachment", 1, 1, now=NOW)["expires"]) == NOW + 10


def test_verification_uses_a_constant_time_compare(monkeypatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    params = signing.signed_params("attachment", 42, 7, now=NOW)

    assert signing.verify("attachment", 42, 7, params["expires"], params["sign"], now=NOW)
    assert len(calls) == 1
