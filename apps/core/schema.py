"""OpenAPI shapes shared by every surface (../shared/API.md): the error body and the
``paging`` object of collections."""

from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    """``{"status": "error", "code", "message", "field"?}`` (codes: docs/api.md)."""

    status = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class PagingOutput(serializers.Serializer):
    """Opaque page tokens; null when there is no such page."""

    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
