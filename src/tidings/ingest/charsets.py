"""Bytes to text: BOM, declared charsets that lie, charset detection, and repair of UTF-8 read as Latin-1."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
DECLARED_CHARSET = re.compile(rb"""(?:encoding|charset)\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
MIN_DETECT_BYTES = 256
SINGLE_BYTE_WESTERN = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})


def sniff_declared_charset(data: bytes) -> str | None:
    """The charset named in an XML prolog or HTML <meta> near the top of the document."""
    match = DECLARED_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def codec_name(label: str | None) -> str | None:
    """The Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Decode bytes using BOM, then the given/declared charset (UTF-8 wins over a false Latin-1 label)."""
    for bom, bom_codec in BOMS:
        if data.startswith(bom):
            return data.decode(bom_codec, errors="replace")
    utf8_text = _try_decode(data, "utf-8")
    for label in (charset, sniff_declared_charset(data)):
        codec = codec_name(label)
        if codec is None:
            continue
        # Valid multi-byte UTF-8 is almost never intended Latin-1: the label is wrong, not the bytes.
        if codec in SINGLE_BYTE_WESTERN and utf8_text is not None and not data.isascii():
            return utf8_text
        text = _try_decode(data, codec)
        if text is not None:
            return text
    if utf8_text is not None:
        return utf8_text
    # Detection guesses wildly on a few bytes; short texts are most likely Western single-byte.
    if len(data) >= MIN_DETECT_BYTES:
        detected = _detect(data)
        if detected is not None:
            return detected
    return data.decode("cp1252", errors="replace")


def _detect(data: bytes) -> str | None:
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    # Ties are common among single-byte codecs; cp1252 is by far the likeliest of equals on the web.
    for match in matches:
        if match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset:
            return str(match)
    return str(best)


def _try_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


# Lead bytes of 2-4 byte UTF-8 sequences as they look when misread as cp1252/Latin-1.
MOJIBAKE_HINT = re.compile(
    "[ÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßâãäåæçèéêëìíîïðñòóô][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]"
)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was misread as cp1252/Latin-1 ("cafÃ©" -> "café"); other text is kept."""
    if text.isascii() or not MOJIBAKE_HINT.search(text):
        return text
    try:
        return _misread_bytes(text).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _misread_bytes(text: str) -> bytes:
    # Decoders map the bytes cp1252 leaves undefined to C1 controls, so fall back to Latin-1 per character.
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            out += char.encode("latin-1")
    return bytes(out)
