"""Messaging API: channels (the document's paths; attach and messages are the messages
area's)."""

from django.urls import path

from apps.messaging.channels import views

urlpatterns: list = [
    path("channels/", views.ChannelListView.as_view(), name="messaging-channels"),
    path("channels/<int:channelID>", views.ChannelDetailView.as_view(), name="messaging-channel"),
    path(
        "channels/<int:channelID>/state",
        views.ChannelStateView.as_view(),
        name="messaging-channel-state",
    ),
    path(
        "channels/<int:channelID>/flag",
        views.ChannelFlagView.as_view(),
        name="messaging-channel-flag",
    ),
    path(
        "channels/<int:channelID>/members",
        views.ChannelMembersView.as_view(),
        name="messaging-channel-members",
    ),
    path(
        "channels/<int:channelID>/members/<int:userID>",
        views.ChannelMemberView.as_view(),
        name="messaging-channel-member",
    ),
    path(
        "channels/<int:channelID>/invite",
        views.ChannelInviteView.as_view(),
        name="messaging-channel-invite",
    ),
]
