"""chatadmin settings.

Every setting comes from the environment (see the table in README.md). The defaults
are the embedded mode: SQLite under ``var/``, a filesystem broker, files in ``var/media``.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CHATADMIN_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Outside DEBUG there is no default key: a server started without DJANGO_SECRET_KEY would
# sign sessions, CSRF and page tokens with a key published in this file. Under DEBUG, the
# development key ("django-insecure-": `check --deploy` refuses it as well).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set, and without DJANGO_DEBUG=true chatadmin does not "
            "start on the public development key. Set it to a long random secret, e.g. "
            "export DJANGO_SECRET_KEY=\"$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')\" (keep it: changing it ends sessions), "
            "or, on a development machine only, set DJANGO_DEBUG=true (make run does)."
        )
    SECRET_KEY = "django-insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "apps.core",
    "apps.accounts",
    "apps.organizations",
    "apps.audit",
    "apps.members",
    "apps.channels",
    "apps.messages",
    "apps.moderation",
    "apps.events",
    "apps.calendar_events",
    "apps.reports",
    "apps.retention",
    "apps.permissions",
    "apps.presence",
    "apps.integrations",
    # surfaces: they import the domain; the domain never imports them
    "apps.api_v2",
    "apps.messenger",
    "apps.messaging",
    "apps.rocketchat",
    "apps.stackfield",
    "apps.console",
    "apps.cli",
]

MIDDLEWARE = [
    # first: a database outage, in any layer below, is a 503 database_unavailable
    "apps.core.database.DatabaseUnavailableMiddleware",
    # before anything reads a body: 411 chunked without a length, 400 a bad Content-Length,
    # 413 over the cap from the header alone (apps.core.bodies)
    "apps.core.bodies.BodyFramingMiddleware",
    # NUL, lone surrogates and invalid UTF-8 in the path, query string and form bodies
    "apps.core.hygiene.InputHygieneMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (SECURE_CSP below)
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # the branded 404 for /console/ paths also under DEBUG (no list of URL patterns)
    "apps.console.middleware.ConsoleNotFoundMiddleware",
    # last: django-axes throttles failed logins (console and /admin/)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chatadmin.urls"
WSGI_APPLICATION = "chatadmin.wsgi.application"
AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out logins first
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# Login throttling (django-axes): after CHATADMIN_LOGIN_FAILURE_LIMIT failures for one
# account from one address, that pair is locked out for CHATADMIN_LOGIN_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("CHATADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("CHATADMIN_LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.console.auth.views.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# The client address is REMOTE_ADDR (never X-Forwarded-For, which any client can set);
# behind a trusted proxy, CHATADMIN_CLIENT_IP_HEADER names the header IT sets (e.g.
# HTTP_X_REAL_IP). Axes and the token-issue throttle use the same function.
CHATADMIN_CLIENT_IP_HEADER = env.str("CHATADMIN_CLIENT_IP_HEADER", default="")
AXES_CLIENT_IP_CALLABLE = "apps.core.throttling.client_ip"
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)  # only if ipware is ever installed

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'chatadmin.sqlite3'}")
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: take the write lock when the transaction starts, and
    # wait for it instead of failing at once (the worker writes too).
    _db.setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    # Keep connections open between requests (one-row GET: ~100 -> ~650 requests/s).
    _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = False  # no SELECT 1 per request (docs/performance.md)
_db["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counters (per client address). The default is per process; give a shared
# cache in production, e.g. dbcache://chatadmin_cache (then `manage.py createcachetable`).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Passwords, i18n, files ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# Request bodies: uploads have their own limits below; everything else is small.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CHATADMIN_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Security (production) -----------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS: sent on HTTPS responses only. One year unless DEBUG; subdomains and preload are
# opt-in (they bind every subdomain / get the domain into browsers' lists for months).
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# Off by default: TLS is usually terminated (and HTTP redirected) by the proxy.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (Django's built-in, django.middleware.csp): scripts and styles
# from this site's static files only -- no inline <script>, <style> or style= anywhere
# (the console, the error pages, /admin/). /api/docs/ (Swagger UI) has its own, looser
# policy: chatadmin/urls.py.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- REST framework and OpenAPI --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",  # strict, bounded depth (no 500 on hostile JSON)
        "rest_framework.parsers.FormParser",
        "apps.core.parsers.MultiPartParser",  # NUL and lone surrogates refused
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.http_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "chatadmin API",
    "DESCRIPTION": "Admin API v2 and the other surfaces of chatadmin. Errors are "
    '`{"status": "error", "code": ..., "message": ..., "field": ...}`; see docs/api.md.',
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set shared by several surfaces' serializers.
    "ENUM_NAME_OVERRIDES": {
        "ChannelVisibilityEnum": ["public", "private", "group"],
        "MembershipFlagEnum": "apps.channels.models.Membership.Flag",
        "MembershipFlagSetEnum": ["pinned", "hidden", "ignored"],
        "RuleAccessEnum": "apps.permissions.models.Rule.Access",
        "RuleAccessChangeEnum": ["allow", "deny", "inherit"],
        "MessagingMemberTypeEnum": ["owner", "member", "invitee"],
        "MessagingMessageTypeEnum": ["text", "custom", "image", "file"],
        "MessageInputTypeEnum": ["text", "custom"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # the default
        "apps.core.schema.add_common_error_responses",
    ],
}

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),  # else ./control in the cwd
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
# Broker outages (docs/operations.md): workers and beat keep reconnecting for as long as
# it takes; a publish from a request (apps.core.publishing) tries once and gives up. A
# broker that stops answering without closing the connection (frozen, network partition)
# is detected after BROKER_TIMEOUT seconds instead of never.
BROKER_TIMEOUT = env.float("CHATADMIN_BROKER_TIMEOUT", default=3.0)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # never give up (Celery's default: 100 tries)
if not CELERY_BROKER_URL.startswith("filesystem"):
    # Connecting on demand (a publish whose pooled connection is gone): one attempt. Kombu's
    # default sleeps 2 s, then 4 s, ... until the connection timeout has passed.
    CELERY_BROKER_TRANSPORT_OPTIONS |= {"max_retries": 0}
if CELERY_BROKER_URL.startswith(("redis", "rediss", "sentinel")):
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "socket_connect_timeout": BROKER_TIMEOUT,
        "socket_timeout": BROKER_TIMEOUT,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
#: Seconds between the beat sweeps (expired mutes and bans, scheduled deletions).
SWEEP_INTERVAL_SECONDS = env.float("CHATADMIN_SWEEP_INTERVAL_SECONDS", default=30.0)
#: Seconds between the re-queue sweeps of unfinished purges (a purge task lost by the broker).
PURGE_SWEEP_INTERVAL_SECONDS = env.float("CHATADMIN_PURGE_SWEEP_INTERVAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE: dict = {
    # Deliver outbox events whose on-commit request was lost (expires: no pile-up while
    # no worker runs).
    "events-dispatch": {
        "task": "events.dispatch_pending",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    # Outgoing webhook attempts that are due (retries; runs whose on-commit request was
    # lost). Cheap when nothing is due.
    "webhook-deliveries": {
        "task": "integrations.deliveries_run",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
    # Finish purges of closed channels whose purge task was lost (idempotent).
    "channel-purge-sweep": {
        "task": "channels.channel_purge_sweep",
        "schedule": PURGE_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": PURGE_SWEEP_INTERVAL_SECONDS},
    },
    # Expiry sweeps (idempotent; expires: no pile-up while no worker runs). Reads honour
    # an expiry at once; these make it final, audited by the system, with an event.
    **{
        name: {"task": task, "schedule": SWEEP_INTERVAL_SECONDS, "options": {"expires": 60}}
        for name, task in [
            ("channel-mutes-expire", "channels.channel_mutes_expire_sweep"),
            ("channel-users-mutes-expire", "channels.channel_users_mutes_expire_sweep"),
            ("channel-users-bans-expire", "channels.channel_users_bans_expire_sweep"),
            ("member-bans-expire", "members.member_bans_expire_sweep"),
            ("channel-scheduled-deletion", "channels.channel_scheduled_deletion_sweep"),
            ("statuses-expire", "presence.statuses_expire_sweep"),
            ("search-reindex", "messages.search_reindex_sweep"),
            ("integration-requests-expire", "integrations.requests_expire_sweep"),
            ("webhook-deliveries-prune", "integrations.deliveries_prune_sweep"),
        ]
    },
    # Bulk moderation jobs whose task was lost or whose worker died (apps/moderation/bulk.py).
    "bulk-jobs-resume": {
        "task": "moderation.bulk_jobs_resume",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

# --- chatadmin ---------------------------------------------------------------------------
CHATADMIN = {
    "MAX_IMAGE_BYTES": env.int("CHATADMIN_MAX_IMAGE_BYTES", default=10 * 1024 * 1024),
    "MAX_IMAGE_PIXELS": env.int("CHATADMIN_MAX_IMAGE_PIXELS", default=40_000_000),
    "MAX_FILE_BYTES": env.int("CHATADMIN_MAX_FILE_BYTES", default=25 * 1024 * 1024),
    "MAX_AVATAR_BYTES": env.int("CHATADMIN_MAX_AVATAR_BYTES", default=2 * 1024 * 1024),
    "MAX_SKIP": env.int("CHATADMIN_MAX_SKIP", default=10_000),
    "MAX_FILTER_RECORDS": env.int("CHATADMIN_MAX_FILTER_RECORDS", default=100_000),
    # The console's filter tester: a draft pattern is tried on this many latest messages.
    "FILTER_DRAFT_MESSAGES": env.int("CHATADMIN_FILTER_DRAFT_MESSAGES", default=10_000),
    "SWEEP_BATCH_SIZE": env.int("CHATADMIN_SWEEP_BATCH_SIZE", default=500),
    "PURGE_BATCH_SIZE": env.int("CHATADMIN_PURGE_BATCH_SIZE", default=5_000),
    # Console token issuing (admin, API, personal): per account (counted on the token
    # rows: exact across processes) and per client address (counted in the cache).
    "TOKEN_ISSUE_PER_ACCOUNT_HOUR": env.int("CHATADMIN_TOKEN_ISSUE_PER_ACCOUNT_HOUR", default=20),
    "TOKEN_ISSUE_PER_ADDRESS_HOUR": env.int("CHATADMIN_TOKEN_ISSUE_PER_ADDRESS_HOUR", default=60),
    # Messaging API sessions: default lifetime of a session token (POST
    # /api/v2/users/:userId/sessions, create_session_token), and the longest one allowed.
    "SESSION_TTL_SECONDS": env.int("CHATADMIN_SESSION_TTL_SECONDS", default=30 * 24 * 3600),
    "SESSION_MAX_TTL_SECONDS": env.int(
        "CHATADMIN_SESSION_MAX_TTL_SECONDS", default=365 * 24 * 3600
    ),
    # Signed attachment and avatar URLs stay valid this long.
    "SIGNED_URL_TTL_SECONDS": env.int("CHATADMIN_SIGNED_URL_TTL_SECONDS", default=3600),
    # POST /api/messaging/activity/: per member, per minute.
    "ACTIVITY_PER_MEMBER_MINUTE": env.int("CHATADMIN_ACTIVITY_PER_MEMBER_MINUTE", default=60),
    # The console's "Undo" after a dismiss, mute, ban, hide or delete is offered (and
    # honoured) for this many seconds (apps/console/undo.py).
    "CONSOLE_UNDO_SECONDS": env.int("CHATADMIN_CONSOLE_UNDO_SECONDS", default=30),
    # Opening a review item claims it for this many seconds: others see it as taken and
    # "next item" skips it; acting on it releases it (apps/reports/services.py).
    "CONSOLE_CLAIM_SECONDS": env.int("CHATADMIN_CONSOLE_CLAIM_SECONDS", default=300),
    # Incoming webhook URLs (apps.integrations): at most one call per this many seconds per
    # URL (Stackfield's limit; every web process shares it through the database), and the
    # same body to the same URL within the window is a double request (Stackfield's 4057).
    "WEBHOOK_MIN_INTERVAL_SECONDS": env.float(
        "CHATADMIN_WEBHOOK_MIN_INTERVAL_SECONDS", default=1.0
    ),
    "WEBHOOK_DOUBLE_REQUEST_SECONDS": env.int(
        "CHATADMIN_WEBHOOK_DOUBLE_REQUEST_SECONDS", default=60
    ),
    # Integration scripts (sandboxed Jinja2 templates, never code): off turns every script
    # off (saving one is refused; a stored one is not run, its calls are refused).
    "INTEGRATION_SCRIPTS_ENABLED": env.bool("CHATADMIN_INTEGRATION_SCRIPTS_ENABLED", default=True),
    # The server's public base URL (Rocket.Chat's ``siteUrl`` in outgoing webhook
    # payloads); empty: the first DJANGO_CSRF_TRUSTED_ORIGINS entry, else the embedded
    # default http://127.0.0.1:8000.
    "SITE_URL": env.str("CHATADMIN_SITE_URL", default=""),
    # Outgoing webhooks (apps.integrations.services.delivery). The retry schedule: seconds
    # before each attempt (the first is immediate; jitter is added to the later ones).
    "WEBHOOK_RETRY_SCHEDULE": [
        float(s)
        for s in env.list(
            "CHATADMIN_WEBHOOK_RETRY_SCHEDULE",
            default=["0", "5", "300", "1800", "7200", "18000", "36000", "36000"],
        )
    ],
    # An integration whose deliveries failed for this many days without a success is
    # disabled (audited, shown in the console).
    "WEBHOOK_DISABLE_AFTER_DAYS": env.float("CHATADMIN_WEBHOOK_DISABLE_AFTER_DAYS", default=5.0),
    # Finished deliveries (the outgoing history) are removed this many days after they were
    # made (a beat sweep); 0 keeps them.
    "WEBHOOK_DELIVERY_RETENTION_DAYS": env.float(
        "CHATADMIN_WEBHOOK_DELIVERY_RETENTION_DAYS", default=30.0
    ),
    # Sends in flight per worker process (threads), and per endpoint within it.
    "WEBHOOK_DELIVERY_CONCURRENCY": env.int("CHATADMIN_WEBHOOK_DELIVERY_CONCURRENCY", default=16),
    "WEBHOOK_ENDPOINT_CONCURRENCY": env.int("CHATADMIN_WEBHOOK_ENDPOINT_CONCURRENCY", default=4),
    # A claimed attempt whose worker died is made again after this many seconds.
    "WEBHOOK_DELIVERY_LEASE_SECONDS": env.float(
        "CHATADMIN_WEBHOOK_DELIVERY_LEASE_SECONDS", default=60.0
    ),
    # Signing secrets are stored encrypted with the first of these keys (any of them
    # decrypts: rotate by putting a new key first). Empty: a key derived from SECRET_KEY.
    "WEBHOOK_SECRET_KEYS": env.list("CHATADMIN_WEBHOOK_SECRET_KEYS", default=[]),
    # After a signing secret is rotated, the previous one also signs for this long.
    "WEBHOOK_SECRET_GRACE_HOURS": env.float("CHATADMIN_WEBHOOK_SECRET_GRACE_HOURS", default=24.0),
    # Outgoing webhook requests (apps.core.egress): host names and CIDRs allowed although
    # not global (internal services; any other private, loopback or link-local address is
    # refused), the time limit of one whole request, and how much of a response is read.
    "WEBHOOK_ALLOWLIST": env.list("CHATADMIN_WEBHOOK_ALLOWLIST", default=[]),
    "WEBHOOK_TIMEOUT_SECONDS": env.float("CHATADMIN_WEBHOOK_TIMEOUT_SECONDS", default=15.0),
    "WEBHOOK_RESPONSE_MAX_BYTES": env.int("CHATADMIN_WEBHOOK_RESPONSE_MAX_BYTES", default=65536),
    # Console bulk actions (apps/moderation/bulk.py): up to BULK_SYNC_LIMIT targets are
    # done in the request, more by a task in chunks of BULK_CHUNK_SIZE; a selection of
    # more than BULK_MAX_TARGETS is refused.
    "BULK_SYNC_LIMIT": env.int("CHATADMIN_BULK_SYNC_LIMIT", default=200),
    "BULK_MAX_TARGETS": env.int("CHATADMIN_BULK_MAX_TARGETS", default=50_000),
    "BULK_CHUNK_SIZE": env.int("CHATADMIN_BULK_CHUNK_SIZE", default=100),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
