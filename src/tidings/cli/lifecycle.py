"""`tidings prune`, `backup PATH` and `restore PATH`: the store's data lifecycle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOpt, UserError, cli_errors, emit, engine, settings

RetentionOpt = Annotated[
    float | None, typer.Option(help="Retention in days (default TIDINGS_RETENTION_DAYS).", min=0)
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Count what would be pruned; change nothing.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a database that already holds data.")]


def prune(days: RetentionOpt = None, dry_run: DryRunOpt = False, as_json: JsonOpt = False) -> None:
    """Drop the bodies and embeddings of old articles (not saved ones, nor those of live stories)."""
    with cli_errors():
        from tidings.store.retention import prune as prune_store

        retention = settings().retention_days if days is None else days
        if retention <= 0:
            raise UserError("no retention period: set TIDINGS_RETENTION_DAYS or pass --days")
        report = prune_store(engine(), retention, dry_run=dry_run)
        emit(report.to_json(), as_json, _render_prune)


def _render_prune(d: dict[str, Any]) -> None:
    verb = "would prune" if d["dry_run"] else "pruned"
    counts = f"{d['bodies']} bodies, {d['embeddings']} embeddings"
    print(f"{verb} {d['articles']} articles older than {d['cutoff']}: {counts}")


def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    as_json: JsonOpt = False,
) -> None:
    """Back up the whole store to one file (SQLite online backup, or pg_dump's custom format)."""
    with cli_errors():
        from tidings.store.backup import BackupError
        from tidings.store.backup import backup as backup_store

        url = settings().resolved_database_url
        try:
            written = backup_store(url, path)
        except BackupError as exc:
            raise UserError(str(exc)) from exc
        size = written.stat().st_size
        emit(
            {"path": str(written), "bytes": size},
            as_json,
            lambda d: print(f"wrote {d['path']} ({d['bytes']} bytes)"),
        )


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `tidings backup`.")],
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore a backup into the configured database (empty unless --force), then migrate it."""
    with cli_errors():
        from tidings.store.backup import BackupError
        from tidings.store.backup import restore as restore_store
        from tidings.store.engine import make_engine, migrate

        url = settings().resolved_database_url
        target = make_engine(url)  # not open_engine: migrating first would make the target non-empty
        try:
            restore_store(target, url, path, force=force)
        except BackupError as exc:
            raise UserError(str(exc)) from exc
        finally:
            target.dispose()
        fresh = make_engine(url)
        try:
            version = migrate(fresh)  # a backup from an older release is brought up to date
        finally:
            fresh.dispose()
        emit(
            {"database": url, "version": version},
            as_json,
            lambda d: print(f"restored {d['database']} at {d['version']}"),
        )


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to the main app."""
    app.command()(prune)
    app.command()(backup)
    app.command()(restore)
