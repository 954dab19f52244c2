"""`tidings mark`, `tidings saved` and `tidings user app-password` through the CLI on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidings.cli.main import app

runner = CliRunner()


def run_json(*args: str, code: int = 0) -> dict:
    """Run a CLI command with --json and parse its stdout."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else {}


@pytest.fixture
def stocked(tidings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Two stored articles and a user "ann"; returns the article ids."""
    monkeypatch.setenv("TIDINGS_ENRICH", "0")
    from tidings.config import get_settings

    get_settings.cache_clear()
    lines = [
        {
            "url": f"https://quay-news.example/{slug}",
            "title": title,
            "text": f"{title}. Written for a test.",
            "source": "Quay News",
        }
        for slug, title in (
            ("buoys", "New buoys mark the channel"),
            ("crane", "Old crane restored at the quay"),
        )
    ]
    seed = tmp_path / "two.jsonl"
    seed.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run_json("ingest", str(seed))
    runner.invoke(app, ["user", "add", "ann", "--password-stdin"], input="ann-password-1\n")
    from sqlalchemy import select

    from tidings.cli.common import engine
    from tidings.store.tables import articles

    with engine().connect() as conn:
        return sorted(int(i) for i in conn.execute(select(articles.c.id)).scalars())


def test_mark_and_saved(stocked: list[int]) -> None:
    first, second = stocked
    assert run_json("mark", "ann", str(first), "--as", "saved")["changed"] == [first]
    assert run_json("mark", "ann", str(first), "--as", "saved")["changed"] == []  # already saved
    assert [i["article_id"] for i in run_json("saved", "ann")["items"]] == [first]
    assert sorted(run_json("mark", "ann", str(first), str(second))["changed"]) == stocked
    assert run_json("mark", "ann", str(first), "--as", "unsaved")["changed"] == [first]
    assert run_json("saved", "ann")["items"] == []
    run_json("mark", "ann", str(first), "--as", "sideways", code=1)
    run_json("mark", "nobody", str(first), code=1)


def test_app_password_logs_in_and_revokes(stocked: list[int]) -> None:
    made = run_json("user", "app-password", "ann", "--label", "newsboat", "--fever")
    assert made["password"].startswith("tid_") and len(made["fever_key"]) == 32
    listed = run_json("user", "app-password", "ann", "--list")["items"]
    assert {i["label"] for i in listed} == {"newsboat", "fever"}
    from tidings.cli.common import engine as cli_engine
    from tidings.web.compat import keys
    from tidings.web.logins import LoginError

    engine = cli_engine()
    found = keys.login(engine, "ann", made["password"], "test-client")
    assert found[1] == made["password"]  # the app password is the client's token
    assert keys.user_for_fever_key(engine, made["fever_key"]) is not None
    assert run_json("user", "app-password", "ann", "--revoke", "newsboat")["revoked"] == 1
    with pytest.raises(LoginError) as refused:
        keys.login(engine, "ann", made["password"], "test-client")
    assert refused.value.status == 401
    run_json("user", "app-password", "ann", "--revoke", "fever")
    assert keys.user_for_fever_key(engine, made["fever_key"]) is None
    run_json("user", "app-password", "ann", "--revoke", "newsboat", code=1)
