"""The one bytes-to-text policy: BOM, HTTP charset, declaration, UTF-8, detection, cp1252."""

from __future__ import annotations

import pytest

from tidings.ingest.encoding import codec_name, decode_text, is_binary, is_empty, sniff_declared_charset

SPANISH = "El niño comió paella en la playa durante el verano, y la señora pidió café. " * 8
RUSSIAN = "Городской совет обсудил ремонт набережной и новые правила парковки в центре. " * 8


def test_a_bom_wins_over_every_label() -> None:
    assert decode_text("\ufeffcafé".encode(), "iso-8859-5") == "café"
    assert decode_text("\ufeffcafé".encode("utf-16-le"), "utf-8") == "café"
    assert decode_text("\ufeffcafé".encode("utf-16-be")) == "café"


def test_the_http_charset_comes_before_the_declared_one() -> None:
    data = '<meta charset="iso-8859-5"><p>Москва</p>'.encode("koi8-r")
    assert decode_text(data, "koi8-r") == '<meta charset="iso-8859-5"><p>Москва</p>'


def test_declarations_in_xml_prologs_and_meta_tags() -> None:
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head>Москва'
    assert decode_text(page.encode("koi8-r")).endswith("Москва")
    xml = '<?xml version="1.0" encoding="windows-1251"?><rss><title>Москва</title></rss>'
    assert "Москва" in decode_text(xml.encode("cp1251"))
    assert sniff_declared_charset(b"<?xml version='1.0' encoding='ISO-8859-2'?><a/>") == "iso-8859-2"
    assert sniff_declared_charset(b"no markup here, charset=koi8-r") is None


def test_declarations_are_ignored_outside_markup() -> None:
    data = '<meta charset="koi8-r"> Crónica'.encode("cp1252")
    assert decode_text(data, markup=False) == '<meta charset="koi8-r"> Crónica'


def test_valid_utf8_beats_a_latin1_label_but_not_other_labels() -> None:
    assert decode_text("Crónica".encode(), "ISO-8859-1") == "Crónica"
    assert decode_text('<meta charset="windows-1252">Crónica'.encode()).endswith("Crónica")
    assert decode_text("Москва".encode("koi8-r"), "koi8-r") == "Москва"


def test_a_label_that_does_not_fit_the_bytes_falls_through() -> None:
    assert decode_text("café".encode(), "ascii") == "café"
    assert decode_text(b"caf\xe9", "x-unknown-charset") == "café"


def test_utf7_is_refused_so_it_cannot_smuggle_markup() -> None:
    page = b'<meta charset="utf-7"><title>+ADw-script+AD4-</title>'
    assert "<script>" not in decode_text(page)
    assert codec_name("UTF-7") is None
    assert codec_name("latin1") == "iso8859-1"
    assert codec_name("no-such-charset") is None


@pytest.mark.parametrize(
    "label", ["punycode", "undefined", "idna", "unicode_escape", "utf-16", "utf-32", "cp037"]
)
def test_a_declaration_naming_no_usable_encoding_is_ignored(label: str) -> None:
    # punycode, idna and undefined raised out of decoding; unicode_escape would unescape "\\u003c" into "<";
    # a BOM-less UTF-16, UTF-32 or EBCDIC label was itself read as ASCII, so it cannot be right.
    page = f'<meta charset="{label}"><title>Caf\u00e9 \\u003cb\\u003e</title>'.encode()
    assert decode_text(page) == page.decode("utf-8")
    assert codec_name(label) is None or label in ("utf-16", "utf-32", "cp037")


def test_detection_reads_long_undeclared_texts() -> None:
    assert decode_text(SPANISH.encode("latin-1")) == SPANISH
    assert "набережной" in decode_text(RUSSIAN.encode("cp1251"))


def test_short_undeclared_non_utf8_is_read_as_cp1252() -> None:
    assert decode_text("año “ok”".encode("cp1252")) == "año “ok”"


def test_decoding_never_raises() -> None:
    text = decode_text(bytes(range(256)) * 4, "utf-8")
    assert isinstance(text, str) and text


@pytest.mark.parametrize(
    ("data", "binary"),
    [
        (b"plain text\n", False),
        ("\ufeffwide".encode("utf-16-le"), False),
        (b"\x89PNG\r\n\x1a\n....", True),
        (b"%PDF-1.7", True),
        (b"text with a NUL\x00 in it", True),
        (bytes(range(1, 9)) * 50 + b"text", True),
        (b"a\tb\r\nc\x0cd\x1be", False),
        (b"", False),
    ],
)
def test_is_binary(data: bytes, binary: bool) -> None:
    assert is_binary(data) is binary


def test_is_empty() -> None:
    assert is_empty(b"\xef\xbb\xbf \n\t")
    assert is_empty(b"\xff\xfe\x00\x00")
    assert not is_empty(b"\xef\xbb\xbfx")
