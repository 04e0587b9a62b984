"""Input validation and output rendering of the blacklist and whitelist records API
(never saves). Limits: docs/api/content-filter.md."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from apps.core.fields import IntegerField, StringField, StringListField
from apps.core.schema import PagingOutput
from apps.moderation.filter.patterns import MAX_PATTERN_LENGTH
from apps.moderation.filters import MAX_FILTER_TERMS
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.moderation.services import MAX_PATTERNS_PER_REQUEST

DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000


def _patterns(**kwargs: Any) -> StringListField:
    kwargs.setdefault("max_length", MAX_PATTERNS_PER_REQUEST)
    return StringListField(max_item_length=MAX_PATTERN_LENGTH, **kwargs)


# --- inputs -------------------------------------------------------------------------------


class RecordsOptionsInput(serializers.Serializer):
    limit = IntegerField(min_value=1, max_value=MAX_LIMIT, required=False, default=DEFAULT_LIMIT)
    token = StringField(max_length=512, required=False, allow_blank=True, default="")


class RecordsQueryInput(serializers.Serializer):
    regexs = _patterns(required=False, max_length=MAX_FILTER_TERMS)
    options = RecordsOptionsInput(required=False)


class BlacklistAddInput(serializers.Serializer):
    regexs = _patterns(allow_empty=False)
    isMatchExactWord = serializers.BooleanField(required=False, default=False)


class WhitelistAddInput(serializers.Serializer):
    regexs = _patterns(allow_empty=False)


class RecordsDeleteInput(serializers.Serializer):
    ruleIds = _patterns(allow_empty=False)


class BlacklistUpdateInput(serializers.Serializer):
    ruleId = StringField(max_length=MAX_PATTERN_LENGTH, required=False)
    isMatchExactWord = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "ruleId" not in attrs and "isMatchExactWord" not in attrs:
            raise serializers.ValidationError(
                {
                    "ruleId": ErrorDetail(
                        "Give ruleId (the new pattern) and/or isMatchExactWord.", code="required"
                    )
                }
            )
        return attrs


class WhitelistUpdateInput(serializers.Serializer):
    ruleId = StringField(max_length=MAX_PATTERN_LENGTH)


# --- outputs ------------------------------------------------------------------------------


class BlacklistRecordSerializer(serializers.ModelSerializer):
    ruleId = serializers.CharField(source="pattern")
    regex = serializers.CharField(source="pattern")
    isMatchExactWord = serializers.BooleanField(source="is_match_exact_word")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = BlacklistRecord
        fields = ["ruleId", "regex", "isMatchExactWord", "createdAt"]


class WhitelistRecordSerializer(serializers.ModelSerializer):
    ruleId = serializers.CharField(source="pattern")
    regex = serializers.CharField(source="pattern")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = WhitelistRecord
        fields = ["ruleId", "regex", "createdAt"]


class BlacklistRecordListResponse(serializers.Serializer):
    records = BlacklistRecordSerializer(many=True)
    paging = PagingOutput()


class BlacklistRecordsResponse(serializers.Serializer):
    records = BlacklistRecordSerializer(many=True)


class BlacklistRecordResponse(serializers.Serializer):
    record = BlacklistRecordSerializer()


class WhitelistRecordListResponse(serializers.Serializer):
    records = WhitelistRecordSerializer(many=True)
    paging = PagingOutput()


class WhitelistRecordsResponse(serializers.Serializer):
    records = WhitelistRecordSerializer(many=True)


class WhitelistRecordResponse(serializers.Serializer):
    record = WhitelistRecordSerializer()


class RecordsSuccessResponse(serializers.Serializer):
    success = serializers.BooleanField()
