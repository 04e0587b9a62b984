"""A test-only URLconf (``@pytest.mark.urls("tests.core.urls")``): tiny views on the real
base class, so the core layer is tested without depending on any app's endpoints."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.core.pagination import keyset_page
from apps.members.models import Member
from chatadmin.urls import handler404, handler500  # noqa: F401  (JSON errors under /api/)


class EchoView(AdminAPIView):
    """GET/POST: answers with the parameters as the parsing layer understood them."""

    def get(self, request: Request) -> Response:
        return Response({"params": self.params(), "organization": self.organization.slug})

    def post(self, request: Request) -> Response:
        return Response({"params": self.params(), "organization": self.organization.slug})


class PageInput(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    token = serializers.CharField(required=False, max_length=512)
    prefix = serializers.CharField(required=False, default="", allow_blank=True)


class MemberPageView(AdminAPIView):
    """GET: the organization's members, keyset-paginated, optionally filtered by prefix."""

    def get(self, request: Request) -> Response:
        data: dict[str, Any] = self.validate(PageInput)
        queryset = Member.objects.filter(
            organization=self.organization, user_id__startswith=data["prefix"]
        )
        page = keyset_page(
            queryset,
            scope=f"test.members:{self.organization.pk}:{data['prefix']}",
            limit=data["limit"],
            token=data.get("token"),
        )
        return Response({"users": [m.user_id for m in page.items], "paging": page.paging()})


urlpatterns = [
    path("api/test/echo", EchoView.as_view()),
    path("api/test/members", MemberPageView.as_view()),
]
