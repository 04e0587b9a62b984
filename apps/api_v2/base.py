"""The base of every Admin API v2 view: Bearer token auth, parameter parsing, validation."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from apps.api_v2.authentication import AdminTokenAuthentication
from apps.audit.actor import Actor
from apps.core.parsing import request_data
from apps.organizations.models import Organization


class AdminAPIView(APIView):
    """Thin by design: parse -> selector/service -> render.

    ``query_also_via_get``: for query endpoints the document defines as POST, GET with
    the same parameters in the query string is answered too (../shared/API.md).
    """

    authentication_classes = [AdminTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @property
    def organization(self) -> Organization:
        return self.request.auth.organization

    @property
    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def params(self) -> dict[str, Any]:
        return request_data(self.request, include_query=self.request.method in ("GET", "HEAD"))

    def validate(
        self, serializer_class: type[Serializer], data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Validated input of ``serializer_class`` (400 with the offending field if bad)."""
        serializer = serializer_class(
            data=self.params() if data is None else data,
            context={"request": self.request, "organization": self.organization},
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
