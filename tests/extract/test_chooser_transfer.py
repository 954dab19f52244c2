"""`bench/extraction_chooser.py --transfer`: each dev set scored by a model fitted on the other set only."""

from __future__ import annotations

import importlib.util
import random
import sys
from types import ModuleType
from typing import Any

from tests.conftest import REPO_ROOT
from tidings.extract.chooser import CANDIDATES, FEATURES


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_extraction_chooser", REPO_ROOT / "bench" / "extraction_chooser.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _records(name: str, pages: int, rng: random.Random) -> list[dict[str, Any]]:
    """Pages whose best candidate is the one with the highest first feature (noise elsewhere)."""
    out = []
    for page in range(pages):
        candidates = {}
        for cand in CANDIDATES[:2]:
            quality = rng.random()
            features = [rng.random() for _ in FEATURES]
            features[0] = quality
            features[-1] = 0.0
            candidates[cand] = {"score": [quality, 1.0 - quality, 1.0 - quality], "features": features}
        out.append({"set": name, "id": str(page), "baseline": [0.5, 0.5, 0.5], "candidates": candidates})
    return out


def test_each_set_is_scored_by_a_model_fitted_on_the_others_only() -> None:
    bench = _bench()
    rng = random.Random(3)
    names = list(bench.DEV_SETS)
    records = [r for name in names for r in _records(name, 80, rng)]
    report = bench.transfer(records)
    assert set(report) == set(names)
    for name in names:
        row = report[name]
        assert row["pages"] == 80 and row["fitted_on_pages"] == 80 * (len(names) - 1)
        # The signal learned on the other set carries: the pick beats the first candidate and the baseline.
        assert row["chooser"] > row["hand_rule"] + 0.05
        assert row["chooser"] > row["trafilatura"] + 0.1
