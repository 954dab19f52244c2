"""The reader's explicit controls: follows, mutes, signal switches and weights, diversity settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TARGET_KINDS = ("topic", "entity", "source", "keyword", "story")
Target = tuple[str, str]


def parse_target(text: str) -> Target:
    """Parse "topic:North Korea" into ("topic", "North Korea"); raises ValueError on unknown kinds."""
    kind, sep, value = text.partition(":")
    return validate_target((kind.strip().lower(), value.strip()) if sep else ("", text))


def validate_target(target: Target) -> Target:
    """Check a (kind, value) pair; raises ValueError with a clear message."""
    kind, value = target
    if kind not in TARGET_KINDS:
        raise ValueError(
            f"unknown target kind {kind!r} in {kind}:{value}; expected KIND:VALUE with KIND one of "
            + ", ".join(TARGET_KINDS)
        )
    if not value.strip():
        raise ValueError(f"empty value in target {kind}:")
    return kind, value.strip()


def compile_keyword(word: str) -> re.Pattern[str]:
    """A whole-word, case-insensitive pattern for a keyword mute or follow."""
    return re.compile(r"(?<!\w)" + re.escape(word.lower()) + r"(?!\w)")


@dataclass
class UserControls:
    """What the reader asked for explicitly; every field has a sensible default for a new install."""

    follows: list[Target] = field(default_factory=list)
    mutes: list[Target] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # per-signal weight overrides
    disabled: set[str] = field(default_factory=set)  # signals switched off
    source_cap: float = 0.3  # max share of each page of `cap_window` cards per source (soft)
    topic_cap: float = 0.5  # max share of each page per topic (soft)
    cap_window: int = 20
    mmr_lambda: float = 0.85  # 1.0 = pure relevance, lower = more diverse
    exploration_share: float = 0.1
    hide_read: bool = False  # leave out what the reader has read (the app's default; "show read" clears it)

    def __post_init__(self) -> None:
        self.follows = [validate_target(t) for t in self.follows]
        self.mutes = [validate_target(t) for t in self.mutes]
        for name, share in (("source_cap", self.source_cap), ("topic_cap", self.topic_cap)):
            if not 0.0 < share <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {share}")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1], got {self.mmr_lambda}")
        if not 0.0 <= self.exploration_share <= 0.5:
            raise ValueError(f"exploration_share must be in [0, 0.5], got {self.exploration_share}")

    def values(self, kind: str, muted: bool = False) -> list[str]:
        """Follow (or mute) values of one kind."""
        return [v for k, v in (self.mutes if muted else self.follows) if k == kind]
