"""A real uvicorn server on loopback for UI and browser tests, and small seed articles in our own words."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from tidings.config import Settings

CSRF_PATTERN = re.compile(r'name="csrf" value="([0-9a-f]{64})"')

# Short articles written for these tests: several sources, one shared story, hostile markup.
SEED_ARTICLES = [
    {
        "url": "https://harbour-gazette.example/ferries/night-service",
        "title": "Night ferry returns to the island after winter pause",
        "text": "The night ferry to the island sailed again on Friday after a three-month winter pause.\n\n"
        "The operator said bookings were strong and that a second boat would join in spring.",
        "source": "Harbour Gazette",
        "tags": ["Transport"],
    },
    {
        "url": "https://valley-courier.example/transport/ferry-back",
        "title": "Island ferry back in service as winter timetable ends",
        "text": "Ferry crossings to the island restarted on Friday, ending the winter timetable.\n\n"
        "Passengers queued early and the first sailing left on time, the operator said.",
        "source": "Valley Courier",
        "tags": ["Transport"],
    },
    {
        "url": "https://valley-courier.example/science/comet",
        "title": "Amateur astronomers spot a faint comet over the hills",
        "text": "A club of amateur astronomers photographed a faint comet low over the hills on Tuesday "
        "night.\n\nThey said it should brighten a little over the coming week.",
        "source": "Valley Courier",
        "tags": ["Science"],
    },
    {
        "url": "https://north-ledger.example/markets/grain",
        "title": "Grain prices steady as harvest estimates hold",
        "text": "Grain prices held steady on Wednesday after the latest harvest estimates changed little.\n\n"
        "Traders said the weather outlook was the main thing to watch.",
        "source": "North Ledger",
        "tags": ["Business"],
    },
]


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_seed(folder: Path, extra: list[dict[str, object]] | None = None) -> Path:
    """Write the seed articles (plus extra ones) as a JSONL file and return its path."""
    path = folder / "seed.jsonl"
    lines = [json.dumps(a) for a in [*SEED_ARTICLES, *(extra or [])]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_settings(home: Path, seed_paths: list[Path], public_reading: bool = False) -> Settings:
    """Settings for a quiet, offline test server (signed-out reading only when `public_reading`)."""
    return Settings(
        home=home,
        seed_paths=":".join(str(p) for p in seed_paths),
        enrich=False,
        background_refresh=False,
        subscribe_starter=False,
        allow_private_networks=True,
        # Test servers let every test sign up its own readers; the sign-up policy and throttle themselves
        # are tested in tests/hostile/test_web_signup.py.
        signup_policy="open",
        signup_per_hour=10_000,
        public_reading=public_reading,
    )


@contextmanager
def running(app: FastAPI, ready: Callable[[str], bool] | None = None, timeout: float = 60) -> Iterator[str]:
    """Serve app with uvicorn on a free loopback port until `ready(base)` holds; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    check = ready or (lambda url: httpx.get(f"{url}/healthz").status_code == 200)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check(base):
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def is_seeded(base: str, expect_articles: int = 1, app: FastAPI | None = None) -> bool:
    """True once start-up seeding finished and the store holds at least `expect_articles` articles."""
    if httpx.get(f"{base}/healthz").json().get("seeding"):
        return False
    if app is None:
        return httpx.get(f"{base}/latest").text.count('class="card"') >= expect_articles
    from tidings.store import articles as article_repo

    with app.state.engine.connect() as conn:
        return len(article_repo.list_latest(conn, limit=expect_articles)) >= expect_articles


@contextmanager
def serve(settings: Settings, expect_articles: int = 1, timeout: float = 60) -> Iterator[str]:
    """Run the app on loopback until the seed is stored; yields the base URL."""
    from tidings.web.app import create_app

    app = create_app(settings)
    with running(app, lambda base: is_seeded(base, expect_articles, app), timeout) as base:
        yield base


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_up(client: httpx.Client, name: str, password: str = "correct horse battery") -> httpx.Response:
    """Create an account through the sign-up form (the client keeps the session cookie)."""
    token = csrf_of(client.get("/signup").text)
    return client.post(
        "/signup", data={"csrf": token, "name": name, "password": password, "confirm": password}
    )
