"""``manage.py error_catalog``: the error catalog as the Markdown table of docs/api.md."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.errors import CATALOG


class Command(BaseCommand):
    help = "Print apps.core.errors.CATALOG as a Markdown table (paste it into docs/api.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("| code | HTTP | default message |")
        self.stdout.write("|---|---|---|")
        for code, (status, message) in sorted(CATALOG.items(), key=lambda i: (i[1][0], i[0])):
            self.stdout.write(f"| `{code}` | {status} | {message} |")
