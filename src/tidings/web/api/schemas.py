"""Typed request and response models, so /openapi.json documents the API (the JSON matches the CLI's)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidings.ingest.urls import safe_http_url

EventKind = Literal[
    "impression", "click", "read", "like", "dislike", "hide", "save", "share", "more", "fewer"
]


class Open(BaseModel):
    """A response model that passes through fields added by later versions of the service layer."""

    model_config = ConfigDict(extra="allow")


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a one-line message."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


class Reason(Open):
    """One signal's share of an item's score."""

    signal: str
    contribution: float
    detail: str


class FeedItem(Open):
    """One ranked feed item."""

    article_id: int
    title: str
    story_id: int | None = None
    source: str | None = None
    score: float
    other_sources: int = 0
    exploration: bool = False
    reasons: list[Reason] = []


class Feed(Open):
    """The personalised feed; `hidden` lists what mutes and caps removed (with ?show_hidden=true)."""

    user: str
    as_of: str | None = None
    window_anchored: bool = False
    window_hours: float | None = None
    items: list[FeedItem]
    hidden: list[dict[str, Any]] = []


class EntityOut(Open):
    """A named entity in an article."""

    name: str
    type: str  # the NER label (PERSON, GPE, ORG, ...)
    label: str = ""  # its human name (Person, Place, Organisation, ...)
    count: int
    salient: bool = False  # one of the article's main entities, shown as a chip


class Link(Open):
    """A related link found in an article."""

    title: str | None = None
    url: str | None = None


class Article(Open):
    """The contract's article object."""

    id: int
    url: str | None = None
    canonical_url: str | None = None
    title: str
    standfirst: str | None = None
    byline: str | None = None
    published_at: str | None = None
    source: str | None = None
    language: str | None = None
    text: str = ""
    captions: list[str] = []
    related_links: list[Link] = []
    topics: list[str] = []
    entities: list[EntityOut] = []
    key_points: list[str] = []
    story_id: int | None = None

    @field_validator("url", "canonical_url", mode="before")
    @classmethod
    def _http_only(cls, value: Any) -> str | None:
        return safe_http_url(value)

    @field_validator("related_links", mode="before")
    @classmethod
    def _http_links_only(cls, value: Any) -> list[Any]:
        links = value if isinstance(value, list) else []
        return [{**link, "url": safe_http_url(link.get("url"))} for link in links if isinstance(link, dict)]


class RelatedItem(Open):
    """An article related to another."""

    article_id: int
    title: str
    score: float
    same_story: bool


class RelatedList(BaseModel):
    """Related articles, the same story first."""

    items: list[RelatedItem]


class Story(Open):
    """The contract's story object."""

    id: int
    title: str
    article_ids: list[int]
    sources: list[str]
    first_seen: str | None = None
    last_updated: str | None = None


class StoryList(BaseModel):
    """Stories, newest activity first."""

    stories: list[Story]


class StoryView(Story):
    """One story with its timeline and attributed key points."""

    article_count: int = 0
    timeline: list[dict[str, Any]] = []
    key_points: list[dict[str, Any]] = []

    @field_validator("timeline", mode="before")
    @classmethod
    def _http_only(cls, value: Any) -> list[Any]:
        entries = value if isinstance(value, list) else []
        return [{**e, "url": safe_http_url(e.get("url"))} if isinstance(e, dict) else e for e in entries]


class SearchItem(Open):
    """One search hit."""

    article_id: int
    title: str
    score: float


class SearchResults(BaseModel):
    """Search hits, best first."""

    items: list[SearchItem]


class EventIn(Strict):
    """A feedback event on an article."""

    article_id: int = Field(ge=1)
    kind: EventKind
    dwell_seconds: float | None = Field(default=None, ge=0, le=86_400, allow_inf_nan=False)


class Ok(BaseModel):
    """A plain acknowledgement; `changed` is false when the request changed nothing."""

    ok: bool = True
    changed: bool | None = None


class Target(BaseModel):
    """A stored follow or mute."""

    id: int
    kind: str
    value: str
    target: str


class TargetList(BaseModel):
    """A user's follows or mutes."""

    items: list[Target]


class TargetIn(Strict):
    """A follow or mute target such as "topic:North Korea", "source:scmp.com" or "story:12"."""

    target: str = Field(min_length=3, max_length=520)


class SourceIn(Strict):
    """A feed URL to subscribe to."""

    url: str = Field(min_length=8, max_length=2048)
    title: str | None = Field(default=None, max_length=500)


class Source(Open):
    """The contract's source object, with fetch health."""

    id: int
    url: str
    title: str | None = None
    status: str
    last_fetched: str | None = None
    error: str | None = None


class TokenIn(Strict):
    """A label for a new API token."""

    name: str = Field(min_length=1, max_length=128)


class TokenInfo(BaseModel):
    """An API token's metadata (never the token itself)."""

    id: int
    name: str
    created_at: str | None = None
    last_used: str | None = None
    revoked_at: str | None = None


class TokenCreated(TokenInfo):
    """A new token: `token` is shown this once and stored only as a hash."""

    token: str


class TokenList(BaseModel):
    """A user's tokens, revoked ones included."""

    items: list[TokenInfo]


class LoginIn(Strict):
    """Credentials for a web session."""

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    """The signed-in user."""

    id: int
    name: str
