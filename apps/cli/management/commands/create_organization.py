"""``manage.py create_organization SLUG --name NAME``: a new tenant."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from apps.cli.arguments import domain_errors
from apps.organizations.models import Organization
from apps.organizations.services import organization_create


class Command(BaseCommand):
    help = "Create an organization (a tenant). Prints it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="short unique name: letters, digits, - and _")
        parser.add_argument("--name", help="display name (default: the slug, titled)")

    def handle(self, *args: Any, slug: str, name: str | None, **options: Any) -> None:
        max_length = Organization._meta.get_field("slug").max_length
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(
                f"{slug!r} is not a valid slug: use letters, digits, hyphens and underscores."
            ) from exc
        if len(slug) > max_length:
            raise CommandError(f"The slug may have at most {max_length} characters.")
        name = (name or slug.replace("-", " ").replace("_", " ").title()).strip()
        if not name or len(name) > 200:
            raise CommandError("--name must have 1 to 200 characters.")
        with domain_errors():
            org = organization_create(slug=slug, name=name)
        self.stdout.write(f"Created organization {org.slug!r} ({org.name}), id {org.pk}.")
