"""Stories: near-duplicates and incremental event clustering over plain data (no database I/O)."""

from tidings.stories.centroid_index import CandidateIndex, EntityIdf
from tidings.stories.clusterer import (
    Decision,
    add_to_story,
    assign,
    maybe_split,
    new_story,
    remove_from_story,
    replace_member,
)
from tidings.stories.neardup import NearDupIndex, fingerprint_similarity, near_duplicate_of, text_fingerprint
from tidings.stories.related import related
from tidings.stories.scoring import MatchScore, Weights, pair_match, pair_score, same_story, score_match
from tidings.stories.signature import (
    ArticleSignature,
    StoryState,
    body_terms,
    distinctive_numbers,
    entity_counts_from,
    idf_keys,
)

__all__ = [
    "ArticleSignature",
    "CandidateIndex",
    "Decision",
    "EntityIdf",
    "MatchScore",
    "NearDupIndex",
    "StoryState",
    "Weights",
    "add_to_story",
    "assign",
    "body_terms",
    "distinctive_numbers",
    "entity_counts_from",
    "fingerprint_similarity",
    "idf_keys",
    "maybe_split",
    "near_duplicate_of",
    "new_story",
    "pair_match",
    "pair_score",
    "related",
    "remove_from_story",
    "replace_member",
    "same_story",
    "score_match",
    "text_fingerprint",
]
