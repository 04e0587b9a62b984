"""Project-level views that belong to no app."""

from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and `make run`.

    200 ``{"status": "ok"}``; while the database cannot be reached, 503 with the JSON
    error ``database_unavailable`` (made by ``apps.core.database``'s middleware)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
