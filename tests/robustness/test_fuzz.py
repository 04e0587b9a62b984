"""Schemathesis against the project's own OpenAPI schema, in process (WSGI).

Every operation of every surface is generated from /api/schema/, so a new route cannot
escape: /api/v2/ with an admin Bearer token; /api/messenger/ once with an org
``API-TOKEN`` and once with a ``Personal-Access-Token`` of an org admin; /api/messaging/
with an org admin's member session; Rocket.Chat's /api/v1/ with an org admin's login
(``X-Auth-Token`` + ``X-User-Id``); the public incoming URLs (Rocket.Chat's /hooks/,
Stackfield's /apiwh/) with no credential (the secret is in the path). Each pytest item
(one operation x one credential) runs on a seeded organization (channels, members,
messages, a chatroom, filter rules; for the messaging API a public channel with its
members, an image attachment, a role with a rule; the integrations of issue 13: a
Rocket.Chat incoming integration, a messaging API webhook, Stackfield URLs of the
chat-message and organization kinds); about half of the generated path parameters are
replaced with seeded ids (and keys) so the handlers get past their 404 and into the real
code (and, for the messaging API's signed files, the generated signature with a valid
link for the session's member; for Rocket.Chat, whose integration ids travel in the
query or body, ``integrationId`` and ``id`` there too). The one call per second of an
incoming URL is lifted in process (``unthrottled``) and over gunicorn.

Budget: ``MAX_EXAMPLES`` per item of v2 and the chatroom service: 44 v2 operations +
2 x 11 messenger operations = 66 items, ~80 cases each (positive and negative
generation) = > 5,000 cases per run. The messaging API's ~48 operations get
``MESSAGING_MAX_EXAMPLES`` each (default 10, plus schemathesis' coverage cases: the
messaging share of the CI step is kept under a minute, about 40 s on PostgreSQL). The
integrations' doors (9 Rocket.Chat operations, the two incoming URLs) get
``INTEGRATIONS_MAX_EXAMPLES`` each (default 10; with their hostile items, under a
minute of the step).

Hostile variants (tests/robustness/hostile.py): every generated case gets one or two
hostile changes: NUL, lone surrogates, C0/C1 controls, bidi and zero-width characters at
any position of any string (path, query, body at every depth, object keys), strings of
nothing visible, integers as Arabic-Indic or fullwidth digits, ``"1_0"``, ``" 1 "``,
``1e3``, ``1e-400``, ``1.0``, ``true``. The ``hostile_refused`` check wants a 4xx wherever
the change must be refused (NUL or a surrogate anywhere; a control, format character or
nothing visible in an identifier, an enum, a number or a path id; an odd integer) and the
error body on every 4xx (the messaging API's ``{"error": {...}}`` under /api/messaging/).
In process: ``HOSTILE_MAX_EXAMPLES`` per operation (v2 with the Bearer token, messenger
with the admin's Personal-Access-Token; messaging with the admin's session,
``MESSAGING_HOSTILE_MAX_EXAMPLES``). Over a real gunicorn (PostgreSQL only, on the test
database): ``GUNICORN_MAX_EXAMPLES`` per operation (``MESSAGING_GUNICORN_MAX_EXAMPLES``
for the messaging API), and every body-taking operation's clean and hostile bodies
again with ``Transfer-Encoding: chunked`` and no ``Content-Length``.

Run: ``.venv/bin/pytest -m fuzz`` (add DATABASE_URL for PostgreSQL; CI does).
Known exclusions: docs/testing.md, "Fuzzing: known exclusions".
"""

from __future__ import annotations

import http.client
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.channels.services.chatrooms import chatroom_create_custom
from apps.core import signing
from apps.integrations.models import Integration
from apps.integrations.services.integrations import integration_create
from apps.integrations.services.stackfield import stackfield_url_create
from apps.members.models import Member, Role
from apps.members.services import member_session_issue
from apps.messages.selectors.attachments import primary_and_preview
from apps.messages.services.messages import message_create_image
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import AccessToken
from apps.permissions.services import role_rules_set
from chatadmin.wsgi import application
from tests.builders import image_bytes
from tests.chaos import servers
from tests.factories import (
    AccountFactory,
    ChannelFactory,
    MemberFactory,
    MessageFactory,
    OrganizationFactory,
)
from tests.personas import issue_token

from . import hostile
from .test_cross_org import SIGNED_FILES
from .test_hostile_input import (
    API_GAPS,
    api_probes,
    credential_headers,
    judge,
    surface_of,
)
from .world import Tenant, unthrottled, world_fixture  # noqa: F401  (the ``world`` fixture)

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "80"))
HOSTILE_MAX_EXAMPLES = int(os.environ.get("FUZZ_HOSTILE_MAX_EXAMPLES", "100"))
GUNICORN_MAX_EXAMPLES = int(os.environ.get("FUZZ_GUNICORN_MAX_EXAMPLES", "25"))
#: The messaging API's share (about 41 operations): kept small, see the module docstring.
MESSAGING_MAX_EXAMPLES = int(os.environ.get("FUZZ_MESSAGING_MAX_EXAMPLES", "10"))
MESSAGING_HOSTILE_MAX_EXAMPLES = int(os.environ.get("FUZZ_MESSAGING_HOSTILE_MAX_EXAMPLES", "20"))
MESSAGING_GUNICORN_MAX_EXAMPLES = int(os.environ.get("FUZZ_MESSAGING_GUNICORN_MAX_EXAMPLES", "5"))
#: The integrations' doors (/api/v1/, /hooks/, /apiwh/): 11 operations.
INTEGRATIONS_MAX_EXAMPLES = int(os.environ.get("FUZZ_INTEGRATIONS_MAX_EXAMPLES", "10"))
INTEGRATIONS_HOSTILE_MAX_EXAMPLES = int(
    os.environ.get("FUZZ_INTEGRATIONS_HOSTILE_MAX_EXAMPLES", "20")
)
INTEGRATIONS_GUNICORN_MAX_EXAMPLES = int(
    os.environ.get("FUZZ_INTEGRATIONS_GUNICORN_MAX_EXAMPLES", "5")
)

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    negative_data_rejection,
    ignored_auth,
    use_after_free,
]

# Known exclusions, (method, path) -> checks not run there; each one is listed with its
# reason in docs/testing.md ("Fuzzing: known exclusions"). Keep this short.
EXCLUDED: dict[tuple[str, str], list[Any]] = {
    # one schema documents the properties of every kind of Stackfield URL; a URL reads its
    # own kind's (and its command's) only, so a wrong value in another's is never read
    ("POST", "/apiwh/{webhookId}"): [negative_data_rejection],
}

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI failures reproduce locally
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: it would blow the time box
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# Loaded at collection (eagerly, so each operation is its own pytest item; the lazy
# ``from_fixture`` loader of schemathesis 4.32 does not work with pytest 9). Rendering the
# schema touches no database.
api_schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
api_schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    # The credentials are ours (``headers=`` below), not generated: a generated case that
    # drops or garbles Authorization would be re-authorized by them and then reported by
    # negative_data_rejection as "schema-violating request accepted".
    with_security_parameters=False,
)
#: The surfaces by path (surfaces.SURFACES); the incoming URLs of /hooks/ and /apiwh/
#: take no credential and are fuzzed together.
V2, MESSENGER, MESSAGING = r"^/api/v2/", r"^/api/messenger/", r"^/api/messaging/"
ROCKETCHAT, INCOMING_URLS = r"^/api/v1/", r"^/(hooks|apiwh)/"
v2_schema = api_schema.include(path_regex=V2)
messenger_schema = api_schema.include(path_regex=MESSENGER)
messaging_schema = api_schema.include(path_regex=MESSAGING)
rocketchat_schema = api_schema.include(path_regex=ROCKETCHAT)
incoming_schema = api_schema.include(path_regex=INCOMING_URLS)


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Any:
    """Schemathesis calls the WSGI app directly, whose request signals would close the
    database connection (and the test's transaction) after every request; Django's own
    test Client disconnects them the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db: None) -> dict[str, Any]:
    """An organization with channels, members, messages, a chatroom and filter rules."""
    org = OrganizationFactory(slug="acme", name="Acme")
    other = OrganizationFactory(slug="globex", name="Globex")
    admin = MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN, user_id="ada")
    admin.account = AccountFactory(email="ada@acme.test")
    admin.save(update_fields=["account"])
    members = [admin] + [MemberFactory(organization=org, user_id=f"user-{i}") for i in range(3)]
    channels = [ChannelFactory(organization=org, channel_id=f"ch-{i}") for i in range(3)]
    messages = [MessageFactory(channel=channels[i % 3], author=members[i % 4]) for i in range(6)]
    room = chatroom_create_custom(
        organization=org, actor=Actor.system(), name="Team", members=members[:2]
    )
    BlacklistRecord.objects.create(organization=org, pattern="badword")
    WhitelistRecord.objects.create(organization=org, pattern="goodword")
    ChannelFactory(organization=other, channel_id="foreign")
    messaging = _seed_messaging(org, admin, members[1])
    integrations = _seed_integrations(org, admin, members[1], messaging["channel"])

    def issue(kind: str, email: str) -> str:
        account = admin.account if kind == AccessToken.Kind.PERSONAL else None
        account = account or AccountFactory(email=email)
        return issue_token(
            kind=kind,
            account=account,
            organization=None if kind == AccessToken.Kind.PERSONAL else org,
        ).raw

    return {
        "ids": {
            "channelId": channels[0].channel_id,
            "messageId": str(messages[0].public_id),
            "userId": members[1].user_id,
            "ruleId": "badword",
            "roomID": room.pk,
            "organizationID": org.pk,
            **messaging["ids"],
            **integrations["ids"],
        },
        "fields": integrations["fields"],
        "headers": {
            "admin": {"Authorization": f"Bearer {issue(AccessToken.Kind.ADMIN, 'adm@acme.test')}"},
            "api": {"API-TOKEN": issue(AccessToken.Kind.API, "api@acme.test")},
            "personal": {"Personal-Access-Token": issue(AccessToken.Kind.PERSONAL, "")},
            "session": {"Authorization": f"Bearer {messaging['token']}"},
            # Rocket.Chat's login: an admin token of the admin's own account, its userId
            "rocketchat": {
                "X-Auth-Token": issue_token(
                    kind=AccessToken.Kind.ADMIN, account=admin.account, organization=org
                ).raw,
                "X-User-Id": admin.user_id,
            },
            "none": {},
        },
        "signed": messaging["signed"],
        "organization": org,
    }


def _seed_messaging(org: Any, admin: Member, member: Member) -> dict[str, Any]:
    """The messaging API's rows: a public channel (the admin its owner, ``member`` in it)
    with a text message and an image (its attachment has a preview), a role with a rule,
    the admin's session and a signed link of the attachment for the admin."""
    now = timezone.now()
    channel = ChannelFactory(
        organization=org, channel_id="messaging", visibility=Channel.Visibility.PUBLIC
    )
    for who in (admin, member):
        Membership.objects.create(
            organization=org, channel=channel, member=who, joined_at=now, is_owner=who == admin
        )
    text = MessageFactory(channel=channel, author=member)
    image = message_create_image(
        organization=org,
        actor=Actor.for_member(member),
        channel=channel,
        upload=SimpleUploadedFile("photo.png", image_bytes(), content_type="image/png"),
        author=member,
    )
    attachment, preview = primary_and_preview(image)
    assert attachment is not None and preview is not None
    role = Role.objects.create(organization=org, role_id="fuzz-role")
    role_rules_set(
        actor=Actor.system(),
        role=role,
        rules=[{"resource": "messaging:channel:*", "operation": "join", "access": "allow"}],
    )
    return {
        "channel": channel,
        "ids": {
            "channelID": channel.pk,
            "messageID": text.pk,
            "userID": member.pk,
            "roleID": role.pk,
            "attachmentID": attachment.pk,
            "name": attachment.name,
            "ext": preview.name.rpartition(".")[2],
            "command": "shrug",
            "reaction": "like",
        },
        "token": member_session_issue(actor=Actor.system(), member=admin).token,
        "signed": signing.signed_params("attachment", attachment.pk, admin.pk),
    }


def _seed_integrations(org: Any, admin: Member, member: Member, channel: Any) -> dict[str, Any]:
    """The integrations' rows, made by the admin: a Rocket.Chat incoming integration and a
    messaging API incoming webhook posting into the messaging channel, Stackfield URLs of
    the chat-message kind (bound to it) and of the organization kind; their keys."""
    by_admin = Actor.for_member(admin)
    rc_hook = integration_create(
        organization=org,
        actor=by_admin,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        name="CI",
        targets=[f"#{channel.channel_id}"],
        username="ci.bot",
    )
    webhook = integration_create(
        organization=org,
        actor=by_admin,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.INCOMING,
        name="Hook",
        channel=channel,
        bot=member,
    )
    urls = [
        stackfield_url_create(organization=org, actor=by_admin, kind=kind, channel=where).token
        for kind, where in (
            (Integration.Kind.CHAT_MESSAGE, channel),
            (Integration.Kind.ORGANIZATION, None),
        )
    ]
    return {
        "ids": {
            "integrationId": rc_hook.integration.pk,
            "token": rc_hook.token,
            "webhookID": webhook.integration.pk,
            "webhookToken": webhook.token,
            "webhookId": tuple(urls),  # one of them, by the case
        },
        # Rocket.Chat names an integration in the query or the body
        "fields": {"integrationId": str(rc_hook.integration.pk), "id": str(rc_hook.integration.pk)},
    }


def _seeded_value(value: Any, case: Any) -> Any:
    """A seeded id, or one of several (a tuple) chosen by the case."""
    if isinstance(value, tuple):
        return value[zlib.crc32(repr(case.body).encode()) % len(value)]
    return value


def _run(case: Any, seeded: dict[str, Any], credential: str) -> None:
    # Deterministically point about half of the cases at seeded ids (the rest keep the
    # generated ids and exercise the 404 paths).
    if case.path_parameters and zlib.crc32(repr(case.path_parameters).encode()) % 2 == 0:
        for name in case.path_parameters:
            if name in seeded["ids"]:
                case.path_parameters[name] = _seeded_value(seeded["ids"][name], case)
        if case.path.startswith(SIGNED_FILES):
            # the seeded attachment's link, so the file is served (else 403 at the door)
            case.query = {**(case.query or {}), **seeded["signed"]}
    _seed_fields(case, seeded["fields"])
    excluded = list(EXCLUDED.get((case.method.upper(), case.path), []))
    if case.media_type and case.media_type != "application/json":
        # Form encodings carry only strings: ``regexs={}`` is a one-item list holding the
        # string "{}", not an object, so "wrong JSON type" mutations are valid input there.
        # Exclusion documented in docs/testing.md.
        excluded.append(negative_data_rejection)
    case.call_and_validate(
        headers=seeded["headers"][credential],
        checks=[check for check in CHECKS if check not in excluded],
    )


@v2_schema.parametrize()
@FUZZ_SETTINGS
def test_admin_api_v2(case: Any, seeded: dict[str, Any]) -> None:
    _run(case, seeded, "admin")


@messenger_schema.parametrize()
@FUZZ_SETTINGS
def test_messenger_with_api_token(case: Any, seeded: dict[str, Any]) -> None:
    _run(case, seeded, "api")


@messenger_schema.parametrize()
@FUZZ_SETTINGS
def test_messenger_with_personal_token(case: Any, seeded: dict[str, Any]) -> None:
    _run(case, seeded, "personal")


def _seed_fields(case: Any, fields: dict[str, str]) -> None:
    """About half of the cases name the seeded row where a query parameter or a JSON
    body's property has its name (``integrationId``), the others keep theirs. Only a
    string is replaced (as the schema has it): a negative case's wrong type stays wrong."""
    for container in (case.query, case.body):
        if not isinstance(container, dict):
            continue
        for name in fields.keys() & container.keys():
            value = container[name]
            if isinstance(value, str) and zlib.crc32(value.encode()) % 2 == 0:
                container[name] = fields[name]


@messaging_schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=MESSAGING_MAX_EXAMPLES)
def test_messaging_with_session(case: Any, seeded: dict[str, Any]) -> None:
    with unthrottled():
        _run(case, seeded, "session")


@rocketchat_schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=INTEGRATIONS_MAX_EXAMPLES)
def test_rocketchat_with_login(case: Any, seeded: dict[str, Any]) -> None:
    _run(case, seeded, "rocketchat")


@incoming_schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=INTEGRATIONS_MAX_EXAMPLES)
def test_incoming_urls(case: Any, seeded: dict[str, Any]) -> None:
    with unthrottled():
        _run(case, seeded, "none")


# --- hostile input, in process ------------------------------------------------------------

HOSTILE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    hostile.hostile_refused,
]
# Generated cases only: the explicit phase replays schemathesis' coverage cases, which
# bypass the hooks (and are sent by the plain tests above anyway).
HOSTILE_SETTINGS = settings(
    FUZZ_SETTINGS, max_examples=HOSTILE_MAX_EXAMPLES, phases=[Phase.generate]
)
GUNICORN_SETTINGS = settings(
    FUZZ_SETTINGS, max_examples=GUNICORN_MAX_EXAMPLES, phases=[Phase.generate]
)


def _hostile_schema(loaded: Any, max_examples: int) -> Any:
    """``loaded`` with every generated case made hostile (a schema-scoped hook, so the
    plain fuzzing above is untouched)."""
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=max_examples,
        with_security_parameters=False,
    )

    @loaded.hook
    def flatmap_case(context: Any, case: Any) -> Any:
        return hostile.hostile_case_strategy(case)

    return loaded


hostile_schema = _hostile_schema(
    schemathesis.openapi.from_wsgi("/api/schema/?format=json", application), HOSTILE_MAX_EXAMPLES
)
hostile_v2 = hostile_schema.include(path_regex=V2)
hostile_messenger = hostile_schema.include(path_regex=MESSENGER)
hostile_messaging = hostile_schema.include(path_regex=MESSAGING)
hostile_rocketchat = hostile_schema.include(path_regex=ROCKETCHAT)
hostile_incoming = hostile_schema.include(path_regex=INCOMING_URLS)


def _seed_path(case: Any, ids: dict[str, Any]) -> None:
    """Seeded ids for the path parameters the hostile change left alone (so the handler
    runs past its 404 and reads the hostile body or query)."""
    mark = case.headers.get(hostile.MARK, "") if case.headers else ""
    for name in list(case.path_parameters or {}):
        if name in ids and f"path [{name!r}]" not in mark:
            case.path_parameters[name] = quote(str(_seeded_value(ids[name], case)), safe="")


def _seed_untouched_fields(case: Any, fields: dict[str, str]) -> None:
    """The seeded row's id where a query parameter or a JSON body's property has its name,
    unless the hostile change is there."""
    mark = case.headers.get(hostile.MARK, "") if case.headers else ""
    for where, container in (("query", case.query), ("body", case.body)):
        if not isinstance(container, dict) or case.media_type not in (None, "application/json"):
            continue
        for name in fields.keys() & container.keys():
            if f"{where} [{name!r}" not in mark and isinstance(container[name], str):
                container[name] = fields[name]


def _run_hostile(case: Any, seeded: dict[str, Any], credential: str, **kwargs: Any) -> None:
    _seed_path(case, seeded["ids"])
    _seed_untouched_fields(case, seeded["fields"])
    mark = case.headers.get(hostile.MARK, "") if case.headers else ""
    if case.path.startswith(SIGNED_FILES) and "query [" not in mark:
        # a valid link unless the hostile change is in the query
        case.query = {**(case.query or {}), **seeded["signed"]}
    case.call_and_validate(headers=seeded["headers"][credential], checks=HOSTILE_CHECKS, **kwargs)


@hostile_v2.parametrize()
@HOSTILE_SETTINGS
def test_hostile_admin_api_v2(case: Any, seeded: dict[str, Any]) -> None:
    _run_hostile(case, seeded, "admin")


@hostile_messenger.parametrize()
@HOSTILE_SETTINGS
def test_hostile_messenger(case: Any, seeded: dict[str, Any]) -> None:
    _run_hostile(case, seeded, "personal")


@hostile_messaging.parametrize()
@settings(HOSTILE_SETTINGS, max_examples=MESSAGING_HOSTILE_MAX_EXAMPLES)
def test_hostile_messaging(case: Any, seeded: dict[str, Any]) -> None:
    with unthrottled():
        _run_hostile(case, seeded, "session")


@hostile_rocketchat.parametrize()
@settings(HOSTILE_SETTINGS, max_examples=INTEGRATIONS_HOSTILE_MAX_EXAMPLES)
def test_hostile_rocketchat(case: Any, seeded: dict[str, Any]) -> None:
    _run_hostile(case, seeded, "rocketchat")


@hostile_incoming.parametrize()
@settings(HOSTILE_SETTINGS, max_examples=INTEGRATIONS_HOSTILE_MAX_EXAMPLES)
def test_hostile_incoming_urls(case: Any, seeded: dict[str, Any]) -> None:
    with unthrottled():
        _run_hostile(case, seeded, "none")


# --- hostile input over a real gunicorn ---------------------------------------------------

_gunicorn_missing = None if (servers.VENV_BIN / "gunicorn").exists() else "no .venv/bin/gunicorn"


@pytest.fixture(scope="module")
def gunicorn_url(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``gunicorn chatadmin.wsgi`` (2 sync workers, production settings) on a free
    loopback port, on pytest-django's test database: what a test commits
    (``django_db(transaction=True)``) it serves. PostgreSQL only (SQLite's test database
    is in memory or locked by this process)."""
    if connection.vendor != "postgresql":
        pytest.skip("the gunicorn variants need PostgreSQL (DATABASE_URL)")
    if _gunicorn_missing:
        pytest.skip(_gunicorn_missing)
    db = django_settings.DATABASES["default"]
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    url = f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    folder = tmp_path_factory.mktemp("gunicorn")
    # an incoming URL takes every call (one per second would answer most cases 429)
    env = servers.product_env(
        url, folder, DB_CONN_MAX_AGE="0", CHATADMIN_WEBHOOK_MIN_INTERVAL_SECONDS="0"
    )
    with servers.Gunicorn(env, workers=2, log=folder / "gunicorn.log") as web:
        yield f"http://{web.host}:{web.port}"


gunicorn_schema = _hostile_schema(
    schemathesis.openapi.from_dict(api_schema.raw_schema), GUNICORN_MAX_EXAMPLES
)
#: gunicorn's own answers to a request it will not pass on (a request line over 4094
#: bytes: 414; too many or too large header fields: 431), in its HTML, before Django.
#: docs/testing.md, "Fuzzing: known exclusions".
GUNICORN_LIMITS = {414, 431}


@gunicorn_schema.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    return response.status_code not in GUNICORN_LIMITS


gunicorn_v2 = gunicorn_schema.include(path_regex=V2)
gunicorn_messenger = gunicorn_schema.include(path_regex=MESSENGER)
gunicorn_messaging = gunicorn_schema.include(path_regex=MESSAGING)
gunicorn_rocketchat = gunicorn_schema.include(path_regex=ROCKETCHAT)
gunicorn_incoming = gunicorn_schema.include(path_regex=INCOMING_URLS)


@gunicorn_v2.parametrize()
@GUNICORN_SETTINGS
@pytest.mark.django_db(transaction=True)
def test_hostile_admin_api_v2_over_gunicorn(
    case: Any, seeded: dict[str, Any], gunicorn_url: str
) -> None:
    _run_hostile(case, seeded, "admin", base_url=gunicorn_url, timeout=30)


@gunicorn_messenger.parametrize()
@GUNICORN_SETTINGS
@pytest.mark.django_db(transaction=True)
def test_hostile_messenger_over_gunicorn(
    case: Any, seeded: dict[str, Any], gunicorn_url: str
) -> None:
    _run_hostile(case, seeded, "personal", base_url=gunicorn_url, timeout=30)


@gunicorn_messaging.parametrize()
@settings(GUNICORN_SETTINGS, max_examples=MESSAGING_GUNICORN_MAX_EXAMPLES)
@pytest.mark.django_db(transaction=True)
def test_hostile_messaging_over_gunicorn(
    case: Any, seeded: dict[str, Any], gunicorn_url: str
) -> None:
    # gunicorn's own settings: POST /activity/ throttles at 60 a minute per member there
    # (a 429 is documented); few enough cases per operation to stay under it
    _run_hostile(case, seeded, "session", base_url=gunicorn_url, timeout=30)


@gunicorn_rocketchat.parametrize()
@settings(GUNICORN_SETTINGS, max_examples=INTEGRATIONS_GUNICORN_MAX_EXAMPLES)
@pytest.mark.django_db(transaction=True)
def test_hostile_rocketchat_over_gunicorn(
    case: Any, seeded: dict[str, Any], gunicorn_url: str
) -> None:
    _run_hostile(case, seeded, "rocketchat", base_url=gunicorn_url, timeout=30)


@gunicorn_incoming.parametrize()
@settings(GUNICORN_SETTINGS, max_examples=INTEGRATIONS_GUNICORN_MAX_EXAMPLES)
@pytest.mark.django_db(transaction=True)
def test_hostile_incoming_urls_over_gunicorn(
    case: Any, seeded: dict[str, Any], gunicorn_url: str
) -> None:
    _run_hostile(case, seeded, "none", base_url=gunicorn_url, timeout=30)


#: Probes of test_hostile_input sent again chunked: the clean request, and the ones that
#: must be refused however the body is framed.
CHUNKED_LABELS = ("clean", "json body=invalid_utf8")
CHUNKED_VALUES = ("=nul", "=surrogate", "=invalid_utf8")


def _http_headers(environ: dict[str, str]) -> dict[str, str]:
    """``HTTP_PERSONAL_ACCESS_TOKEN`` -> ``Personal-Access-Token``."""
    return {k[5:].replace("_", "-").title(): v for k, v in environ.items()}


def _chunks(body: bytes) -> Iterator[bytes]:
    """The body in three chunks (one may split a UTF-8 sequence or a multipart line)."""
    third = max(1, len(body) // 3)
    yield from (body[i : i + third] for i in range(0, len(body), third))


@dataclass(frozen=True)
class _Answer:
    """An answer read off the wire, as the surfaces' judges read a response."""

    status_code: int
    content: bytes
    headers: dict[str, str]


def _send_chunked(url: str, probe: Any, headers: dict[str, str]) -> _Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            probe.method.upper(),
            probe.url,
            body=_chunks(probe.body),
            headers={**headers, "Content-Type": probe.content_type},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return _Answer(
            response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
        )
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_chunked_bodies_over_gunicorn(world: dict[str, Any], gunicorn_url: str) -> None:
    """Every operation that takes a body, with ``Transfer-Encoding: chunked`` and no
    ``Content-Length`` (http.client's ``encode_chunked``) through gunicorn: a clean body
    is read as the same body with a ``Content-Length`` is (the same status as the clean
    request in process, never answered as if it were empty), a hostile one (NUL, a lone
    surrogate, invalid UTF-8; JSON, urlencoded and multipart) is refused with the
    surface's error body, and nothing is a 5xx."""
    acme: Tenant = world["acme"]
    environ = credential_headers(acme)
    headers = {k: _http_headers(v) for k, v in environ.items()}
    client = Client()
    problems, sent = [], 0
    for op in hostile.operations():
        surface = surface_of(op.template)
        if not op.bodies or surface is None:
            continue
        probes = [
            p
            for p in api_probes(op, acme)
            if p.body is not None
            and (p.label in CHUNKED_LABELS or p.label.endswith(CHUNKED_VALUES))
        ]
        chosen: dict[str, Any] = {}
        for probe in probes:  # one per encoding and value
            kind = probe.label.split(" ")[0] + probe.label.rsplit("=", 1)[-1]
            chosen.setdefault(kind, probe)
        for probe in chosen.values():
            if probe.label == "clean":  # first: in process, rolled back
                with unthrottled():
                    want = judge(client, probe, environ[surface.prefix]).status
            answer = _send_chunked(gunicorn_url, probe, headers[surface.prefix])
            status = answer.status_code
            sent += 1
            label = f"{op} [{probe.label}]"
            where = f"{label} chunked -> {status} {answer.content[:160]!r}"
            known = any(re.search(gap.probes, label) for gap in API_GAPS.values())
            if status >= 500:
                problems.append(where)
            elif probe.label == "clean":
                if status != want:
                    problems.append(f"{where}: the chunked body was not read ({want} in process)")
            elif not probe.must_refuse or known:
                continue
            elif not 400 <= status < 500 or surface.judge(answer) is not None:
                problems.append(f"{where}: not refused with the error body")
    assert sent >= 100
    assert not problems, "\n".join(problems)


def _raw_request(url: str, head: str, body: bytes) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body``
    byte for byte; the status and body of the answer (the connection is closed after)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.connect()
        conn.sock.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n" + body)
        response = http.client.HTTPResponse(conn.sock, method="POST")
        response.begin()
        return response.status, response.read()
    finally:
        conn.close()


#: (name, extra headers, chunked body, expect the message to be stored).
FRAMINGS: list[tuple[str, str, bytes, bool]] = [
    ("chunk extensions", "Transfer-Encoding: chunked", b"%x;ext=1\r\n%s\r\n0\r\n\r\n", True),
    ("trailer", "Transfer-Encoding: chunked", b"%x\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n", True),
    ("one byte a chunk", "Transfer-Encoding: chunked", b"", True),
    ("gzip, chunked", "Transfer-Encoding: gzip, chunked", b"%x\r\n%s\r\n0\r\n\r\n", False),
    ("chunked and a Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5",
     b"%x\r\n%s\r\n0\r\n\r\n", False),
    ("bad chunk size", "Transfer-Encoding: chunked", b"zz\r\n%s\r\n0\r\n\r\n", False),
]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_chunked_framings_over_gunicorn(world: dict[str, Any], gunicorn_url: str) -> None:
    """One message posted with each framing a client or a proxy may use: read as the same
    message where the framing is valid, refused (4xx) where it is not, never a 5xx."""
    from apps.messages.models import Message

    acme: Tenant = world["acme"]
    auth = _http_headers(credential_headers(acme)["/api/v2/"])
    problems = []
    for name, framing, template, stored in FRAMINGS:
        text = f"framing {name}"
        payload = json.dumps({"channelId": acme.channel.channel_id, "type": "text",
                              "data": {"text": text}}).encode()  # fmt: skip
        if template:
            body = template.replace(b"%x", b"%x" % len(payload)).replace(b"%s", payload)
        else:  # one byte a chunk
            body = b"".join(b"1\r\n" + payload[i : i + 1] + b"\r\n" for i in range(len(payload)))
            body += b"0\r\n\r\n"
        head = "\r\n".join(
            [
                "POST /api/v2/message HTTP/1.1",
                f"Host: {urlsplit(gunicorn_url).netloc}",
                "Content-Type: application/json",
                *[f"{k}: {v}" for k, v in auth.items()],
                framing,
            ]
        )
        status, answer = _raw_request(gunicorn_url, head, body)
        found = Message.objects.filter(data__text=text).exists()
        where = f"{name}: {status} {answer[:160]!r}"
        if status >= 500:
            problems.append(where)
        elif stored and (status != 201 or not found):
            problems.append(f"{where}: the message was not read (stored: {found})")
        elif not stored and (status < 400 or found):
            problems.append(f"{where}: accepted (stored: {found})")
    assert not problems, "\n".join(problems)
