"""Channel API routes (Admin API v2, ../shared/seeds/admin-api-v2.txt)."""

from django.urls import path

from apps.api_v2.channels import views

urlpatterns = [
    path("channels", views.ChannelQueryView.as_view(), name="v2-channels"),
    path("channel", views.ChannelCreateView.as_view(), name="v2-channel-create"),
    path(
        "channel/displayName",
        views.ChannelDisplayNameView.as_view(),
        name="v2-channel-display-name",
    ),
    path(
        "channel/<str:channelId>/users", views.ChannelUsersView.as_view(), name="v2-channel-users"
    ),
    path("channel/<str:channelId>/mute", views.ChannelMuteView.as_view(), name="v2-channel-mute"),
    path(
        "channel/<str:channelId>/users/mute",
        views.ChannelUsersMuteView.as_view(),
        name="v2-channel-users-mute",
    ),
    path(
        "channel/<str:channelId>/users/ban",
        views.ChannelUsersBanView.as_view(),
        name="v2-channel-users-ban",
    ),
    path(
        "channel/<str:channelId>/users/unban",
        views.ChannelUsersUnbanView.as_view(),
        name="v2-channel-users-unban",
    ),
    path(
        "channel/<str:channelId>/close", views.ChannelCloseView.as_view(), name="v2-channel-close"
    ),
    path(
        "channel/<str:channelId>/scheduledDeletion",
        views.ChannelScheduledDeletionView.as_view(),
        name="v2-channel-scheduled-deletion",
    ),
]
