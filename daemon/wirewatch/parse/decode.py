"""Bytes to text, refusing what is not text.

Nearly every inbox file is UTF-8, so UTF-8 is tried first and the costly
detector only runs when that fails. Binary files (images, archives, office
documents dropped by mistake) are refused up front: decoding them with a
permissive single-byte codec would "succeed" and store garbage as news.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from wirewatch.models import ParseError

MAX_CONTROL_SHARE = 0.10
"""Text files have next to no C0 control bytes; more than this is binary."""

MAX_CHAOS_GAP = 0.1
"""How much messier than the detector's favourite Windows-1252 may read and
still be preferred (see :func:`_fallback`)."""

PREFERRED_LEGACY = "cp1252"

_CONTROL_BYTES = bytes(range(0x00, 0x09)) + b"\x0b" + bytes(range(0x0E, 0x20)) + b"\x7f"
_ALL_BYTES = bytes(range(256))
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")


def decode(data: bytes) -> str:
    """Decode file bytes to text with ``\\n`` line ends and no BOM.

    Raises ``ParseError`` with reason ``empty``, ``binary`` or ``undecodable``.
    """
    if not data.strip():
        raise ParseError("empty", detail=f"{len(data)} bytes of whitespace")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _normalise(_check_chars(_decode_utf16(data)))
    if b"\x00" in data:
        raise ParseError("binary", detail="NUL bytes")
    controls = len(data) - len(data.translate(_ALL_BYTES, delete=_CONTROL_BYTES))
    if controls > MAX_CONTROL_SHARE * len(data):
        raise ParseError("binary", detail=f"{controls} control bytes in {len(data)}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _mostly_utf8(data) or _check_chars(_fallback(data))
    return _normalise(text)


MIN_GOOD_PER_BAD = 4
"""Valid non-ASCII characters needed per invalid sequence to call a file UTF-8."""


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few damaged sequences (a truncated copy, one bad byte).

    Such a file is UTF-8 with scratches, not a legacy code page: read it as
    UTF-8 with U+FFFD for the damage, rather than letting a detector turn
    every accented letter into CJK. A legacy file has no valid multi-byte
    sequences at all, so it never passes this test.
    """
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if c > "\x7f") - bad
    return text if good >= MIN_GOOD_PER_BAD * bad else None


def _decode_utf16(data: bytes) -> str:
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise ParseError("undecodable", detail=f"bad UTF-16: {exc}") from exc


def _fallback(data: bytes) -> str:
    """Decode non-UTF-8 bytes with the encoding charset-normalizer finds.

    On short, mostly English files the detector's first choice is often a
    far-fetched code page (the BBC's "£15.8m" in Windows-1252 comes out as
    Japanese cp932 with a half-width bracket). Windows-1252 is by far the
    commonest legacy encoding of news copy, so it wins whenever the detector
    lists it as plausible and it reads nearly as cleanly as the favourite.
    """
    try:
        matches = list(from_bytes(data))
    except Exception as exc:
        raise ParseError("undecodable", detail=repr(exc)) from exc
    if not matches:
        raise ParseError("undecodable", detail="no plausible encoding")
    least_chaos = min(m.chaos for m in matches)
    for match in matches:
        if (
            PREFERRED_LEGACY in match.could_be_from_charset
            and match.chaos <= least_chaos + MAX_CHAOS_GAP
        ):
            try:
                return data.decode(PREFERRED_LEGACY)
            except UnicodeDecodeError:
                break
    best = matches[0]
    try:
        return str(best)
    except Exception as exc:
        raise ParseError("undecodable", detail=f"{best.encoding}: {exc!r}") from exc


def _check_chars(text: str) -> str:
    """Refuse decoded text that is mostly control characters."""
    if not text:
        return text
    controls = sum(
        1 for c in text if (c < " " or "\x7f" <= c <= "\x9f") and c not in _TEXT_CONTROLS
    )
    if controls > MAX_CONTROL_SHARE * len(text):
        raise ParseError("binary", detail=f"{controls} control characters in {len(text)}")
    return text


def _normalise(text: str) -> str:
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ParseError("empty", detail="only whitespace")
    return text
