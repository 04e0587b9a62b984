"""Schemathesis against the project's own OpenAPI schema, in process (WSGI).

Every operation of every surface is generated from /api/schema/, so a new route cannot
escape: /api/v2/ with an admin Bearer token; /api/messenger/ once with an org
``API-TOKEN`` and once with a ``Personal-Access-Token`` of an org admin. Each pytest item
(one operation x one credential) runs on a seeded organization (channels, members,
messages, a chatroom, filter rules); about half of the generated path parameters are
replaced with seeded ids so the handlers get past their 404 and into the real code.

Budget: ``MAX_EXAMPLES`` per item; 42 v2 operations + 2 x 11 messenger operations
= 64 items, ~80 cases each (positive and negative generation) = > 5,000 cases per run.
Run: ``.venv/bin/pytest -m fuzz`` (add DATABASE_URL for PostgreSQL; CI does).
Known exclusions: docs/testing.md, "Fuzzing: known exclusions".
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
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
from apps.channels.services.chatrooms import chatroom_create_custom
from apps.members.models import Member
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import AccessToken
from chatadmin.wsgi import application
from tests.factories import (
    AccountFactory,
    ChannelFactory,
    MemberFactory,
    MessageFactory,
    OrganizationFactory,
)
from tests.personas import issue_token

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "80"))

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    negative_data_rejection,
    ignored_auth,
    use_after_free,
]

# Known exclusions, (method, path) -> checks not run there; each one is listed with its
# reason in docs/testing.md ("Fuzzing: known exclusions"). Keep this empty when possible.
EXCLUDED: dict[tuple[str, str], list[Any]] = {}

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
v2_schema = api_schema.include(path_regex=r"^/api/v2/")
messenger_schema = api_schema.include(path_regex=r"^/api/messenger/")


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
        },
        "headers": {
            "admin": {"Authorization": f"Bearer {issue(AccessToken.Kind.ADMIN, 'adm@acme.test')}"},
            "api": {"API-TOKEN": issue(AccessToken.Kind.API, "api@acme.test")},
            "personal": {"Personal-Access-Token": issue(AccessToken.Kind.PERSONAL, "")},
        },
        "organization": org,
    }


def _run(case: Any, seeded: dict[str, Any], credential: str) -> None:
    # Deterministically point about half of the cases at seeded ids (the rest keep the
    # generated ids and exercise the 404 paths).
    if case.path_parameters and zlib.crc32(repr(case.path_parameters).encode()) % 2 == 0:
        for name in case.path_parameters:
            if name in seeded["ids"]:
                case.path_parameters[name] = seeded["ids"][name]
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
