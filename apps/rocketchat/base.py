"""The base of every view of Rocket.Chat's integrations API (``/api/v1/``,
../shared/seeds/rocketchat-integrations-create.txt).

Thin by design: parse -> selector/service -> render, in Rocket.Chat's dialect: the answer's
fields with ``"success": true``; errors ``{"success": false, "error", "errorType"}``
(apps.rocketchat.dialect). Parameters are the body's (JSON or form) or, for GET, the query
string's; a parameter the route does not know is 400 ``invalid-params``, as Rocket.Chat's
schemas refuse additional properties.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.actor import Actor
from apps.core.errors import DomainError
from apps.core.parsing import InputMixin
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.rocketchat.authentication import HasLogin, RocketChatAuthentication, RocketChatLogin
from apps.rocketchat.dialect import exception_handler

#: Rocket.Chat's page size: 50 by default, at most 100.
DEFAULT_COUNT = 50
MAX_COUNT = 100


class RocketChatBaseView(InputMixin, APIView):
    """Any view of the surface: Rocket.Chat's error dialect, strict parameters."""

    organization: Organization | None = None

    def get_exception_handler(self) -> Any:
        return exception_handler

    def parse(self, serializer_class: Any) -> dict[str, Any]:
        """The request's parameters parsed by ``serializer_class``; an unknown one is 400
        ``invalid_parameter`` naming it. A null value counts as not sent."""
        params = self.params()
        unknown = sorted(set(params) - set(serializer_class().fields))
        if unknown:
            name = str(unknown[0])[:64]
            raise DomainError("invalid_parameter", f"Unknown parameter {name!r}.", field=name)
        data = self.validate(serializer_class, params)
        return {key: value for key, value in data.items() if value is not None}

    @staticmethod
    def success(**payload: Any) -> Response:
        """``{...payload, "success": true}``."""
        return Response({**payload, "success": True})


class RocketChatAPIView(RocketChatBaseView):
    """A view that needs a login (``X-Auth-Token`` + ``X-User-Id``): the caller acts as
    the token holder's member."""

    authentication_classes = [RocketChatAuthentication]
    permission_classes = [HasLogin]

    @property
    def login(self) -> RocketChatLogin:
        return self.request.auth

    @property
    def member(self) -> Member:
        return self.login.member

    @property  # type: ignore[override]
    def organization(self) -> Organization:
        return self.login.member.organization

    @property
    def actor(self) -> Actor:
        return Actor.for_member(self.member)


def page(data: dict[str, Any]) -> tuple[int, int]:
    """``offset`` (default 0, at most ``MAX_SKIP``: else 400) and ``count`` (default 50,
    capped at 100; 0 is as many as allowed, as in Rocket.Chat) of a paged request."""
    offset = data.get("offset", 0)
    if offset > settings.CHATADMIN["MAX_SKIP"]:
        raise DomainError(
            "skip_too_large",
            f"offset must be at most {settings.CHATADMIN['MAX_SKIP']}.",
            field="offset",
        )
    count = data.get("count", DEFAULT_COUNT)
    return offset, (MAX_COUNT if count == 0 else min(count, MAX_COUNT))
