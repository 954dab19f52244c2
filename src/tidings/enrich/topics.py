"""Topics: the IPTC Media Topics top level from a small classifier, plus source tags and prominent entities.

The classifier is a multinomial logistic regression over sentence embeddings, trained when first needed
(about a second) on `IPTC_EXAMPLES`, sentences written for Tidings. It never sees AG News or BBC News, so
both data sets remain fair test sets (see `tidings.eval.topics`). It runs on the article embedding that
enrichment computes anyway, so it costs one small matrix product per article.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from tidings.config import Settings
from tidings.enrich.cache import get_or_load
from tidings.enrich.embeddings import embed_texts, get_encoder
from tidings.enrich.iptc_examples import IPTC_EXAMPLES
from tidings.models import Entity
from tidings.vocabulary import fold, split_tags, topic_key

VERSION = "iptc-lr-2"

SECOND_TOPIC_RATIO = 0.6  # a runner-up within this share of the winner's probability is also a topic
PROMINENT_TYPES = frozenset({"PERSON", "GPE", "LOC", "ORG", "EVENT"})
PROMINENT_MIN_COUNT = 2
MAX_ENTITY_TOPICS = 5
# Inverse regularisation strength, chosen by stratified 5-fold cross-validation on the example sentences
# themselves (`tidings eval topics-cv`; never on AG News or BBC News, which stay test sets): on the 400
# examples with MiniLM, C=8 0.855 ± 0.041; C=4 0.848, C=16 0.850, C=1 0.818. Re-run it when the examples
# or the embedding model change.
REGULARISATION = 8.0


@dataclass
class TopicModel:
    """Weights of the topic classifier for one embedding space."""

    labels: list[str]
    coef: np.ndarray  # K x D
    intercept: np.ndarray  # K

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Class probabilities (N x K) for rows of embeddings."""
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def train_topic_model(settings: Settings) -> TopicModel:
    """Fit the classifier on the hand-written examples, embedded with the configured model."""
    # Deferred: scikit-learn is slow to import and only training needs it (the model is cached).
    from sklearn.linear_model import LogisticRegression

    labels = list(IPTC_EXAMPLES)
    texts = [text for label in labels for text in IPTC_EXAMPLES[label]]
    targets = [i for i, label in enumerate(labels) for _ in IPTC_EXAMPLES[label]]
    vectors = embed_texts(texts, settings)
    clf = LogisticRegression(C=REGULARISATION, max_iter=2000)
    clf.fit(vectors, targets)
    return TopicModel(labels=labels, coef=clf.coef_.astype(np.float32), intercept=clf.intercept_)


def get_topic_model(settings: Settings) -> TopicModel:
    """The process-wide topic classifier for the configured embedding model, trained once."""
    name = get_encoder(settings).name
    return get_or_load("topics", name, lambda: train_topic_model(settings))


def classify_topics(vectors: np.ndarray, settings: Settings) -> list[list[tuple[str, float]]]:
    """For each article embedding, the IPTC top levels with probabilities, best first."""
    if len(vectors) == 0:
        return []
    model = get_topic_model(settings)
    probs = model.predict_proba(vectors)
    ranked: list[list[tuple[str, float]]] = []
    for row in probs:
        order = np.argsort(-row)
        ranked.append([(topic_key(model.labels[i]), float(row[i])) for i in order])
    return ranked


def select_iptc(ranked: list[tuple[str, float]]) -> list[str]:
    """The winning top level plus a close runner-up, if any."""
    if not ranked:
        return []
    (best, p_best), (second, p_second) = ranked[0], ranked[1]
    return [best, second] if p_second >= SECOND_TOPIC_RATIO * p_best else [best]


def is_prominent(entity: Entity, title: str) -> bool:
    """Whether an entity is central enough to be a followable topic."""
    if entity.type not in PROMINENT_TYPES:
        return False
    return entity.count >= PROMINENT_MIN_COUNT or entity.name.lower() in title.lower()


def build_topics(iptc: list[str], tags: Iterable[str], entities: list[Entity], title: str) -> list[str]:
    """Topic keys of one article: IPTC top levels (the classifier's and those the publisher's tags name),
    then prominent entities ("North Korea"). Other tags stay tags; see `vocabulary`."""
    prominent = sorted((e for e in entities if is_prominent(e, title)), key=lambda e: -e.count)
    from_tags, _ = split_tags(list(tags))
    names = [*iptc, *from_tags, *(e.name for e in prominent[:MAX_ENTITY_TOPICS])]
    seen: set[str] = set()
    topics: list[str] = []
    for name in names:
        key = topic_key(name)
        if key and fold(key) not in seen:
            seen.add(fold(key))
            topics.append(key)
    return topics
