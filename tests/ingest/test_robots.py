"""robots.txt through protego: `*` and `$` patterns, longest match, and junk treated as no rules."""

from __future__ import annotations

import pytest

from tidings.ingest.robots import is_allowed_by, parse_robots

AGENT = "Tidings/1.0 (+https://tidings.example)"
RULES = b"""
User-agent: *
Disallow: /*.pdf$
Disallow: /private*
Disallow: /search?q=*&page=
Allow: /private/open$

User-agent: Tidings
Disallow: /members/
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/news/report.pdf", False),  # `$` anchors the end: the stdlib parser ignored both
        ("/news/report.pdf?download=1", True),
        ("/news/report.pdfx", True),
        ("/private-notes", False),
        ("/private/open", True),  # the longer Allow wins
        ("/private/open/more", False),
        ("/search?q=ferry&page=2", False),
        ("/news/ferry", True),
    ],
)
def test_wildcards_and_end_anchors(path: str, allowed: bool) -> None:
    rules = parse_robots(RULES.replace(b"User-agent: Tidings", b"User-agent: SomeoneElse"))
    assert is_allowed_by(rules, AGENT, f"https://news.example{path}") is allowed


def test_our_own_group_applies_to_us() -> None:
    rules = parse_robots(RULES)
    assert not is_allowed_by(rules, AGENT, "https://news.example/members/area")
    assert is_allowed_by(rules, AGENT, "https://news.example/news/report.pdf")  # our group replaces `*`


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"",
        b"\xff\xfe\x00garbage",
        b"Disallow /no-colon\n" * 1000,
        b"User-agent: *\nDisallow: " + b"*" * 50_000,
    ],
)
def test_missing_or_junk_robots_never_crash(body: bytes | None) -> None:
    assert isinstance(is_allowed_by(parse_robots(body), AGENT, "https://news.example/a"), bool)
