"""Hostile input, route by route: every route of every API surface (surfaces.SURFACES)
and under /console/ (from the URL resolver and the OpenAPI schema, so a new route is
covered without a new test), every method, every string parameter it has, every hostile
value (tests/robustness/hostile.py).

Where the values go:

- **API** (``/api/v2/`` with an admin Bearer token, ``/api/messenger/`` with an admin's
  Personal-Access-Token, ``/api/messaging/`` with an org admin's session, its signed
  files with a valid link for that admin, ``/api/v1/`` with Rocket.Chat's login of that
  admin; the public incoming URLs, ``/hooks/``, ``/apiwh/`` and the messaging API's
  ``/webhooks/{webhookID}/{webhookToken}``, with acme's keys in their path), each
  operation from a clean request that
  reaches its handler: every path parameter and every query parameter of the schema
  (plus one it does not know) with every value; every body property at every depth as
  JSON (object-valued ones such as ``metadata`` and a message's ``data`` get hostile
  keys and values two levels down; a hostile top-level key; lone surrogates as
  ``\\ud800`` escapes; integers as raw ``1e3``, ``1e-400``, ``1.0``, ``true``; one body
  that is not UTF-8); the same properties in an urlencoded form (``data[text]=a%00``,
  ``%FF``, integers as text) and a list or object as JSON text in one form field
  (``metadata={"k": "\\u0000"}``); multipart with NUL, a surrogate's bytes and invalid
  UTF-8, and, for uploads, every value (file names too).
- **Console** (an owner's session): every path id of every page (``/console/<org>/...``)
  with every method its view takes; every field of every form the pages render (GET forms
  in the query string, POST forms in the body, the other fields as the page filled them).

What must come back, decided per parameter from the schema (``x-identifier`` on IdFields,
enums, formats, integer types; hostile.Slot):

- never a 5xx (nor an exception);
- NUL, a lone surrogate or invalid UTF-8 anywhere: a 4xx;
- C0/C1 controls, a bidi override, a zero-width space or an invisible-only value in an
  identifier, a path id, an enum, a date or an integer, and an integer in an odd
  spelling (the messaging API's numeric ids also with the character around a valid id:
  ``42\\x85``): a 4xx on the API; on the console such values in any field that is not free
  text must change nothing (its forms answer a refusal with a redirect and an error
  message); free text (a displayName, a reason, a message) may keep them;
- every 4xx is the surface's error body (judged by its entry of surfaces.SURFACES: JSON
  ``{"status": "error", "code", "message"}`` under /api/v2/ and /api/messenger/,
  ``{"error": {"message", "code"}}`` under /api/messaging/, Rocket.Chat's ``{"success":
  false, "error", "errorType"}`` under /api/v1/ and /hooks/, Stackfield's ``{"Result",
  "ErrorText"}`` under /apiwh/, each with a code the product answers with that status;
  an HTML page on the console) and wrote nothing (but a refused incoming call's entry
  in its integration's history: hostile.REFUSAL_RECORDS). "Wrote" is the row count and
  checksum of every table (hostile.WriteWatch: taken only once a statement that may
  write runs, so a request that writes nothing costs no extra query). Each request runs
  in a savepoint that is rolled back: an accepted one does not change what the next one
  sees.

Known gaps that are not server errors are listed in ``API_GAPS`` with the reason (and in
docs/testing.md); a gap that no probe hits any more fails, so the entry goes with the
fix. A route kind this module cannot fill (a route under no surface, a path parameter
without a value, a schema type it does not know) fails ``test_every_route_is_probed`` by
name instead of being skipped; a new surface brings its credential and the judge of its
error body in surfaces.SURFACES.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.messages import constants as message_levels
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.members.models import MemberSession
from apps.organizations.models import AccessToken
from tests.builders import image_bytes

from . import hostile as h
from .hostile import Hostile, Operation, Slot
from .routes import api_routes, console_url_names, view_methods
from .surfaces import SURFACES, Surface, surface_for
from .test_cross_org import OMIT, id_parameters, path_values, route_parameters
from .world import (
    Tenant,
    console_client,
    credentials_of,
    unthrottled,
    world_fixture,  # noqa: F401  (the ``world`` fixture)
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_refusals() -> Iterator[None]:
    """Thousands of 4xx are the point here: Django's "Bad Request" / "Not Found" warnings
    would only fill the captured log (errors still show)."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


#: Parameters the schema does not document (drf-spectacular drops DELETE bodies; the
#: query string's are documented), probed all the same: (operation) -> slots.
UNDOCUMENTED: dict[str, list[Slot]] = {
    "DELETE /api/v2/channel/{channelId}/users": [
        Slot(h.BODY, ("userIds", 0), h.STRING, True, "identifier (IdField; a DELETE body)"),
    ],
}


def known_values(acme: Tenant) -> dict[str, Any]:
    """Valid values of acme's by parameter name, so that a probe reaches the handler: the
    cross-organization matrix's (test_cross_org.id_parameters), with single ids where a
    probe replaces one item, and values that pass every validation."""
    return {
        **id_parameters(acme),
        "userIds": [acme.member.user_id],
        "ruleIds": [acme.rule.pattern],
        "regexs": ["acme-new-pattern"],
        "mutePeriod": 60000,
        "banPeriod": 60000,
        "scheduledDeletion": (timezone.now() + timedelta(days=2)).isoformat(),
        "reason": "hostile input",
        "publicIds": ["acme-role"],
        # the messaging API: values that pass every check of its operations
        "members": [str(acme.member.pk)],
        "userID": [str(acme.member.pk)],
        "state": "unarchive",
        "name": "hostile probe",
        "kind": "typing",
        "query": "secret",
    }


def route_values(acme: Tenant) -> dict[str, dict[str, Any]]:
    """Per-operation values that differ from ``known_values`` (the cross-organization
    matrix's, test_cross_org.route_parameters, and these)."""
    signed = acme.signed_link(acme.admin_member)  # the signed files' credential
    mark_as_read = {"threadID": OMIT}  # a thread is named by a message with replies
    return {
        **route_parameters(acme),
        "POST /api/v2/channel": {"channelId": "acme-new-channel", "type": "standard"},
        "POST /api/v2/whitelist/records": {"regexs": ["new.example.com"]},
        "DELETE /api/v2/whitelist/records": {"ruleIds": [acme.allow_rule.pattern]},
        "POST /api/messaging/channels/": {"type": "public"},
        "PUT /api/messaging/channels/{channelID}": {"type": "public", "organisationID": OMIT},
        "GET /api/messaging/attachment/{attachmentID}/original/{name}": signed,
        "GET /api/messaging/attachment/{attachmentID}/preview.{ext}": signed,
        **{
            f"{method} /api/messaging/channels/{{channelID}}/messages/mark-as-read": mark_as_read
            for method in ("GET", "POST", "PUT")
        },
        # a resumed login (``username`` would name another user than the token's)
        "POST /api/v1/login": {"resume": acme.keys["rc_token"], "username": OMIT},
        # acme's organization URL creating a member: the command that reads the strict
        # properties (Command, Email, OrgRoleId); a property no command of it reads is
        # never read, like an unknown one
        "POST /apiwh/{webhookId}": {
            "Command": "CreateUser",
            "Email": "new.person@acme.test",
            "DisplayName": "New Person",
            "OrgRoleId": 2,
        },
    }


def credential_headers(acme: Tenant) -> dict[str, dict[str, str]]:
    """Surface prefix -> the request headers of the credential it is probed with
    (surfaces.Surface.probe_kind; none for a surface of public routes)."""
    clients = credentials_of(acme).all()
    return {
        s.prefix: dict(clients[s.probe_kind]._credentials) if s.probe_kind else {} for s in SURFACES
    }


def surface_of(template: str) -> Surface | None:
    return surface_for(template)


# --- probes ------------------------------------------------------------------------------


@dataclass
class Probe:
    """One request: what it is, and whether it must be refused."""

    operation: str
    label: str  # "query userId=bidi"
    method: str
    url: str  # percent-encoded path and query
    body: bytes | None = None
    content_type: str | None = None
    must_refuse: bool = True
    why: str = ""
    #: On the console, a refusal may be a redirect with an error message: what must hold
    #: then is that nothing was written.
    console: bool = False


def _query(pairs: list[tuple[Any, Any]]) -> str:
    return h.urlencoded(pairs).decode("ascii")


def _url(path: str, query: list[tuple[Any, Any]]) -> str:
    return path + ("?" + _query(query) if query else "")


def _path(op: Operation, values: dict[str, str], override: tuple[str, str] | None = None) -> str:
    params = dict(values)
    if op.template.startswith("/api/v2/whitelist/"):
        params["ruleId"] = values["allowRuleId"]
    if override is not None:
        params[override[0]] = override[1]
    return op.template.format(**params)


def _known(op: Operation, acme: Tenant) -> dict[str, Any]:
    known = {**known_values(acme), **route_values(acme).get(str(op), {})}
    return {name: value for name, value in known.items() if value is not OMIT}


def _base_query(op: Operation, known: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The required query parameters, and the optional ones with a known value."""
    pairs: list[tuple[Any, Any]] = []
    for name, schema in op.query_params.items():
        if name in op.required_query or name in known:
            pairs += h.form_pairs(h.example(schema, name, known), h.utf8(name))
    for slot in UNDOCUMENTED.get(str(op), []):
        if slot.where == h.QUERY and slot.name in known:
            pairs += h.form_pairs(known[slot.name], h.utf8(slot.name))
    return pairs


def _replace_pair(pairs: list[tuple[Any, Any]], name: str, value: Any) -> list[tuple[Any, Any]]:
    """``pairs`` with ``name`` (and its bracketed entries: ``data[text]``) set to ``value``."""
    key = h.utf8(name)
    kept = [(k, v) for k, v in pairs if k != key and not k.startswith(key + b"[")]
    return [*kept, (key, value)]


#: Which values go where. Every value reaches every path id, query parameter and JSON
#: string; a form or a multipart body decodes into the same dict as JSON does, so there
#: only the values that differ on the way in are sent (bytes that are NUL, a lone
#: surrogate's UTF-8 form, or not UTF-8 at all; integers as form strings).
ALL = h.VALUES
JSON_TEXT = h.TEXT_VALUES  # invalid UTF-8 is a property of a whole JSON body: once per op
AT_THE_DOOR = [v for v in h.VALUES if v.refused == h.ALWAYS]
MULTIPART = [v for v in AT_THE_DOOR if v.name in ("nul", "surrogate", "invalid_utf8")]
#: Console free-text fields keep what passes the door: a few kinds are enough there.
FREE_TEXT = [*AT_THE_DOOR, *(v for v in h.VALUES if v.name in ("c1", "bidi", "invisible_only"))]


#: The API's path, query and JSON slots get a rotating sample of the values and integer
#: spellings (SAMPLE of each, the next ones for the next slot), so every value still
#: reaches every surface and kind of slot many times while the run stays short enough for
#: CI; ``CHATADMIN_HOSTILE_FULL=1`` sends every value to every slot (docs/testing.md).
#: Uploads, forms, multipart bodies and the console always get every value.
FULL = os.environ.get("CHATADMIN_HOSTILE_FULL") == "1"
SAMPLE = 4
_turn = itertools.count()


def _sample[T](items: list[T]) -> list[T]:
    if FULL or len(items) <= SAMPLE:
        return items
    start = next(_turn) * SAMPLE
    return [items[(start + i) % len(items)] for i in range(SAMPLE)]


def _slot_values(
    slot: Slot,
    values: list[Hostile],
    integers: dict[str, str] | None = None,
    *,
    sample: bool = False,
) -> Iterator[tuple[str, Hostile | None, str, bool]]:
    """(label, hostile value or None, integer spelling or "", must refuse) for a slot;
    with ``sample``, a rotating share of them (see SAMPLE)."""
    for value in _sample(values) if sample else values:
        refuse = slot.refuses(value) or slot.kind == h.INTEGER
        yield value.name, value, "", refuse
    if slot.kind == h.INTEGER:
        spellings = list((h.FORM_INTEGERS if integers is None else integers).items())
        for name, spelling in _sample(spellings) if sample else spellings:
            yield name, None, spelling, True


def api_probes(op: Operation, acme: Tenant) -> Iterator[Probe]:
    """Every probe of one operation; the first is the clean request."""
    known = _known(op, acme)
    values = path_values(acme)
    missing = [p for p in op.path_params if p not in values]
    if missing:
        raise LookupError(f"{op}: no value for path parameter(s) {missing} in path_values()")
    path = _path(op, values)
    query = _base_query(op, known)
    # Object bodies only: a raw upload (an avatar as image/*) has no parameters.
    objects = {m: s for m, s in op.bodies.items() if s.get("type") == "object"}
    json_schema = objects.get("application/json")
    form_schema = objects.get("application/x-www-form-urlencoded")
    multipart_schema = objects.get("multipart/form-data")
    body_schema = json_schema or multipart_schema
    base = h.example(body_schema, "", known) if body_schema is not None else None
    upload = body_schema is not None and json_schema is None
    undocumented = UNDOCUMENTED.get(str(op), [])
    name = str(op)

    def json_probe(label: str, body: Any, refuse: bool, why: str, **kw: Any) -> Probe:
        return Probe(
            name, label, op.method, _url(path, query), h.json_bytes(body, **kw),
            "application/json", refuse, why,
        )  # fmt: skip

    def form_probe(label: str, pairs: list[tuple[Any, Any]], refuse: bool, why: str) -> Probe:
        return Probe(
            name, label, op.method, _url(path, query), h.urlencoded(pairs),
            "application/x-www-form-urlencoded", refuse, why,
        )  # fmt: skip

    # The file fields of a multipart body (``file`` of v2, ``upload`` of the messaging API).
    file_fields = [
        key
        for key, prop in (multipart_schema or {}).get("properties", {}).items()
        if h.resolve(h.annotated_schema(), prop).get("format") == "binary"
    ]

    def multipart_probe(label: str, body: Any, refuse: bool, why: str, filename: Any = None):
        fields = h.form_pairs({k: v for k, v in body.items() if k not in file_fields})
        files = [(key, filename or "a.png", image_bytes(), "image/png") for key in file_fields]
        data, content_type = h.multipart(fields, files)
        return Probe(name, label, op.method, _url(path, query), data, content_type, refuse, why)

    def with_url(url: str, label: str, refuse: bool, why: str) -> Probe:
        """The clean body (if any) at another URL."""
        if upload:
            probe = multipart_probe(label, base, refuse, why)
        elif base is not None:
            probe = json_probe(label, base, refuse, why)
        else:
            probe = Probe(name, label, op.method, url, None, None, refuse, why)
        probe.url = url
        return probe

    # The request itself, clean: it must not fail (and tells what the probes start from).
    yield with_url(_url(path, query), "clean", False, "")

    # Path parameters: ids that no row has, always a 4xx; free-text ones
    # (hostile.FREE_PATH_PARAMETERS) refuse what is refused everywhere.
    for param, schema in op.path_params.items():
        slot = h.parameter_slot(h.PATH, param, schema)
        free = param in h.FREE_PATH_PARAMETERS
        for label, value, spelling, _ in _slot_values(slot, ALL, sample=True):
            text = h.pct(value.wire()) if value is not None else h.pct(spelling)
            url = _url(_path(op, values, (param, text)), query)
            refuse = not free or value is None or value.refused == h.ALWAYS
            why = "free text (FREE_PATH_PARAMETERS)" if free else slot.why
            yield with_url(url, f"path {param}={label}", refuse, why)

    # Query parameters (documented, undocumented, and one the operation does not know).
    query_slots = [h.parameter_slot(h.QUERY, n, s) for n, s in op.query_params.items()]
    query_slots += [s for s in undocumented if s.where == h.QUERY]
    unknown = Slot(h.QUERY, ("hostileProbe",), h.STRING, False, "unknown parameter")
    for slot in [*query_slots, unknown]:
        values = AT_THE_DOOR if slot is unknown else ALL + _numeric(slot, known.get(slot.name))
        for label, value, spelling, refuse in _slot_values(slot, values, sample=True):
            raw = value.wire() if value is not None else spelling
            url = _url(path, _replace_pair(query, slot.at[0], raw))
            yield with_url(url, f"query {slot.name}={label}", refuse, slot.why)

    if base is None and not [s for s in undocumented if s.where == h.BODY]:
        return
    base = base if base is not None else {}
    slots = list(h.body_slots(body_schema)) if body_schema is not None else []
    slots += [s for s in undocumented if s.where == h.BODY]
    slots.append(Slot(h.KEY, (), h.OBJECT, False, "unknown key"))

    if upload:  # multipart only: every value there, file names included
        for slot in slots:
            numeric = _numeric(slot, _at(base, slot.at))
            for label, value, spelling, refuse in _slot_values(slot, ALL + numeric):
                tag = f"{slot.where} {slot.name or '{}'}={label}"
                if slot.kind == h.BINARY:
                    filename = value.wire() if value is not None else spelling
                    yield multipart_probe(f"filename {tag}", base, refuse, slot.why, filename)
                else:
                    body = _placed(base, slot, value, spelling, form=True)
                    yield multipart_probe(f"multipart {tag}", body, refuse, slot.why)
        return

    # JSON: every string slot (keys included) with every value, integers in their JSON
    # spellings, and one body that is not UTF-8.
    yield json_probe(
        "json body=invalid_utf8", h.with_key(base, (), h.INVALID_MARKER), True, "not UTF-8",
        invalid_utf8=b"\xff\xfe",
    )  # fmt: skip
    for slot in slots:
        if slot.kind == h.BINARY:
            continue
        tag = f"{slot.where} {slot.name or '{}'}"
        numeric = _numeric(slot, _at(base, slot.at))
        for label, value, _, refuse in _slot_values(slot, JSON_TEXT + numeric, {}, sample=True):
            body = _placed(base, slot, value, "", form=False)
            yield json_probe(f"json {tag}={label}", body, refuse, slot.why)
        if slot.kind == h.INTEGER:
            for label, text in _sample(list(h.JSON_INTEGERS.items())):
                body = h.with_value(base, slot.at, h.Raw(text))
                yield json_probe(f"json {tag}={label}", body, True, "integer")
        # An urlencoded form: the bytes that differ on the way in, integers as strings.
        if form_schema is not None:
            for label, value, spelling, refuse in _slot_values(slot, AT_THE_DOOR):
                body = _placed(base, slot, value, spelling, form=True)
                yield form_probe(f"form {tag}={label}", h.form_pairs(body), refuse, slot.why)
        if multipart_schema is not None:
            for label, value, spelling, refuse in _slot_values(slot, MULTIPART, {}):
                body = _placed(base, slot, value, spelling, form=True)
                yield multipart_probe(f"multipart {tag}={label}", body, refuse, slot.why)

    # A list or an object may also come as JSON text in ONE form field (``userIds=["a"]``,
    # ``metadata={"k": "v"}``; apps.core.fields): its strings never pass the form checks.
    # Objects get the hostile value beside and instead of their valid entries, with each
    # choice of the body's enums (a message's ``data`` is checked differently per type).
    if form_schema is not None:
        yield from _form_json_probes(form_schema, base, form_probe)


def _at(base: Any, at: tuple[Any, ...]) -> Any:
    """The value at ``at`` in ``base`` (None where there is none)."""
    for part in at:
        if isinstance(part, int) and isinstance(base, list) and part < len(base):
            base = base[part]
        elif isinstance(part, str) and isinstance(base, dict):
            base = base.get(part)
        else:
            return None
    return base


def _numeric(slot: Slot, valid: Any) -> list[Hostile]:
    """For a numeric id of the messaging API: hostile values around a valid id (else
    none)."""
    if slot.why != h.NUMERIC_ID:
        return []
    if isinstance(valid, (list, tuple)):
        valid = valid[0] if valid else None
    text = str(valid) if valid is not None else ""
    return h.numeric_id_values(text if text.isdigit() else "1")


def _form_json_probes(form_schema: dict[str, Any], base: dict[str, Any], form_probe: Any):
    schema = h.annotated_schema()
    properties = {k: h.resolve(schema, v) for k, v in form_schema.get("properties", {}).items()}
    enums = {k: v["enum"] for k, v in properties.items() if "enum" in v and k in base}
    variants = [base] + [
        {**base, name: choice} for name, choices in enums.items() for choice in choices
        if choice is not None and choice != base[name]
    ]  # fmt: skip
    for top, prop in properties.items():
        kind = prop.get("type")
        if kind not in ("array", "object"):
            continue
        for value in JSON_TEXT:
            refuse = value.refused == h.ALWAYS or top in h.identifier_names()
            if kind == "array":
                inners: list[tuple[str, Any, bool]] = [("", [value.text], refuse)]
            else:
                valid = base.get(top) if isinstance(base.get(top), dict) else {}
                inners = [("", {**valid, "k": value.text}, refuse)]
                inners += [(f"[{key}]", {**valid, key: value.text}, refuse) for key in valid]
                if value.refused == h.ALWAYS:
                    inners.append((" key", {**valid, value.text: "v"}, True))
            for where, inner, must in inners:
                for variant in variants:
                    tag = "".join(f" {k}={variant[k]}" for k in enums if variant[k] != base[k])
                    pairs = _replace_pair(h.form_pairs(variant), top, h.json_bytes(inner))
                    label = f"form-json{where} {top}={value.name}{tag}"
                    yield form_probe(label, pairs, must, "JSON in a form")


def _placed(base: Any, slot: Slot, value: Hostile | None, spelling: str, *, form: bool) -> Any:
    """``base`` with the hostile value (or integer spelling) in ``slot``: as text for JSON,
    as its wire bytes for a form."""
    payload: Any = spelling if value is None else (value.wire() if form else value.text)
    if slot.where == h.KEY:
        return h.with_key(base, slot.at, payload)
    return h.with_value(base, slot.at, payload)


# --- sending and judging -----------------------------------------------------------------


def _send(client: Any, probe: Probe, headers: dict[str, str]) -> Any:
    # the console's flash messages of earlier probes, never shown, would pile up in the
    # cookie until the messages framework moves them to the session (a write)
    client.cookies.pop("messages", None)
    kwargs: dict[str, Any] = dict(headers)
    if probe.body is not None:
        return client.generic(
            probe.method.upper(), probe.url, probe.body, probe.content_type, **kwargs
        )
    return client.generic(probe.method.upper(), probe.url, **kwargs)


ROOT = Path(__file__).resolve().parents[2]
APP_CODE = ("apps", "chatadmin")


def _last_frames(text: str, frames: int = 3) -> str:
    """The project's last ``frames`` frames of a traceback (not the libraries'), and the
    exception."""
    lines = text.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    ours = [i for i in starts if any(f'File "{ROOT}/{part}/' in lines[i] for part in APP_CODE)]
    shown = [f"{lines[i]}\n{lines[i + 1]}" for i in ours[-frames:]]
    after = lines[starts[-1] + 1 :] if starts else lines
    return "\n".join([*shown, *(line for line in after if not line.startswith("    "))])


def _flash_levels(response: Any) -> set[int]:
    storage = getattr(getattr(response, "wsgi_request", None), "_messages", None)
    return {m.level for m in getattr(storage, "_queued_messages", [])}


@dataclass
class Outcome:
    probe: Probe
    status: int | None
    problems: list[str]


def judge(client: Any, probe: Probe, headers: dict[str, str]) -> Outcome:
    """Send ``probe`` in a savepoint (rolled back) and list what is wrong with the answer."""
    problems: list[str] = []
    watch = h.WriteWatch()
    with transaction.atomic():
        try:
            with connection.execute_wrapper(watch), transaction.atomic():
                response = _send(client, probe, headers)
        except Exception:
            problems.append("raised:\n" + _last_frames(traceback.format_exc()))
            transaction.set_rollback(True)
            return Outcome(probe, None, problems)
        written = watch.written()
        transaction.set_rollback(True)
    status = response.status_code
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content[:300].decode("utf-8", "replace")
    if status >= 500:
        problems.append(f"{status} {text}")
        return Outcome(probe, status, problems)
    refused = 400 <= status < 500
    if probe.console:
        if refused:
            problem = h.html_error_problem(response)
            if problem:
                problems.append(f"{status}: {problem}")
        refused_by_form = message_levels.ERROR in _flash_levels(response)
        if probe.must_refuse and not refused and probe.why == "at the door":
            problems.append(f"{status}: accepted (expected a 4xx) {text[:120]}")
        elif probe.must_refuse and written:
            problems.append(f"{status}: accepted ({probe.why}), wrote {written}")
        elif (refused or refused_by_form) and written:
            problems.append(f"{status}: refused, but wrote {written}")
        return Outcome(probe, status, problems)
    if refused:
        problem = h.error_problem(urlsplit(probe.url).path, response)
        if problem:
            problems.append(f"{status}: {problem}")
        if h.unexpected_writes(written):
            problems.append(f"{status}: refused, but wrote {written}")
    elif probe.must_refuse:
        problems.append(f"{status}: accepted ({probe.why or 'refused everywhere'}) {text[:160]}")
    return Outcome(probe, status, problems)


@dataclass(frozen=True)
class Gap:
    """A known wrong answer that is not a server error, tolerated until fixed: the probes
    it covers (a regex over ``"<operation> [<label>]"``), the answer tolerated there (a
    regex over the problem: by default an acceptance) and why it is open. A gap that no
    probe hits any more fails the test, so the entry is removed with the fix. Never a 5xx."""

    probes: str
    reason: str
    answer: str = r"^[23]\d\d: accepted"


#: Known gaps of the API (each one listed in docs/testing.md, "Hostile input").
API_GAPS: dict[str, Gap] = {
    "multipart-part-dropped": Gap(
        r"\[multipart key .*=(surrogate|low_surrogate|invalid_utf8)\]$",
        "a multipart part whose headers (its field name) are not UTF-8 is skipped whole by "
        "Django's parser, before apps.core.parsers sees it: nothing of it is read or "
        "stored, as for an unknown parameter (its values are refused: malformed_body)",
    ),
    "multipart-file-name": Gap(
        r"\[filename .*=(nul|nul_alone|surrogate|low_surrogate|invalid_utf8)\]$",
        "an uploaded file's name: Django's parser drops control and format characters "
        "(NUL included) before apps.core.parsers can see them, and decodes bytes that are "
        "not UTF-8 as U+FFFD (kept in the stored file name)",
    ),
    "avatar-raw-body": Gap(
        r"^PUT /api/messenger/chatrooms/\{roomID\}/avatar \[multipart key ",
        "the avatar body is read raw (RawBodyParser): multipart fields, names and values, "
        "are not read, so not checked (nothing of them is stored)",
    ),
}


def _report(outcomes: list[Outcome], gaps: dict[str, Gap]) -> tuple[list[str], Counter[str]]:
    """Problems as lines (known gaps left out) and how often each gap was hit."""
    lines = []
    hits: Counter[str] = Counter()
    for outcome in outcomes:
        probe = outcome.probe
        where = f"{probe.operation} [{probe.label}]"
        server_error = outcome.status is None or outcome.status >= 500
        for problem in outcome.problems:
            gap = next(
                (
                    k
                    for k, g in gaps.items()
                    if re.search(g.probes, where) and re.search(g.answer, problem)
                ),
                None,
            )
            if gap is not None and not server_error:
                hits[gap] += 1
                continue
            body = f" body={h.wire_repr(probe.body)}" if probe.body is not None else ""
            lines.append(f"{where} {probe.method.upper()} {probe.url}{body}\n    -> {problem}")
    lines += [f"known gap {k!r} no longer occurs: remove it" for k in gaps if not hits[k]]
    return lines, hits


# --- the API -------------------------------------------------------------------------------


def test_every_route_is_probed(world: dict[str, Any]) -> None:
    """The inventory and this module agree: every route of the resolver is an operation
    of the schema on a surface with a credential and an error judge here, and every one
    gets probes."""
    acme: Tenant = world["acme"]
    operations = {str(op): op for op in h.operations()}
    problems = []
    for route in api_routes():
        op = operations.get(str(route))
        if op is None:
            problems.append(f"{route}: not in the OpenAPI schema (test_inventory says more)")
            continue
        if surface_of(op.template) is None:
            problems.append(f"{route}: under no prefix of surfaces.SURFACES")
            continue
        try:
            probes = list(api_probes(op, acme))
        except (LookupError, AssertionError) as exc:
            problems.append(f"{route}: {exc}")
            continue
        if len(probes) < 2:
            problems.append(f"{route}: only {len(probes)} probe(s)")
    assert not problems, "\n".join(problems)
    assert {surface_of(r.template) for r in api_routes()} == set(SURFACES), "a surface is gone"


def _api_outcomes(acme: Tenant) -> Iterator[Outcome]:
    headers = credential_headers(acme)
    # Fresh tokens are not stamped again for a minute: the probes' own writes stand out.
    AccessToken.objects.update(last_used_at=timezone.now())
    MemberSession.objects.update(last_used_at=timezone.now())
    client = Client()
    for op in h.operations():
        surface = surface_of(op.template)
        if surface is None:
            continue  # test_every_route_is_probed names it
        for probe in api_probes(op, acme):
            with unthrottled():
                yield judge(client, probe, headers[surface.prefix])


def test_api_hostile_input(world: dict[str, Any]) -> None:
    acme: Tenant = world["acme"]
    started = time.monotonic()
    outcomes = list(_api_outcomes(acme))
    clean = {o.probe.operation: o.status for o in outcomes if o.probe.label == "clean"}
    problems, gaps = _report(outcomes, API_GAPS)
    # The clean request of each operation must get past authentication, or every probe of
    # it would be refused before its parameters are read (and prove nothing).
    problems += [f"{op} [clean]: {status}" for op, status in clean.items() if status in (401, 403)]
    statuses = Counter(o.status for o in outcomes)
    print(
        f"{len(outcomes)} API probes over {len(clean)} operations in "
        f"{time.monotonic() - started:.1f} s; statuses {dict(sorted(statuses.items(), key=str))}"
    )
    print("known gaps (probes):", dict(gaps))
    print("clean requests not 2xx:", {k: v for k, v in clean.items() if not 200 <= (v or 0) < 300})
    assert len(clean) >= 50
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


# --- the console ----------------------------------------------------------------------------

#: Console form fields that take free text (a reason, a name, a search): hostile values
#: other than NUL, lone surrogates and invalid UTF-8 may be kept. Every other field (ids,
#: choices, numbers, dates, hidden fields) must change nothing when given one.
CONSOLE_FREE_TEXT = {
    "reason",
    "name",
    "title",
    "description",
    "display_name",
    "patterns",
    "pattern",
    "text",
    "q",
    "mq",
    "next",
    "email",
}
#: Forms not probed: they end the session the probes run in.
CONSOLE_SKIPPED_ACTIONS = {"/console/logout/"}


class _Forms(HTMLParser):
    """The forms of a page as a browser submits them: (method, action, fields)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": a.get("action", ""),
                "fields": [],  # [name, value, kind]
            }
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "name" not in a:
            if tag == "option" and self._select is not None and form is not None:
                self._option(a)
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                if not any(f[0] == name for f in form["fields"]):
                    form["fields"].append([name, None, kind])
                return
            if kind in ("file", "image", "reset"):
                return
            if kind == "submit" and any(f[2] == "submit" for f in form["fields"]):
                return
            form["fields"] = [f for f in form["fields"] if not (f[0] == name and f[1] is None)]
            form["fields"].append([name, a.get("value", "on" if kind == "checkbox" else ""), kind])
        elif tag == "button" and a.get("type", "submit") == "submit":
            if not any(f[2] == "submit" for f in form["fields"]):
                form["fields"].append([name, a.get("value", ""), "submit"])
        elif tag == "select":
            self._select = name
            form["fields"].append([name, None, "select"])
        elif tag == "textarea":
            self._textarea = name
            form["fields"].append([name, "", "textarea"])
        elif tag == "option" and self._select is not None:
            self._option(a)

    def _option(self, a: dict[str, str]) -> None:
        assert self._form is not None
        field = next(f for f in reversed(self._form["fields"]) if f[0] == self._select)
        if field[1] is None or "selected" in a:
            field[1] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self._form is not None:
            self._form["fields"][-1][1] += data


def _sentinels(params: list[str]) -> dict[str, Any]:
    """A value per URL parameter that the URL pattern accepts and that is easy to find
    in the reversed URL (to put a hostile value in its place)."""
    return {
        p: (9_000_000_001 + i if p in ("pk", "report_id", "role_pk") else f"hostile-slot-{i}")
        for i, p in enumerate(params)
    }


def _console_kwargs(name: str, params: list[str], acme: Tenant) -> dict[str, Any]:
    values = {
        "org": acme.org.slug,
        "channel_id": acme.channel.channel_id,
        "user_id": acme.member.user_id,
        "report_id": acme.report.pk,
        "kind": "blacklist",
        "pk": acme.rule.pk,
        "role_pk": acme.role.pk,
    }
    if name in {"staff_role", "staff_remove"}:
        values["pk"] = acme.org.staff.order_by("pk")[0].pk
    if name == "token_revoke":
        values["pk"] = acme.token_pk
    if name == "event":
        values["pk"] = acme.event_id
    missing = [p for p in params if p not in values]
    if missing:
        raise LookupError(f"console page {name}: no value for URL parameter(s) {missing}")
    return {p: values[p] for p in params}


@dataclass
class ConsolePage:
    name: str
    url: str
    params: list[str]
    methods: list[str]


def console_pages(acme: Tenant) -> list[ConsolePage]:
    """Every page under /console/<org>/ (the resolver's), with the methods its view takes."""
    pages = []
    for name, params, callback in console_url_names():
        full = ["org", *params]
        url = reverse(f"console:{name}", kwargs=_console_kwargs(name, full, acme))
        methods = [m for m in view_methods(callback) if m in ("get", "post")]
        pages.append(ConsolePage(name, url, full, methods or ["get"]))
    return pages


def console_path_probes(page: ConsolePage, acme: Tenant) -> Iterator[Probe]:
    kwargs = _console_kwargs(page.name, page.params, acme)
    for param in page.params:
        sentinel = _sentinels(page.params)[param]
        url = reverse(f"console:{page.name}", kwargs={**kwargs, param: sentinel})
        integer = isinstance(sentinel, int)
        slot = Slot(h.PATH, (param,), h.INTEGER if integer else h.STRING, True, "path id")
        for label, value, spelling, _ in _slot_values(slot, ALL):
            text = h.pct(value.wire()) if value is not None else h.pct(spelling)
            for method in page.methods:
                yield Probe(
                    f"{method.upper()} console:{page.name}", f"path {param}={label}", method,
                    url.replace(str(sentinel), text), b"" if method == "post" else None,
                    "application/x-www-form-urlencoded" if method == "post" else None,
                    True, "at the door", console=True,
                )  # fmt: skip


def console_form_probes(page_url: str, html: str) -> Iterator[Probe]:
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        action = urlsplit(urljoin(page_url, form["action"] or page_url))
        if not action.path.startswith("/console/") or action.path in CONSOLE_SKIPPED_ACTIONS:
            continue
        method = "post" if form["method"] == "post" else "get"
        fields = [f for f in form["fields"] if f[0] != "csrfmiddlewaretoken"]
        yield from _form_probes(method, action.path, fields)


def _form_probes(method: str, action: str, fields: list[list[Any]]) -> Iterator[Probe]:
    """Each field of a form (and one it does not have) with each hostile value, the
    other fields as the page filled them in."""
    defaults = [(h.utf8(n), v) for n, v, _ in fields if v is not None]
    name = f"{method.upper()} {action}"
    for field_name, _, kind in [*fields, ["hostile_probe", "", "text"]]:
        # A checkbox is on whatever its value; free text may keep what is not refused at
        # the door; every other field must change nothing when given a hostile value.
        free = field_name in CONSOLE_FREE_TEXT or kind == "checkbox"
        free = free or field_name == "hostile_probe"
        integer = kind == "number"
        slot = Slot(
            h.BODY, (field_name,), h.INTEGER if integer else h.STRING, not free,
            f"console {kind} field",
        )  # fmt: skip
        spellings = {k: v for k, v in h.FORM_INTEGERS.items() if k not in CONSOLE_INTEGERS}
        values = FREE_TEXT if free else ALL
        for label, value, spelling, refuse in _slot_values(slot, values, spellings):
            raw = value.wire() if value is not None else spelling
            pairs = _replace_pair(defaults, field_name, raw)
            door = value is not None and value.refused == h.ALWAYS
            why = "at the door" if door else slot.why
            if method == "get":
                url, body, ctype = _url(action, pairs), None, None
            else:
                url, body = action, h.urlencoded(pairs)
                ctype = "application/x-www-form-urlencoded"
            yield Probe(
                name, f"{method} {field_name}={label}", method, url, body, ctype,
                refuse, why, console=True,
            )  # fmt: skip


#: Known gaps of the console (see Gap).
CONSOLE_GAPS: dict[str, Gap] = {
    "identifier-trim": Gap(
        r"user_ids=(c1_end|separator_start)\]$",
        "userIds typed in the console are trimmed with str.strip() before the identifier "
        "rule, as in the API (apps.console.forms_channels.parse_user_ids)",
        answer=r"accepted .*wrote",
    ),
}

#: Console integer fields trim surrounding spaces, as every Django form field does (a
#: browser's number input sends none): `` 1 `` is 1 there, unlike in the API.
CONSOLE_INTEGERS = {"spaces": "trimmed like every Django form field"}


def test_console_hostile_input(world: dict[str, Any]) -> None:
    acme: Tenant = world["acme"]
    client = console_client(acme.staff["owner"])
    started = time.monotonic()
    pages = console_pages(acme)
    assert len(pages) >= 30
    outcomes: list[Outcome] = []
    seen: set[tuple[str, str]] = set()
    posted: set[str] = set()
    problems: list[str] = []

    def run(probe: Probe) -> None:
        if (probe.operation, probe.label) in seen:
            return
        seen.add((probe.operation, probe.label))
        if probe.method == "post":
            posted.add(urlsplit(probe.url).path)
        cache.clear()  # the token-issuing throttle counts in the cache
        outcomes.append(judge(client, probe, {}))

    for page in pages:
        for probe in console_path_probes(page, acme):
            run(probe)
    page_urls = [(p.name, p.url) for p in pages if "get" in p.methods]
    page_urls += [(name, reverse(f"console:{name}")) for name in CONSOLE_TOP_PAGES]
    for name, url in page_urls:
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"GET console:{name} {url}: {response.status_code}")
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue  # a redirect, an export: no forms
        for probe in console_form_probes(url, response.content.decode()):
            run(probe)
    # A POST page whose form the world does not show (a channel that is not muted has no
    # unmute form): its path with a free-text field and an unknown one.
    unreached = [p for p in pages if "post" in p.methods and p.url not in posted]
    for page in unreached:
        for probe in _form_probes("post", page.url, [["reason", "x", "text"]]):
            run(probe)
    lines, gaps = _report(outcomes, CONSOLE_GAPS)
    problems += lines
    statuses = Counter(o.status for o in outcomes)
    print(
        f"{len(outcomes)} console probes in {time.monotonic() - started:.1f} s; "
        f"statuses {dict(sorted(statuses.items(), key=str))}; POST pages without a form "
        f"in this world: {[p.name for p in unreached]}; known gaps (probes): {dict(gaps)}"
    )
    assert len(outcomes) > 1000
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


#: Pages outside /console/<org>/ whose forms are probed too (login and logout are not:
#: the probes run in one session).
CONSOLE_TOP_PAGES = ["profile", "password_change"]
