"""Preview: how a new mute, follow or weight would have changed the reader's recent feeds, before saving."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tidings.rank.controls import UserControls
from tidings.rank.features import Candidate, CandidatePool
from tidings.rank.feed import FeedItem, as_pool, build_feed
from tidings.rank.profile import Profile


@dataclass
class PreviewDay:
    """How one day's feed would change."""

    as_of: datetime
    removed: list[FeedItem]
    added: list[FeedItem]


@dataclass
class PreviewResult:
    """What a new mute, follow or weight would have changed over the last days."""

    days: list[PreviewDay]

    @property
    def removed_count(self) -> int:
        """Items that would have left the feeds."""
        return sum(len(d.removed) for d in self.days)

    @property
    def added_count(self) -> int:
        """Items that would have entered the feeds."""
        return sum(len(d.added) for d in self.days)


def preview(
    profile: Profile,
    controls_before: UserControls,
    controls_after: UserControls,
    candidates_by_day: Mapping[datetime, Sequence[Candidate] | CandidatePool] | CandidatePool,
    now: datetime | None = None,
    days: int = 7,
    limit: int = 20,
    weights_before: Mapping[str, float] | None = None,
    weights_after: Mapping[str, float] | None = None,
    window_hours: float | None = None,
) -> PreviewResult:
    """Replay the last `days` feeds with the old and the new controls, before the change is saved."""
    if isinstance(candidates_by_day, CandidatePool):
        if now is None:
            raise ValueError("preview over one pool needs `now`")
        plan: dict[datetime, CandidatePool] = {
            now - timedelta(days=k): candidates_by_day for k in range(days - 1, -1, -1)
        }
    else:
        plan = {day: as_pool(c) for day, c in sorted(candidates_by_day.items())}
    out = []
    for as_of, pool in plan.items():
        before = build_feed(
            profile, controls_before, pool, as_of, limit, weights_before, window_hours=window_hours
        )
        after = build_feed(
            profile, controls_after, pool, as_of, limit, weights_after, window_hours=window_hours
        )
        ids_before = {str(i.article_id) for i in before.items}
        ids_after = {str(i.article_id) for i in after.items}
        out.append(
            PreviewDay(
                as_of=as_of,
                removed=[i for i in before.items if str(i.article_id) not in ids_after],
                added=[i for i in after.items if str(i.article_id) not in ids_before],
            )
        )
    return PreviewResult(out)
