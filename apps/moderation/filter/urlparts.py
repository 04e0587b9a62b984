"""The parts of a URL as the whitelist compares them: the host in ASCII (IDNA 2003,
punycode) and lowercase, the path decoded and resolved (:func:`_clean_path`), the split
of a URL into host and path (:func:`_split_url`), and the file extensions that are no
top-level domain."""

from __future__ import annotations

import re
import stringprep
import unicodedata
from functools import lru_cache
from urllib.parse import unquote, urlsplit

#: Longest host a whitelist allows: a domain name has at most 253 characters.
MAX_HOST_LENGTH = 253


@lru_cache(maxsize=4096)
def _idna(host: str) -> str:
    """The host in ASCII (punycode for internationalized names), lowercase: the
    standard library's ``idna`` codec (IDNA 2003), or the host unchanged if it
    refuses. ``_fast_idna`` gives the codec's exact result for common hosts ~5 times faster."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    fast = _fast_idna(host)
    if fast is not None:
        return fast
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


# The idna codec splits on these (encodings.idna.dots).
_IDNA_DOTS = re.compile("[\u002e\u3002\uff0e\uff61]")


@lru_cache(maxsize=8192)
def _nameprep_fixed(char: str) -> bool:
    """Whether nameprep (``encodings.idna.nameprep``) leaves ``char`` alone: not
    mapped to nothing (B.1), mapped to itself (B.2), not prohibited (C.1.2-C.9; the
    codec checks these, not C.1.1/C.2.1), and not RandAL (D.1: no bidi checks)."""
    return not (
        stringprep.in_table_b1(char)
        or stringprep.map_table_b2(char) != char
        or stringprep.in_table_c12(char)
        or stringprep.in_table_c22(char)
        or stringprep.in_table_c3(char)
        or stringprep.in_table_c4(char)
        or stringprep.in_table_c5(char)
        or stringprep.in_table_c6(char)
        or stringprep.in_table_c7(char)
        or stringprep.in_table_c8(char)
        or stringprep.in_table_c9(char)
        or stringprep.in_table_d1(char)
    )


def _fast_idna(host: str) -> str | None:
    """``host.encode("idna")`` for a lowercase non-ASCII host whose labels need no
    nameprep work, else None (the caller then runs the codec itself).

    Why it is exact (encodings.idna, RFC 3490/3491): the codec splits on ``_IDNA_DOTS``
    and joins ``ToASCII(label)`` with "."; an ASCII label of 1-63 characters is kept as
    is. For a non-ASCII label, nameprep maps each character (B.1 to nothing, else B.2),
    NFKC-normalizes (Unicode 3.2), refuses prohibited characters and checks bidi only
    if there is a RandAL character. If every character is ``_nameprep_fixed`` and the
    label is NFKC-normalized (3.2), the mapping is the identity, NFKC changes nothing
    and nothing is refused: nameprep returns the label itself. ToASCII then refuses an
    ``xn--`` label (we return None), and otherwise gives "xn--" + punycode, refused
    from 64 bytes (None). Anything else (an empty label, a character nameprep would
    change) returns None. tests/moderation/test_filtering_semantics.py fuzzes this
    against the codec."""
    out = []
    for label in _IDNA_DOTS.split(host):
        if label.isascii():
            if not 0 < len(label) < 64:
                return None
            out.append(label)
            continue
        if (
            label.lower().startswith("xn--")
            or not all(map(_nameprep_fixed, label))
            or not _UCD_3_2.is_normalized("NFKC", label)
        ):
            return None
        encoded = "xn--" + _punycode(label)
        if len(encoded) >= 64:
            return None
        out.append(encoded)
    return ".".join(out)


def _punycode(label: str) -> str:
    """RFC 3492 encoding of ``label`` (the same as ``label.encode("punycode")``,
    which is ~4 times slower): basic code points, "-" if any, then the deltas."""
    codes = [ord(char) for char in label]
    output = [char for char in label if ord(char) < 0x80]
    handled = basic = len(output)
    if basic:
        output.append("-")
    n, delta, bias = 0x80, 0, 72
    for m in sorted({code for code in codes if code >= 0x80}):
        delta += (m - n) * (handled + 1)
        n = m
        for code in codes:
            if code < n:
                delta += 1
            elif code == n:
                q, k = delta, 36
                while True:
                    t = 1 if k <= bias else 26 if k >= bias + 26 else k - bias
                    if q < t:
                        break
                    digit = t + (q - t) % (36 - t)
                    output.append(_PUNY_DIGITS[digit])
                    q = (q - t) // (36 - t)
                    k += 36
                output.append(_PUNY_DIGITS[q])
                # adapt(delta, handled + 1, first time)
                delta = delta // 700 if handled == basic else delta // 2
                delta += delta // (handled + 1)
                k = 0
                while delta > 455:  # ((36 - 1) * 26) // 2
                    delta //= 35
                    k += 36
                bias = k + (36 * delta) // (delta + 38)
                delta = 0
                handled += 1
        delta += 1
        n += 1
    return "".join(output)


_PUNY_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
_UCD_3_2 = unicodedata.ucd_3_2_0


@lru_cache(maxsize=4096)
def _clean_path(path: str) -> str:
    """Decoded, lowercase, dot segments resolved, no trailing slash: how a browser
    would resolve it, so ``/docs/../admin`` is ``/admin``."""
    if (not path or path[0] == "/") and not any(c in path for c in "%\\.") and "//" not in path:
        return path.lower().rstrip("/")  # the common case, same result
    segments: list[str] = []
    for segment in unquote(path).replace("\\", "/").lower().split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments) if segments else ""


# File extensions that are not top-level domains: ``report.pdf`` is not a URL. (Real
# TLDs such as .zip, .mov, .py, .md are NOT listed: those stay URLs.)
_NOT_TLDS = frozenset(
    [
        "txt",
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "svg",
        "bmp",
        "tif",
        "tiff",
        "heic",
        "csv",
        "json",
        "xml",
        "html",
        "htm",
        "exe",
        "dll",
        "mp3",
        "mp4",
        "m4a",
        "wav",
        "flac",
        "ogg",
        "avi",
        "mkv",
        "tar",
        "gz",
        "tgz",
        "bz2",
        "rar",
        "js",
        "ts",
        "css",
        "scss",
        "yaml",
        "yml",
        "toml",
        "log",
        "ini",
        "cfg",
        "conf",
        "bak",
        "tmp",
        "jsx",
        "tsx",
        "php",
    ]
)


# The common ``scheme://host/path?query`` after the first "://": a plain host (no
# userinfo, port, IPv6 brackets or escapes) and a path without "%", "//" or "/." (no
# dot segments, nothing to decode). ``_split_url`` reads these directly.
_PLAIN_URL_REST = re.compile(r"([^/?#@:\[\]%]+)((?:/(?![/.])[^/?#%]*)*)(?:[?#].*)?", re.DOTALL)
_UNUSUAL_URL_CHAR = re.compile(r"[\\\t\r\n]")
#: A URL scheme and its "://" (RFC 3986: a letter, then letters, digits, "+", "-", ".").
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _split_url(url: str) -> tuple[str, str] | None:
    """(host, raw path) as ``urlsplit`` reads them (None if it cannot): a direct split
    for the common ``scheme://host/path`` and ``urlsplit`` for anything unusual
    (userinfo, port, IPv6, backslashes, percent-escapes, dot segments)."""
    scheme_end = url.find("://")
    if (
        scheme_end > 0
        and _SCHEME.fullmatch(url, 0, scheme_end + 3) is not None
        and _UNUSUAL_URL_CHAR.search(url) is None
    ):
        plain = _PLAIN_URL_REST.fullmatch(url, scheme_end + 3)
        if plain is not None:
            return plain[1].lower().rstrip("."), plain[2]
    try:
        parts = urlsplit(url.replace("\\", "/"))  # browsers read \ as /
        return (parts.hostname or "").rstrip("."), parts.path
    except ValueError:
        return None
