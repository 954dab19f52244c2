"""The seed page end to end through the CLI, with real extraction and enrichment (issues 3 and 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidings.cli.main import app

runner = CliRunner()
PROMOS = ("Get more with myNEWS", "A personalised news feed", "Learn more", "Photo: Reuters")
TEASERS = (
    "Kim Jong-un slams US for ‘bad faith’ in Hanoi talks, invites Vladimir Putin to North Korea",
    "Russia’s Vladimir Putin calls for ‘international guarantees’ in first summit with "
    "North Korea’s Kim Jong-un",
)
PEOPLE_AND_PLACES = (
    "Donald Trump",
    "Vladimir Putin",
    "Kim Jong-un",
    "North Korea",
    "Russia",
    "China",
    "Vladivostok",
    "Hanoi",
    "Mike Pompeo",
)


@pytest.mark.shared
@pytest.mark.slow
def test_seed_article_through_the_cli(tidings_env: Path, seed_path: Path) -> None:
    ingested = runner.invoke(app, ["ingest", str(seed_path), "--json"])
    assert ingested.exit_code == 0, ingested.output
    article_id = json.loads(ingested.stdout)["articles"][0]["id"]
    shown = runner.invoke(app, ["article", str(article_id), "--json"])
    assert shown.exit_code == 0, shown.output
    a = json.loads(shown.stdout)
    assert a["title"] == "‘Russia and China are helping us’: Trump welcomes ‘progress’ on North Korea"
    assert "US leader says things are going well with North Korea" in a["standfirst"]
    assert a["text"].startswith("US President Donald Trump on Friday welcomed Russian and Chinese help")
    assert a["text"].endswith("“surprised or alarmed”.")
    assert not [p for p in PROMOS if p in a["text"]]
    assert not [t for t in TEASERS if t in a["text"]]
    assert set(TEASERS) <= {link["title"] for link in a["related_links"]}
    assert any("Vladivostok" in caption for caption in a["captions"])
    assert "North Korea" in a["topics"] and "Politics" in a["topics"]
    names = [e["name"] for e in a["entities"]]
    for name in PEOPLE_AND_PLACES:
        assert names.count(name) == 1, name
    assert "Kim" not in names
    kim = next(e for e in a["entities"] if e["name"] == "Kim Jong-un")
    assert kim["count"] > 5  # the bare "Kim" mentions count towards him
    assert 2 <= len(a["key_points"]) <= 4
    body = a["text"] + " " + (a["standfirst"] or "")
    assert all(point in body for point in a["key_points"])
    assert a["language"] == "en" and a["story_id"]


def test_loopback_url_is_refused_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tidings.config import get_settings

    monkeypatch.setenv("TIDINGS_HOME", str(tmp_path))
    monkeypatch.setenv("TIDINGS_ENRICH", "0")
    monkeypatch.delenv("TIDINGS_ALLOW_PRIVATE_NETWORKS", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["ingest", "http://127.0.0.1:9/feed.xml", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert len(errors) == 1 and "private address" in errors[0]["error"]
    assert "Traceback" not in result.output
