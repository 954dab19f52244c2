"""Bytes to text, one policy for every input (as miniflux's reader/encoding).

The order: a byte-order mark; the charset the server sent; the document's own declaration (an XML prolog or
an HTML ``<meta>`` near the top); valid UTF-8; charset detection; and last cp1252 with replacement, so that
decoding never fails. Also here: whether bytes are text at all (``is_binary``, ``is_empty``), the repair of
UTF-8 that something upstream already misread as cp1252/Latin-1, and the relabelling of an XML prolog whose
charset cannot be right (``fix_declared_encoding``, for feeds and OPML, which XML parsers decode themselves).
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
DECLARATION_BYTES = 4096  # declarations are near the top; WHATWG's prescan reads 1024 bytes
XML_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
META_DECLARED = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
MIN_DETECT_BYTES = 256
DETECT_SAMPLE_BYTES = 200_000  # detection reads a sample; the whole text is decoded with its answer
SINGLE_BYTE_WESTERN = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})
# Labels naming no encoding a page or feed is written in (the WHATWG Encoding Standard lists none of them):
# UTF-7 would turn "+ADw-" into markup, the escape codecs would unescape "\\u003c" into it, and punycode,
# idna and undefined raise on ordinary text.
REFUSED_CODECS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"})
# What a declaration near the top looks like: a document whose declaration was found by reading its bytes as
# ASCII can only be in an encoding that reads these bytes the same way (not UTF-16, UTF-32 or EBCDIC).
ASCII_PROBE = b'<?xml version="1.0" encoding="utf-8"?><meta charset="utf-8">'
XML_DECLARATION = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']+)(["'])""")


def decode_text(data: bytes, charset: str | None = None, *, markup: bool = True) -> str:
    """Decode bytes by BOM, the given charset, the declared one (markup only), UTF-8, detection; never raises.

    Valid non-ASCII UTF-8 wins over a Latin-1/cp1252 label: the label is far likelier wrong than the bytes.
    """
    for bom, bom_codec in BOMS:
        if data.startswith(bom):
            return data.decode(bom_codec, errors="replace")
    utf8_text = _try_decode(data, "utf-8")
    for label, in_document in ((charset, False), (sniff_declared_charset(data) if markup else None, True)):
        codec = codec_name(label)
        if codec is None or (in_document and not is_ascii_compatible(codec)):
            continue
        if codec in SINGLE_BYTE_WESTERN and utf8_text is not None and not data.isascii():
            return utf8_text
        text = _try_decode(data, codec)
        if text is not None:
            return text
    if utf8_text is not None:
        return utf8_text
    # Detection guesses wildly on a few bytes; short texts are most likely Western single-byte.
    if len(data) >= MIN_DETECT_BYTES:
        detected = detect_codec(data[:DETECT_SAMPLE_BYTES])
        if detected is not None:
            return data.decode(detected, errors="replace")
    return data.decode("cp1252", errors="replace")


def sniff_declared_charset(data: bytes) -> str | None:
    """The charset named in an XML prolog or an HTML <meta> near the top of the document."""
    head = data[:DECLARATION_BYTES]
    match = XML_DECLARED.search(head) or META_DECLARED.search(head)
    return match.group(1).decode("ascii").lower() if match else None


def codec_name(label: str | None) -> str | None:
    """The Python codec name for a charset label, or None when unknown or refused (UTF-7)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return None if name in REFUSED_CODECS else name


def is_ascii_compatible(codec: str) -> bool:
    """Whether the codec reads ASCII bytes as ASCII (so a declaration sniffed as ASCII may name it)."""
    try:
        return ASCII_PROBE.decode(codec) == ASCII_PROBE.decode("ascii")
    except (UnicodeError, LookupError):
        return False


def fix_declared_encoding(data: bytes) -> bytes:
    """Relabel as UTF-8 an XML prolog whose charset cannot be right when the bytes are UTF-8: a Latin charset
    over non-ASCII UTF-8, or a label naming no usable encoding that reads ASCII as ASCII (the prolog was just
    read that way), such as "undefined", "punycode" or a BOM-less "utf-16"."""
    match = XML_DECLARATION.match(data)
    if match is None:
        return data
    declared = codec_name(match.group(2).decode("ascii", errors="replace"))
    impossible = declared is None or not is_ascii_compatible(declared)
    if not impossible and (declared not in SINGLE_BYTE_WESTERN or data.isascii()):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return XML_DECLARATION.sub(rb"\g<1>utf-8\g<3>", data, count=1)


def detect_codec(data: bytes) -> str | None:
    """The likeliest codec of some bytes by charset detection (cp1252 among equals), or None."""
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    # Ties are common among single-byte codecs; cp1252 is by far the likeliest of equals on the web.
    for match in matches:
        if match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return codec_name(best.encoding)


def _try_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):  # UnicodeError too: some codecs raise it rather than a decode error
        return None


BINARY_SIGNATURES = (
    b"SQLite format 3",
    b"%PDF",
    b"PK\x03\x04",
    b"\x89PNG",
    b"\xff\xd8",
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"\x7fELF",
    b"\x00asm",
)
# Control bytes that text never holds (tab, newline, form feed, carriage return and ESC aside).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
MAX_CONTROL_SHARE = 0.05
SNIFF_BYTES = 8192


def is_binary(data: bytes) -> bool:
    """True for content that is not text: NULs, many control bytes or a binary signature at the head."""
    head = data[:SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 with a byte-order mark
    if b"\x00" in head or head.startswith(BINARY_SIGNATURES):
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return bool(head) and controls / len(head) > MAX_CONTROL_SHARE


def is_empty(data: bytes) -> bool:
    """True for content with nothing but whitespace after any byte-order mark."""
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        data = data.removeprefix(bom)
    return not data.replace(b"\x00", b"").strip()


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
