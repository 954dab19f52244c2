"""The Fever API over real HTTP on loopback, replaying the requests Fever clients send."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.test_greader import PASSWORDS, SUBSCRIPTIONS, Site, running_site

FOR_YOU_GROUP = 1


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The running site, shared by this module's tests."""
    with running_site(tmp_path_factory.mktemp("fever")) as live:
        yield live


class FeverClient:
    """A Fever client: every call POSTs api_key to /fever/?api&<what>."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base, self.api_key = base, api_key

    def call(self, query: str, **form: object) -> dict[str, Any]:
        """POST /fever/?api&query with the key and form fields; the JSON answer."""
        resp = httpx.post(
            f"{self.base}/fever/?api&{query}" if query else f"{self.base}/fever/?api",
            data={"api_key": self.api_key, **{k: str(v) for k, v in form.items()}},
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        assert body["api_version"] == 3
        return body

    def ids(self, which: str) -> list[int]:
        """unread_item_ids or saved_item_ids as integers."""
        raw = self.call(which)[which]
        return [int(i) for i in raw.split(",") if i]


def client_for(name: str, site: Site) -> FeverClient:
    """A client configured as the apps do: md5 of "name:password"."""
    key = hashlib.md5(f"{name}:{PASSWORDS[name]}".encode()).hexdigest()
    assert key == site.fever_keys[name]
    return FeverClient(site.base, key)


def test_fever_session(site: Site) -> None:
    fever = client_for("alice", site)
    hello = fever.call("")
    assert hello["auth"] == 1 and hello["last_refreshed_on_time"] > 1_700_000_000

    groups = fever.call("groups")
    titles = {g["title"]: g["id"] for g in groups["groups"]}
    assert set(titles) == {"For you", "Local"} and titles["For you"] == FOR_YOU_GROUP
    links = {
        fg["group_id"]: {int(i) for i in fg["feed_ids"].split(",") if i} for fg in groups["feeds_groups"]
    }
    mine = {site.source_ids[h] for h in SUBSCRIPTIONS["alice"]}
    assert links[titles["Local"]] == mine and links[FOR_YOU_GROUP] <= mine

    feeds = fever.call("feeds")
    assert {f["id"] for f in feeds["feeds"]} == mine
    harbour = next(f for f in feeds["feeds"] if f["id"] == site.source_ids["harbour.example"])
    assert harbour["title"] == "Harbour News" and harbour["url"] == "https://harbour.example/feed.xml"
    assert "feeds_groups" in feeds

    # Clients page items up from since_id, 50 at a time.
    items = fever.call("items", since_id=0)
    visible = {site.article_ids[s] for s in site.visible_slugs("alice")}
    assert {i["id"] for i in items["items"]} == visible and items["total_items"] == len(visible)
    assert [i["id"] for i in items["items"]] == sorted(visible)
    ferry = next(i for i in items["items"] if i["id"] == site.article_ids["ferry"])
    assert (
        ferry["feed_id"] == site.source_ids["harbour.example"]
        and ferry["url"] == "https://harbour.example/ferry"
    )
    assert ferry["is_read"] == 0 and ferry["is_saved"] == 0 and ferry["created_on_time"] == 1709280000
    assert "<p>" in ferry["html"]
    orchard = next(i for i in items["items"] if i["id"] == site.article_ids["orchard"])
    assert "<script" not in orchard["html"] and "<script" not in orchard["title"]
    assert fever.call("items", since_id=max(visible))["items"] == []
    newest_two = fever.call("items", max_id=max(visible))["items"]
    assert [i["id"] for i in newest_two] == sorted(visible, reverse=True)[1:]
    picked = fever.call("items", with_ids=f"{site.article_ids['ferry']},{site.article_ids['library']}")
    assert [i["id"] for i in picked["items"]] == [site.article_ids["ferry"], site.article_ids["library"]]

    assert set(fever.ids("unread_item_ids")) == visible
    ferry_id = site.article_ids["ferry"]
    marked = fever.call("", mark="item", id=ferry_id, **{"as": "read"})
    assert ferry_id not in [int(i) for i in marked["unread_item_ids"].split(",")]
    assert set(fever.ids("unread_item_ids")) == visible - {ferry_id}
    fever.call("", mark="item", id=ferry_id, **{"as": "saved"})
    assert fever.ids("saved_item_ids") == [ferry_id]
    again = fever.call("items", with_ids=ferry_id)["items"][0]
    assert again["is_read"] == 1 and again["is_saved"] == 1
    fever.call("", mark="item", id=ferry_id, **{"as": "unsaved"})
    fever.call("", mark="item", id=ferry_id, **{"as": "unread"})
    assert fever.ids("saved_item_ids") == [] and set(fever.ids("unread_item_ids")) == visible
    assert fever.call("favicons")["favicons"] == [] and fever.call("links")["links"] == []


def test_mark_feed_and_group_read_before(site: Site) -> None:
    fever = client_for("alice", site)
    valley = site.source_ids["valley.example"]
    valley_items = {site.article_ids["library"], site.article_ids["orchard"]}
    fever.call("", mark="feed", id=valley, before=1000, **{"as": "read"})
    assert valley_items <= set(fever.ids("unread_item_ids"))
    fever.call("", mark="feed", id=valley, before=int(time.time()) + 5, **{"as": "read"})
    assert not valley_items & set(fever.ids("unread_item_ids"))
    fever.call("", mark="group", id=0, before=int(time.time()) + 5, **{"as": "read"})
    assert fever.ids("unread_item_ids") == []
    for article_id in {site.article_ids[s] for s in site.visible_slugs("alice")}:
        fever.call("", mark="item", id=article_id, **{"as": "unread"})
    local = next(g["id"] for g in fever.call("groups")["groups"] if g["title"] == "Local")
    fever.call("", mark="group", id=local, before=int(time.time()) + 5, **{"as": "read"})
    assert fever.ids("unread_item_ids") == []
    for article_id in {site.article_ids[s] for s in site.visible_slugs("alice")}:
        fever.call("", mark="item", id=article_id, **{"as": "unread"})


def test_for_you_group_items_follow_the_ranking(site: Site) -> None:
    from tidings.service.feed import feed_for

    fever = client_for("alice", site)
    got = [i["id"] for i in fever.call("items", group_id=FOR_YOU_GROUP)["items"]]
    _, result = feed_for(site.app.state.engine, site.app.state.settings, "alice", 200)
    visible = {site.article_ids[s] for s in site.visible_slugs("alice")}
    assert got and got == [int(it.article_id) for it in result.items if int(it.article_id) in visible]


def test_bad_keys_get_auth_zero(site: Site) -> None:
    for key in ("", "0" * 32, "not-a-key", hashlib.md5(b"alice:wrong-password").hexdigest()):
        resp = httpx.post(f"{site.base}/fever/?api&items", data={"api_key": key})
        assert resp.status_code == 200 and resp.json() == {"api_version": 3, "auth": 0}
    assert httpx.post(f"{site.base}/fever/?api").json()["auth"] == 0
    assert httpx.post(f"{site.base}/fever/", data={"api_key": site.fever_keys["alice"]}).status_code == 400
    # A Reader/REST token is not a Fever key, and the Fever key is not a REST bearer token.
    token = (
        httpx.post(f"{site.base}/accounts/ClientLogin", data={"Email": "alice", "Passwd": PASSWORDS["alice"]})
        .text.split("Auth=")[1]
        .strip()
    )
    assert httpx.post(f"{site.base}/fever/?api", data={"api_key": token}).json()["auth"] == 0
    rest = httpx.get(
        f"{site.base}/api/v1/sources", headers={"Authorization": f"Bearer {site.fever_keys['alice']}"}
    )
    assert rest.status_code == 401


def test_malformed_requests_are_400_without_traceback(site: Site) -> None:
    fever = client_for("alice", site)
    for form in (
        {"mark": "item", "as": "read", "id": "abc"},
        {"mark": "item", "as": "eaten", "id": "1"},
        {"mark": "item", "as": "read", "id": "9" * 30},
        {"mark": "feed", "as": "read", "id": "1", "before": "soon"},
        {"mark": "item", "as": "read", "id": "²"},
    ):
        resp = httpx.post(f"{site.base}/fever/?api", data={"api_key": fever.api_key, **form})
        assert resp.status_code == 400 and "Traceback" not in resp.text
    for field in ({"with_ids": "1,x"}, {"since_id": "9" * 30}, {"max_id": "-"}):
        resp = httpx.post(f"{site.base}/fever/?api&items", data={"api_key": fever.api_key, **field})
        assert resp.status_code == 400 and resp.json()["auth"] == 1


def test_users_never_see_each_others_items_or_states(site: Site) -> None:
    alice, bob = client_for("alice", site), client_for("bob", site)
    storm, wall = site.article_ids["storm"], site.article_ids["wall"]
    assert storm not in {i["id"] for i in alice.call("items", since_id=0)["items"]}
    assert alice.call("items", with_ids=storm)["items"] == []
    alice.call("", mark="item", id=storm, **{"as": "saved"})
    assert alice.ids("saved_item_ids") == [] and bob.ids("saved_item_ids") == []
    alice.call(
        "", mark="feed", id=site.source_ids["coast.example"], before=int(time.time()) + 5, **{"as": "read"}
    )
    assert storm in bob.ids("unread_item_ids")
    alice.call("", mark="item", id=wall, **{"as": "read"})
    alice.call("", mark="item", id=wall, **{"as": "saved"})
    assert wall in bob.ids("unread_item_ids") and bob.ids("saved_item_ids") == []
    assert wall not in alice.ids("unread_item_ids") and alice.ids("saved_item_ids") == [wall]
    assert {f["id"] for f in alice.call("feeds")["feeds"]} == {
        site.source_ids[h] for h in SUBSCRIPTIONS["alice"]
    }
    alice.call("", mark="item", id=wall, **{"as": "unread"})
    alice.call("", mark="item", id=wall, **{"as": "unsaved"})


def test_new_fever_password_replaces_the_old_key(site: Site) -> None:
    from tidings.web.compat.keys import disable_fever, set_fever_password

    engine, bob_id = site.app.state.engine, site.user_ids["bob"]
    with pytest.raises(ValueError, match="wrong password"):
        set_fever_password(engine, bob_id, "not-bobs-password")
    old = client_for("bob", site)
    assert old.call("")["auth"] == 1
    assert set_fever_password(engine, bob_id, PASSWORDS["bob"]) == old.api_key
    assert old.call("")["auth"] == 1
    assert disable_fever(engine, bob_id) == 1
    assert old.call("")["auth"] == 0
    set_fever_password(engine, bob_id, PASSWORDS["bob"])
    assert old.call("")["auth"] == 1
