"""The base of every messaging API view (/api/messaging/, ../shared/seeds/messaging-api.txt).

Thin by design: parse -> selector/service -> render, in Corteza's dialect:
``{"response": <payload>}`` for results, ``{"success": {"message": "OK"}}`` for
acknowledgements, ``{"error": {"message", "code"}}`` with the fitting HTTP status for
errors (apps.messaging.dialect). Ids are decimal strings on the way out and a string or
a number on the way in (:class:`IdField`, :func:`path_id`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.selectors.conversations import conversation_get
from apps.core.errors import DomainError
from apps.core.parsing import InputMixin
from apps.core.sweeps import iso
from apps.members.models import Member
from apps.messaging.authentication import HasSession, SessionTokenAuthentication
from apps.messaging.dialect import exception_handler
from apps.organizations.models import Organization
from apps.permissions.registry import MESSAGING
from apps.permissions.services import check

#: Ids are unsigned 64-bit in the document and signed 64-bit in the database: anything
#: larger is an unknown id (404), never a database error.
MAX_ID = 2**63 - 1


def id_str(pk: int | None) -> str | None:
    """An id as the messaging API writes it: a decimal string (64-bit safe in JS)."""
    return None if pk is None else str(pk)


def time_str(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z``."""
    return iso(value)


def path_id(value: str | int, *, code: str, field: str) -> int:
    """A numeric id from the path: an id out of range is ``code`` (a 404), like an id
    that does not exist."""
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise DomainError(code, field=field)
    return number


@extend_schema_field(OpenApiTypes.STR)
class IdField(serializers.Field):
    """An id given as a decimal string (``"42"``) or a JSON number (``42``)."""

    default_error_messages = {
        "invalid": "Must be an id: a positive whole number, as a string or a number.",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            number = data
        elif isinstance(data, str) and data.strip(" ").isascii() and data.strip(" ").isdigit():
            # spaces only: a control or separator character around an id is refused
            number = int(data.strip(" "))
        else:
            self.fail("invalid")
        if not 1 <= number <= MAX_ID:
            self.fail("invalid")
        return number

    def to_representation(self, value: Any) -> str:
        return str(value)


class MessagingAPIView(InputMixin, APIView):
    """A view of the messaging API: the caller is one member of one organization."""

    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [HasSession]

    def get_exception_handler(self) -> Any:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After authentication: every route needs ``access`` on ``messaging`` (403)."""
        super().initial(request, *args, **kwargs)
        check(self.member, "access", MESSAGING)

    @property
    def member(self) -> Member:
        return self.request.auth.member

    @property
    def organization(self) -> Organization:
        return self.request.auth.member.organization

    @property
    def actor(self) -> Actor:
        return Actor.for_member(self.member)

    def channel(self, channel_id: int | str, *, include_deleted: bool = False) -> Channel:
        """The channel of the path as the caller sees it, else 404 ``channel_not_found``."""
        pk = path_id(channel_id, code="channel_not_found", field="channelID")
        return conversation_get(member=self.member, channel_pk=pk, include_deleted=include_deleted)

    @staticmethod
    def respond(payload: Any, *, status: int = 200) -> Response:
        """``{"response": payload}``."""
        return Response({"response": payload}, status=status)

    @staticmethod
    def acknowledge() -> Response:
        """``{"success": {"message": "OK"}}``: removals and other acknowledgements."""
        return Response({"success": {"message": "OK"}})


class MessagingSuccessBody(serializers.Serializer):
    message = serializers.CharField()


class SuccessEnvelope(serializers.Serializer):
    """``{"success": {"message": "OK"}}`` (OpenAPI)."""

    success = MessagingSuccessBody()


class MessagingErrorBody(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorEnvelope(serializers.Serializer):
    """``{"error": {"message", "code", "field"?}}`` (apps.messaging.dialect; OpenAPI)."""

    error = MessagingErrorBody()
