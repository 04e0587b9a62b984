"""The product's URL map plus the bare view of ``benchmarks/api.py`` (benchmark only).

The bare view is the floor an API request is compared with: the same WSGI server,
middleware and database connection handling, the same ``Authorization: Bearer`` token,
and one statement that checks the token and reads one message row; the row's values go
out as JSON. No DRF, no serializer, no permission layer."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from apps.messages.models import Message
from apps.organizations.models import AccessToken, hash_token
from chatadmin.urls import handler404, handler500
from chatadmin.urls import urlpatterns as product_urlpatterns

FIELDS = ("public_id", "type", "data", "created_at", "edited_at", "channel__channel_id")


def bare_message(request: HttpRequest, message_id: str) -> JsonResponse:
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return JsonResponse({"code": "unauthorized"}, status=401)
    tokens = AccessToken.objects.filter(
        token_hash=hash_token(raw.strip()), kind=AccessToken.Kind.ADMIN, revoked_at__isnull=True
    ).values("organization_id")
    row = (
        Message.objects.filter(public_id=message_id, organization_id__in=tokens)
        .values(*FIELDS)
        .first()
    )
    if row is None:
        return JsonResponse({"code": "message_not_found"}, status=404)
    return JsonResponse({"message": row})


urlpatterns = [
    path("bench/bare/message/<uuid:message_id>", bare_message, name="bench-bare-message"),
    *product_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
