"""Fixtures for the hostile corpus: the loopback server and fetch settings from the ingest tests."""

from __future__ import annotations

from tests.ingest.conftest import server as server  # the loopback server fixture
