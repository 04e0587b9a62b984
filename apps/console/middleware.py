"""The console's branded 404 page under DEBUG too.

With ``DEBUG`` on, Django answers an unknown URL or an ``Http404`` with its technical
404 page, which lists every URL pattern of the project: a map of every surface for
whoever types a wrong console address on a development or staging server. For paths
under ``/console/`` this middleware answers with the branded ``404.html`` instead,
whatever ``DEBUG`` is (outside DEBUG, Django's own handler renders the same template).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.views import defaults

CONSOLE_PREFIX = "/console/"


def _console_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(CONSOLE_PREFIX)


class ConsoleNotFoundMiddleware:
    """Under DEBUG, the branded 404 for console paths (an unknown URL or an Http404)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if settings.DEBUG and _console_path(request):
            try:
                resolve(request.path_info)
            except Resolver404 as exc:
                return defaults.page_not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and _console_path(request) and isinstance(exception, Http404):
            return defaults.page_not_found(request, exception)
        return None
