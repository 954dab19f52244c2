"""Personalised ranking: pure functions from a profile, controls and candidates to an explained feed."""

from tidings.rank.controls import TARGET_KINDS, UserControls, parse_target, validate_target
from tidings.rank.explain import Reason
from tidings.rank.features import Candidate, CandidatePool
from tidings.rank.feed import FeedItem, FeedResult, HiddenItem, build_feed
from tidings.rank.preview import PreviewDay, PreviewResult, preview
from tidings.rank.profile import EVENT_KINDS, FeedbackEvent, Profile, update_profile
from tidings.rank.scoring import DEFAULT_WEIGHTS, FEATURES
from tidings.rank.train import train_weights

__all__ = [
    "DEFAULT_WEIGHTS",
    "EVENT_KINDS",
    "FEATURES",
    "TARGET_KINDS",
    "Candidate",
    "CandidatePool",
    "FeedItem",
    "FeedResult",
    "FeedbackEvent",
    "HiddenItem",
    "PreviewDay",
    "PreviewResult",
    "Profile",
    "Reason",
    "UserControls",
    "build_feed",
    "parse_target",
    "preview",
    "train_weights",
    "update_profile",
    "validate_target",
]
