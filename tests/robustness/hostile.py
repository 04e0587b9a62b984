"""Hostile input, shared by test_hostile_input.py (every route x every string parameter x
every hostile value) and the hostile variants of test_fuzz.py (schemathesis).

- :data:`VALUES`: the hostile strings (NUL, lone surrogates, C0/C1 controls, a bidi
  override, a zero-width space, an invisible-only id, invalid UTF-8) and what must
  happen to each: refused everywhere, or refused in identifiers only
  (apps.core.text); :data:`JSON_INTEGERS` / :data:`FORM_INTEGERS`: integers in the
  spellings that only Python's ``int()`` reads.
- The wire encodings that can carry them: percent-encoding of the UTF-8 bytes (a lone
  surrogate as its 3 bytes, ``%ED%A0%80``, as a broken client sends it), JSON text with
  ``\\ud800`` escapes and raw number spellings, urlencoded and multipart bodies built
  byte by byte (Django's and DRF's test clients cannot encode a lone surrogate).
- :func:`annotated_schema`: the OpenAPI schema with ``x-identifier`` on every IdField
  (read from the serializers while the schema is generated), and :func:`body_slots` /
  :func:`parameter_slot`: every string, integer and object parameter of an operation
  (path, query, body at every depth, object keys) with the rule that applies to it.
- :class:`WriteWatch` and :func:`fingerprint`: whether a request wrote anything (row
  count and checksum of every table, one query on PostgreSQL, taken only when a
  statement that may write runs).
- :func:`hostile_case_strategy` and :func:`hostile_refused`: the same values for
  schemathesis (a ``flatmap_case`` hook and a check).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

from django.apps import apps as django_apps
from django.db import connection

from apps.core.text import identifier_problem

from . import surfaces
from .world import VOLATILE, changed, snapshot, tenant_snapshot

# --- the values --------------------------------------------------------------------------

#: Refused in every string (value or key, at any depth, any location).
ALWAYS = "always"
#: Refused in identifiers (IdField, path ids, enums, dates, integers); free text may keep it.
IDENTIFIER = "identifier"


@dataclass(frozen=True)
class Hostile:
    name: str
    text: str  # as a Python string (lone surrogates included)
    refused: str  # ALWAYS or IDENTIFIER
    #: Only on the wire (not representable as text): bytes that are not UTF-8.
    raw: bytes | None = None

    def wire(self) -> bytes:
        """The bytes a client sends in a URL or a form: UTF-8, lone surrogates as their
        (invalid) 3-byte UTF-8 form."""
        return self.raw if self.raw is not None else utf8(self.text)


#: One of each kind, at the start, in the middle and at the end of a value.
VALUES: list[Hostile] = [
    Hostile("nul", "acme\x00x", ALWAYS),
    Hostile("nul_alone", "\x00", ALWAYS),
    Hostile("surrogate", "acme-x\ud800", ALWAYS),
    Hostile("low_surrogate", "\udc80acme", ALWAYS),
    Hostile("invalid_utf8", "", ALWAYS, raw=b"acme\xff\xfe"),
    Hostile("c0", "acme\x1bx", IDENTIFIER),
    Hostile("c1", "acme\x85x", IDENTIFIER),
    Hostile("c1_end", "acme-x\x85", IDENTIFIER),
    Hostile("separator_start", "\u2028\x1facme-x", IDENTIFIER),
    Hostile("bidi", "\u202eacme-x", IDENTIFIER),
    Hostile("zero_width", "acme-x\u200b", IDENTIFIER),
    Hostile("invisible_only", "\u200b\u2063\u3164", IDENTIFIER),
]
#: The values a JSON string can carry (invalid UTF-8 is a property of a whole body).
TEXT_VALUES = [v for v in VALUES if v.raw is None]

#: Integers as only Python's ``int()`` (or a float parser) reads them, as JSON text.
JSON_INTEGERS: dict[str, str] = {
    "arabic_indic": '"\u0661"',
    "fullwidth": '"\uff11"',
    "underscore": '"1_0"',
    "spaces": '" 1 "',
    "exponent": "1e3",
    "underflow": "1e-400",
    "float": "1.0",
    "float_string": '"1.0"',
    "boolean": "true",
}
#: The same in a form, a query string or a path.
FORM_INTEGERS: dict[str, str] = {
    "arabic_indic": "\u0661",
    "fullwidth": "\uff11",
    "underscore": "1_0",
    "spaces": " 1 ",
    "exponent": "1e3",
    "underflow": "1e-400",
    "float": "1.0",
    "boolean": "true",
    "plus": "+1",
}


# --- wire encodings ----------------------------------------------------------------------


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def pct(value: str | bytes) -> str:
    """Percent-encode every byte that is not unreserved (``/`` included)."""
    return quote_from_bytes(value if isinstance(value, bytes) else utf8(value), safe="")


def urlencoded(pairs: list[tuple[str | bytes, str | bytes]]) -> bytes:
    """An ``application/x-www-form-urlencoded`` body (or query string) of raw pairs."""
    return "&".join(f"{pct(k)}={pct(v)}" for k, v in pairs).encode("ascii")


#: Where :func:`json_bytes` puts its ``invalid_utf8`` bytes.
INVALID_MARKER = "@@INVALID@@"


class Raw:
    """A JSON value given as its exact text (``1e-400``, ``1.0``): see :func:`json_bytes`."""

    def __init__(self, text: str) -> None:
        self.text = text


def json_bytes(value: Any, *, invalid_utf8: bytes | None = None) -> bytes:
    """``value`` as JSON: lone surrogates as ``\\udXXX`` escapes (valid JSON text, which
    only a strict parser refuses), :class:`Raw` values verbatim. With ``invalid_utf8``
    the string :data:`INVALID_MARKER` is replaced with those bytes (a body that is not
    UTF-8)."""
    raws: dict[str, str] = {}

    def swap(node: Any) -> Any:
        if isinstance(node, Raw):
            marker = f"@@RAW{len(raws)}@@"
            raws[json.dumps(marker)] = node.text
            return marker
        if isinstance(node, dict):
            return {key: swap(child) for key, child in node.items()}
        if isinstance(node, list):
            return [swap(child) for child in node]
        return node

    text = json.dumps(swap(value), ensure_ascii=True)
    for marker, raw in raws.items():
        text = text.replace(marker, raw)
    data = utf8(text)
    if invalid_utf8 is not None:
        data = data.replace(INVALID_MARKER.encode(), invalid_utf8)
    return data


def multipart(
    fields: list[tuple[str | bytes, str | bytes]],
    files: list[tuple[str, str | bytes, bytes, str]] = (),  # type: ignore[assignment]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body built byte by byte: (name, value) fields and
    (name, filename, content, content type) files. Returns (body, content type)."""
    boundary = "hostile" + uuid.uuid4().hex
    parts: list[bytes] = []

    def raw(value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else utf8(value)

    for name, value in fields:
        parts.append(
            b"--" + boundary.encode() + b"\r\n"
            b'Content-Disposition: form-data; name="' + raw(name) + b'"\r\n\r\n' + raw(value)
        )
    for name, filename, content, content_type in files:
        parts.append(
            b"--" + boundary.encode() + b"\r\n"
            b'Content-Disposition: form-data; name="' + raw(name) + b'"; filename="'
            + raw(filename) + b'"\r\nContent-Type: ' + content_type.encode() + b"\r\n\r\n"
            + content
        )  # fmt: skip
    body = b"\r\n".join(parts) + b"\r\n--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


# --- the schema, with identifiers marked -------------------------------------------------


@functools.cache
def annotated_schema() -> dict[str, Any]:
    """The OpenAPI schema, with ``"x-identifier": true`` on every property that is an
    IdField (apps.core.fields: the customer-chosen ids of v2 and the chatroom service;
    apps.messaging.base: the messaging API's numeric ids, also marked
    ``"x-numeric-id": true``) or a list of them. The mark is added while drf-spectacular
    maps the serializers, so it follows the code, not a list kept here."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.openapi import AutoSchema

    from apps.core.fields import IdField
    from apps.messaging.base import IdField as NumericIdField

    id_fields = (IdField, NumericIdField)
    original = AutoSchema._map_serializer_field

    def marking(self: Any, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        result = original(self, field, direction, bypass_extensions)
        child = getattr(field, "child", None)
        if isinstance(field, id_fields) or isinstance(child, id_fields):
            result = {**result, "x-identifier": True}
        if isinstance(field, NumericIdField) or isinstance(child, NumericIdField):
            result = {**result, "x-numeric-id": True}
        return result

    AutoSchema._map_serializer_field = marking  # type: ignore[method-assign]
    try:
        return SchemaGenerator().get_schema(request=None, public=True)
    finally:
        AutoSchema._map_serializer_field = original  # type: ignore[method-assign]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with ``$ref`` and single-item ``allOf`` followed (the mark kept)."""
    while True:
        if "$ref" in node:
            target = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif "allOf" in node and len(node["allOf"]) == 1:
            rest = {k: v for k, v in node.items() if k != "allOf"}
            node = {**resolve(schema, node["allOf"][0]), **rest}
        else:
            return node


@functools.cache
def identifier_names() -> frozenset[str]:
    """Names that are an IdField somewhere in the API: a query parameter of the same name
    (declared with OpenApiParameter, so not marked) is the same identifier."""
    schema = annotated_schema()
    names = set()
    for component in schema["components"]["schemas"].values():
        for name, prop in component.get("properties", {}).items():
            if prop.get("x-identifier"):
                names.add(name)
    return frozenset(names)


@functools.cache
def numeric_id_names() -> frozenset[str]:
    """Names that are a numeric id of the messaging API somewhere (``channelID``...)."""
    schema = annotated_schema()
    return frozenset(
        name
        for component in schema["components"]["schemas"].values()
        for name, prop in component.get("properties", {}).items()
        if prop.get("x-numeric-id")
    )


#: ``Slot.why`` of a numeric id: its probes also wrap a VALID id (numeric_id_values).
NUMERIC_ID = "numeric id (IdField of apps.messaging.base)"


def numeric_id_values(valid: str) -> list[Hostile]:
    """Hostile values around a valid numeric id (``42\x85``, ``\u202842``...): the
    plain values are refused for not being digits at all, these only for the character
    (``str.strip()`` would trim several of them off the ends)."""
    return [
        Hostile("id_nul", f"{valid}\x00", ALWAYS),
        Hostile("id_c0_end", f"{valid}\x1b", IDENTIFIER),
        Hostile("id_tab_end", f"{valid}\t", IDENTIFIER),
        Hostile("id_c1_end", f"{valid}\x85", IDENTIFIER),
        Hostile("id_separator_start", f"\u2028\x1f{valid}", IDENTIFIER),
        Hostile("id_zero_width", f"{valid}\u200b", IDENTIFIER),
        Hostile("id_bidi", f"\u202e{valid}", IDENTIFIER),
        Hostile("id_fullwidth", "\uff11" * len(valid), IDENTIFIER),
    ]


# --- the slots of an operation -----------------------------------------------------------

#: Path parameters that are not identifiers but free text, with the reason: there only
#: NUL, lone surrogates and invalid UTF-8 must be refused (every other path parameter is
#: an id: a control or format character or nothing visible is refused too).
FREE_PATH_PARAMETERS: dict[str, str] = {
    "reaction": "a reaction's name (messaging API) is the Admin API v2's free-text "
    "reactionName (the same Reaction rows): controls are refused, bidi and zero-width "
    "characters kept, as in v2",
    "name": "an attachment link's file name (messaging API) is informative: never read, "
    "never stored; the file is served under its stored name",
}

PATH, QUERY, BODY, KEY = "path", "query", "body", "key"
#: (schemathesis cases) A list or an object as JSON text in one form field.
FORM_JSON = "form-json"
#: Kinds of a slot: what is sent there.
STRING, INTEGER, OBJECT, BINARY = "string", "integer", "object", "binary"


@dataclass(frozen=True)
class Slot:
    """One place of one operation that takes a string (or an integer, or an object's
    keys): ``where`` (path, query, body, or key: a key of the object at ``at``) and
    ``at`` (the parameter name, then keys and list indexes inside a body)."""

    where: str
    at: tuple[Any, ...]
    kind: str
    #: Values of IDENTIFIER rank are refused here too (IdField, enum, date, path id...).
    strict: bool
    why: str = ""  # what made it strict (for failure messages)

    @property
    def name(self) -> str:
        out = ""
        for part in self.at:
            out += f"[{part}]" if isinstance(part, int) or out else str(part)
        return out

    def refuses(self, value: Hostile) -> bool:
        return value.refused == ALWAYS or self.strict


@dataclass
class Operation:
    method: str
    template: str
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    query_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    required_query: list[str] = field(default_factory=list)
    #: media type -> resolved body schema
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


#: The schema types this module knows how to fill; any other type fails loudly.
KNOWN_TYPES = {"string", "integer", "number", "boolean", "array", "object", None}


def operations() -> list[Operation]:
    schema = annotated_schema()
    found = []
    for template, item in schema["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            operation = Operation(method, template)
            for param in op.get("parameters", []):
                resolved = resolve(schema, param.get("schema", {}))
                if param["in"] == "path":
                    operation.path_params[param["name"]] = resolved
                elif param["in"] == "query":
                    operation.query_params[param["name"]] = resolved
                    if param.get("required"):
                        operation.required_query.append(param["name"])
            for media_type, content in op.get("requestBody", {}).get("content", {}).items():
                operation.bodies[media_type] = resolve(schema, content.get("schema", {}))
            found.append(operation)
    return found


def _strictness(schema: dict[str, Any], name: str) -> tuple[bool, str]:
    if schema.get("x-numeric-id") or name in numeric_id_names():
        return True, NUMERIC_ID
    if schema.get("x-identifier") or name in identifier_names():
        return True, "identifier (IdField)"
    if "enum" in schema:
        return True, "enum"
    if schema.get("format") in ("date-time", "date", "uuid", "email", "uri"):
        return True, f"format {schema['format']}"
    return False, ""


def body_slots(body: dict[str, Any], at: tuple[Any, ...] = ()) -> Iterator[Slot]:
    """Every string, integer, binary and object-key slot of a body schema, at any depth."""
    schema = annotated_schema()
    body = resolve(schema, body)
    kind = body.get("type")
    if kind not in KNOWN_TYPES:
        raise AssertionError(f"schema type {kind!r} at {at}: teach tests/robustness/hostile.py")
    if kind == "object" or "properties" in body:
        properties = body.get("properties", {})
        for name, child in properties.items():
            yield from body_slots(child, (*at, name))
        if not properties or body.get("additionalProperties"):
            # A free-form object (metadata, a message's data): keys and values at depth.
            yield Slot(KEY, at, OBJECT, False)
            yield Slot(BODY, (*at, "k"), STRING, False)
            yield Slot(KEY, (*at, "k"), OBJECT, False)
            yield Slot(BODY, (*at, "k", "k2"), STRING, False)
            yield Slot(BODY, (*at, "list", 0), STRING, False)
        return
    if kind == "array":
        item = resolve(schema, body.get("items", {}))
        marked = {**item, "x-identifier": True} if body.get("x-identifier") else item
        strict, why = _strictness(marked, str(at[-1]))
        for slot in body_slots(item, (*at, 0)):
            yield Slot(slot.where, slot.at, slot.kind, slot.strict or strict, slot.why or why)
        return
    name = str(at[-1]) if at else ""
    strict, why = _strictness(body, name)
    if kind == "string" and body.get("format") == "binary":
        yield Slot(BODY, at, BINARY, False, "file name")
    elif kind == "string":
        yield Slot(BODY, at, STRING, strict, why)
    elif kind == "integer":
        yield Slot(BODY, at, INTEGER, True, "integer")


def parameter_slot(where: str, name: str, schema: dict[str, Any]) -> Slot:
    kind = schema.get("type")
    if kind not in KNOWN_TYPES:
        raise AssertionError(f"{where} parameter {name}: type {kind!r}: teach hostile.py")
    if kind == "array":
        item = resolve(annotated_schema(), schema.get("items", {}))
        strict, why = _strictness(item, name)
        if item.get("type") == "integer":
            return Slot(where, (name,), INTEGER, True, "integer")
        return Slot(where, (name,), STRING, strict, why)
    if kind == "integer":
        return Slot(where, (name,), INTEGER, True, "integer")
    if where == PATH:
        return Slot(where, (name,), STRING, True, "path id")
    strict, why = _strictness(schema, name)
    return Slot(where, (name,), STRING, strict, why)


# --- valid values --------------------------------------------------------------------------


def example(schema: dict[str, Any], name: str, known: dict[str, Any]) -> Any:
    """A valid value for ``schema``: ``known[name]`` when there is one, else by type."""
    schema = resolve(annotated_schema(), schema)
    if name in known:
        value = known[name]
        if "enum" not in schema or value in schema["enum"]:
            return value
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        if not properties:
            return {"k": "v"}
        return {
            key: example(child, key, known)
            for key, child in properties.items()
            if key in required or key in known
        }
    if kind == "array":
        return [example(schema.get("items", {}), name, known)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2999-01-01T00:00:00Z"
    if schema.get("format") == "binary":
        return b""
    return "hostile-probe"


def with_value(body: Any, at: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``at`` (dicts and lists made as needed)."""
    if not at:
        return value
    head, rest = at[0], at[1:]
    if isinstance(head, int):
        items = list(body) if isinstance(body, list) else []
        child = items[head] if head < len(items) else None
        if items:
            items[head] = with_value(child, rest, value)
        else:
            items = [with_value(None, rest, value)]
        return items
    node = dict(body) if isinstance(body, dict) else {}
    node[head] = with_value(node.get(head), rest, value)
    return node


def with_key(body: Any, at: tuple[Any, ...], key: str) -> Any:
    """A copy of ``body`` where the object at ``at`` gets the extra key ``key``."""
    node = body
    for part in at:
        node = node.get(part) if isinstance(node, dict) else None
    extra = dict(node) if isinstance(node, dict) else {}
    extra[key] = "v"
    return with_value(body, at, extra)


def form_pairs(value: Any, prefix: bytes = b"") -> list[tuple[bytes, str | bytes]]:
    """A JSON-like value as form pairs: lists as repeated keys, objects as ``a[b]`` (keys
    as bytes, so a hostile key keeps its exact bytes)."""
    if isinstance(value, dict):
        pairs = []
        for key, child in value.items():
            raw = key if isinstance(key, bytes) else utf8(str(key))
            pairs += form_pairs(child, prefix + b"[" + raw + b"]" if prefix else raw)
        return pairs
    if isinstance(value, list):
        return [pair for child in value for pair in form_pairs(child, prefix)]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    if isinstance(value, Raw):
        return [(prefix, value.text)]
    return [(prefix, value if isinstance(value, bytes) else str(value))]


# --- responses -----------------------------------------------------------------------------


#: The error body of each surface: surfaces.py (its table names the judge of each).
error_problem = surfaces.error_problem


def html_error_problem(response: Any) -> str | None:
    """Why ``response`` (a 4xx of the console) is not an HTML page, or None."""
    content_type = response.get("Content-Type", "")
    if not content_type.startswith("text/html"):
        return f"Content-Type {content_type!r}, not an HTML page"
    return None


# --- "no write" ------------------------------------------------------------------------------


def _tables() -> list[tuple[str, str, str, list[str]]]:
    """(label, table, primary key column, columns) of every concrete table."""
    found = []
    for model in django_apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        skip = VOLATILE.get((meta.app_label, meta.model_name), set())
        columns = [f.column for f in meta.concrete_fields if f.attname not in skip]
        found.append((meta.label, meta.db_table, meta.pk.column, columns))
    return found


@functools.cache
def _fingerprint_sql() -> str:
    quote = connection.ops.quote_name
    selects = []
    for label, table, pk, columns in _tables():
        row = ", ".join(quote(c) for c in columns)
        selects.append(
            f"SELECT '{label}', COUNT(*), md5(COALESCE(string_agg(ROW({row})::text, ',' "
            f"ORDER BY {quote(pk)}), '')) FROM {quote(table)}"
        )
    return " UNION ALL ".join(selects)


def fingerprint() -> dict[str, Any]:
    """Row count and checksum of every table (bookkeeping columns excluded, as in
    world.snapshot): one query on PostgreSQL, world.snapshot() elsewhere."""
    if connection.vendor != "postgresql":
        return snapshot()
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql())
        return {label: (count, digest) for label, count, digest in cursor.fetchall()}


#: A statement that may write (a CTE that writes included; ``SELECT ... FOR UPDATE`` not).
_WRITE = re.compile(
    r"^\s*(?:INSERT|UPDATE|DELETE|TRUNCATE|MERGE|COPY)\b"
    r"|^\s*WITH\b.*\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b",
    re.IGNORECASE | re.DOTALL,
)


#: What a refused request may write all the same, with the reason: nothing else.
REFUSAL_RECORDS: dict[str, str] = {
    "integrations.IntegrationHistory": "a call to an incoming URL is recorded in its "
    "integration's history, refused or not (Rocket.Chat's integrations.history shows the "
    "failures too); the refused call itself wrote nothing",
}


def unexpected_writes(tables: list[str]) -> list[str]:
    """The tables a refused request wrote, less :data:`REFUSAL_RECORDS`."""
    return [table for table in tables if table not in REFUSAL_RECORDS]


class WriteWatch:
    """``connection.execute_wrapper``: takes the :func:`fingerprint` just before the first
    statement that may write, so a request that writes nothing costs no extra query;
    :meth:`written` then names the tables whose rows changed (bookkeeping columns such
    as ``last_used_at`` excluded)."""

    def __init__(self) -> None:
        self.before: dict[str, Any] | None = None
        self._inside = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.before is None and not self._inside and _WRITE.match(sql):
            self._inside = True
            try:
                self.before = fingerprint()
            finally:
                self._inside = False
        return execute(sql, params, many, context)

    def written(self) -> list[str]:
        if self.before is None:
            return []
        after = fingerprint()
        return sorted(k for k in self.before.keys() | after.keys()
                      if self.before.get(k) != after.get(k))  # fmt: skip


class TenantWriteWatch(WriteWatch):
    """A :class:`WriteWatch` that also takes one organization's rows
    (world.tenant_snapshot) before the first write: :meth:`tenant_written` names the
    tables where that organization's rows changed."""

    def __init__(self, organization: Any) -> None:
        super().__init__()
        self.organization = organization
        self.tenant_before: dict[str, Any] | None = None

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.tenant_before is None and not self._inside and _WRITE.match(sql):
            self._inside = True
            try:
                self.tenant_before = tenant_snapshot(self.organization)
            finally:
                self._inside = False
        return super().__call__(execute, sql, params, many, context)

    def tenant_written(self) -> list[str]:
        if self.tenant_before is None:
            return []
        return changed(self.tenant_before, tenant_snapshot(self.organization))


def wire_repr(value: bytes | str, limit: int = 160) -> str:
    text = value if isinstance(value, str) else value.decode("latin-1")
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


# --- schemathesis: hostile cases -------------------------------------------------------------

#: Refused everywhere (NUL, surrogates of both halves).
ALWAYS_CHARS = "\x00\ud800\udbff\udc00\udfff"
#: Refused in identifiers: C0, DEL, C1, bidi overrides and isolates, zero-width, BOM, the
#: Arabic letter mark, the line separator.
IDENTIFIER_CHARS = "\x01\x1b\x7f\x85\x9f\u200b\u200d\u202e\u2066\ufeff\u061c\u2028"
#: Nothing visible: an id made only of these is refused (a Hangul filler is a letter).
INVISIBLE_CHARS = "\u200b\u2063\u3164\u115f\ufe0f\u180e"
#: Integers in odd spellings, as a JSON value (strings, floats, a boolean) or as text.
ODD_JSON_INTEGERS: list[Any] = [
    "\u0661", "\uff11", "1_0", " 1 ", "1e3", "1e-400", "1.0", 1000.0, 1.0, 1e-300, True,
]  # fmt: skip
ODD_TEXT_INTEGERS = list(FORM_INTEGERS.values())
#: The header that tells the checks what a hostile case carries: "refuse", "free" or
#: "gap <name>" (a known gap of test_hostile_input), then what was changed where.
MARK = "X-Hostile-Probe"

_OPERATIONS: dict[tuple[str, str], Operation] = {}


def operation_of(method: str, template: str) -> Operation | None:
    if not _OPERATIONS:
        _OPERATIONS.update({(op.method, op.template): op for op in operations()})
    return _OPERATIONS.get((method.lower(), template))


def schema_at(op: Operation | None, where: str, at: tuple[Any, ...], media: str | None) -> Any:
    """The resolved schema of the value at ``at`` (None where the schema says nothing)."""
    if op is None:
        return None
    if where == QUERY:
        node = op.query_params.get(str(at[0]))
        at = at[1:]
    elif where == PATH:
        return op.path_params.get(str(at[0]))
    else:
        node = op.bodies.get(media or "")
    schema = annotated_schema()
    for part in at:
        if node is None:
            return None
        node = resolve(schema, node)
        children = (
            {"items": node.get("items")} if isinstance(part, int) else node.get("properties", {})
        )
        node = children.get("items" if isinstance(part, int) else part)
    return resolve(schema, node) if node is not None else None


def strict_at(op: Operation | None, where: str, at: tuple[Any, ...], media: str | None) -> bool:
    """Whether the value at ``at`` refuses IDENTIFIER-rank characters (see Slot.strict):
    path ids, IdFields (and parameters of their names), enums, formats, numbers. A value
    the schema does not declare (an extra key, a metadata entry) is free text."""
    if where == PATH:
        return str(at[0]) not in FREE_PATH_PARAMETERS
    node = schema_at(op, where, at, media)
    if node is None:
        return False
    names = [p for p in at if isinstance(p, str)]
    if node.get("x-identifier") or (names and names[-1] in identifier_names()):
        return True
    if node.get("type") == "array":
        node = resolve(annotated_schema(), node.get("items", {}))
    strict, _ = _strictness(node, "")
    return strict or node.get("type") in ("integer", "number", "boolean")


def _leaves(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every leaf and every object (for its keys) in a JSON-like value."""
    if isinstance(value, dict):
        yield at, value
        for key, child in value.items():
            yield from _leaves(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*at, index))
    else:
        yield at, value


def _get(value: Any, at: tuple[Any, ...]) -> Any:
    for part in at:
        value = value[part]
    return value


def _set(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    _get(value, at[:-1])[at[-1]] = new
    return value


def _insert(draw: Any, st: Any, text: str, chars: str, *, invisible: bool) -> str:
    """``text`` with a hostile character at a drawn position (start, middle, end), or the
    character alone, or (``invisible``) a string of nothing visible."""
    modes = ["insert", "insert", "alone", *(["invisible"] if invisible else [])]
    mode = draw(st.sampled_from(modes))
    if mode == "invisible":
        return draw(st.text(alphabet=INVISIBLE_CHARS, min_size=1, max_size=4))
    char = draw(st.sampled_from(chars))
    if mode == "alone":
        return char * draw(st.integers(1, 3))
    index = draw(st.integers(0, len(text)))
    return text[:index] + char + text[index:]


def hostile_case_strategy(case: Any) -> Any:
    """A hypothesis strategy of ``case`` with one or two hostile changes: a hostile
    character at any position of any string (path, query, body at every depth, object
    keys), an invisible-only string, or an integer in an odd spelling; the change and
    whether it must be refused go in the :data:`MARK` header."""
    from hypothesis import strategies as st

    @st.composite
    def mutate(draw: Any) -> Any:
        op = operation_of(case.method, case.path)
        media = case.media_type
        json_body = media == "application/json"
        form_body = media == "application/x-www-form-urlencoded"
        multipart_body = media == "multipart/form-data"
        # An operation that also takes its body raw (an avatar) reads no form fields.
        raw_upload = op is not None and any(
            m.startswith("image/") or m == "application/octet-stream" for m in op.bodies
        )
        slots: list[tuple[str, tuple[Any, ...]]] = []
        for name in case.path_parameters or {}:
            slots.append((PATH, (name,)))
        for name, value in (case.query or {}).items():
            for at, leaf in _leaves(value, (name,)):
                # A value, or an item of a repeated parameter (a list of lists is sent
                # as its Python spelling: nothing a client would send).
                scalar = isinstance(leaf, (str, int)) and not isinstance(leaf, bool)
                if scalar and (len(at) == 1 or (len(at) == 2 and isinstance(at[1], int))):
                    slots.append((QUERY, at))
        if isinstance(case.body, dict) and (json_body or form_body or multipart_body):
            for at, leaf in _leaves(case.body):
                # Forms: top-level fields and list items only (as clients send them).
                if not json_body and (len(at) > 2 or (len(at) == 2 and isinstance(at[1], str))):
                    continue
                if isinstance(leaf, dict):
                    if json_body or not at:
                        slots.append((KEY, at))
                elif isinstance(leaf, str) or (
                    isinstance(leaf, int) and not isinstance(leaf, bool)
                ):
                    node = schema_at(op, BODY, at, media) if at else None
                    if multipart_body and (node or {}).get("format") == "binary":
                        continue  # a file's content: any bytes are valid there
                    slots.append((BODY, at))
        if (form_body or multipart_body) and op is not None and isinstance(case.body, dict):
            # A list or an object may come as JSON text in one form field (apps.core.fields):
            # its strings are decoded after the form checks.
            for name, prop in op.bodies.get(media or "", {}).get("properties", {}).items():
                if resolve(annotated_schema(), prop).get("type") in ("array", "object"):
                    slots.append((FORM_JSON, (name,)))
        if not slots:
            return case
        refuse, notes, gaps = False, [], []
        # Bodies and queries first: a changed path id is a 404 before any code runs.
        weighted = [s for s in slots for _ in range({PATH: 1, QUERY: 3}.get(s[0], 4))]
        chosen = [draw(st.sampled_from(weighted))]
        # A second change elsewhere (not inside the value the first one changed).
        others = [s for s in weighted if _root(s) != _root(chosen[0])]
        if others and draw(st.booleans()):
            chosen.append(draw(st.sampled_from(others)))
        for where, at in chosen:
            # A lone surrogate goes as a JSON escape, or as its 3 UTF-8 bytes in a URL or
            # an urlencoded body; a multipart body carries NUL.
            surrogates = where in (PATH, QUERY) or json_body or form_body
            always = ALWAYS_CHARS if surrogates else "\x00"
            node = schema_at(op, where, at, media) if where != KEY else None
            item = resolve(annotated_schema(), node.get("items", node)) if node else {}
            integer = where in (BODY, QUERY) and item.get("type") == "integer"
            pick = draw(st.sampled_from(["always", "identifier", *(["integer"] * integer)]))
            chars = always if pick == "always" else IDENTIFIER_CHARS
            if where == FORM_JSON:
                name = at[0]
                kind = resolve(annotated_schema(), schema_at(op, BODY, at, media) or {})
                inner = _insert(draw, st, "acme", ALWAYS_CHARS + IDENTIFIER_CHARS, invisible=True)
                as_key = kind.get("type") == "object" and draw(st.booleans())
                value: Any = {inner: "v"} if as_key else {"k": inner}
                if kind.get("type") == "array":
                    value = [inner]
                text = json.dumps(value)  # escapes: \u0000, \ud800
                case.body[name] = text
                items = resolve(annotated_schema(), kind.get("items", {}))
                strict = kind.get("type") == "array" and strict_at(op, BODY, (name, 0), media)
                refused = bool(set(inner) & set(ALWAYS_CHARS)) or items.get("type") == "integer"
                if not refused and strict and trimmed_away(inner):
                    gaps.append("identifier-trim")
                elif not refused and strict:
                    refused = identifier_problem(inner) is not None
                refuse = refuse or refused
                notes.append(f"JSON in form field {name}: {text}")
                continue
            if where == KEY:
                if not json_body:
                    chars = "\x00" if pick == "always" else IDENTIFIER_CHARS
                key = draw(st.sampled_from(["k", "text", "x-y"]))
                key = _insert(draw, st, key, chars, invisible=False)
                _get(case.body, at)[key] = "v"
                hit = any(c in key for c in ALWAYS_CHARS)
                if hit and multipart_body and raw_upload:
                    gaps.append("avatar-raw-body")  # a known gap: test_hostile_input.API_GAPS
                    hit = False
                refuse = refuse or hit
                notes.append(f"key at {list(at)}: {key!r}")
                continue
            container = {PATH: case.path_parameters, QUERY: case.query, BODY: case.body}[where]
            old = _get(container, at)
            strict = strict_at(op, where, at, media)
            refused_before = refuse
            if pick == "integer":
                json_value = json_body and where == BODY
                new: Any = draw(st.sampled_from(ODD_JSON_INTEGERS if json_value
                                                else ODD_TEXT_INTEGERS))  # fmt: skip
                refuse = True
            else:
                text = _unquote(str(old)) if where == PATH else str(old)
                new = _insert(draw, st, text, chars, invisible=pick == "identifier")
                if pick == "identifier" and strict and where != PATH and trimmed_away(new):
                    gaps.append("identifier-trim")  # a known gap: test_hostile_input.API_GAPS
                    strict = False
                refuse = refuse or pick == "always" or strict
            if where == BODY and multipart_body and raw_upload:
                # a body read raw reads no multipart field, its value no more than its name
                gaps.append("avatar-raw-body")  # a known gap: test_hostile_input.API_GAPS
                refuse = refused_before
            notes.append(f"{where} {list(at)}: {new!r}")
            if where == PATH:
                new = pct(new)
            elif isinstance(new, str) and (where == QUERY or form_body):
                new = utf8(new)
            _set(container, at, new)
        headers = dict(case.headers or {})
        note = " | ".join(notes).encode("unicode_escape").decode("ascii")
        verdict = "refuse" if refuse else f"gap {','.join(gaps)}" if gaps else "free"
        headers[MARK] = f"{verdict}; {note[:500]}"
        case.headers = headers
        return case

    return mutate()


def trimmed_away(value: str) -> bool:
    """Whether the only characters of ``value`` that an identifier refuses sit at its ends,
    where ``str.strip()`` (DRF's trim_whitespace) removes them first (U+0085, U+001C to
    U+001F, U+2028...): the known gap "identifier-trim" of test_hostile_input."""
    stripped = value.strip()
    return stripped != value and bool(stripped) and identifier_problem(stripped) is None


def _root(slot: tuple[str, tuple[Any, ...]]) -> tuple[str, Any]:
    """The container and top-level name a change goes into (body, keys and JSON in a form
    field share the body's)."""
    where, at = slot
    return ("body" if where in (BODY, KEY, FORM_JSON) else where, at[0] if at else None)


def _unquote(text: str) -> str:
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def hostile_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schemathesis check: a hostile case marked "refuse" gets a 4xx, and every 4xx
    of a surface is its error body (surfaces.py) with a code it can answer."""
    mark = (case.headers or {}).get(MARK, "")
    status = response.status_code
    if mark.startswith("refuse") and not 400 <= status < 500:
        raise AssertionError(f"hostile input accepted with {status}: {mark}")
    if 400 <= status < 500:
        problem = error_problem(case.path, response)
        if problem:
            raise AssertionError(f"{status}: {problem}: {mark}")
    return None
