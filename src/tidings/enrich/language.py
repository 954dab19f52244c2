"""Language identification with py3langid over the title and the start of the body."""

from __future__ import annotations

from typing import Any

from tidings.enrich.cache import get_or_load

VERSION = "py3langid-1"
SAMPLE_CHARS = 2000
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.5


def _identifier() -> Any:
    def load() -> Any:
        # Deferred: py3langid unpacks its model on import.
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    return get_or_load("langid", "py3langid", load)


def detect_language(text: str, declared: str | None = None) -> str | None:
    """ISO 639-1 code of the text's language, or the declared one when the text is too thin to tell."""
    sample = text[:SAMPLE_CHARS]
    primary = declared.split("-")[0].split("_")[0].lower() if declared else None
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return primary
    lang, confidence = _identifier().classify(sample)
    if confidence < MIN_CONFIDENCE and primary:
        return primary
    return str(lang)


def is_english(language: str | None) -> bool:
    """Whether English-only enrichers (NER) should run on text in this language."""
    return language == "en"
