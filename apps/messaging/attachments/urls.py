"""Messaging API: attachments (signed links; no session). ``name`` may be anything
after ``original/``; ``ext`` is the preview's format."""

from django.urls import path

from apps.messaging.attachments import views

urlpatterns = [
    path(
        "attachment/<int:attachmentID>/original/<path:name>",
        views.AttachmentOriginalView.as_view(),
        name="messaging-attachment-original",
    ),
    path(
        "attachment/<int:attachmentID>/preview.<str:ext>",
        views.AttachmentPreviewView.as_view(),
        name="messaging-attachment-preview",
    ),
]
