"""GET/POST/DELETE /api/v2/reactions and GET /api/v2/reactions/messages/most."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.members.models import Member
from apps.messages.models import Message, MessageTag, Reaction
from apps.reports.models import Report
from tests.factories import ChannelFactory, MemberFactory, MessageFactory
from tests.personas import TokenClient

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"
URL = "/api/v2/reactions"
MOST = "/api/v2/reactions/messages/most"


@pytest.fixture
def bad_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)


@pytest.fixture
def message(org) -> Message:
    return MessageFactory(channel=ChannelFactory(organization=org))


def react(message: Message, name: str, count: int = 1) -> list[Member]:
    members = [MemberFactory(organization=message.organization) for _ in range(count)]
    Reaction.objects.bulk_create(
        [
            Reaction(organization=message.organization, message=message, member=m, name=name)
            for m in members
        ]
    )
    return members


def ref(message: Message, **extra) -> dict:
    return {"referenceId": str(message.public_id), "referenceType": "message", **extra}


# --- POST /api/v2/reactions --------------------------------------------------------------
def test_it_reacts_as_the_admin_with_json_and_audits_it(api, message):
    resp = api.post(URL, ref(message, reactionName="like"), format="json")
    assert resp.status_code == 201, resp.json()
    reactor = resp.json()["reactor"]
    assert reactor == {
        "userId": "admin@acme.test",
        "reactionName": "like",
        "referenceId": str(message.public_id),
        "referenceType": "message",
        "createdAt": reactor["createdAt"],
    }
    reaction = Reaction.objects.get()
    assert reaction.member.account.email == "admin@acme.test"
    assert reaction.member.org_role == Member.OrgRole.ADMIN
    entry = AuditEntry.objects.get(action="reaction.create")
    assert (entry.target_type, entry.target_id) == ("message", str(message.public_id))
    assert entry.actor_account.email == "admin@acme.test"


def test_it_reacts_with_a_form_body(api, message):
    resp = api.post(URL, urlencode(ref(message, reactionName="🎉")), content_type=FORM)
    assert resp.status_code == 201
    assert Reaction.objects.get().name == "🎉"


def test_reacting_twice_is_idempotent(api, message):
    first = api.post(URL, ref(message, reactionName="like"), format="json")
    again = api.post(URL, ref(message, reactionName="like"), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Reaction.objects.count() == 1
    assert AuditEntry.objects.filter(action="reaction.create").count() == 1
    api.post(URL, ref(message, reactionName="love"), format="json")
    assert Reaction.objects.count() == 2


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda b: b.pop("referenceId"), "missing_parameter", "referenceId"),
        (lambda b: b.pop("referenceType"), "missing_parameter", "referenceType"),
        (lambda b: b.pop("reactionName"), "missing_parameter", "reactionName"),
        (lambda b: b.update(referenceType="channel"), "invalid_parameter", "referenceType"),
        (lambda b: b.update(reactionName="   "), "invalid_parameter", "reactionName"),
        (lambda b: b.update(reactionName=""), "invalid_parameter", "reactionName"),
        (lambda b: b.update(reactionName="x" * 65), "invalid_parameter", "reactionName"),
        (lambda b: b.update(reactionName="a\x00b"), "invalid_parameter", "reactionName"),
        (lambda b: b.update(reactionName=["a", "b"]), "invalid_parameter", "reactionName"),
        (lambda b: b.update(referenceId="x" * 65), "invalid_parameter", "referenceId"),
    ],
)
def test_it_refuses_bad_reaction_parameters(api, message, mutate, code, field):
    body = ref(message, reactionName="like")
    mutate(body)
    resp = api.post(URL, body, format="json")
    assert resp.status_code == 400, resp.json()
    assert (resp.json()["code"], resp.json()["field"]) == (code, field)
    assert not Reaction.objects.exists()


def test_it_accepts_a_64_character_reaction_name(api, message):
    assert api.post(URL, ref(message, reactionName="x" * 64), format="json").status_code == 201


#: A well-formed id no message has (a constant: pytest-xdist needs the same test ids
#: in every process).
UNKNOWN_ID = "5b0e7b4c-3f7e-4c2a-9d61-0a8f6f3e2b19"


@pytest.mark.parametrize("reference_id", ["not-a-uuid", UNKNOWN_ID, "1"])
def test_it_answers_404_for_unknown_or_malformed_message_ids(api, org, reference_id):
    body = {"referenceId": reference_id, "referenceType": "message", "reactionName": "like"}
    resp = api.post(URL, body, format="json")
    assert resp.status_code == 404
    assert resp.json()["code"] == "message_not_found"
    assert not Member.objects.exists()  # nothing provisioned either


def test_it_refuses_reactions_on_deleted_messages_and_closed_channels(api, org):
    deleted = MessageFactory(channel=ChannelFactory(organization=org), deleted_at=timezone.now())
    closed = MessageFactory(channel=ChannelFactory(organization=org, closed_at=timezone.now()))
    for msg in (deleted, closed):
        resp = api.post(URL, ref(msg, reactionName="like"), format="json")
        assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"
        assert api.get(URL, ref(msg)).status_code == 404
    assert not Reaction.objects.exists()


def test_another_organization_cannot_react_to_our_messages(other_api, message):
    resp = other_api.post(URL, ref(message, reactionName="like"), format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"
    assert not Reaction.objects.exists()
    assert not Member.objects.filter(organization__slug="globex").exists()


def test_create_requires_a_valid_token(anon_api, bad_api, message):
    for client in (anon_api, bad_api):
        resp = client.post(URL, ref(message, reactionName="like"), format="json")
        assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
    assert not Reaction.objects.exists()


# --- DELETE /api/v2/reactions ---------------------------------------------------------------
def test_it_removes_the_admins_reaction_and_audits_it(api, message):
    api.post(URL, ref(message, reactionName="like"), format="json")
    others = react(message, "like", 2)
    resp = api.delete(URL, ref(message, reactionName="like"), format="json")
    assert resp.status_code == 200 and resp.json() == {"success": True}
    assert set(Reaction.objects.values_list("member_id", flat=True)) == {m.pk for m in others}
    entry = AuditEntry.objects.get(action="reaction.delete")
    assert entry.target_id == str(message.public_id)
    assert entry.before["reactionName"] == "like"


def test_it_removes_a_reaction_with_a_form_body_or_a_query_string(api, message):
    api.post(URL, ref(message, reactionName="like"), format="json")
    api.post(URL, ref(message, reactionName="love"), format="json")
    resp = api.delete(URL, urlencode(ref(message, reactionName="like")), content_type=FORM)
    assert resp.status_code == 200
    resp = api.delete(f"{URL}?{urlencode(ref(message, reactionName='love'))}")
    assert resp.status_code == 200
    assert not Reaction.objects.exists()


def test_it_does_not_remove_other_users_reactions(api, message):
    react(message, "like", 1)
    resp = api.delete(URL, ref(message, reactionName="like"), format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "reaction_not_found"
    assert Reaction.objects.count() == 1
    assert not Member.objects.filter(account__isnull=False).exists()  # not provisioned


def test_delete_refuses_bad_parameters(api, message):
    resp = api.delete(URL, ref(message), format="json")
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == ("missing_parameter", "reactionName")
    resp = api.delete(URL, ref(message, reactionName="x" * 65), format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "reactionName"
    body = {"referenceId": "nope", "referenceType": "message", "reactionName": "like"}
    assert api.delete(URL, body, format="json").status_code == 404


def test_another_organization_cannot_remove_our_reactions(api, other_api, message):
    api.post(URL, ref(message, reactionName="like"), format="json")
    resp = other_api.delete(URL, ref(message, reactionName="like"), format="json")
    assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"
    assert Reaction.objects.count() == 1


def test_delete_requires_a_valid_token(anon_api, bad_api, api, message):
    api.post(URL, ref(message, reactionName="like"), format="json")
    for client in (anon_api, bad_api):
        assert (
            client.delete(URL, ref(message, reactionName="like"), format="json").status_code == 401
        )
    assert Reaction.objects.count() == 1


# --- GET /api/v2/reactions (reactors) ------------------------------------------------------------
def test_it_lists_the_reactors_of_a_message(api, message):
    likers = react(message, "like", 2)
    react(message, "love", 1)
    resp = api.get(URL, ref(message))
    assert resp.status_code == 200
    body = resp.json()
    assert len(body["reactors"]) == 3
    first = body["reactors"][0]
    assert first == {
        "userId": likers[0].user_id,
        "reactionName": "like",
        "referenceId": str(message.public_id),
        "referenceType": "message",
        "createdAt": first["createdAt"],
    }
    assert body["paging"] == {"next": None, "previous": None}


def test_it_filters_reactors_by_reaction_name_in_a_query_string_or_body(api, message):
    react(message, "like", 2)
    react(message, "love", 1)
    resp = api.get(f"{URL}?{urlencode(ref(message, **{'options[reactionName]': 'love'}))}")
    assert [r["reactionName"] for r in resp.json()["reactors"]] == ["love"]


def test_it_pages_reactors_with_tokens_and_skip(api, message):
    members = react(message, "like", 25)
    first = api.get(URL, ref(message, **{"options[limit]": 10})).json()
    assert [r["userId"] for r in first["reactors"]] == [m.user_id for m in members[:10]]
    second = api.get(URL, ref(message, **{"options[token]": first["paging"]["next"]})).json()
    assert second["reactors"][0]["userId"] == members[10].user_id
    skipped = api.get(URL, ref(message, **{"options[skip]": 20})).json()
    assert [r["userId"] for r in skipped["reactors"]] == [m.user_id for m in members[20:]]
    assert skipped["paging"]["previous"] is not None


def test_a_reactor_token_only_works_for_its_query(api, org, message):
    react(message, "like", 3)
    token = api.get(URL, ref(message, **{"options[limit]": 1})).json()["paging"]["next"]
    other = MessageFactory(channel=message.channel)
    resp = api.get(URL, ref(other, **{"options[token]": token}))
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_page_token"
    resp = api.get(URL, ref(message, **{"options[token]": token, "options[reactionName]": "x"}))
    assert resp.status_code == 400 and resp.json()["field"] == "options.token"


@pytest.mark.parametrize(
    ("options", "code", "field"),
    [
        ({"options[skip]": 10_001}, "skip_too_large", "options.skip"),
        ({"options[skip]": -1}, "invalid_parameter", "options.skip"),
        ({"options[limit]": 0}, "invalid_parameter", "options.limit"),
        ({"options[limit]": 101}, "invalid_parameter", "options.limit"),
        ({"options[limit]": "many"}, "invalid_parameter", "options.limit"),
        ({"options[reactionName]": "x" * 65}, "invalid_parameter", "options.reactionName"),
        ({"referenceType": "user"}, "invalid_parameter", "referenceType"),
    ],
)
def test_it_refuses_bad_reactor_query_parameters(api, message, options, code, field):
    resp = api.get(URL, ref(message, **options))
    assert resp.status_code == 400, resp.json()
    assert (resp.json()["code"], resp.json()["field"]) == (code, field)


def test_skip_is_capped_by_the_setting(api, message, settings):
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_SKIP": 5}
    resp = api.get(URL, ref(message, **{"options[skip]": 6}))
    assert resp.status_code == 400 and resp.json()["code"] == "skip_too_large"


def test_reactors_need_a_reference(api, org):
    resp = api.get(URL)
    assert resp.status_code == 400 and resp.json()["code"] == "missing_parameter"


def test_another_organization_cannot_list_our_reactors(other_api, message):
    react(message, "like", 1)
    resp = other_api.get(URL, ref(message))
    assert resp.status_code == 404 and resp.json()["code"] == "message_not_found"


def test_reactors_require_a_valid_token(anon_api, bad_api, message):
    for client in (anon_api, bad_api):
        assert client.get(URL, ref(message)).status_code == 401


def test_it_lists_reactors_with_a_constant_number_of_queries(api, message):
    api.get(URL, ref(message))  # first use stamps the token's last_used_at

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(URL, ref(message, **{"options[limit]": 100})).status_code == 200
        return len(ctx.captured_queries)

    react(message, "like", 1)
    one = count()
    react(message, "like", 49)
    # 3 queries: the token, the message, the page of reactions joined to their members.
    assert count() == one == 3


# --- GET /api/v2/reactions/messages/most ------------------------------------------------
def test_it_lists_messages_with_the_most_reactions_of_a_name(api, org):
    channel = ChannelFactory(organization=org, channel_id="general")
    top, mid, low, none = (MessageFactory(channel=channel) for _ in range(4))
    react(top, "like", 3)
    react(top, "love", 1)
    react(mid, "like", 2)
    react(low, "like", 1)
    react(none, "love", 5)
    MessageTag.objects.create(message=top, name="news")
    Report.objects.create(organization=org, target_member=top.author, target_message=top)
    resp = api.get(MOST, {"reactionName": "like"})
    assert resp.status_code == 200
    messages = resp.json()["messages"]
    assert [m["messageId"] for m in messages] == [
        str(top.public_id),
        str(mid.public_id),
        str(low.public_id),
    ]
    first = messages[0]
    assert first == {
        "messageId": str(top.public_id),
        "channelId": "general",
        "userId": top.author.user_id,
        "type": "text",
        "data": top.data,
        "tags": ["news"],
        "parentId": None,
        "childrenNumber": 0,
        "reactions": {"like": 3, "love": 1},
        "reactionsCount": 4,
        "flagCount": 1,
        "isDeleted": False,
        "createdAt": first["createdAt"],
        "editedAt": None,
    }


def test_most_reacted_honours_limit_and_treats_zero_as_the_default(api, org):
    channel = ChannelFactory(organization=org)
    for i in range(12):
        react(MessageFactory(channel=channel), "like", 1 + i % 3)
    assert len(api.get(MOST, {"reactionName": "like", "limit": 3}).json()["messages"]) == 3
    assert len(api.get(MOST, {"reactionName": "like", "limit": 0}).json()["messages"]) == 10
    body = urlencode({"reactionName": "like"})
    assert len(api.get(f"{MOST}?{body}").json()["messages"]) == 10


def test_most_reacted_skips_deleted_messages_closed_channels_and_other_orgs(api, org, other_org):
    visible = MessageFactory(channel=ChannelFactory(organization=org))
    deleted = MessageFactory(channel=visible.channel, deleted_at=timezone.now())
    closed = MessageFactory(channel=ChannelFactory(organization=org, closed_at=timezone.now()))
    theirs = MessageFactory(channel=ChannelFactory(organization=other_org))
    for msg in (visible, deleted, closed, theirs):
        react(msg, "like", 1)
    messages = api.get(MOST, {"reactionName": "like"}).json()["messages"]
    assert [m["messageId"] for m in messages] == [str(visible.public_id)]


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({}, "missing_parameter", "reactionName"),
        ({"reactionName": " "}, "invalid_parameter", "reactionName"),
        ({"reactionName": "x" * 65}, "invalid_parameter", "reactionName"),
        ({"reactionName": "like", "limit": 101}, "invalid_parameter", "limit"),
        ({"reactionName": "like", "limit": -1}, "invalid_parameter", "limit"),
        ({"reactionName": "like", "limit": "lots"}, "invalid_parameter", "limit"),
    ],
)
def test_most_reacted_refuses_bad_parameters(api, org, params, code, field):
    resp = api.get(MOST, params)
    assert resp.status_code == 400
    assert (resp.json()["code"], resp.json()["field"]) == (code, field)


def test_most_reacted_requires_a_valid_token(anon_api, bad_api):
    for client in (anon_api, bad_api):
        assert client.get(MOST, {"reactionName": "like"}).status_code == 401


def test_most_reacted_uses_a_constant_number_of_queries(api, org):
    api.get(MOST, {"reactionName": "like"})  # first use stamps the token's last_used_at
    channel = ChannelFactory(organization=org)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            resp = api.get(MOST, {"reactionName": "like", "limit": 100})
            assert resp.status_code == 200
        return len(ctx.captured_queries)

    def add() -> None:
        parent = MessageFactory(channel=channel)
        msg = MessageFactory(channel=channel, parent=parent)
        react(msg, "like", 2)
        MessageTag.objects.create(message=msg, name="t")

    add()
    one = count()
    for _ in range(49):
        add()
    # 2 queries: the token; the ranked messages (channel, author and parent joined;
    # flagCount, reaction counts and tags as subqueries).
    assert count() == one == 2
