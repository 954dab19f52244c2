"""The admin page: only the first (admin) account sees it; it lists accounts and feeds, removes accounts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.live import csrf_of, make_settings, serve, sign_up, write_seed


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh server (no accounts yet)."""
    folder = tmp_path_factory.mktemp("ui-admin")
    (folder / "home").mkdir()
    with serve(make_settings(folder / "home", [write_seed(folder)]), expect_articles=4) as url:
        yield url


def test_admin_lists_and_removes_accounts(base: str) -> None:
    with httpx.Client(base_url=base) as admin, httpx.Client(base_url=base) as other:
        sign_up(admin, "root-reader")
        sign_up(other, "plain-reader")
        assert 'href="/admin"' in admin.get("/settings").text
        assert 'href="/admin"' not in other.get("/settings").text
        assert other.get("/admin").status_code == 403
        page = admin.get("/admin").text
        assert "plain-reader" in page and "root-reader" in page
        token = csrf_of(page)
        ids = dict(
            re.findall(
                r'/admin/users/(\d+)/delete".*?Delete <span class="visually-hidden">([^<]+)', page, re.S
            )
        )
        victim = next(i for i, name in ids.items() if name == "plain-reader")
        other_token = csrf_of(other.get("/settings").text)
        assert other.post(f"/admin/users/{victim}/delete", data={"csrf": other_token}).status_code == 403
        assert admin.post(f"/admin/users/{victim}/delete", data={"csrf": token}).status_code == 303
        assert "plain-reader" not in admin.get("/admin").text
        assert other.get("/settings").status_code == 303  # the deleted reader's session is gone
        assert admin.post("/admin/users/999999/delete", data={"csrf": token}).status_code == 404
        assert admin.post("/admin/users/1/delete", data={"csrf": token}).status_code == 422
