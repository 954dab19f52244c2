"""The `tidings` command line: thin commands over the library (see the contract in the README)."""

from __future__ import annotations

from importlib.metadata import distribution
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tidings.cli import feeds as feeds_cli
from tidings.cli import lifecycle as lifecycle_cli
from tidings.cli import personal as personal_cli
from tidings.cli import queue as queue_cli
from tidings.cli import reading as reading_cli
from tidings.cli import stories as stories_cli
from tidings.cli import users as users_cli
from tidings.cli.common import (
    STDERR,
    JsonOpt,
    UserError,
    cli_errors,
    configure_logging,
    emit,
    engine,
    settings,
    warn,
)

app = typer.Typer(
    help="Tidings: a self-hosted, personalised news feed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(feeds_cli.app, name="feeds")
users_cli.register(app)
stories_cli.register(app)
personal_cli.register(app)
reading_cli.register(app)
lifecycle_cli.register(app)
queue_cli.register(app)


def _mount_command_groups(root: typer.Typer) -> None:
    """Add the command groups this package declares under the `tidings.commands` entry point.

    `tidings eval` comes this way from `tidings.eval.commands`: the evaluation package depends on the command
    line, never the reverse, so production code has no path to it. Only our own distribution's metadata is
    read: no other installed package can add commands, and no call scans every installed package."""
    points = distribution("tidings").entry_points.select(group="tidings.commands")
    for point in sorted(points, key=lambda p: p.name):
        root.add_typer(point.load(), name=point.name)


_mount_command_groups(app)


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    """Tidings: a self-hosted, personalised news feed."""
    configure_logging(debug)


@app.command()
def init(as_json: JsonOpt = False) -> None:
    """Create or migrate the database (idempotent)."""
    with cli_errors():
        from tidings.store.engine import make_engine, migrate

        url = settings().resolved_database_url
        eng = make_engine(url)
        rev = migrate(eng)
        if eng.dialect.name == "postgresql":  # the task queue's tables, ready for `tidings worker`
            from tidings.store.tasks import ensure_queue_schema

            ensure_queue_schema(eng)
        emit(
            {"database": url, "version": rev},
            as_json,
            lambda d: print(f"database {d['database']} at {d['version']}"),
        )


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=STDERR,
        transient=True,
        disable=not STDERR.is_terminal,
    )


@app.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or http(s) URLs.")],
    as_json: JsonOpt = False,
) -> None:
    """Ingest files, folders or URLs: detect the kind, extract, enrich, cluster and store each article."""
    with cli_errors():
        from tidings.pipeline.ingest import ingest_sources

        eng = engine()
        with _progress() as progress:
            task = progress.add_task("ingesting", total=None)
            report = ingest_sources(sources, settings(), eng, lambda n: progress.advance(task, n))
        for err in report.errors:
            warn(f"{err['source']}: {err['error']}")
        emit(report.to_json(), as_json, _render_ingest)
        if not report.articles and not report.subscribed and report.errors:
            raise typer.Exit(1)


def _render_ingest(data: dict[str, Any]) -> None:
    counts: dict[str, int] = {}
    for art in data["articles"]:
        counts[art["status"]] = counts.get(art["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no articles"
    print(f"{summary}; {len(data['errors'])} errors")


@app.command()
def article(article_id: int, as_json: JsonOpt = False) -> None:
    """Show one article."""
    with cli_errors():
        from tidings.store import articles as repo

        with engine().connect() as conn:
            row = repo.get_article(conn, article_id)
        if row is None:
            raise UserError(f"no article with id {article_id}")
        emit(repo.to_contract(row), as_json, _render_article)


def _render_article(a: dict[str, Any]) -> None:
    print(a["title"])
    if a.get("standfirst"):
        print(f"  {a['standfirst']}")
    print(f"  {a.get('source') or ''} {a.get('published_at') or ''}\n")
    print(a["text"])


@app.command()
def fetch(as_json: JsonOpt = False) -> None:
    """Fetch every due feed once and ingest what is new."""
    with cli_errors():
        from tidings.pipeline.refresh import refresh_due

        result = refresh_due(engine(), settings())
        for err in result["errors"]:
            warn(f"{err['source']}: {err['error']}")
        emit(
            result, as_json, lambda d: print(f"{d['feeds']} feeds, {d['new']} new, {len(d['errors'])} errors")
        )


@app.command()
def search(query: str, limit: int = 20, as_json: JsonOpt = False) -> None:
    """Full-text search over titles and bodies."""
    with cli_errors():
        from tidings.store.search import search_articles

        with engine().connect() as conn:
            items = search_articles(conn, query, limit=limit)
        emit(
            {"items": items},
            as_json,
            lambda d: [print(f"{i['article_id']:>6}  {i['title']}") for i in d["items"]],
        )


@app.command()
def enrich(
    pending: Annotated[
        bool, typer.Option("--pending", help="Accepted for older scripts: pending articles are the default.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="At most this many articles.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrich the pending articles: enrichment missing, or made by an older enricher version."""
    del pending  # the only mode: new articles are enriched at ingest, so what is left to do is pending
    with cli_errors():
        from tidings.pipeline.reenrich import enrich_pending

        with _progress() as progress:
            task = progress.add_task("enriching", total=None)
            result = enrich_pending(engine(), settings(), lambda n: progress.advance(task, n), limit)
        emit(result, as_json, lambda d: print(f"{d['enriched']} of {d['pending']} pending articles enriched"))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="Web processes (above 1 needs the task queue)."),
    ] = 1,
) -> None:
    """Serve the web app and API (refreshing due feeds in the background, or through the task queue)."""
    with cli_errors():
        # Deferred: the server and the web app (seconds to import) load only when `serve` runs.
        import uvicorn

        from tidings.web.app import create_app

        cfg = settings()
        if workers == 1:
            uvicorn.run(create_app(cfg), host=host or cfg.host, port=port or cfg.port, log_level="warning")
            return
        if not cfg.uses_task_queue and cfg.background_refresh:
            raise UserError(
                "--workers above 1 would fetch every feed once per process: set "
                "TIDINGS_TASK_QUEUE=procrastinate (with PostgreSQL and `tidings worker`), "
                "or TIDINGS_BACKGROUND_REFRESH=0"
            )
        create_app(cfg)  # migrate and check once, before the processes start
        uvicorn.run(
            "tidings.web.app:create_app",
            factory=True,
            workers=workers,
            host=host or cfg.host,
            port=port or cfg.port,
            log_level="warning",
        )


def run() -> None:
    """Console-script entry point."""
    app(prog_name="tidings")


if __name__ == "__main__":
    run()
