"""The chatroom settings of ``organization_settings_update``."""

from __future__ import annotations

import pytest

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.organizations.services import organization_settings_update

pytestmark = pytest.mark.django_db


def test_it_sets_the_grace_and_the_retention_and_audits_them(org):
    organization_settings_update(
        organization=org,
        actor=Actor.system(),
        chatroom_deletion_grace_seconds=600,
        event_chatroom_retention_days=7,
    )
    org.refresh_from_db()
    assert (org.chatroom_deletion_grace_seconds, org.event_chatroom_retention_days) == (600, 7)
    entry = AuditEntry.objects.get(action="organization.settings")
    assert entry.before["chatroomDeletionGraceSeconds"] == 0
    assert entry.after["eventChatroomRetentionDays"] == 7


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"chatroom_deletion_grace_seconds": -1}, "chatroomDeletionGraceSeconds"),
        ({"chatroom_deletion_grace_seconds": 31 * 86400}, "chatroomDeletionGraceSeconds"),
        ({"event_chatroom_retention_days": 3651}, "eventChatroomRetentionDays"),
        ({"event_chatroom_retention_days": True}, "eventChatroomRetentionDays"),
        ({"event_chatroom_retention_days": "3"}, "eventChatroomRetentionDays"),
    ],
)
def test_it_refuses_bad_values(org, kwargs, field):
    with pytest.raises(DomainError) as caught:
        organization_settings_update(organization=org, actor=Actor.system(), **kwargs)
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", field)
    org.refresh_from_db()
    assert (org.chatroom_deletion_grace_seconds, org.event_chatroom_retention_days) == (0, 30)
