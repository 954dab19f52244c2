"""Geometry for the small server-rendered SVG charts (pure: the template draws the shapes)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

CHART_WIDTH = 480
LABEL_WIDTH = 150
BAR_HEIGHT = 22
BAR_GAP = 8
PALETTE = ("#2f6fb0", "#b5562a", "#2e8a57", "#8a4fb0", "#a8801c", "#b03a6a", "#5d6b78")


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, share, geometry and colour."""

    label: str
    share: float
    count: int
    y: int
    width: float
    colour: str

    @property
    def percent(self) -> str:
        """The share as a whole percentage, e.g. "42%"."""
        return f"{round(self.share * 100)}%"


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: overall size, where the bars start, and the bars."""

    width: int
    height: int
    bar_x: int
    bar_max: int
    bars: list[Bar]


def shorten_label(text: str, limit: int = 22) -> str:
    """A label cut to fit the label column."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(entries: list[dict[str, Any]]) -> BarChart:
    """Bars for [{"name", "count", "share"}]: longest bar = largest share, widths proportional."""
    bar_max = CHART_WIDTH - LABEL_WIDTH - 50
    top = max((float(e["share"]) for e in entries), default=1.0) or 1.0
    bars = [
        Bar(
            label=shorten_label(str(e["name"])),
            share=float(e["share"]),
            count=int(e["count"]),
            y=i * (BAR_HEIGHT + BAR_GAP),
            width=max(2.0, round(bar_max * float(e["share"]) / top, 1)),
            colour=PALETTE[i % len(PALETTE)],
        )
        for i, e in enumerate(entries)
    ]
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return BarChart(width=CHART_WIDTH, height=height, bar_x=LABEL_WIDTH, bar_max=bar_max, bars=bars)


def shares(counts: Counter[str], top: int) -> list[dict[str, Any]]:
    """The top entries of a counter as {"name", "count", "share"}, the rest folded into "Other"."""
    total = sum(counts.values())
    if not total:
        return []
    head = counts.most_common(top)
    rest = total - sum(n for _, n in head)
    if rest:
        head.append(("Other", rest))
    return [{"name": name, "count": n, "share": n / total} for name, n in head]
