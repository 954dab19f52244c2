"""Offline evaluation on MIND-format logs, replayed in time order so each impression sees only its past."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tidings.config import Settings
from tidings.enrich.embeddings import embed_texts
from tidings.eval.metrics import evaluate_impressions
from tidings.rank.controls import UserControls
from tidings.rank.features import Candidate, CandidatePool
from tidings.rank.profile import FeedbackEvent, Profile, update_profile
from tidings.rank.scoring import COL, build_context, compute_features, resolve_weights
from tidings.rank.train import train_weights

Embedder = Callable[[list[str]], npt.NDArray[np.float32]]
METHODS = ("tidings", "popularity", "content")
MAX_TRAINING_ROWS = 200_000
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"


@dataclass
class News:
    """One row of news.tsv."""

    news_id: str
    category: str
    subcategory: str
    title: str
    abstract: str
    entities: list[tuple[str, str]]  # (wikidata id, label)


@dataclass
class Impression:
    """One row of behaviors.tsv; `is_eval` is False for rows from the training directory."""

    impression_id: str
    user: str
    at: datetime
    history: list[str]
    shown: list[tuple[str, int]]  # (news id, clicked 0/1); the label is -1 when the file has none
    is_eval: bool


def _entities(field: str) -> list[tuple[str, str]]:
    """WikidataId and label pairs from a MIND entity column (empty on malformed JSON)."""
    try:
        items = json.loads(field) if field.strip() else []
    except json.JSONDecodeError:
        return []
    return [
        (str(e["WikidataId"]), str(e.get("Label", "")))
        for e in items
        if isinstance(e, dict) and "WikidataId" in e
    ]


def read_news(path: Path) -> dict[str, News]:
    """Parse a news.tsv file (missing file: no news)."""
    out: dict[str, News] = {}
    if not path.exists():
        return out
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 4:
                continue
            row += [""] * (8 - len(row))
            out[row[0]] = News(row[0], row[1], row[2], row[3], row[4], _entities(row[6]) + _entities(row[7]))
    return out


def read_behaviors(path: Path, is_eval: bool) -> list[Impression]:
    """Parse a behaviors.tsv file; raises ValueError naming the line on malformed rows."""
    out = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                if line.strip():
                    raise ValueError(f"{path}:{number}: expected 5 tab-separated columns, got {len(parts)}")
                continue
            try:
                at = datetime.strptime(parts[2].strip(), TIME_FORMAT).replace(tzinfo=UTC)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: bad time {parts[2]!r}") from exc
            shown = []
            for token in parts[4].split():
                nid, _, label = token.partition("-")
                shown.append((nid, int(label) if label in ("0", "1") else -1))
            out.append(Impression(parts[0], parts[1], at, parts[3].split(), shown, is_eval))
    return out


def tfidf_embedder(corpus: list[str], dims: int = 128) -> Embedder:
    """A TF-IDF + truncated SVD embedder fitted on `corpus`, for when no neural model is available."""
    # Deferred: scikit-learn is slow to import; only the TF-IDF baseline needs it.
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1)
    matrix = vectorizer.fit_transform(corpus or ["empty"])
    k = max(1, min(dims, matrix.shape[0] - 1, matrix.shape[1] - 1))
    svd = TruncatedSVD(n_components=k, random_state=0).fit(matrix)

    def embed(texts: list[str]) -> npt.NDArray[np.float32]:
        dense = svd.transform(vectorizer.transform(texts)).astype(np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return np.asarray(dense / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    return embed


def default_embedder(settings: Settings, corpus: list[str]) -> Embedder:
    """The enrichment stage's sentence embedder when it is installed, else TF-IDF."""
    try:
        embed_texts([corpus[0] if corpus else "probe"], settings)
    except Exception:
        return tfidf_embedder(corpus)
    return lambda texts: np.asarray(embed_texts(texts, settings), dtype=np.float32)


def _news_candidate(news_id: str, item: News | None, first_seen: datetime, embedding: Any) -> Candidate:
    """A ranking candidate for one news id; unknown ids get no content at all."""
    if item is None:
        return Candidate(article_id=news_id, story_id=None, title="", source="mind", published_at=first_seen)
    return Candidate(
        article_id=news_id,
        story_id=None,
        title=item.title,
        source="mind",
        topics=[t for t in (item.category, item.subcategory) if t],
        entity_keys=[f"wikidata:{q}" for q, _ in item.entities],
        entity_names=[label for _, label in item.entities],
        keywords=item.title.lower(),
        published_at=first_seen,
        embedding=embedding,
    )


def build_pool(impressions: list[Impression], news: dict[str, News], embedder: Embedder) -> CandidatePool:
    """One unsorted pool over every news id in the logs, dated by its first appearance."""
    first_seen: dict[str, datetime] = {}
    for imp in impressions:
        for nid in [*imp.history, *(n for n, _ in imp.shown)]:
            if nid not in first_seen or imp.at < first_seen[nid]:
                first_seen[nid] = imp.at
    ids = sorted(first_seen)
    known = [i for i in ids if i in news]
    texts = [f"{news[i].title}. {news[i].abstract}".strip() for i in known]
    vectors = embedder(texts) if texts else np.zeros((0, 1), dtype=np.float32)
    emb = {nid: vectors[k] for k, nid in enumerate(known)}
    cands = [_news_candidate(n, news.get(n), first_seen[n], emb.get(n)) for n in ids]
    return CandidatePool.from_candidates(cands, sort=False)


def _by_time(impressions: list[Impression]) -> Iterator[list[Impression]]:
    """Groups of impressions sharing one timestamp, in time order."""
    ordered = sorted(impressions, key=lambda i: (i.at, not i.is_eval))
    for _, group in groupby(ordered, key=lambda i: i.at):
        yield list(group)


class Replay:
    """Per-user profiles and global click counts, advanced one timestamp at a time."""

    def __init__(self, pool: CandidatePool) -> None:
        self.pool = pool
        self.profiles: dict[str, Profile] = {}
        self.controls = UserControls()
        self.items: dict[int, Candidate] = {}
        pool.popularity[:] = 0.0

    def profile(self, imp: Impression) -> Profile:
        """The user's profile, seeded from their click history the first time they appear."""
        found = self.profiles.get(imp.user)
        if found is None:
            found = Profile(user=imp.user)
            for nid in imp.history:
                self._apply(found, "click", nid, imp.at)
            self.profiles[imp.user] = found
        return found

    def _apply(self, profile: Profile, kind: str, nid: str, at: datetime) -> None:
        row = self.pool.row_of_id.get(nid)
        if row is None:
            return
        item = self.items.get(row)
        if item is None:
            item = self.items[row] = self.pool.candidate_at(row)
        update_profile(profile, FeedbackEvent(kind, nid, at), item, at, in_place=True)

    def features(self, imp: Impression) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Feature rows for the shown news, from what was known strictly before this impression."""
        rows = np.array([self.pool.row_of_id[n] for n, _ in imp.shown], dtype=np.int64)
        ctx = build_context(self.pool, self.profile(imp), self.controls, imp.at.timestamp())
        return compute_features(ctx, rows).values, rows

    def learn(self, imp: Impression) -> None:
        """Fold an impression's outcome in, after it has been scored."""
        profile = self.profile(imp)
        for nid, label in imp.shown:
            self._apply(profile, "click" if label == 1 else "impression", nid, imp.at)
            if label == 1:
                self.pool.popularity[self.pool.row_of_id[nid]] += 1.0


def _scores(method: str, values: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], pop: Any) -> Any:
    if method == "popularity":
        return np.asarray(pop, dtype=np.float64)
    if method == "content":
        return values[:, COL["sim_long"]].astype(np.float64)
    return values.astype(np.float64) @ weights


def _as_logged(values: npt.NDArray[np.float32], imp: Impression) -> list[tuple[dict[str, float], bool]]:
    names = list(COL)
    return [
        (dict(zip(names, map(float, v), strict=True)), lbl == 1)
        for v, (_, lbl) in zip(values, imp.shown, strict=True)
    ]


def evaluate_mind(
    directory: Path,
    train_dir: Path | None = None,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    method: str = "tidings",
    weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """AUC, MRR and nDCG@5/10 over `directory`'s impressions, each scored from its own past only."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    settings = settings or Settings()
    news = read_news(directory / "news.tsv")
    evaluated = read_behaviors(directory / "behaviors.tsv", is_eval=True)
    training = read_behaviors(train_dir / "behaviors.tsv", is_eval=False) if train_dir else []
    if train_dir:
        news = {**read_news(train_dir / "news.tsv"), **news}
    corpus = [f"{n.title}. {n.abstract}" for n in news.values()]
    pool = build_pool(training + evaluated, news, embedder or default_embedder(settings, corpus))
    report: dict[str, Any] = {}
    replay = Replay(pool)
    logged: list[tuple[dict[str, float], bool]] = []
    shown_in: list[str] = []  # which training impression each logged row came from
    w = resolve_weights(weights, UserControls())
    fit = method == "tidings" and bool(training) and weights is None
    scored = []
    for group in _by_time(training + evaluated):
        if fit and any(i.is_eval for i in group):
            # Fit on the training logs replayed so far, then score the evaluation logs with the result.
            fitted, report = train_weights(logged, impressions=shown_in)
            w, fit = resolve_weights(fitted, UserControls()), False
        for imp in group:
            if any(lbl < 0 for _, lbl in imp.shown):
                continue
            if imp.is_eval:
                values, rows = replay.features(imp)
                labels = [lbl for _, lbl in imp.shown]
                scored.append((labels, _scores(method, values, w, pool.popularity[rows])))
            elif fit and len(logged) < MAX_TRAINING_ROWS and any(lbl == 1 for _, lbl in imp.shown):
                logged += _as_logged(replay.features(imp)[0], imp)
                shown_in += [imp.impression_id] * len(imp.shown)
        for imp in group:
            replay.learn(imp)
    result: dict[str, Any] = dict(evaluate_impressions(scored))
    result["method"] = method
    result["missing_news"] = len({n for i in evaluated for n, _ in i.shown if n not in news})
    if report:
        result["training"] = report
    return result
