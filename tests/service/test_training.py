"""`tidings train`: logged impressions and later clicks fit new weights, adopted only when they win."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from tidings.config import Settings
from tidings.service.training import instance_weights, logged_examples, train
from tidings.service.users import add_user
from tidings.store import open_engine
from tidings.store import users as user_repo
from tidings.store.util import utcnow


def test_train_adopts_weights_that_beat_the_defaults(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, enrich=False, subscribe_starter=False)
    engine = open_engine(settings)
    user = add_user(engine, "trainee", None)
    path = tmp_path / "a.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"url": f"https://t.example/{i}", "title": f"Item {i}", "text": f"Body number {i} " * 30}
            )
            + "\n"
            for i in range(300)
        )
    )
    from tidings.pipeline.ingest import ingest_sources

    ids = [a["id"] for a in ingest_sources([str(path)], settings, engine).articles]
    rng = random.Random(4)
    shown_at = utcnow() - timedelta(hours=1)
    with engine.begin() as conn:
        for article_id in ids:
            popularity, freshness = rng.random(), rng.random()
            features = {"popularity": popularity, "freshness": freshness}
            user_repo.record_event(
                conn, user["id"], article_id, None, "impression", None, features, at=shown_at
            )
            # Readers here click what is popular and ignore freshness, which the defaults favour.
            if popularity > 0.7 or (popularity > 0.5 and rng.random() < 0.3):
                user_repo.record_event(
                    conn, user["id"], article_id, None, "click", None, at=shown_at + timedelta(minutes=2)
                )
    examples = logged_examples(engine)
    assert len(examples) == 300 and 40 < sum(clicked for _, clicked, _ in examples) < 200
    assert instance_weights(settings) is None
    report = train(engine, settings)
    assert report["adopted"] is True
    adopted = instance_weights(settings)
    assert adopted is not None and adopted["popularity"] > adopted["freshness"]


def test_train_without_data_keeps_defaults(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, enrich=False, subscribe_starter=False)
    report = train(open_engine(settings), settings)
    assert report["adopted"] is False and "need at least" in report["reason"]
    assert not (tmp_path / "weights.json").exists()
