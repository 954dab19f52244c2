"""Settings over real HTTP: feeds and OPML, controls, tokens, password, data export and account deletion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.live import csrf_of, make_settings, serve, sign_up, write_seed

PASSWORD = "correct horse battery"
OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>Mine</title></head><body>
<outline text="Local"><outline type="rss" text="Town hall notes" xmlUrl="https://town-hall.example/rss"/></outline>
<outline type="rss" text="Garden club" xmlUrl="https://garden-club.example/feed.xml"/>
<outline type="rss" text="Not a web feed" xmlUrl="ftp://old.example/feed"/>
</body></opml>"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded server for this module."""
    folder = tmp_path_factory.mktemp("ui-settings")
    (folder / "home").mkdir()
    with serve(make_settings(folder / "home", [write_seed(folder)]), expect_articles=4) as url:
        yield url


@contextmanager
def signed_in(base: str, name: str) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-up reader and the CSRF token of their settings page."""
    with httpx.Client(base_url=base, timeout=30) as c:
        sign_up(c, name)
        yield c, csrf_of(c.get("/settings").text)


def test_opml_import_adds_feeds_and_export_lists_them(base: str) -> None:
    with signed_in(base, "olga") as (c, token):
        reply = c.post(
            "/settings/opml", data={"csrf": token}, files={"file": ("mine.opml", OPML, "text/x-opml")}
        )
        assert reply.status_code == 303
        page = c.get("/settings").text
        assert "Town hall notes" in page and "Garden club" in page and "ftp://old.example" not in page
        assert "pending" in page
        exported = c.get("/settings/opml")
        assert exported.headers["content-type"].startswith("text/x-opml")
        assert "https://town-hall.example/rss" in exported.text and 'text="Local"' in exported.text


def test_bad_feed_input_is_a_clear_4xx(base: str) -> None:
    with signed_in(base, "pavel") as (c, token):
        broken = c.post(
            "/settings/opml", data={"csrf": token}, files={"file": ("x.opml", b"<opml><body>", "text/xml")}
        )
        assert broken.status_code == 422 and "not well-formed OPML" in broken.text
        empty = c.post("/settings/opml", data={"csrf": token}, files={"file": ("x.opml", b"", "text/xml")})
        assert empty.status_code == 422 and "Choose an OPML file" in empty.text
        not_opml = c.post(
            "/settings/opml", data={"csrf": token}, files={"file": ("x.opml", b"<rss/>", "text/xml")}
        )
        assert not_opml.status_code == 422 and "Traceback" not in not_opml.text
        bad_url = c.post("/settings/sources", data={"csrf": token, "url": "javascript:alert(1)"})
        assert bad_url.status_code == 422 and "not an http(s) feed URL" in bad_url.text
        good = c.post("/settings/sources", data={"csrf": token, "url": "https://weather-desk.example/rss"})
        assert good.status_code == 303 and "weather-desk.example" in c.get("/settings").text


def test_diversity_controls_validate_and_save(base: str) -> None:
    with signed_in(base, "quinn") as (c, token):
        values = {"source_cap": "0.4", "topic_cap": "0.6", "mmr_lambda": "0.5", "exploration_share": "0.2"}
        assert c.post("/settings/controls", data={"csrf": token, **values}).status_code == 303
        page = c.get("/settings").text
        assert (
            'id="mmr_lambda" name="mmr_lambda" type="number" step="0.05" min="0" max="1" value="0.5"' in page
        )
        too_much = c.post("/settings/controls", data={"csrf": token, **values, "exploration_share": "0.9"})
        assert too_much.status_code == 422 and "Traceback" not in too_much.text
        exported = json.loads(c.get("/settings/export").text)
        assert exported["controls"]["exploration_share"] == 0.2


def test_bad_values_come_back_inline_with_what_was_typed_and_actions_confirm(base: str) -> None:
    with signed_in(base, "vera") as (c, token):
        values = {"source_cap": "0.4", "topic_cap": "lots", "mmr_lambda": "0.5", "exploration_share": "0.9"}
        bad = c.post("/settings/controls", data={"csrf": token, **values})
        assert bad.status_code == 422 and "Something went wrong" not in bad.text
        assert (
            'value="lots" aria-invalid="true"' in bad.text and 'value="0.9" aria-invalid="true"' in bad.text
        )
        assert "Enter a number from 0 to 0.5" in bad.text
        typo = c.post(
            "/targets",
            data={"csrf": token, "action": "follow", "target": "topc:Sport", "next": "/settings#follows"},
        )
        assert (
            typo.status_code == 422
            and 'value="topc:Sport"' in typo.text
            and "Target must be KIND:VALUE" in typo.text
        )
        url = c.post("/settings/sources", data={"csrf": token, "url": "feeds.example/rss"})
        assert url.status_code == 422 and 'value="feeds.example/rss"' in url.text
        follow = c.post(
            "/targets",
            data={"csrf": token, "action": "follow", "target": "topic:Sport", "next": "/settings#follows"},
        )
        assert follow.headers["location"] == "/settings?note=followed#follows"
        assert "Followed." in c.get(follow.headers["location"]).text


def test_tokens_create_work_and_revoke(base: str) -> None:
    with signed_in(base, "rosa") as (c, token):
        page = c.post("/settings/tokens", data={"csrf": token, "name": "reader app"}).text
        api_token = page.split('<code class="token">')[1].split("<")[0]
        assert api_token.startswith("tid_")
        assert (
            httpx.get(f"{base}/api/v1/follows", headers={"Authorization": f"Bearer {api_token}"}).status_code
            == 200
        )
        token_id = page.split("/settings/tokens/")[1].split("/")[0]
        assert c.post(f"/settings/tokens/{token_id}/revoke", data={"csrf": token}).status_code == 303
        assert (
            httpx.get(f"{base}/api/v1/follows", headers={"Authorization": f"Bearer {api_token}"}).status_code
            == 401
        )
        assert c.post(f"/settings/tokens/{token_id}/revoke", data={"csrf": token}).status_code == 404


def test_password_change(base: str) -> None:
    with signed_in(base, "sven") as (c, token):
        wrong = c.post(
            "/settings/password",
            data={"csrf": token, "current": "nope-nope", "new": "n" * 10, "confirm": "n" * 10},
        )
        assert wrong.status_code == 400 and "current password is wrong" in wrong.text
        short = c.post(
            "/settings/password", data={"csrf": token, "current": PASSWORD, "new": "abc", "confirm": "abc"}
        )
        assert short.status_code == 400 and "8 to 1024" in short.text
        ok = c.post(
            "/settings/password",
            data={
                "csrf": token,
                "current": PASSWORD,
                "new": "a new long password",
                "confirm": "a new long password",
            },
        )
        assert ok.status_code == 303
    with httpx.Client(base_url=base) as c:
        login_token = csrf_of(c.get("/login").text)
        reply = c.post(
            "/login", data={"csrf": login_token, "name": "sven", "password": "a new long password"}
        )
        assert reply.status_code == 303


def test_export_and_delete_account(base: str) -> None:
    with signed_in(base, "tara") as (c, token):
        c.post("/targets", data={"csrf": token, "action": "follow", "target": "topic:Science"})
        exported = c.get("/settings/export")
        data = exported.json()
        assert "attachment" in exported.headers["content-disposition"]
        assert (
            data["user"]["name"] == "tara" and data["follows"][0]["target"] == "topic:Science and technology"
        )
        assert "password_hash" not in exported.text and "token_hash" not in exported.text
        refused = c.post("/settings/delete", data={"csrf": token, "password": "wrong password"})
        assert refused.status_code == 400
        gone = c.post("/settings/delete", data={"csrf": token, "password": PASSWORD})
        assert gone.status_code == 303
        assert c.get("/settings").status_code == 303
    with httpx.Client(base_url=base) as c:
        login_token = csrf_of(c.get("/login").text)
        assert (
            c.post("/login", data={"csrf": login_token, "name": "tara", "password": PASSWORD}).status_code
            == 401
        )


def test_oversized_form_posts_get_413(base: str) -> None:
    with signed_in(base, "uma") as (c, token):
        big = b"<opml>" + b" " * (4 * 1024 * 1024) + b"</opml>"
        reply = c.post("/settings/opml", data={"csrf": token}, files={"file": ("big.opml", big, "text/xml")})
        assert reply.status_code == 413 and "Traceback" not in reply.text
        assert c.get("/settings").status_code == 200
