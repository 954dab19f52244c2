"""Shared test fixtures: paths to ../shared data (skipping cleanly when absent) and isolated settings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT.parent / "shared").resolve()
TEST_DATA = REPO_ROOT / "tests" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Keep every test's data (including the cached ONNX model export) out of the user's own TIDINGS_HOME."""
    os.environ["TIDINGS_HOME"] = tempfile.mkdtemp(prefix="tidings-test-home-")


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
    monkeypatch.delenv("TIDINGS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIDINGS_SEED_PATHS", raising=False)
    from tidings.config import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
