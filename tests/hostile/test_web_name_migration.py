"""Migration 0002: existing accounts keep signing in after user names become case-insensitive, including
old accounts whose names differ only in case."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from tidings.store import users as user_repo
from tidings.store.engine import alembic_config, make_engine, migrate

pytestmark = pytest.mark.hostile


def test_existing_names_keep_working_after_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.commit()
    insert = text("INSERT INTO users (name, is_admin, created_at, onboarded) VALUES (:n, 0, '2026-01-01', 0)")
    with engine.begin() as conn:
        for name in ("Carol", "carol", "Dave"):
            conn.execute(insert, {"n": name})
    migrate(engine)
    with engine.connect() as conn:
        ids = {n: user_repo.get_user_by_name(conn, n) for n in ("Carol", "carol", "CAROL", " dave\t", "DAVE")}
    assert ids["Carol"] and ids["carol"] and ids["Carol"]["id"] != ids["carol"]["id"]  # exact spelling wins
    assert ids["CAROL"] and ids["CAROL"]["id"] == ids["Carol"]["id"]  # the oldest owns the folded name
    assert ids[" dave\t"] and ids["DAVE"] and ids[" dave\t"]["name"] == "Dave"
    with engine.begin() as conn, pytest.raises(user_repo.NameTakenError):
        user_repo.create_user(conn, "dAvE", None)
