"""`tidings feeds ...`: manage subscribed sources."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tidings.cli.common import STDERR, JsonOpt, UserError, cli_errors, emit, engine

app = typer.Typer(help="Manage subscribed feeds.", no_args_is_help=True)


def _render(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        err = f"  error: {r['error']}" if r.get("error") else ""
        print(
            f"{r['id']:>4} [{r['status']}] {r.get('title') or ''} <{r['url']}> next {r.get('next_due')}{err}"
        )


@app.command("add")
def add(
    url: str,
    title: Annotated[str | None, typer.Option(help="A display title.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe to a feed URL."""
    with cli_errors():
        from tidings.ingest.urls import is_http_url
        from tidings.pipeline.subscriptions import subscribe_url

        if not is_http_url(url):
            raise UserError(f"not an http(s) URL: {url}")
        emit([subscribe_url(engine(), url, title)], as_json, _render)


@app.command("import")
def import_opml(path: Path, as_json: JsonOpt = False) -> None:
    """Subscribe to every feed of an OPML file (folders become categories)."""
    with cli_errors():
        from tidings.ingest.opml import OpmlError, parse_opml
        from tidings.pipeline.subscriptions import subscribe_opml_feeds

        try:
            feeds = parse_opml(path.read_bytes())
        except OSError as exc:
            raise UserError(f"{path}: cannot read file: {exc.strerror}") from None
        except OpmlError as exc:
            raise UserError(f"{path}: {exc}") from None
        emit(subscribe_opml_feeds(engine(), feeds), as_json, _render)


@app.command("export")
def export() -> None:
    """Print every subscription as OPML."""
    with cli_errors():
        from tidings.pipeline.subscriptions import export_sources_opml

        sys.stdout.write(export_sources_opml(engine()))


@app.command("list")
def list_feeds(as_json: JsonOpt = False) -> None:
    """List subscribed feeds with their health (last fetch, error, next due time)."""
    with cli_errors():
        from tidings.store import sources as repo

        with engine().connect() as conn:
            rows = [repo.to_contract(r) for r in repo.list_sources(conn)]
        if not rows and not as_json:
            STDERR.print("no feeds yet: add one with `tidings feeds add URL`")
        emit(rows, as_json, _render)


@app.command("delete")
def delete(source_id: int, as_json: JsonOpt = False) -> None:
    """Delete a feed (admin): it is no longer fetched and every subscription to it ends; articles stay."""
    with cli_errors():
        from tidings.store import sources as repo

        with engine().begin() as conn:
            if not repo.delete_source(conn, source_id):
                raise UserError(f"no feed with id {source_id}")
        emit({"ok": True, "deleted": source_id}, as_json, lambda d: print(f"deleted feed {d['deleted']}"))
