"""Table definitions (SQLAlchemy Core); the migrations under migrations/ create them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def _parent_id(name: str, table: str, **options: Any) -> Column[int]:
    """A column holding the id of a row of `table` that owns this row: deleting the parent deletes it."""
    return Column(name, Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"), **options)


def per_user_table(name: str, key: str, table: str, *columns: Column[Any] | Index) -> Table:
    """A user's own state for rows of `table`: keyed by (user_id, `key`), gone with either of them."""
    return Table(
        name,
        metadata,
        _parent_id("user_id", "users", primary_key=True),
        _parent_id(key, table, primary_key=True),
        *columns,
    )


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("kind", String(16), nullable=False, default="feed"),  # feed | page | file
    Column("title", Text),
    Column("site_url", String(2048)),
    Column("category", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("ttl_seconds", Integer),
    Column("last_fetched", DateTime(timezone=True)),
    Column("last_success", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_due", DateTime(timezone=True)),
    Column("article_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # Set when the last subscriber left (or was deleted): the feed is no longer fetched until resubscribed.
    Column("stopped_at", DateTime(timezone=True)),
    Column("icon", Text),  # "mime;base64,..." from the feed's image or the site's favicon; "" = none found
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("size", Integer, nullable=False, default=0),
    Column("source_count", Integer, nullable=False, default=0),
    Column("first_seen", DateTime(timezone=True)),
    Column("last_updated", DateTime(timezone=True)),
    Column("centroid", LargeBinary),
    Column("state", Text),  # the stories stage's serialised StoryState (JSON text)
    Column("revision", Integer, nullable=False, default=0),  # global change counter, for cache syncing
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_stories_last_updated", "last_updated"),
    Index("ix_stories_revision", "revision"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2048)),
    Column("canonical_url", String(2048), unique=True),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("source", Text),  # display name / host of the publisher
    Column("title", Text, nullable=False),
    Column("standfirst", Text),
    Column("byline", Text),
    Column("published_at", DateTime(timezone=True)),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("language", String(16)),
    Column("section", Text),
    Column("text", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),
    Column("captions", JSON),
    Column("related_links", JSON),
    Column("tags", JSON),
    Column("lead_image", String(2048)),
    Column("status", String(16), nullable=False, default="ok"),
    Column("is_teaser", Boolean, nullable=False, default=False),
    Column("fulltext_attempts", Integer, nullable=False, default=0),
    Column("fulltext_next_try", DateTime(timezone=True)),
    Column("fulltext_error", Text),
    Column("meta", JSON),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
    Column("duplicate_of", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("fingerprint", LargeBinary),
    Column("sort_time", DateTime(timezone=True), nullable=False),  # published_at, else ingested_at
    Index("ix_articles_sort_time", "sort_time"),
    Index("ix_articles_story", "story_id"),
    Index("ix_articles_source", "source_id"),
    Index("ix_articles_fulltext", "is_teaser", "fulltext_next_try"),
)

enrichments = Table(
    "enrichments",
    metadata,
    _parent_id("article_id", "articles", primary_key=True),
    Column("language", String(16)),
    Column("entities", JSON),
    Column("topics", JSON),
    Column("iptc_topic", Text),
    Column("key_points", JSON),
    Column("embedding", LargeBinary),
    Column("embedding_model", Text),
    Column("versions", JSON),
    Column("skipped", JSON),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_enrichments_updated_at", "updated_at"),  # the candidate pool's change check
)

article_entities = Table(
    "article_entities",
    metadata,
    _parent_id("article_id", "articles", primary_key=True),
    Column("entity_key", String(255), primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", String(32), nullable=False),
    Column("count", Integer, nullable=False, default=1),
    Index("ix_article_entities_key", "entity_key"),
)

article_topics = Table(
    "article_topics",
    metadata,
    _parent_id("article_id", "articles", primary_key=True),
    Column("topic", String(255), primary_key=True),
    Index("ix_article_topics_topic", "topic"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    # NFKC + strip + casefold of name: sign-in, sign-up and the sign-in throttle all go through it.
    Column("name_key", String(64), index=True, unique=True),
    Column("password_hash", Text),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("profile", JSON),  # the ranking stage's serialised Profile
    Column("controls", JSON),  # weights, switches, diversity and exploration settings
    Column("onboarded", Boolean, nullable=False, default=False),
)


def target_table(name: str) -> Table:
    """A user's follows or mutes: one row per (user, kind, value) target; the two tables share this shape."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        _parent_id("user_id", "users", nullable=False),
        Column("kind", String(16), nullable=False),
        Column("value", String(512), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("user_id", "kind", "value", name=f"uq_{name}_target"),
    )


follows = target_table("follows")
mutes = target_table("mutes")

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    _parent_id("user_id", "users", nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("story_id", Integer),
    Column("kind", String(16), nullable=False),
    Column("dwell_seconds", Float),
    Column("features", JSON),  # ranking features at impression time, for `tidings train`
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_events_user_time", "user_id", "created_at"),
    Index("ix_events_article", "article_id"),
)

story_reads = per_user_table(
    "story_reads",
    "story_id",
    "stories",
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("seen_article_ids", JSON),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    _parent_id("user_id", "users", nullable=False),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

user_sources = per_user_table(
    "user_sources",
    "source_id",
    "sources",
    Column("category", Text),  # the user's own folder (None: the source's)
    Column("title", Text),  # the user's own name for the source (None: the feed's title)
)

invites = Table(
    "invites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code_hash", String(128), nullable=False, unique=True),  # SHA-256 of the random code
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("used_at", DateTime(timezone=True)),
)

read_state = per_user_table(
    "read_state",
    "article_id",
    "articles",
    Column("is_read", Boolean, nullable=False, default=False),
    Column("is_starred", Boolean, nullable=False, default=False),  # "saved" in the web app
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("is_hidden", Boolean, nullable=False, default=False),
    Column("liked", Integer, nullable=False, default=0),  # 1 liked, -1 disliked, 0 neither
    Column("read_at", DateTime(timezone=True)),
    Column("starred_at", DateTime(timezone=True)),
    Column("hidden_at", DateTime(timezone=True)),
    Column("liked_at", DateTime(timezone=True)),
    Index("ix_read_state_article", "article_id"),
    Index("ix_read_state_updated_at", "updated_at"),  # "read by others" refreshes from the rows changed since
)

# The last error of each task-queue job (procrastinate keeps the job's state, not its error message).
task_errors = Table(
    "task_errors",
    metadata,
    Column("job_id", BigInteger, primary_key=True, autoincrement=False),
    Column("task_name", String(128), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
)
