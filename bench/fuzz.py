"""Coverage-guided fuzzing (atheris/libFuzzer) of the ingest entry points: feed, OPML, JSONL, text and HTML.

    python bench/fuzz.py feed --seconds 600               # one target, ten minutes
    python bench/fuzz.py all --seconds 3600 --corpus fuzz-corpus
    python bench/fuzz.py html --seconds 60 -- -max_len=200000  # extra libFuzzer flags after --

A target fails only on an exception that the entry point's contract does not allow (every entry point turns
bad input into warnings, a documented error type or an empty result). libFuzzer writes the crashing input as
`crash-<sha1>` into --artifacts; each one becomes a regression test in tests/hostile/.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

TARGETS = ("feed", "opml", "jsonl", "text", "html")

# Seeds written for the fuzzer: one small valid input per kind, so mutation starts from real structure.
SEEDS: dict[str, list[bytes]] = {
    "feed": [
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>A</title>'
        b"<link>https://a.example/1</link><pubDate>Mon, 01 Apr 2024 10:00:00 GMT</pubDate>"
        b"<description>&lt;p&gt;Body&lt;/p&gt;</description></item></channel></rss>",
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>A</title>'
        b'<link href="https://a.example/2"/><id>urn:1</id><updated>2024-04-01T10:00:00Z</updated>'
        b'<content type="html">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>',
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [{"id": "1", '
        b'"url": "https://a.example/3", "title": "A", "content_html": "<p>x</p>", "tags": ["t"]}]}',
    ],
    "opml": [
        b'<?xml version="1.0"?><opml version="2.0"><head><title>S</title></head><body>'
        b'<outline text="News">'
        b'<outline text="A" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"/>'
        b"</outline></body></opml>",
    ],
    "jsonl": [
        b'{"url": "https://a.example/1", "title": "A", "text": "Body text.", "tags": ["x"]}\n'
        b'{"url": "https://a.example/2", "title": "B", "html": "<p>Body</p>", "published_at": "2024"}\n',
    ],
    "text": [
        b"Title line\n\nFirst paragraph of the article.\n\nSecond paragraph, with a link https://a.example/."
    ],
    "html": [
        b'<html lang="en"><head><title>A | Site</title><link rel="canonical" href="https://a.example/1">'
        b'<meta property="og:image" content="https://a.example/i.jpg"><script type="application/ld+json">'
        b'{"@type": "NewsArticle", "headline": "A", "datePublished": "2024-04-01"}</script></head>'
        b'<body><article><h1>A</h1><p class="byline">By B</p><p>Body <a href="/x">link</a></p></article>'
        b"</body></html>",
    ],
}


def target_function(name: str) -> Callable[[bytes], None]:
    """The function libFuzzer calls with each input for a target."""
    from tidings.ingest.documents import DocumentError, RawItem, read_jsonl
    from tidings.ingest.encoding import decode_text
    from tidings.ingest.feeds import parse_feed
    from tidings.ingest.opml import OpmlError, parse_opml_checked
    from tidings.pipeline.prepare import prepare_item

    def feed(data: bytes) -> None:
        parsed = parse_feed(data, "https://fuzz.example/feed")
        for entry in parsed.entries[:5]:
            content = entry.content_html or entry.summary_html or ""
            prepare_item(
                RawItem(origin="fuzz", title=entry.title, url=entry.url, html=content, is_fragment=True)
            )

    def opml(data: bytes) -> None:
        with contextlib.suppress(OpmlError):
            parse_opml_checked(data)

    def jsonl(data: bytes) -> None:
        try:
            doc = read_jsonl(data, "fuzz")
        except DocumentError:
            return
        for item in doc.items[:5]:
            prepare_item(item)

    def text(data: bytes) -> None:
        text = decode_text(data, markup=False)
        prepare_item(RawItem(origin="fuzz", url="https://fuzz.example/t", text=text))

    def html(data: bytes) -> None:
        prepare_item(RawItem(origin="fuzz", url="https://fuzz.example/p", html=decode_text(data)))

    return {"feed": feed, "opml": opml, "jsonl": jsonl, "text": text, "html": html}[name]


def run_target(name: str, libfuzzer_args: list[str]) -> None:
    """Run one target in this process until libFuzzer stops (time limit or crash); never returns."""
    import atheris

    with atheris.instrument_imports(include=["tidings"]):
        function = target_function(name)
    atheris.Setup([sys.argv[0], *libfuzzer_args], function)
    atheris.Fuzz()


def launch(name: str, seconds: int, corpus: Path, artifacts: Path, extra: list[str]) -> int:
    """Fuzz one target in a child process (libFuzzer exits the process when done); its exit status."""
    seeds = corpus / name
    seeds.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(SEEDS[name]):
        (seeds / f"seed-{i}").write_bytes(seed)
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [
        f"-max_total_time={seconds}",
        "-timeout=20",
        "-rss_limit_mb=2048",
        "-max_len=65536",
        f"-artifact_prefix={artifacts}/{name}-",
        "-print_final_stats=1",
        *extra,
        str(seeds),
    ]
    command = [sys.executable, __file__, "--run", name, "--", *args]
    return subprocess.run(command, check=False).returncode


def main() -> int:
    """Parse the command line and fuzz the chosen targets one after another."""
    if len(sys.argv) > 2 and sys.argv[1] == "--run":  # the child process: libFuzzer owns the rest of argv
        run_target(sys.argv[2], [a for a in sys.argv[3:] if a != "--"])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", choices=[*TARGETS, "all"], nargs="?")
    parser.add_argument("--seconds", type=int, default=600, help="time per target")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (kept between runs)")
    parser.add_argument("--artifacts", type=Path, default=Path("fuzz-artifacts"), help="where crashes go")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    if not args.target:
        parser.error("a target is required")
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix="tidings-fuzz-"))
    failed = []
    for name in TARGETS if args.target == "all" else (args.target,):
        if launch(name, args.seconds, corpus, args.artifacts.resolve(), extra) != 0:
            failed.append(name)
    print(f"fuzzed {args.target}: {'crashes in ' + ', '.join(failed) if failed else 'no crash'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
