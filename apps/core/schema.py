"""OpenAPI shapes shared by every surface (../shared/API.md): the error body and the
``paging`` object of collections."""

from typing import Any

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


#: Answers any operation may give, whatever its view declares: every body is capped and
#: must have a supported Content-Type (methods that take one), and every operation needs
#: the database (docs/api.md).
_BODY_ERRORS = {
    "413": "payload_too_large: the body is over the size limit.",
    "415": "unsupported_media_type: the body is not JSON, urlencoded or multipart.",
}
_ANY_ERRORS = {
    "503": "database_unavailable: the database cannot be reached; retry after Retry-After.",
}
_BODY_METHODS = ("post", "put", "patch", "delete")

#: Error bodies of the surfaces whose dialect is not ours: path prefix -> (component
#: name, JSON schema). Registered by the surface (its AppConfig.ready).
_ERROR_SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {}


def register_error_schema(prefix: str, name: str, schema: dict[str, Any]) -> None:
    """Document the errors of the operations under ``prefix`` with ``schema`` (a
    component named ``name``) instead of ``ErrorOutput``."""
    _ERROR_SCHEMAS[prefix] = (name, schema)


def error_component_for(path: str) -> str:
    """The name of the error body component of the operation at ``path``."""
    matches = [prefix for prefix in _ERROR_SCHEMAS if path.startswith(prefix)]
    if not matches:
        return "ErrorOutput"
    return _ERROR_SCHEMAS[max(matches, key=len)][0]


def add_common_error_responses(result: dict, generator: Any, **kwargs: Any) -> dict:
    """drf-spectacular postprocessing hook: documents the errors of the shared layers
    (body parsing, the database) on every operation, so no view has to list them and a
    new operation cannot forget them, and gives every documented error the error body.
    A view's own description of a code is kept; its body is the surface's error body
    (``ErrorOutput``, or the one a foreign dialect registered)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in _ERROR_SCHEMAS.values():
        schemas.setdefault(name, schema)
    for path, operations in result.get("paths", {}).items():
        ref = f"#/components/schemas/{error_component_for(path)}"
        error = {"application/json": {"schema": {"$ref": ref}}}
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            extra = dict(_ANY_ERRORS)
            if method in _BODY_METHODS:
                extra |= _BODY_ERRORS
            for code, description in extra.items():
                operation["responses"].setdefault(
                    code, {"content": error, "description": description}
                )
            for code, response in operation["responses"].items():
                if code >= "400":
                    response["content"] = error  # every error of a surface has its one shape
    return result
