"""Request bodies at the door: framed, bounded, and never read as empty by mistake.

Django sizes a request body by ``CONTENT_LENGTH`` alone (missing means 0), so a body
sent with ``Transfer-Encoding: chunked`` and no ``Content-Length`` (curl, Go and Node
clients send these) would reach the views as an *empty* body: an avatar PUT would
delete the avatar, a DELETE would act on the query string instead of the body. And
Django reads a multipart body whole, whatever its size, before any view can refuse it.
Two layers close that door:

- :class:`ChunkedBodyMiddleware`, the WSGI application of ``chatadmin.wsgi`` (gunicorn
  and ``manage.py runserver`` both load it through ``WSGI_APPLICATION``). A chunked
  request without ``Content-Length``:

  - if the server de-chunked the input (``wsgi.input_terminated``, which gunicorn
    sets), its body is read into a spooled temporary file (in memory up to
    ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then on disk), at most :func:`max_body_bytes` + 1
    bytes: over the cap it is 413 ``payload_too_large``; else ``CONTENT_LENGTH`` is set
    to what was read and Django reads the spooled copy;
  - if it did not (wsgiref, i.e. ``runserver``), 411 ``length_required``: the input is
    still chunk-framed and Django cannot read it;
  - a transfer coding other than ``chunked`` (``gzip, chunked``): 400
    ``malformed_body``; nothing here could decode it.

- :class:`BodyFramingMiddleware`, in ``settings.MIDDLEWARE`` right after the database
  one, before anything reads a body: the safety net for an entry point that did not go
  through the WSGI wrapper (the test client, another server), and the ``Content-Length``
  check for everyone. A chunked request still without ``Content-Length``: 411
  ``length_required``; a ``Content-Length`` that is not a non-negative decimal integer:
  400 ``malformed_body``; one above :func:`max_body_bytes`: 413 ``payload_too_large``
  from the header alone, before a byte of the body is read.

The cap is one number, :func:`max_body_bytes`: the largest upload limit of
``settings.CHATADMIN`` (file, image, avatar) plus ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(``CHATADMIN_MAX_BODY_BYTES``) for the other fields and the multipart framing. It bounds
every body; the tighter limits still apply behind it: JSON and form bodies are refused
above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` by Django (from ``Content-Length``, before
reading), an avatar body is read at most ``MAX_AVATAR_BYTES`` + 1 bytes, and an uploaded
file above its kind's limit is 413 from the service. Both layers answer in the
surface's dialect (:func:`apps.core.dialects.error_response`). docs/api.md, "Limits".
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.conf import settings
from django.core.handlers.wsgi import get_path_info, get_script_name
from django.http import HttpRequest, HttpResponse

from apps.core.dialects import error_response

#: The per-kind upload limits of ``settings.CHATADMIN`` that the cap must admit.
UPLOAD_LIMITS = ("MAX_FILE_BYTES", "MAX_IMAGE_BYTES", "MAX_AVATAR_BYTES")
#: Room for the non-file fields and the framing when DATA_UPLOAD_MAX_MEMORY_SIZE is None.
_DEFAULT_FIELDS_ROOM = 1024 * 1024
#: Bytes asked of ``wsgi.input`` at a time while spooling a chunked body.
READ_BLOCK = 64 * 1024

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]

_ONLY_CHUNKED = "Only the chunked transfer coding is supported."
_BOTH_FRAMINGS = "Content-Length and Transfer-Encoding: chunked cannot be sent together."
_BAD_LENGTH = "The Content-Length header is not a non-negative integer."


def max_body_bytes() -> int:
    """The largest request body the server reads at all (any method, any Content-Type):
    the largest upload limit plus ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    largest = max(int(settings.CHATADMIN.get(name, 0)) for name in UPLOAD_LIMITS)
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return largest + (_DEFAULT_FIELDS_ROOM if fields is None else int(fields))


def transfer_codings(meta: WSGIEnviron) -> list[str]:
    """``Transfer-Encoding`` as a list of lower-case codings (repeated headers arrive
    comma-joined): ``"gzip, Chunked"`` -> ``["gzip", "chunked"]``."""
    raw = str(meta.get("HTTP_TRANSFER_ENCODING") or "")
    return [coding.strip(" \t").lower() for coding in raw.split(",") if coding.strip(" \t")]


def _has_length(meta: WSGIEnviron) -> bool:
    # Absent and empty are the same: CGI-style servers send CONTENT_LENGTH="" for none.
    return bool(meta.get("CONTENT_LENGTH"))


def framing_error(meta: WSGIEnviron) -> tuple[str, str | None] | None:
    """Why the framing of this request (its WSGI environ or ``request.META``) is refused,
    as (catalog code, message or None for the catalog's), or None if it is acceptable.
    Looks at the headers only: nothing is read."""
    codings = transfer_codings(meta)
    if codings:
        if codings != ["chunked"]:
            return "malformed_body", _ONLY_CHUNKED
        if not _has_length(meta):
            return "length_required", None  # the body would be read as empty
        if not meta.get("wsgi.input_terminated"):
            # Both framings, and no server said which one it used (RFC 9112, 6.3).
            return "malformed_body", _BOTH_FRAMINGS
    if _has_length(meta):
        length = str(meta["CONTENT_LENGTH"])
        if not (length.isascii() and length.isdigit()):
            return "malformed_body", _BAD_LENGTH
        digits = length.lstrip("0")
        # (a bound on the digits first: int() refuses strings of over 4,300 digits)
        if len(digits) > 18 or int(digits or "0") > max_body_bytes():
            return "payload_too_large", None
    return None


class BodyFramingMiddleware:
    """Refuse, before anything reads the body, a body that cannot be read right or is
    over the cap (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = framing_error(request.META)
        if refused is not None:
            code, message = refused
            return error_response(request, code, message)
        return self.get_response(request)


# --- the WSGI layer -----------------------------------------------------------------------


def _path(environ: WSGIEnviron) -> str:
    """``request.path`` as Django will compute it (the error dialect goes by it)."""
    path_info = get_path_info(environ)
    return "{}/{}".format(get_script_name(environ).rstrip("/"), path_info.replace("/", "", 1))


def _refuse(
    environ: WSGIEnviron, start_response: StartResponse, code: str, message: str | None = None
) -> Iterable[bytes]:
    """``error_response`` as a WSGI response, and the connection closed after it: the
    rest of the body is unread (still chunk-framed under runserver), so nothing more may
    be parsed from that connection. The application may not send ``Connection: close``
    (a hop-by-hop header), but a response of unknown length gets it from Django's
    runserver (hence an iterator, not a one-item list, whose length wsgiref would set);
    gunicorn's sync workers close every connection."""
    response = error_response(_path(environ), code, message)
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return iter([response.content])


def _spool(source: IO[bytes], limit: int) -> tuple[tempfile.SpooledTemporaryFile, int]:
    """Copy ``source`` until its end or ``limit`` bytes, whichever comes first, into a
    spooled temporary file (rewound); returns it and the number of bytes copied."""
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115  (outlives this function)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    size = 0
    try:
        while size < limit:
            block = source.read(min(READ_BLOCK, limit - size))
            if not block:
                break
            spool.write(block)
            size += len(block)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, size


class _ClosingResult:
    """The application's response iterable, closing the spooled body after it."""

    def __init__(self, result: Iterable[bytes], spool: IO[bytes]) -> None:
        self.result, self.spool = result, spool

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.spool.close()


class ChunkedBodyMiddleware:
    """WSGI middleware: give a chunked body a ``Content-Length`` (reading it, within the
    cap) or refuse it; every other request passes through untouched (see the module
    docstring)."""

    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        codings = transfer_codings(environ)
        if not codings or _has_length(environ):
            # BodyFramingMiddleware judges Content-Length (and both framings at once).
            return self.application(environ, start_response)
        if codings != ["chunked"]:
            return _refuse(environ, start_response, "malformed_body", _ONLY_CHUNKED)
        if not environ.get("wsgi.input_terminated"):
            # The input is still chunk-framed (wsgiref): nothing here may read it.
            return _refuse(environ, start_response, "length_required")
        cap = max_body_bytes()
        spool, size = _spool(environ["wsgi.input"], cap + 1)
        if size > cap:
            spool.close()
            return _refuse(environ, start_response, "payload_too_large")
        environ["CONTENT_LENGTH"] = str(size)
        environ["wsgi.input"] = spool
        try:
            result = self.application(environ, start_response)
        except BaseException:
            spool.close()
            raise
        return _ClosingResult(result, spool)
