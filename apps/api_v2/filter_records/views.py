"""Blacklist and whitelist records API (Admin API v2): parse -> selector/service -> render.

``ruleId`` is the record's pattern itself; in a path it is URL-encoded and may contain
any character, ``/`` included (docs/api/content-filter.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.filter_records.serializers import (
    BlacklistAddInput,
    BlacklistRecordListResponse,
    BlacklistRecordResponse,
    BlacklistRecordSerializer,
    BlacklistRecordsResponse,
    BlacklistUpdateInput,
    RecordsDeleteInput,
    RecordsQueryInput,
    RecordsSuccessResponse,
    WhitelistAddInput,
    WhitelistRecordListResponse,
    WhitelistRecordResponse,
    WhitelistRecordSerializer,
    WhitelistRecordsResponse,
    WhitelistUpdateInput,
)
from apps.core.pagination import keyset_page
from apps.core.parsing import request_data
from apps.core.schema import ErrorOutput
from apps.moderation import services
from apps.moderation.selectors import (
    blacklist_record_get,
    blacklist_record_query,
    whitelist_record_get,
    whitelist_record_query,
)

_ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Missing or invalid parameter."),
    401: OpenApiResponse(ErrorOutput, description="No or bad access token."),
}
_NOT_FOUND = {
    404: OpenApiResponse(
        ErrorOutput, description="Unknown ruleId (rule_not_found); none was changed."
    )
}
_CONFLICT = {
    409: OpenApiResponse(
        description="rule_exists (update) or too_many_records (the organization's cap).",
    )
}
_UNSUPPORTED = {
    415: OpenApiResponse(
        description="unsupported_media_type: the body is not JSON, urlencoded or multipart.",
    )
}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def _query_parameters(what: str) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "regexs",
            _STRINGS,
            description=f"Only records whose {what} contains ANY of these strings, ignoring "
            "case (regexs[]=a&regexs[]=b; at most 100).",
        ),
        OpenApiParameter("options[limit]", int, description="Page size, 1..1000 (default 1000)."),
        OpenApiParameter("options[token]", str, description="paging.next or paging.previous."),
    ]


_DELETE_PARAMETERS = [
    OpenApiParameter(
        "ruleIds",
        _STRINGS,
        description="The records to delete (their patterns), at most 1000; in the body "
        "(form or JSON) or the query string.",
    )
]
_RULE_ID = OpenApiParameter(
    "ruleId",
    str,
    location=OpenApiParameter.PATH,
    description="The record's current pattern, URL-encoded (%2F for /).",
)


def _digest(values: Any) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:16]


class _RecordsView(AdminAPIView):
    kind = ""

    def _list(self, query: Any, serializer: type) -> Response:
        data = self.validate(RecordsQueryInput)
        regexs = data.get("regexs") or []
        options = data.get("options") or {}
        page = keyset_page(
            query(organization=self.organization, filters={"regexs": regexs}),
            scope=f"v2.{self.kind}.records:{self.organization.pk}:{_digest(sorted(regexs))}",
            limit=options.get("limit", 1000),
            token=options.get("token") or None,
            token_field="options.token",
        )
        return Response(
            {"records": serializer(page.items, many=True).data, "paging": page.paging()}
        )

    def delete_input(self) -> dict[str, Any]:
        # DELETE bodies are dropped by some clients: the query string works too.
        return self.validate(RecordsDeleteInput, request_data(self.request, include_query=True))


class BlacklistRecordsView(_RecordsView):
    kind = "blacklist"

    @extend_schema(
        operation_id="blacklist_records_query",
        summary="Query for blacklisted words",
        tags=["blacklist"],
        parameters=_query_parameters("pattern"),
        responses={200: BlacklistRecordListResponse, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return self._list(blacklist_record_query, BlacklistRecordSerializer)

    @extend_schema(
        operation_id="blacklist_records_add",
        summary="Add blacklisted words",
        description="Words or RE2 patterns. Existing ones are returned unchanged: 201 if "
        "any record was created, else 200.",
        tags=["blacklist"],
        request=BlacklistAddInput,
        responses={
            201: BlacklistRecordsResponse,
            200: BlacklistRecordsResponse,
            **_ERRORS,
            **_CONFLICT,
            **_UNSUPPORTED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validate(BlacklistAddInput)
        result = services.blacklist_records_add(
            organization=self.organization,
            actor=self.actor,
            patterns=data["regexs"],
            is_match_exact_word=data["isMatchExactWord"],
        )
        return Response(
            {"records": BlacklistRecordSerializer(result.records, many=True).data},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="blacklist_records_delete",
        summary="Delete blacklisted words",
        tags=["blacklist"],
        request=RecordsDeleteInput,
        parameters=_DELETE_PARAMETERS,
        responses={200: RecordsSuccessResponse, **_ERRORS, **_NOT_FOUND},
    )
    def delete(self, request: Request) -> Response:
        data = self.delete_input()
        services.blacklist_records_delete(
            organization=self.organization, actor=self.actor, rule_ids=data["ruleIds"]
        )
        return Response({"success": True})


class BlacklistRecordView(AdminAPIView):
    @extend_schema(
        operation_id="blacklist_record_update",
        summary="Update a blacklisted word",
        description="ruleId in the body is the new pattern; isMatchExactWord omitted keeps "
        "the current value.",
        tags=["blacklist"],
        parameters=[_RULE_ID],
        request=BlacklistUpdateInput,
        responses={200: BlacklistRecordResponse, **_ERRORS, **_NOT_FOUND, **_CONFLICT},
    )
    def put(self, request: Request, ruleId: str) -> Response:
        data = self.validate(BlacklistUpdateInput)
        record = services.blacklist_records_update(
            organization=self.organization,
            actor=self.actor,
            record=blacklist_record_get(organization=self.organization, rule_id=ruleId),
            new_pattern=data.get("ruleId"),
            is_match_exact_word=data.get("isMatchExactWord"),
        )
        return Response({"record": BlacklistRecordSerializer(record).data})


class WhitelistRecordsView(_RecordsView):
    kind = "whitelist"

    @extend_schema(
        operation_id="whitelist_records_query",
        summary="Query for whitelisted URLs",
        tags=["whitelist"],
        parameters=_query_parameters("URL"),
        responses={200: WhitelistRecordListResponse, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return self._list(whitelist_record_query, WhitelistRecordSerializer)

    @extend_schema(
        operation_id="whitelist_records_add",
        summary="Add whitelisted URLs",
        description="Domains, optionally with a path prefix; stored as host[/path] (scheme "
        "and www. dropped). Existing ones are returned unchanged: 201 if any record was "
        "created, else 200.",
        tags=["whitelist"],
        request=WhitelistAddInput,
        responses={
            201: WhitelistRecordsResponse,
            200: WhitelistRecordsResponse,
            **_ERRORS,
            **_CONFLICT,
            **_UNSUPPORTED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validate(WhitelistAddInput)
        result = services.whitelist_records_add(
            organization=self.organization, actor=self.actor, patterns=data["regexs"]
        )
        return Response(
            {"records": WhitelistRecordSerializer(result.records, many=True).data},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="whitelist_records_delete",
        summary="Delete whitelisted URLs",
        tags=["whitelist"],
        request=RecordsDeleteInput,
        parameters=_DELETE_PARAMETERS,
        responses={200: RecordsSuccessResponse, **_ERRORS, **_NOT_FOUND},
    )
    def delete(self, request: Request) -> Response:
        data = self.delete_input()
        services.whitelist_records_delete(
            organization=self.organization, actor=self.actor, rule_ids=data["ruleIds"]
        )
        return Response({"success": True})


class WhitelistRecordView(AdminAPIView):
    @extend_schema(
        operation_id="whitelist_record_update",
        summary="Update a whitelisted URL",
        description="ruleId in the body is the new URL.",
        tags=["whitelist"],
        parameters=[_RULE_ID],
        request=WhitelistUpdateInput,
        responses={200: WhitelistRecordResponse, **_ERRORS, **_NOT_FOUND, **_CONFLICT},
    )
    def put(self, request: Request, ruleId: str) -> Response:
        data = self.validate(WhitelistUpdateInput)
        record = services.whitelist_records_update(
            organization=self.organization,
            actor=self.actor,
            record=whitelist_record_get(organization=self.organization, rule_id=ruleId),
            new_pattern=data["ruleId"],
        )
        return Response({"record": WhitelistRecordSerializer(record).data})
