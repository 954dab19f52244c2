"""`tidings eval stories` and `tidings eval pairs`: labelled data through ingest into a temporary store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TEST_DATA
from tidings.config import Settings
from tidings.eval.pairs import evaluate_pairs
from tidings.eval.story_gold import cross_validate, evaluate_stories, event_folds, ingest_labelled
from tidings.stories.scoring import Weights

OWN_PAIRS = TEST_DATA / "stories" / "pairs-own-words.jsonl"
BODY = "Engineers said the work would take a month while traffic is diverted through the ring road. "


def _labelled(path: Path) -> Path:
    rows = [
        {"url": f"https://a.example/{i}", "title": title, "text": title + ". " + BODY, "event": event}
        for i, (title, event) in enumerate(
            [
                ("Old stone bridge closed after cracks found", "bridge"),
                ("Cracks close the old stone bridge", "bridge"),
                ("Harbour crane collapses onto quay", "crane"),
                ("Council budget vote delayed", "1_budget"),
                ("Council budget vote passes", "1_vote"),
            ]
        )
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_stories_eval_runs_ingest_and_reports_baselines(tmp_path: Path) -> None:
    data = _labelled(tmp_path / "set.jsonl")
    settings = Settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    result = evaluate_stories(data, settings, tmp_path / "cache", folds=2)
    assert result["articles"] == 5 and result["events"] == 4
    assert result["singletons"]["precision"] == 1.0 and result["singletons"]["recall"] < 1.0
    assert {"tidings", "tidings_per_fold", "cosine_cv", "singletons_per_fold"} <= set(result)
    assert float(result["tidings_in_store_per_fold"].split(" ± ")[0]) > 0.0
    # The second run reuses the stored set instead of ingesting again.
    again = ingest_labelled(
        [json.loads(x) for x in data.read_text().splitlines()], settings, tmp_path / "cache"
    )
    assert (
        again.predicted
        == ingest_labelled(
            [json.loads(x) for x in data.read_text().splitlines()], settings, tmp_path / "cache"
        ).predicted
    )


def test_labelled_rows_need_url_and_event(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"url": "https://a.example/1", "title": "x", "text": "y"}) + "\n")
    with pytest.raises(ValueError, match="needs `url` and `event`"):
        evaluate_stories(bad, Settings(home=tmp_path, enrich=False), tmp_path / "cache")


def test_folds_keep_near_miss_events_together() -> None:
    gold = {1: "1_a", 2: "1_b", 3: "2_a", 4: "2_b", 5: "gva-7", 6: "gva-8"}
    folds = event_folds(gold, 2)
    assert sorted(len(f) for f in folds) in ([2, 4], [3, 3])
    for fold in folds:
        assert ("1_a" in fold) == ("1_b" in fold) and ("2_a" in fold) == ("2_b" in fold)


def test_cross_validation_picks_on_the_other_folds() -> None:
    # Candidate "a" wins folds 1 and 2, "b" wins fold 0: fold 0's pick must be "a" (chosen without fold 0).
    table = {"a": [[0.1, 0.9, 0.9]], "b": [[1.0, 0.5, 0.5]]}
    cv = cross_validate(table)
    assert [c["chosen"] for c in cv] == ["a", "b", "b"]
    assert cv[0]["test_f1"] == [0.1]


def test_empty_pairs_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert evaluate_pairs(empty, Settings(home=tmp_path), tmp_path / "cache")["pairs"] == 0


def test_pairs_file_dates_reach_the_signatures(tmp_path: Path) -> None:
    from tidings.eval.pairs import read_pairs_file
    from tidings.stories.scoring import pair_features

    bridge = {"title": "Bridge closed after cracks", "text": "Engineers closed the bridge. " + BODY}
    reopens = {"title": "Bridge reopens", "text": "The bridge reopened. " + BODY}
    crane = {"title": "Crane collapses at harbour", "text": "A crane fell. " + BODY}

    def side(n: int, item: dict[str, str], published: str | None = None) -> dict[str, str]:
        dated = {f"published_{n}": published} if published else {}
        return {f"title_{n}": item["title"], f"text_{n}": item["text"], **dated}

    rows = [
        {
            **side(1, bridge, "2024-03-01T08:00:00Z"),
            **side(2, reopens, "2024-03-11T08:00:00Z"),
            "same_story": True,
        },
        {**side(1, crane), **side(2, bridge), "same_story": False},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settings = Settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    data = read_pairs_file(path, settings, tmp_path / "cache")
    dated = [s for s in data.sigs if s.published_at is not None]
    assert sorted(s.published_at.day for s in dated if s.published_at) == [1, 11]
    assert len(data.sigs) == 3  # the bridge text appears twice and is stored once
    first, second = data.pairs[0][:2]
    assert pair_features(data.sigs[first], data.sigs[second]).days_apart > 2.0  # log(1 + 10 days)


@pytest.mark.slow
def test_own_words_pairs_through_ingest(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", subscribe_starter=False)
    result = evaluate_pairs(OWN_PAIRS, settings, tmp_path / "cache")
    assert result["pairs"] == 12 and result["positives"] == 6
    assert result["f1"] >= 0.90 and result["auc"] >= 0.95
    assert {"cosine_best"} <= set(result)


@pytest.mark.slow
@pytest.mark.shared
def test_gold_same_day_regression_fixture_through_ingest(tmp_path: Path) -> None:
    from tests.conftest import shared_path
    from tidings.eval.story_gold import gold_feed_rows, recluster, scores, signatures

    rows = gold_feed_rows(
        shared_path("data", "feeds-2019-2023"), TEST_DATA / "stories" / "gold-same-day.json"
    )
    assert len(rows) == 120
    settings = Settings(home=tmp_path / "home", subscribe_starter=False)
    ingested = ingest_labelled(rows, settings, tmp_path / "cache")
    forward = scores(ingested.predicted, ingested.gold)
    assert forward["f1"] >= 0.90
    # The same articles in reverse order, through the same clustering code.
    backward = recluster(ingested, list(reversed(signatures(ingested))), Weights())
    assert abs(forward["f1"] - scores(backward, ingested.gold)["f1"]) <= 0.03


def test_eval_stories_and_pairs_cli(
    tidings_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tidings.cli.main import app
    from tidings.config import get_settings

    monkeypatch.setenv("TIDINGS_ENRICH", "0")
    get_settings.cache_clear()
    data, cache = str(_labelled(tmp_path / "set.jsonl")), str(tmp_path / "cache")
    runner = CliRunner()
    out = runner.invoke(app, ["eval", "stories", "--data", data, "--folds", "2", "--cache", cache, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["set.jsonl"]["events"] == 4
    out = runner.invoke(app, ["eval", "pairs", data, "--folds", "2", "--cache", cache, "--json"])
    assert out.exit_code == 0, out.output
    pairs = json.loads(out.stdout)
    assert pairs["positives"] == 1 and {"f1", "auc", "cosine_best"} <= set(pairs)
    missing = runner.invoke(app, ["eval", "stories", "--data", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code != 0 and "no such file" in missing.output


def test_summary_text_keeps_the_first_words_of_real_paragraphs() -> None:
    from tidings.eval.pairs import SUMMARY_WORDS, summary_text

    body = "By a reporter\nShare this\n" + "\n".join(f"Paragraph {i} " + "word " * 20 for i in range(5))
    short = summary_text(body)
    assert short.startswith("Paragraph 0") and "reporter" not in short and "Share" not in short
    assert len(short.split()) == SUMMARY_WORDS
    assert summary_text("Too short to keep") == ""


def test_fit_learns_from_full_texts_and_their_summary_view(tmp_path: Path) -> None:
    from tidings.eval.pairs import fit_pair_weights

    events = {
        "bridge": ["Old stone bridge closed after cracks found", "Cracks close the old stone bridge"],
        "crane": ["Harbour crane collapses onto the quay", "Quay crane falls at the harbour"],
        "fire": ["Warehouse fire burns through the night", "Night fire guts riverside warehouse"],
        "vote": ["Council budget vote passes narrowly", "Narrow council vote passes the budget"],
    }
    rows = [
        {"url": f"https://a.example/{event}/{i}", "title": title, "text": f"{title}. {BODY * 3}\nShort line"}
        for event, titles in events.items()
        for i, title in enumerate(titles)
    ]
    data = tmp_path / "set.jsonl"
    data.write_text("".join(json.dumps({**r, "event": r["url"].split("/")[3]}) + "\n" for r in rows))
    settings = Settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    result = fit_pair_weights([data], settings, tmp_path / "cache", folds=2)
    assert 0 < result["summary_pairs"] < result["pairs"]
    assert result["positives"] == 2 * len(events)  # one same-event pair per event, in each view
    assert {"cv_f1", "cv_full_f1", "cv_summary_f1"} <= set(result)
    settings_only = {"bias", "min_cosine", "short_words", "time_scale_hours"}
    assert set(result["coefficients"]) == set(result["shipped"]) - settings_only
    assert result["transfer"] == {}  # one labelled set: no other set to fit on


def test_fit_scores_each_set_with_a_model_fitted_on_the_others(tmp_path: Path) -> None:
    from tidings.eval.pairs import fit_pair_weights

    def write(name: str, events: dict[str, list[str]]) -> Path:
        path = tmp_path / name
        path.write_text(
            "".join(
                json.dumps({"url": f"https://{name}.example/{ev}/{i}", "title": t, "event": f"{name}-{ev}",
                            "text": f"{t}. {BODY * 3}"}) + "\n"
                for ev, titles in events.items()
                for i, t in enumerate(titles)
            ),
            encoding="utf-8",
        )  # fmt: skip
        return path

    first = write(
        "a",
        {
            "bridge": ["Old stone bridge closed after cracks", "Cracks close old stone bridge"],
            "crane": ["Harbour crane collapses onto quay", "Quay crane falls at the harbour"],
        },
    )
    second = write(
        "b",
        {
            "fire": ["Warehouse fire burns all night", "Night fire guts riverside warehouse"],
            "vote": ["Council budget vote passes", "Narrow council vote passes budget"],
        },
    )
    settings = Settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    result = fit_pair_weights([first, second], settings, tmp_path / "cache", folds=2)
    assert set(result["transfer"]) <= {"a:full", "a:summary", "b:full", "b:summary"}
    assert {"a:full", "b:full"} <= set(result["transfer"])
    for figures in result["transfer"].values():
        assert figures["pairs"] > 0 and 0.0 <= figures["f1"] <= 1.0
        assert figures["cosine_f1"] <= figures["cosine_best_f1"]  # a borrowed threshold never beats the best


def test_tune_chooses_with_folds_clustered_apart_and_in_the_whole_store(tmp_path: Path) -> None:
    from tidings.eval.story_gold import tune_weights, weight_grid

    data = _labelled(tmp_path / "set.jsonl")
    settings = Settings(home=tmp_path / "home", enrich=False, subscribe_starter=False)
    result = tune_weights([data], settings, tmp_path / "cache", folds=2)
    assert result["data"] == ["set.jsonl"]
    grid = [w.__dict__ for w in weight_grid()]
    for tuned in (result, result["in_store"]):
        assert len(tuned["folds"]) == 2 and len(tuned["per_set_cv"]) == 1
        assert all(fold["chosen"] in grid and len(fold["test_f1"]) == 1 for fold in tuned["folds"])
        assert tuned["chosen_on_all"] in grid
        assert 0.0 < float(tuned["per_set_cv"][0].split(" ± ")[0]) <= 1.0
