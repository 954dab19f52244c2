"""Shared test fixtures: paths to ../shared data (skipping cleanly when absent) and isolated settings."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

# TIDINGS_TEST_DATABASE=postgres runs the suite's stores on the PostgreSQL server at
# TIDINGS_TEST_POSTGRES_URL: each test module and each test gets a fresh database (a copy of one migrated
# template) through TIDINGS_DATABASE_URL, which subprocesses inherit too. Tests about the SQLite file itself
# are marked `sqlite_only` and skipped there.
ON_POSTGRES = os.environ.get("TIDINGS_TEST_DATABASE", "") == "postgres"
PG_URL = os.environ.get("TIDINGS_TEST_POSTGRES_URL", "")
PG_TEMPLATE = "tidings_suite_template"

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT.parent / "shared").resolve()
TEST_DATA = REPO_ROOT / "tests" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Keep every test's data (including the cached ONNX model export) out of the user's own TIDINGS_HOME."""
    os.environ["TIDINGS_HOME"] = tempfile.mkdtemp(prefix="tidings-test-home-")
    if ON_POSTGRES:
        if not PG_URL:
            raise pytest.UsageError("TIDINGS_TEST_DATABASE=postgres needs TIDINGS_TEST_POSTGRES_URL")
        _make_template()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, skip the tests about the SQLite file."""
    if ON_POSTGRES:
        skip = pytest.mark.skip(reason="about the SQLite file; the suite runs on PostgreSQL")
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(skip)


def _admin_run(*statements: str) -> None:
    """Run statements outside a transaction on the test server (CREATE/DROP DATABASE need that)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def _database_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def _make_template() -> None:
    """A migrated database that every test's database is copied from (faster than migrating each)."""
    from tidings.store.engine import make_engine, migrate

    _admin_run(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)', f'CREATE DATABASE "{PG_TEMPLATE}"')
    engine = make_engine(_database_url(PG_TEMPLATE))
    migrate(engine)
    engine.dispose()


# Copying the template costs about 0.3 s of server time per database, and every test gets one: one thread
# keeps a few copies made ahead (and drops used ones) while tests run, so the copying overlaps the tests.
_DB_AHEAD = 3
_db_maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
_db_ready: deque[Future[str]] = deque()


def _create_database() -> str:
    name = f"tidings_suite_{uuid.uuid4().hex[:12]}"
    _admin_run(f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}"')
    return name


def _drop_database(name: str) -> None:
    _admin_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _take_database() -> str:
    """A new copy of the template, made ahead by the database thread."""
    while len(_db_ready) < _DB_AHEAD:
        _db_ready.append(_db_maker.submit(_create_database))
    name = _db_ready.popleft().result()
    _db_ready.append(_db_maker.submit(_create_database))
    return name


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the copies made ahead but never used."""
    while _db_ready:
        _drop_database(_db_ready.popleft().result())
    _db_maker.shutdown(wait=True)


@contextmanager
def _fresh_postgres_database() -> Iterator[None]:
    """Point TIDINGS_DATABASE_URL at a new copy of the template for the duration."""
    from tidings.config import get_settings
    from tidings.store import reset_engines

    name = _take_database()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIDINGS_DATABASE_URL", _database_url(name))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()
    reset_engines()
    _db_maker.submit(_drop_database, name)


@pytest.fixture(scope="module", autouse=True)
def _postgres_per_module() -> Iterator[None]:
    """On PostgreSQL, a fresh database for a module's shared fixtures."""
    if not ON_POSTGRES:
        yield
        return
    with _fresh_postgres_database():
        yield


@pytest.fixture(autouse=True)
def _postgres_per_test() -> Iterator[None]:
    """On PostgreSQL, a fresh database for each test."""
    if not ON_POSTGRES:
        yield
        return
    with _fresh_postgres_database():
        yield


def shared_path(*parts: str) -> Path:
    """Return a path under ../shared, skipping the calling test when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def seed_path() -> Path:
    """The scraped seed article from ../shared/fixtures."""
    return shared_path("fixtures", "seed-article-scraped.txt")


@pytest.fixture
def tidings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point TIDINGS_HOME at a fresh folder and allow loopback fetches; returns the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TIDINGS_HOME", str(home))
    monkeypatch.setenv("TIDINGS_ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setenv("TIDINGS_SUBSCRIBE_STARTER", "0")
    monkeypatch.setenv("TIDINGS_BACKGROUND_REFRESH", "0")
    if not ON_POSTGRES:  # there, the per-test fixture has chosen the database
        monkeypatch.delenv("TIDINGS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIDINGS_SEED_PATHS", raising=False)
    from tidings.config import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
