"""Storage layer: engine, migrations and one repository module per entity."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.store.engine import make_engine, migrate


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


def open_engine(settings: Settings) -> Engine:
    """The migrated engine for the configured database, created once per process and URL."""
    return _engine_for(settings.resolved_database_url)


def reset_engines() -> None:
    """Forget cached engines (tests switch databases between cases)."""
    _engine_for.cache_clear()
