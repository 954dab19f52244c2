"""Shared CLI plumbing: settings, engine, JSON output and one-line errors."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from tidings.config import Settings, get_settings

STDERR = Console(stderr=True)
STATE: dict[str, bool] = {"debug": False}
# Terminal control from feed text: ESC/CSI/OSC/DCS sequences (7- and 8-bit), then any other C0/C1 control.
ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor moves, screen clears
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x00-\x20\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS
    r"|\x1b[ -/]*[0-~]?",  # any other escape
)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# The option every command that prints data takes (typer reads it from the annotation).
JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON document to stdout.")]


class UserError(Exception):
    """A failure caused by the user's input; shown as one line without a traceback."""


def settings() -> Settings:
    """The process settings."""
    return get_settings()


def engine() -> Engine:
    """The migrated database engine."""
    from tidings.store import open_engine

    return open_engine(settings())


def terminal_safe(value: Any) -> Any:
    """Strings (also inside lists and dicts) without terminal escape sequences or control characters.

    Feed text is written by strangers: an ESC sequence in a title could clear the screen, retitle the
    window or forge a hyperlink in the reader's terminal. Newlines and tabs stay.
    """
    if isinstance(value, str):
        text = ESCAPE_SEQUENCE.sub("", value.replace("\r\n", "\n"))
        return CONTROL_CHARS.sub("", text)
    if isinstance(value, dict):
        return {terminal_safe(k): terminal_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [terminal_safe(v) for v in value]
    return value


def emit(data: Any, as_json: bool, render: Callable[[Any], object] | None = None) -> None:
    """Write data (terminal-safe) as one JSON document on stdout, or render it for people."""
    data = terminal_safe(data)
    if as_json or render is None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=None) + "\n")
    else:
        render(data)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn any exception into a one-line error and exit status 1 (a traceback only with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except UserError as exc:
        STDERR.print(f"error: {terminal_safe(str(exc))}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        if STATE["debug"]:
            raise
        message = " ".join(terminal_safe(str(exc)).split()) or type(exc).__name__
        STDERR.print(
            f"error: {type(exc).__name__}: {message[:400]}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None


def warn(message: str) -> None:
    """Print one warning line on stderr, never wrapped."""
    STDERR.print(f"warning: {terminal_safe(message)}", markup=False, highlight=False, soft_wrap=True)


def configure_logging(debug: bool) -> None:
    """Log warnings (or everything with --debug) to stderr."""
    STATE["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not debug:
        # Model libraries print progress bars and deprecation notices that are not the user's business.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TQDM_DISABLE", "1")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\..*")
        for noisy in ("trafilatura", "htmldate", "courlan", "httpx", "sentence_transformers", "transformers"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
