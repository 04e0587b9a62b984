"""Integrations: the one model behind Rocket.Chat's integrations API (``/api/v1/``),
Stackfield's webhook URLs (``/apiwh/<uuid>``) and the messaging API's webhooks
(``/api/messaging/webhooks/``). docs/api/integrations.md says how each maps here.

An integration is incoming (an outside tool posts into the chat through a secret URL) or
outgoing (the chat calls the integration's URLs when its event happens; delivered by the
outgoing-webhooks machinery). ``flavor`` records which door created it: each door lists
and changes its own flavor, the console all of them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.channels.models import Channel
from apps.members.models import Member
from apps.organizations.models import Organization


class Integration(models.Model):
    class Direction(models.TextChoices):
        INCOMING = "incoming", "Incoming"
        OUTGOING = "outgoing", "Outgoing"

    class Flavor(models.TextChoices):
        ROCKETCHAT = "rocketchat", "Rocket.Chat integration"
        STACKFIELD = "stackfield", "Stackfield webhook URL"
        MESSAGING = "messaging", "Messaging API webhook"

    class Kind(models.TextChoices):
        """What an incoming call does. Rocket.Chat's and the messaging API's incoming
        integrations post a message (``message``); Stackfield's URLs have one kind each."""

        MESSAGE = "message", "Message (Rocket.Chat, messaging API)"
        CHAT_MESSAGE = "chat-message", "Chat message"
        DISCUSSION = "discussion", "Discussion"
        TASK = "task", "Task"
        PAGE = "page", "Page"
        FILE = "file", "File"
        EVENT = "event", "Event"
        ROOM_SETTINGS = "room-settings", "Room settings"
        ORGANIZATION = "organization", "Organization settings"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integrations"
    )
    flavor = models.CharField(max_length=16, choices=Flavor.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MESSAGE)
    name = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    #: The one channel a Stackfield URL or a messaging API webhook is bound to (Rocket.Chat
    #: integrations name theirs in ``targets``). Null for Stackfield's organization kind.
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="integrations"
    )
    #: Rocket.Chat's ``channel``: ``#name``, ``@userId``, and for outgoing ones
    #: ``all_public_channels``, ``all_private_groups``, ``all_direct_messages``, as given.
    targets = models.JSONField(default=list, blank=True)
    #: The member the integration posts as (a bot member, provisioned when missing).
    bot = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: Who created it: "own" permissions let a member manage only these.
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=255, blank=True)
    #: SHA-256 of the incoming secret (the ``token`` of ``/hooks/{id}/{token}`` and
    #: ``/webhooks/{id}/{token}``, the uuid of ``/apiwh/<uuid>``); shown once.
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    token_prefix = models.CharField(max_length=16, blank=True)
    # how messages look
    alias = models.CharField(max_length=255, blank=True)
    avatar_url = models.CharField(max_length=2048, blank=True)
    avatar = models.ImageField(upload_to="integrations/avatars/", blank=True)
    emoji = models.CharField(max_length=64, blank=True)
    #: Whether a call may name another channel than the integration's (Rocket.Chat's
    #: ``overrideDestinationChannelEnabled``).
    override_channel = models.BooleanField(default=False)
    # scripts: a sandboxed template (apps.integrations.scripts), never code
    script_enabled = models.BooleanField(default=False)
    script = models.TextField(blank=True)
    script_error = models.TextField(blank=True)
    # outgoing
    event = models.CharField(max_length=32, blank=True)
    urls = models.JSONField(default=list, blank=True)
    trigger_words = models.JSONField(default=list, blank=True)
    trigger_word_anywhere = models.BooleanField(default=False)
    target_room = models.CharField(max_length=255, blank=True)
    run_on_edits = models.BooleanField(default=False)
    retry_failed_calls = models.BooleanField(default=True)
    retry_count = models.PositiveSmallIntegerField(default=6)
    retry_delay = models.CharField(max_length=32, default="powers-of-ten")
    impersonate_user = models.BooleanField(default=False)
    #: The secret an outgoing call carries to its receiver (Rocket.Chat's ``token`` of an
    #: outgoing integration). The receiver checks it, so it must be sendable: kept as given.
    outgoing_token = models.CharField(max_length=255, blank=True)
    #: The last admitted incoming call (one per ``WEBHOOK_MIN_INTERVAL`` per URL: a guarded
    #: UPDATE, so every web process sees the same limit).
    last_called_at = models.DateTimeField(null=True, blank=True)
    #: Outgoing: the Standard Webhooks signing secret (``whsec_...``), encrypted at rest
    #: (apps.integrations.services.signing); shown once. After a rotation the previous one
    #: also signs until ``previous_signing_secret_until``.
    signing_secret = models.TextField(blank=True)
    previous_signing_secret = models.TextField(blank=True)
    previous_signing_secret_until = models.DateTimeField(null=True, blank=True)
    #: Outgoing: when its deliveries started failing without a success since (null while
    #: healthy); failing for ``WEBHOOK_DISABLE_AFTER_DAYS`` disables it.
    failing_since = models.DateTimeField(null=True, blank=True)
    #: Why the machinery disabled it (a 410, days of failures): shown in the console until
    #: it is enabled again.
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "flavor", "-created_at"], name="integration_org"),
            # the fan-out's one lookup per domain event
            models.Index(
                fields=["organization", "event"],
                condition=Q(direction="outgoing", enabled=True),
                name="integration_outgoing_event",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction="outgoing") | Q(token_hash__isnull=False),
                name="integration_incoming_has_token",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_flavor_display()} {self.pk}"

    @property
    def is_incoming(self) -> bool:
        return self.direction == self.Direction.INCOMING


class IntegrationHistory(models.Model):
    """One run of an integration (Rocket.Chat's ``integrations.history``): an incoming
    call and what it made, or (outgoing) a delivery and its attempts."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="history")
    event = models.CharField(max_length=32, blank=True)
    step = models.CharField(max_length=64, blank=True)
    finished = models.BooleanField(default=False)
    error = models.BooleanField(default=False)
    error_message = models.TextField(blank=True)
    #: What was received or sent (bounded: apps.integrations.services.history).
    data = models.JSONField(default=dict, blank=True)
    #: The message it made, as its public id.
    message_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["integration", "-created_at"], name="integrationhistory_int"),
        ]

    def __str__(self) -> str:
        return f"{self.integration_id} {self.step}"


class IntegrationRequest(models.Model):
    """A body an incoming URL accepted, by hash: the same body again within
    ``WEBHOOK_DOUBLE_REQUEST_SECONDS`` is a double request (Stackfield's 4057)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    body_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "body_hash"], name="integrationrequest_unique"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="integrationrequest_time")]

    def __str__(self) -> str:
        return f"{self.integration_id} {self.body_hash[:8]}"


class Delivery(models.Model):
    """One outgoing call to one URL of one integration for one event (the fan-out writes it
    once; its attempts follow its own schedule): durable, so retries survive restarts.

    ``webhook_id`` is the Standard Webhooks ``webhook-id``: the same on every attempt and
    on a replay, so a receiver de-duplicates on it. A worker claims an attempt with a
    guarded UPDATE that sets ``leased_until``; a worker that dies mid-send leaves the lease
    to expire and the attempt is made again (at least once). ``payload`` is the body
    without the dialect's secret token (added at send time), so history never shows it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    #: (no index of its own: ``delivery_integration`` leads with it)
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    #: The outbox event's ``event_id``, or a fresh uuid (a command run, a test event).
    event_id = models.UUIDField()
    #: Rocket.Chat's event name (``sendMessage``...), ``command`` or ``test``.
    event = models.CharField(max_length=32)
    url = models.CharField(max_length=2048)
    #: A hash of (integration, event, URL) (``delivery.webhook_id``): unique, it is also
    #: what keeps a fan-out run twice from writing a delivery twice.
    webhook_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    #: What a reply needs: the channel (pk) it goes to, the author (member pk) to
    #: impersonate, the trigger word.
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The start of the last response body (secrets redacted).
    response_excerpt = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    #: The message the endpoint's reply made, as its public id.
    reply_message_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Every index is written again by each attempt's record (a claim, which changes
        # no indexed column, is a HOT update: the table keeps room in its pages, migration
        # 0003): no more of them than the reads need (docs/performance.md, "Outgoing
        # webhooks"). A unique constraint, not unique=True, which would add a
        # varchar_pattern_ops index on PostgreSQL that no query uses.
        constraints = [
            models.UniqueConstraint(fields=["webhook_id"], name="delivery_webhook_id"),
        ]
        indexes = [
            models.Index(fields=["integration", "-created_at"], name="delivery_integration"),
            # the due rows in the order a run takes them (``next_attempt_at, id``): the
            # read stops at its LIMIT instead of sorting every due row
            models.Index(
                fields=["next_attempt_at", "id"],
                name="delivery_due_order",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status != self.Status.PENDING
