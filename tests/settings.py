"""The settings of the test suite (``DJANGO_SETTINGS_MODULE`` in pyproject.toml): the
product's settings, with a key for the tests.

Outside ``DJANGO_DEBUG`` (and pytest runs with it unset, i.e. off, as production does)
chatadmin/settings.py refuses to start without ``DJANGO_SECRET_KEY``. The suite is not a
server: it gets a throwaway key here, set in the environment before the product's settings
read it, so that processes the tests start (the Celery workers of tests/integration)
inherit the same one. A ``DJANGO_SECRET_KEY`` already set wins.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "django-insecure-test-suite-only-" + "0" * 32)

from chatadmin.settings import *  # noqa: F403
