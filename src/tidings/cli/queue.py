"""`tidings worker`: run task-queue workers on PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from tidings.cli.common import UserError, cli_errors, settings


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Tasks this worker runs at once.")
    ] = 1,
) -> None:
    """Run a task-queue worker and the periodic scheduler (needs PostgreSQL); stops on SIGTERM or Ctrl-C."""
    with cli_errors():
        from tidings.tasks.priority import lower_priority

        config = settings()
        lower_priority(config.worker_nice)  # first: the imports below start thread pools
        from tidings.tasks.app import QueueUnavailableError, run_worker

        try:
            run_worker(config, concurrency)
        except QueueUnavailableError as exc:
            raise UserError(str(exc)) from None


def register(app: typer.Typer) -> None:
    """Add the queue commands to the CLI."""
    app.command()(worker)
