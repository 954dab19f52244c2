"""The spaCy NER pipeline: loaded once per process (tokenizer and NER only), and its raw mentions.

Shared by in-process entity extraction (`entities`) and the NER worker process (`ner_worker`).
"""

from __future__ import annotations

from typing import Any

from tidings.config import Settings
from tidings.enrich.cache import get_or_load

OPTIONAL_COMPONENTS = ["tagger", "parser", "lemmatizer", "attribute_ruler", "senter"]
NER_BATCH = 32
RawMention = tuple[str, str, int]  # (text, label, start character)


def load_ner(settings: Settings) -> Any:
    """The process-wide spaCy pipeline with only the tokenizer and NER, loaded once.

    en_core_web_sm's NER carries its own embedding layer, so the shared tok2vec (which only feeds the tagger
    and parser) is excluded too: the same entities, about 1.5x faster. A pipeline whose NER listens to a
    shared tok2vec keeps it.
    """

    def load() -> Any:
        # Deferred: spaCy takes about a second to import; loaded once, on first use.
        import spacy

        nlp = spacy.load(settings.spacy_model, exclude=[*OPTIONAL_COMPONENTS, "tok2vec"])
        if "ner" not in nlp.pipe_names or _ner_listens_to_tok2vec(nlp):
            nlp = spacy.load(settings.spacy_model, exclude=OPTIONAL_COMPONENTS)
        use_numpy_blas(nlp)
        return nlp

    return get_or_load("spacy", settings.spacy_model, load)


def use_numpy_blas(nlp: Any) -> None:
    """Run the pipeline's matrix products through numpy's BLAS instead of the bundled blis.

    The blis wheel has no AVX-512 kernels and falls back to its generic reference code on such CPUs (this
    machine among them); thinc's own `use_blis=False` option sends gemm to numpy (OpenBLAS), which made NER
    1.4x faster here with identical entities on 300 BBC articles (tests/enrich/test_backends.py checks it).
    """
    # Deferred with spaCy, whose model library thinc is.
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        for node in model.walk() if model is not None else ():
            if isinstance(node.ops, NumpyOps):  # leave GPU ops alone
                node.ops = ops


def _ner_listens_to_tok2vec(nlp: Any) -> bool:
    """True when the NER model reads a shared tok2vec component (then it must stay)."""
    try:
        return any("Tok2VecListener" in str(node.name) for node in nlp.get_pipe("ner").model.walk())
    except (KeyError, AttributeError):
        return False


def raw_mentions(nlp: Any, texts: list[str]) -> list[list[RawMention]]:
    """NER mentions of each text."""
    return [
        [(e.text, e.label_, e.start_char) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=NER_BATCH)
    ]
