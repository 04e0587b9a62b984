"""URL map: one include per surface (see ../shared/DESIGN.md)."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.utils.csp import CSP
from django.views import defaults
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import http_errors
from apps.core.views import healthz

#: Swagger UI's policy: its page is settings.SECURE_CSP's except for styles, where the
#: drf-spectacular template has an inline <style> ('unsafe-inline' for styles, on this
#: page only; its scripts are files: the split view serves the init script from a URL).
API_DOCS_CSP = {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}

urlpatterns = [
    path("admin/", admin.site.urls),
    path("console/", include("apps.console.urls")),
    path("api/v2/", include("apps.api_v2.urls")),
    path("api/messenger/", include("apps.messenger.api.urls")),
    path("api/messaging/", include("apps.messaging.urls")),
    # Rocket.Chat's integrations API and its incoming URLs (apps.rocketchat)
    path("api/v1/", include("apps.rocketchat.urls")),
    path("hooks/", include("apps.rocketchat.hooks_urls")),
    # Stackfield's webhook URLs (apps.stackfield)
    path("apiwh/", include("apps.stackfield.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        csp_override(API_DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("healthz", healthz, name="healthz"),
    # Last: any other /api/ path is a JSON 404, also with DEBUG on. csrf_exempt: else an
    # unknown /api/ path with POST/PUT/DELETE got the HTML CSRF 403 page (found by fuzzing).
    re_path(r"^api/", csrf_exempt(http_errors.json_404), name="api-not-found"),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api"):
        return http_errors.json_404(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api"):
        return http_errors.json_500(request)
    return defaults.server_error(request)
