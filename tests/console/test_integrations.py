"""The console's integrations: the organization's list (every flavor, filters, paging),
creating each kind with its URL shown once, a detail page with history, enabling,
editing, regenerating and deleting with a confirmation step, a channel's integrations.
Moderators read; admins and owners write; another organization's ids are 404."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.console.paging import PER_PAGE
from apps.core.errors import DomainError
from apps.integrations.models import Integration
from apps.integrations.selectors import integration_by_secret, integration_by_token
from apps.integrations.services.incoming import history_record
from apps.integrations.services.integrations import integration_create
from apps.integrations.services.stackfield import BOT_USERNAME, stackfield_url_create
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def make_channel(org: Organization, channel_id: str = "general", name: str = "General") -> Channel:
    return channel_create(
        organization=org, actor=SYSTEM, channel_id=channel_id, display_name=name, user_ids=[]
    )


def rc_incoming(org: Organization, target: str = "#general", **fields) -> tuple[Integration, str]:
    issued = integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        name=fields.pop("name", "CI"),
        targets=[target],
        username=fields.pop("username", "ci.bot"),
        **fields,
    )
    return issued.integration, issued.token


def rc_outgoing(org: Organization, name: str = "Notify", **fields) -> Integration:
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        name=name,
        event="sendMessage",
        urls=["https://example.com/hook"],
        **fields,
    ).integration


def stackfield(
    org: Organization, channel: Channel | None, kind: str = "chat-message", name: str = "Forms"
) -> tuple[Integration, str]:
    issued = stackfield_url_create(
        organization=org, actor=SYSTEM, kind=kind, channel=channel, name=name
    )
    return issued.integration, issued.token


def messaging(org: Organization, channel: Channel, name: str = "Zap") -> tuple[Integration, str]:
    issued = integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.INCOMING,
        name=name,
        channel=channel,
        username="zap.bot",
    )
    return issued.integration, issued.token


@pytest.fixture
def general(org: Organization) -> Channel:
    return make_channel(org)


# --- the organization's list ----------------------------------------------------------


def test_the_list_shows_every_flavor_to_a_moderator_with_its_columns(
    moderator_client: Client, org, general
) -> None:
    rc_incoming(org, name="CI builds")
    rc_outgoing(org, name="Notify ops")
    stackfield(org, general, name="Support form")
    messaging(org, general, name="Zapier glue")
    response = moderator_client.get(url("integrations", org))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "CI builds",
        "Notify ops",
        "Support form",
        "Zapier glue",
        "Rocket.Chat integration",
        "Stackfield webhook URL",
        "Messaging API webhook",
        "#general",
        "ci.bot",
        BOT_USERNAME,
        "Outgoing",
        "Chat message",
        "never",  # last call
    ):
        assert text in body, text
    # a moderator reads: no creation links
    assert url("integration_new_webhook_url", org) not in body


def test_the_list_offers_the_creation_forms_to_admins(admin_client_: Client, org) -> None:
    body = admin_client_.get(url("integrations", org)).content.decode()
    for name in (
        "integration_new_webhook_url",
        "integration_new_incoming",
        "integration_new_outgoing",
    ):
        assert url(name, org) in body


def test_the_sidebar_links_to_the_integrations_page(moderator_client: Client, org) -> None:
    body = moderator_client.get(url("audit", org)).content.decode()
    assert url("integrations", org) in body


def test_the_list_filters_by_flavor_direction_and_enabled(
    admin_client_: Client, org, general
) -> None:
    rc_incoming(org, name="rc-in")
    rc_outgoing(org, name="rc-out", enabled=False)
    stackfield(org, general, name="sf-in")

    def names(**query) -> set[str]:
        page = admin_client_.get(url("integrations", org), query).context["page"]
        return {i.name for i in page.items}

    assert names() == {"rc-in", "rc-out", "sf-in"}
    assert names(flavor="stackfield") == {"sf-in"}
    assert names(flavor="rocketchat") == {"rc-in", "rc-out"}
    assert names(direction="outgoing") == {"rc-out"}
    assert names(enabled="no") == {"rc-out"}
    assert names(enabled="yes", flavor="rocketchat") == {"rc-in"}
    # a bad filter value: ignored with the error shown, never a 500
    response = admin_client_.get(url("integrations", org), {"flavor": "nope"})
    assert response.status_code == 200 and "nope" in response.content.decode()


def test_the_list_shows_only_this_organizations_integrations(
    admin_client_: Client, org, other_org, general
) -> None:
    make_channel(other_org, "general")
    rc_incoming(other_org, name="globex secret hook")
    stackfield(org, general, name="acme form")
    body = admin_client_.get(url("integrations", org)).content.decode()
    assert "acme form" in body and "globex secret hook" not in body


def test_the_list_pages_without_repeating_rows(admin_client_: Client, org) -> None:
    for i in range(PER_PAGE + 5):
        rc_outgoing(org, name=f"out-{i:03d}")
    first = admin_client_.get(url("integrations", org))
    page = first.context["page"]
    assert len(page.items) == PER_PAGE and page.next_cursor
    second = admin_client_.get(url("integrations", org), {"cursor": page.next_cursor})
    rest = second.context["page"].items
    seen = [i.pk for i in page.items] + [i.pk for i in rest]
    assert len(rest) == 5 and len(set(seen)) == PER_PAGE + 5


def test_the_list_runs_as_many_queries_for_20_integrations_as_for_1(
    admin_client_: Client, org, general
) -> None:
    stackfield(org, general, name="first")
    admin_client_.get(url("integrations", org))  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert admin_client_.get(url("integrations", org)).status_code == 200
    for i in range(5):
        channel = make_channel(org, f"room-{i}", f"Room {i}")
        stackfield(org, channel, name=f"sf-{i}")
        rc_incoming(org, target=f"#room-{i}", name=f"rc-{i}", username=f"bot-{i}")
        rc_outgoing(org, name=f"out-{i}")
        messaging(org, channel, name=f"msg-{i}")
    with CaptureQueriesContext(connection) as many:
        response = admin_client_.get(url("integrations", org))
    assert len(response.context["page"].items) == 21
    assert len(many) == len(one), [q["sql"][:120] for q in many.captured_queries]


# --- create ----------------------------------------------------------------------------


def test_an_admin_creates_a_webhook_url_for_a_channel_and_sees_it_once(
    admin_client_: Client, org, general
) -> None:
    response = admin_client_.post(
        url("integration_new_webhook_url", org),
        {"kind": "chat-message", "channel": "general", "name": "Support form"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    integration = Integration.objects.get(organization=org)
    assert integration.flavor == "stackfield" and integration.kind == "chat-message"
    assert integration.channel == general and integration.bot.user_id == BOT_USERNAME
    assert integration.created_by_label == "orgadmin@acme.test"
    body = response.content.decode()
    found = re.search(r"http://testserver/apiwh/([0-9a-f-]{36})", body)
    assert found, body
    secret = found.group(1)
    assert integration_by_secret(secret=secret, flavor="stackfield").pk == integration.pk
    assert integration.token_hash != secret  # only its hash is stored
    # not on any later page (the detail page shows only the prefix)
    detail = admin_client_.get(url("integration", org, integration.pk)).content.decode()
    assert secret not in detail and f"/apiwh/{integration.token_prefix}" in detail
    edit = admin_client_.get(url("integration_edit", org, integration.pk)).content.decode()
    assert secret not in edit
    assert secret not in admin_client_.get(url("integrations", org)).content.decode()
    entry = AuditEntry.objects.get(action="integration.create", target_id=str(integration.pk))
    assert entry.actor_account.email == "orgadmin@acme.test"
    assert secret not in str(entry.after)


def test_the_channel_shortcut_preselects_the_channel(admin_client_: Client, org, general) -> None:
    response = admin_client_.get(url("integration_new_webhook_url", org), {"channel": "general"})
    assert response.context["form"]["channel"].value() == "general"


def test_an_organization_webhook_url_needs_no_channel(admin_client_: Client, org) -> None:
    response = admin_client_.post(
        url("integration_new_webhook_url", org),
        {"kind": "organization", "channel": ""},
    )
    assert response.status_code == 200
    integration = Integration.objects.get(organization=org)
    assert integration.kind == "organization" and integration.channel is None


def test_a_channel_kind_without_or_with_an_unknown_channel_is_refused(
    admin_client_: Client, org, other_org
) -> None:
    make_channel(other_org, "globex-room")
    for channel in ("", "nope", "globex-room"):
        response = admin_client_.post(
            url("integration_new_webhook_url", org),
            {"kind": "task", "channel": channel},
        )
        assert response.status_code == 400
        assert response.context["form"].errors["channel"], channel
    assert not Integration.objects.exists()


def test_an_organization_webhook_url_with_a_channel_is_refused(
    admin_client_: Client, org, general
) -> None:
    response = admin_client_.post(
        url("integration_new_webhook_url", org), {"kind": "organization", "channel": "general"}
    )
    assert response.status_code == 400
    assert "no channel" in " ".join(response.context["form"].errors["channel"])
    assert not Integration.objects.exists()


def test_an_admin_creates_an_incoming_rocketchat_integration(
    admin_client_: Client, org, general
) -> None:
    make_channel(org, "ops", "Ops")
    response = admin_client_.post(
        url("integration_new_incoming", org),
        {
            "name": "CI",
            "targets": "#general\n#ops",
            "username": "ci.bot",
            "alias": "Jenkins",
            "emoji": ":robot:",
            "avatar_url": "https://example.com/ci.png",
        },
    )
    assert response.status_code == 200
    integration = Integration.objects.get(organization=org)
    assert integration.targets == ["#general", "#ops"]
    assert (integration.alias, integration.emoji) == ("Jenkins", ":robot:")
    assert integration.avatar_url == "https://example.com/ci.png"
    assert integration.bot.user_id == "ci.bot" and integration.bot.is_bot
    found = re.search(
        rf"http://testserver/hooks/{integration.pk}/([A-Za-z0-9_-]+)", response.content.decode()
    )
    assert found
    token = found.group(1)
    assert integration_by_token(integration_id=integration.pk, token=token, flavor="rocketchat")


def test_the_services_refusals_show_under_their_fields_and_create_nothing(
    admin_client_: Client, org, general
) -> None:
    cases = [
        ({"targets": "#nope", "username": "bot"}, "targets", "No channel '#nope'."),
        ({"targets": "general", "username": "bot"}, "targets", "start it with # or @"),
        ({"targets": "#general", "username": "two words"}, "username", "Invalid username"),
        (
            {"targets": "#general", "username": "bot", "avatar_url": "javascript:alert(1)"},
            "avatar_url",
            "http(s) URL",
        ),
    ]
    for data, field, text in cases:
        response = admin_client_.post(url("integration_new_incoming", org), data)
        assert response.status_code == 400, data
        errors = " ".join(response.context["form"].errors.get(field, []))
        assert text in errors, (data, response.context["form"].errors)
    assert not Integration.objects.exists()


def test_an_admin_creates_an_outgoing_rocketchat_integration(
    admin_client_: Client, org, general
) -> None:
    response = admin_client_.post(
        url("integration_new_outgoing", org),
        {
            "name": "Deploy bot",
            "event": "sendMessage",
            "targets": "#general, all_public_channels",
            "trigger_words": "deploy\nrelease",
            "urls": "https://example.com/a\nhttps://example.com/b",
            "username": "deploy.bot",
            "target_room": "#general",
            "outgoing_token": "shared-secret",
            "retry_failed_calls": "on",
            "retry_count": "3",
            "retry_delay": "powers-of-two",
        },
    )
    integration = Integration.objects.get(organization=org)
    # its signing secret, once (tests/console/test_integrations_outgoing.py), then its page
    assert response.status_code == 200 and "whsec_" in response.content.decode()
    assert url("integration", org, integration.pk) in response.content.decode()
    assert integration.direction == "outgoing" and integration.token_hash is None
    assert integration.targets == ["#general", "all_public_channels"]
    assert integration.trigger_words == ["deploy", "release"]
    assert integration.urls == ["https://example.com/a", "https://example.com/b"]
    assert (integration.retry_count, integration.retry_delay) == (3, "powers-of-two")
    assert integration.target_room == "#general" and integration.outgoing_token == "shared-secret"


def test_an_outgoing_integration_with_a_bad_url_or_target_room_is_refused(
    admin_client_: Client, org, general
) -> None:
    base = {
        "event": "sendMessage",
        "urls": "https://example.com/a",
        "username": "bot",
        "retry_count": "6",
        "retry_delay": "powers-of-ten",
    }
    for change, field in (
        ({"urls": "ftp://example.com"}, "urls"),
        ({"target_room": "#nope"}, "target_room"),
        ({"retry_count": "99"}, "retry_count"),
        ({"event": "nope"}, "event"),
    ):
        response = admin_client_.post(url("integration_new_outgoing", org), {**base, **change})
        assert response.status_code == 400, change
        assert response.context["form"].errors[field], change
    assert not Integration.objects.exists()


def test_a_script_is_saved_with_its_error_shown(admin_client_: Client, org, general) -> None:
    response = admin_client_.post(
        url("integration_new_incoming", org),
        {
            "targets": "#general",
            "username": "bot",
            "script_enabled": "on",
            "script": "{{ request.content.text ",  # never closed
        },
    )
    assert response.status_code == 200
    integration = Integration.objects.get(organization=org)
    assert integration.script_enabled and integration.script_error
    detail = admin_client_.get(url("integration", org, integration.pk)).content.decode()
    edit = admin_client_.get(url("integration_edit", org, integration.pk)).content.decode()
    assert "error" in detail and "The saved script has an error" in edit


# --- one integration -------------------------------------------------------------------


def test_the_detail_page_shows_the_fields_and_the_history_newest_first(
    moderator_client: Client, org, general
) -> None:
    integration, token = stackfield(org, general, name="Support form")
    history_record(integration, step="incoming-posted", data={"Title": "older call"})
    history_record(integration, step="incoming-refused", data={}, error="Title is missing")
    response = moderator_client.get(url("integration", org, integration.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Support form" in body and BOT_USERNAME in body
    assert f"/apiwh/{integration.token_prefix}" in body and token not in body
    assert body.index("Title is missing") < body.index("older call")
    # a moderator sees no actions
    assert url("integration_edit", org, integration.pk) not in body


def test_the_history_pages(admin_client_: Client, org, general) -> None:
    integration, _ = stackfield(org, general)
    for i in range(PER_PAGE + 1):
        history_record(integration, step="incoming-posted", data={"n": i})
    response = admin_client_.get(url("integration", org, integration.pk))
    page = response.context["page"]
    assert len(page.items) == PER_PAGE and page.items[0].data == {"n": PER_PAGE}
    rest = admin_client_.get(
        url("integration", org, integration.pk), {"cursor": page.next_cursor}
    ).context["page"]
    assert [h.data for h in rest.items] == [{"n": 0}]


def test_an_admin_disables_and_enables_an_integration(admin_client_: Client, org, general) -> None:
    integration, _ = stackfield(org, general)
    response = admin_client_.post(
        url("integration_enabled", org, integration.pk), {"enabled": "false"}, follow=True
    )
    integration.refresh_from_db()
    assert not integration.enabled
    assert any("disabled" in m for m in flashes(response))
    admin_client_.post(url("integration_enabled", org, integration.pk), {"enabled": "true"})
    integration.refresh_from_db()
    assert integration.enabled
    assert AuditEntry.objects.filter(action="integration.update").count() == 2
    # nonsense: a message, no change, no 500
    response = admin_client_.post(url("integration_enabled", org, integration.pk), {"enabled": "x"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.enabled


def test_enabled_is_a_post_only_action(admin_client_: Client, org, general) -> None:
    integration, _ = stackfield(org, general)
    assert admin_client_.get(url("integration_enabled", org, integration.pk)).status_code == 405


def test_an_admin_edits_only_what_changed(admin_client_: Client, org, general) -> None:
    integration, token = rc_incoming(org, alias="Old")
    form = admin_client_.get(url("integration_edit", org, integration.pk)).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v not in (None, False)}
    data.update(name="Renamed", alias="New")
    response = admin_client_.post(url("integration_edit", org, integration.pk), data)
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.name, integration.alias) == ("Renamed", "New")
    assert integration.targets == ["#general"] and integration.bot.user_id == "ci.bot"
    entry = AuditEntry.objects.filter(action="integration.update").latest("pk")
    assert entry.before["name"] == "CI" and entry.after["name"] == "Renamed"
    # the secret is unchanged by an edit
    assert integration_by_token(integration_id=integration.pk, token=token, flavor="rocketchat")


def test_an_edit_the_service_refuses_shows_the_error_and_changes_nothing(
    admin_client_: Client, org, general
) -> None:
    integration, _ = rc_incoming(org)
    response = admin_client_.post(
        url("integration_edit", org, integration.pk),
        {"name": "x", "targets": "#gone", "username": "ci.bot"},
    )
    assert response.status_code == 400
    assert "No channel '#gone'." in " ".join(response.context["form"].errors["targets"])
    integration.refresh_from_db()
    assert integration.name == "CI" and integration.targets == ["#general"]


def test_a_webhook_url_keeps_its_kind_and_channel_only_its_name_changes(
    admin_client_: Client, org, general
) -> None:
    make_channel(org, "ops", "Ops")
    integration, _ = stackfield(org, general)
    response = admin_client_.post(
        url("integration_edit", org, integration.pk),
        {"kind": "organization", "channel": "ops", "name": "Renamed form"},
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Renamed form"
    assert integration.channel == general and integration.kind == "chat-message"


def test_a_messaging_webhooks_look_is_edited(admin_client_: Client, org, general) -> None:
    integration, _ = messaging(org, general)
    response = admin_client_.post(
        url("integration_edit", org, integration.pk),
        {"name": "Zap 2", "alias": "Zapier", "avatar_url": "https://example.com/z.png"},
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.name, integration.alias) == ("Zap 2", "Zapier")
    assert integration.avatar_url == "https://example.com/z.png"
    assert integration.channel == general and integration.bot.user_id == "zap.bot"


def test_an_outgoing_edit_keeps_the_token_when_left_empty(
    admin_client_: Client, org, general
) -> None:
    integration = rc_outgoing(org, outgoing_token="s3cret", username="out.bot")
    form = admin_client_.get(url("integration_edit", org, integration.pk)).context["form"]
    assert "s3cret" not in str(form["outgoing_token"])  # never rendered
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v not in (None, False)}
    data["urls"] = "https://example.com/new"
    response = admin_client_.post(url("integration_edit", org, integration.pk), data)
    assert response.status_code == 302, response.context["form"].errors
    integration.refresh_from_db()
    assert integration.urls == ["https://example.com/new"]
    assert integration.outgoing_token == "s3cret"


def test_regenerating_needs_the_confirmation_and_shows_the_new_url_once(
    admin_client_: Client, org, general
) -> None:
    integration, old = rc_incoming(org)
    page = admin_client_.get(url("integration_regenerate", org, integration.pk))
    assert page.status_code == 200 and "stops working" in page.content.decode()
    # without ticking the box: refused, the old URL still works
    refused = admin_client_.post(url("integration_regenerate", org, integration.pk), {})
    assert refused.status_code == 400
    assert integration_by_token(integration_id=integration.pk, token=old, flavor="rocketchat")

    response = admin_client_.post(
        url("integration_regenerate", org, integration.pk), {"confirm": "on"}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    found = re.search(rf"/hooks/{integration.pk}/([A-Za-z0-9_-]+)", response.content.decode())
    new = found.group(1)
    assert new != old
    assert integration_by_token(integration_id=integration.pk, token=new, flavor="rocketchat")
    with pytest.raises(DomainError):
        integration_by_token(integration_id=integration.pk, token=old, flavor="rocketchat")
    assert AuditEntry.objects.filter(action="integration.token.regenerate").exists()
    detail = admin_client_.get(url("integration", org, integration.pk)).content.decode()
    assert new not in detail


def test_a_messaging_webhooks_new_url_has_the_messaging_path(
    admin_client_: Client, org, general
) -> None:
    integration, _ = messaging(org, general)
    response = admin_client_.post(
        url("integration_regenerate", org, integration.pk), {"confirm": "on"}
    )
    assert re.search(
        rf"http://testserver/api/messaging/webhooks/{integration.pk}/[A-Za-z0-9_-]+",
        response.content.decode(),
    )


def test_an_outgoing_integration_has_no_url_to_regenerate(
    admin_client_: Client, org, general
) -> None:
    integration = rc_outgoing(org)
    response = admin_client_.post(
        url("integration_regenerate", org, integration.pk), {"confirm": "on"}
    )
    assert response.status_code == 400
    assert "Only an incoming integration" in response.content.decode()


def test_deleting_needs_the_confirmation(admin_client_: Client, org, general) -> None:
    integration, secret = stackfield(org, general, name="Old form")
    page = admin_client_.get(url("integration_delete", org, integration.pk))
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    refused = admin_client_.post(url("integration_delete", org, integration.pk), {})
    assert refused.status_code == 400
    assert Integration.objects.filter(pk=integration.pk).exists()

    response = admin_client_.post(
        url("integration_delete", org, integration.pk), {"confirm": "on"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("integrations", org)
    assert any("Deleted “Old form”" in m for m in flashes(response))
    assert not Integration.objects.filter(pk=integration.pk).exists()
    with pytest.raises(DomainError):
        integration_by_secret(secret=secret, flavor="stackfield")
    assert AuditEntry.objects.filter(action="integration.remove").exists()


# --- who may ---------------------------------------------------------------------------


def test_a_moderator_reads_but_every_write_is_403_and_changes_nothing(
    moderator_client: Client, org, general
) -> None:
    integration, token = stackfield(org, general, name="Form")
    for page in ("integration", "channel_integrations"):
        args = [integration.pk] if page == "integration" else ["general"]
        assert moderator_client.get(url(page, org, *args)).status_code == 200
    for page in (
        "integration_new_incoming",
        "integration_new_outgoing",
        "integration_new_webhook_url",
    ):
        assert moderator_client.get(url(page, org)).status_code == 403
        assert moderator_client.post(url(page, org), {"kind": "organization"}).status_code == 403
    for page, data in (
        ("integration_edit", {"name": "x"}),
        ("integration_enabled", {"enabled": "false"}),
        ("integration_regenerate", {"confirm": "on"}),
        ("integration_delete", {"confirm": "on"}),
    ):
        assert moderator_client.post(url(page, org, integration.pk), data).status_code == 403
    integration.refresh_from_db()
    assert integration.enabled and integration.name == "Form"
    assert integration_by_secret(secret=token, flavor="stackfield").pk == integration.pk
    assert Integration.objects.count() == 1


def test_owners_manage_too(owner_client: Client, org, general) -> None:
    integration, _ = stackfield(org, general)
    owner_client.post(url("integration_enabled", org, integration.pk), {"enabled": "false"})
    integration.refresh_from_db()
    assert not integration.enabled


def test_another_organizations_integration_is_404_everywhere(
    admin_client_: Client, org, other_org
) -> None:
    theirs, token = stackfield(other_org, make_channel(other_org, "general"))
    for page in (
        "integration",
        "integration_edit",
        "integration_regenerate",
        "integration_delete",
    ):
        assert admin_client_.get(url(page, org, theirs.pk)).status_code == 404, page
    for page, data in (
        ("integration_edit", {"name": "x"}),
        ("integration_enabled", {"enabled": "false"}),
        ("integration_regenerate", {"confirm": "on"}),
        ("integration_delete", {"confirm": "on"}),
    ):
        assert admin_client_.post(url(page, org, theirs.pk), data).status_code == 404, page
    assert admin_client_.get(url("integration", org, 2**63)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled and theirs.name == "Forms"
    assert integration_by_secret(secret=token, flavor="stackfield").pk == theirs.pk


def test_another_organizations_staff_gets_404(outsider_client: Client, org, general) -> None:
    integration, _ = stackfield(org, general)
    assert outsider_client.get(url("integrations", org)).status_code == 404
    assert outsider_client.get(url("integration", org, integration.pk)).status_code == 404
    assert outsider_client.get(url("channel_integrations", org, "general")).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, org) -> None:
    assert client.get(url("integrations", org)).status_code == 302


# --- a channel's integrations ------------------------------------------------------------


def test_a_channels_tab_lists_its_integrations_bound_or_named_in_targets(
    moderator_client: Client, org, general
) -> None:
    ops = make_channel(org, "ops", "Ops room")
    stackfield(org, general, name="bound here")
    rc_incoming(org, target="#general", name="by id")
    rc_incoming(org, target="#Ops room", name="by name elsewhere", username="b2")
    messaging(org, general, name="messaging here")
    rc_outgoing(org, name="outgoing here", targets=["#general"])
    stackfield(org, ops, name="bound elsewhere")
    detail = moderator_client.get(url("channel", org, "general")).content.decode()
    assert url("channel_integrations", org, "general") in detail  # the tab
    response = moderator_client.get(url("channel_integrations", org, "general"))
    names = {i.name for i in response.context["integrations"]}
    assert names == {"bound here", "by id", "messaging here", "outgoing here"}
    ops_names = {
        i.name
        for i in moderator_client.get(url("channel_integrations", org, "ops")).context[
            "integrations"
        ]
    }
    assert ops_names == {"by name elsewhere", "bound elsewhere"}


def test_a_channels_tab_offers_admins_a_new_webhook_url_for_it(
    admin_client_: Client, moderator_client: Client, org, general
) -> None:
    shortcut = url("integration_new_webhook_url", org) + "?channel=general"
    assert (
        shortcut in admin_client_.get(url("channel_integrations", org, "general")).content.decode()
    )
    assert (
        shortcut
        not in moderator_client.get(url("channel_integrations", org, "general")).content.decode()
    )


def test_an_unknown_channels_tab_is_404(admin_client_: Client, org, other_org) -> None:
    make_channel(other_org, "theirs")
    assert admin_client_.get(url("channel_integrations", org, "theirs")).status_code == 404
