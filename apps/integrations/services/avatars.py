"""An integration's uploaded avatar (the messaging API's ``avatar`` upload of
``/webhooks/``): validated and re-encoded like every avatar of the product
(:mod:`apps.core.images`: Pillow recognises it, pixel limit, metadata stripped, at most
480 px a side), stored on the default storage, named by ``Integration.avatar``.

Two steps, so that a caller can refuse a bad image before it writes anything:
:func:`avatar_prepare` reads and checks the bytes (no write, no transaction: decoding
an image must not hold a lock), :func:`integration_avatar_set` stores the prepared image
and points the integration at it (audited ``integration.avatar``). The server never
fetches an avatar from a URL (``avatar_url`` is kept as given and shown to clients).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError
from apps.core.images import process_image
from apps.integrations.models import Integration
from apps.integrations.services.integrations import check_manage

logger = logging.getLogger(__name__)

#: The rendition stored (apps.core.images.RENDITIONS: at most 480 px a side), as for
#: chatroom avatars.
AVATAR_RENDITION = "medium"


@dataclass(frozen=True)
class AvatarImage:
    """A checked, re-encoded avatar, ready to store."""

    content: bytes
    extension: str


def max_avatar_bytes() -> int:
    return int(settings.CHATADMIN.get("MAX_AVATAR_BYTES", 2 * 1024 * 1024))


def avatar_prepare(source: bytes | IO[bytes]) -> AvatarImage:
    """The avatar an upload makes: at most ``MAX_AVATAR_BYTES`` (413
    ``payload_too_large``; a file is read at most one byte past the limit), an image
    Pillow accepts (else 400 ``invalid_avatar``), re-encoded without metadata. Writes
    nothing."""
    limit = max_avatar_bytes()
    content = source if isinstance(source, bytes) else source.read(limit + 1)
    if len(content) > limit:
        raise DomainError(
            "payload_too_large", f"The avatar must be at most {limit} bytes.", field="avatar"
        )
    try:
        processed = process_image(content, keep_original=False)
    except DomainError as exc:
        raise DomainError("invalid_avatar", exc.message, field="avatar") from exc
    rendition = next(r for r in processed.renditions if r.variant == AVATAR_RENDITION)
    return AvatarImage(rendition.content, rendition.extension)


def _delete_file(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # storage trouble must not fail a committed change
        logger.exception("could not delete the integration avatar file %s", name)


def integration_avatar_set(
    *, actor: Actor, integration: Integration, image: AvatarImage
) -> Integration:
    """Store ``image`` as the integration's avatar (the previous file is deleted once the
    change committed). Needs the right to manage the integration (403). Audited
    ``integration.avatar``. If the row cannot be written the stored file is deleted
    again, so no file is left without a row that names it."""
    check_manage(actor, direction=integration.direction, integration=integration)
    name = default_storage.save(
        f"integrations/avatars/{integration.organization_id}/"
        f"{integration.pk}-{secrets.token_hex(8)}.{image.extension}",
        ContentFile(image.content),
    )
    try:
        with transaction.atomic():
            locked = Integration.objects.select_for_update().filter(pk=integration.pk).first()
            if locked is None:
                raise DomainError("integration_not_found", field="webhookID")
            old = locked.avatar.name if locked.avatar else ""
            locked.avatar = name
            locked.save(update_fields=["avatar", "updated_at"])
            audit_record(
                organization=integration.organization,
                actor=actor,
                action="integration.avatar",
                target_type="integration",
                target_id=str(locked.pk),
                before={"avatar": old or None},
                after={"avatar": name},
            )
            if old and old != name:
                transaction.on_commit(lambda: _delete_file(old))
    except BaseException:
        _delete_file(name)
        raise
    integration.avatar = name
    integration.updated_at = locked.updated_at
    return integration
