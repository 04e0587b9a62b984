"""Rocket.Chat's incoming URLs (/hooks/{_id}/{token}). Any other path under /hooks/ is a
404 in Rocket.Chat's error body."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from apps.core.dialects import error_response
from apps.rocketchat.hooks import HookView


@csrf_exempt
def hooks_not_found(request: HttpRequest) -> HttpResponse:
    return error_response(request, "not_found")


urlpatterns: list[URLPattern] = [
    path("<str:integrationId>/<str:token>", HookView.as_view(), name="rocketchat-hook"),
    re_path(r"^", hooks_not_found, name="rocketchat-hooks-not-found"),
]
