"""``manage.py check --deploy`` passes with the production environment of README.md."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The key chatadmin/settings.py falls back to under DJANGO_DEBUG (public: it is in git).
DEVELOPMENT_KEY = "django-insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_HSTS_PRELOAD": "true",
}


def run_check(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_passes_with_the_production_environment() -> None:
    result = run_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hsts_is_on_for_a_year_by_default_outside_debug() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("DJANGO_HSTS")}
    result = run_check(env)
    # Only the two opt-ins are reported; HSTS itself (W004) is on by default.
    assert "security.W004" not in result.stdout + result.stderr
    assert "security.W005" in result.stderr and "security.W021" in result.stderr


def test_the_development_key_is_refused_by_the_deploy_check() -> None:
    # Without a key the settings refuse to start (below); the development key set by hand
    # (copied from settings.py) is still caught by the deploy check.
    env = PRODUCTION_ENV | {"DJANGO_SECRET_KEY": DEVELOPMENT_KEY}
    result = run_check(env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def run_python(code: str, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in the project, with only ``extra`` of the DJANGO_* variables
    (none of the test suite's: no DJANGO_SECRET_KEY unless given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    env["DJANGO_SETTINGS_MODULE"] = "chatadmin.settings"
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


SETUP = "import django; django.setup(); print('started')"


@pytest.mark.parametrize(
    "environment",
    [
        {"DJANGO_DEBUG": "false"},
        {},  # DJANGO_DEBUG defaults to false: manage.py, gunicorn and Celery run like this
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": ""},
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "   "},
    ],
    ids=["debug-off", "debug-unset", "empty-key", "blank-key"],
)
def test_outside_debug_the_server_refuses_to_start_without_a_secret_key(
    environment: dict[str, str],
) -> None:
    for code in (
        SETUP,
        "import chatadmin.wsgi",  # gunicorn's entry point
        "import chatadmin.celery, django; django.setup()",  # Celery worker and beat
    ):
        result = run_python(code, environment)
        assert result.returncode != 0, (code, result.stdout)
        assert "started" not in result.stdout
        assert "ImproperlyConfigured" in result.stderr
        # says what is missing and how to set it
        assert "DJANGO_SECRET_KEY is not set" in result.stderr
        assert "secrets.token_urlsafe" in result.stderr
    check = run_check(environment)
    assert check.returncode != 0 and "DJANGO_SECRET_KEY is not set" in check.stderr


def test_outside_debug_the_server_starts_with_a_secret_key() -> None:
    result = run_python(
        SETUP + "; from django.conf import settings; print(settings.SECRET_KEY == 'k' * 50)",
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "k" * 50},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["started", "True"]


def test_under_debug_the_development_key_is_still_the_default() -> None:
    result = run_python(
        SETUP + "; from django.conf import settings; print(settings.SECRET_KEY)",
        {"DJANGO_DEBUG": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["started", DEVELOPMENT_KEY]
