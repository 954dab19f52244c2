"""The entity-chip gold set: 50 articles of ../shared (demo corpus and English feeds) and the chips a person
annotated for each. Only article URLs and chip names are stored here, never the articles' text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tidings.config import Settings
from tidings.enrich import aliases, entities
from tidings.ingest.documents import read_document
from tidings.models import Entity
from tidings.pipeline.prepare import prepare_item

GOLD_PATH = Path(__file__).parent.parent / "data" / "entity-chips-gold.jsonl"


@dataclass
class Scores:
    """Micro-averaged precision and recall of shown chips against the gold chips."""

    shown: int
    correct: int
    gold: int
    found: int

    @property
    def precision(self) -> float:
        """Share of shown chips that are gold chips."""
        return self.correct / self.shown if self.shown else 1.0

    @property
    def recall(self) -> float:
        """Share of gold chips that are shown."""
        return self.found / self.gold if self.gold else 1.0


def load_gold() -> list[dict[str, object]]:
    """The annotated rows: {"file", "url", "chips"}."""
    return [json.loads(line) for line in GOLD_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_entities(shared: Path, rows: list[dict[str, object]], settings: Settings) -> dict[str, list[Entity]]:
    """URL -> the entities found in each gold article (through extraction and NER)."""
    wanted = {str(r["url"]) for r in rows}
    prepared = []
    for file in sorted({str(r["file"]) for r in rows}):
        for raw in read_document(shared / file).items:
            if raw.url in wanted:
                prepared.append(prepare_item(raw).article)
    texts = [entities.ner_text(a.title, a.standfirst, a.text) for a in prepared]
    found = entities.extract_entities_batch(texts, settings)
    return {str(a.url): ents for a, ents in zip(prepared, found, strict=True)}


def chip_names(found: dict[str, list[Entity]]) -> dict[str, list[str]]:
    """URL -> the names of the salient entities."""
    return {url: [e.name for e in ents if e.salient] for url, ents in found.items()}


def with_aliases(found: dict[str, list[Entity]]) -> dict[str, list[Entity]]:
    """Each article's entities resolved across the set, as a store holding these articles resolves them."""
    counts: dict[tuple[str, str, str], int] = {}
    for ents in found.values():
        for e in {e.key: e for e in ents}.values():
            counts[(e.key, e.name, e.type)] = counts.get((e.key, e.name, e.type), 0) + 1
    known = [aliases.KnownName(k, n, t, c) for (k, n, t), c in counts.items()]
    return {url: aliases.resolve_aliases(ents, known)[0] for url, ents in found.items()}


def score(rows: list[dict[str, object]], shown: dict[str, list[str]]) -> Scores:
    """Compare shown chips with gold chips by case-folded name (several chips naming one gold entity are
    each correct, and find it once)."""
    totals = Scores(0, 0, 0, 0)
    for row in rows:
        # A gold chip may list several names of one entity: "ICC|International Criminal Court".
        gold = [{n.strip().casefold() for n in str(c).split("|")} for c in row["chips"]]  # type: ignore[attr-defined]
        chips = {c.casefold() for c in shown.get(str(row["url"]), [])}
        totals.shown += len(chips)
        totals.correct += sum(any(c in names for names in gold) for c in chips)
        totals.gold += len(gold)
        totals.found += sum(bool(names & chips) for names in gold)
    return totals
