"""Every channel route and its parameters appear in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import SchemaGenerator


def test_every_channel_route_is_in_the_schema(db: Any) -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    expected = {
        "/api/v2/channels": {"get", "post"},
        "/api/v2/channel": {"post"},
        "/api/v2/channel/displayName": {"post"},
        "/api/v2/channel/{channelId}/users": {"post", "delete"},
        "/api/v2/channel/{channelId}/mute": {"put"},
        "/api/v2/channel/{channelId}/users/mute": {"put"},
        "/api/v2/channel/{channelId}/users/ban": {"post"},
        "/api/v2/channel/{channelId}/users/unban": {"post"},
        "/api/v2/channel/{channelId}/close": {"post"},
        "/api/v2/channel/{channelId}/scheduledDeletion": {"put"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    get_params = {p["name"] for p in paths["/api/v2/channels"]["get"]["parameters"]}
    assert {"filter", "userId", "tags", "excludeTags", "options[limit]"} <= get_params


def test_the_schema_documents_ban_periods_and_scheduled_deletion(db: Any) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    assert "banPeriod" in components["ChannelUsersBanInputRequest"]["properties"]
    assert "banPeriod" in components["UserBanInputRequest"]["properties"]
    put = schema["paths"]["/api/v2/channel/{channelId}/scheduledDeletion"]["put"]
    ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    field = components[ref]["properties"]["scheduledDeletion"]
    assert field["format"] == "date-time" and field["nullable"] is True
    assert ref in components and "scheduledDeletion" in components[ref]["required"]
    channel = components["Channel"]["properties"]["scheduledDeletion"]
    assert channel["format"] == "date-time"
