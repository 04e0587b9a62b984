"""The base of every Admin API v2 view: Bearer token auth, parameter parsing, validation."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from apps.api_v2.authentication import AdminTokenAuthentication
from apps.audit.actor import Actor
from apps.core.parsing import InputMixin
from apps.organizations.models import Organization


class AdminAPIView(InputMixin, APIView):
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
