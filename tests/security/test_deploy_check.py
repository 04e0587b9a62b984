"""``manage.py check --deploy`` passes with the production environment of README.md."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = run_check(env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr
