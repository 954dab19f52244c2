"""`tidings mark` and `tidings saved`: the reading state the web app and reader apps share."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOpt, UserError, cli_errors, emit, engine, settings
from tidings.store.reading import MARKS


def user_id_of(name: str) -> int:
    """The id of a user name (UserError when unknown)."""
    from tidings.store import users as repo

    with engine().connect() as conn:
        try:
            return int(repo.require_user(conn, name)["id"])
        except repo.NotFoundError as exc:
            raise UserError(str(exc)) from None


def mark(
    name: str,
    article_ids: Annotated[list[int], typer.Argument(help="One or more article ids.")],
    how: Annotated[str, typer.Option("--as", help=", ".join(MARKS))] = "read",
    as_json: JsonOpt = False,
) -> None:
    """Set a user's state of articles (one article: also a feedback event; several: one bulk change)."""
    with cli_errors():
        from tidings.service import reading

        if how not in MARKS:
            raise UserError(f"--as must be one of {', '.join(MARKS)}")
        state, value = MARKS[how]
        user_id = user_id_of(name)
        if state == "hidden" and value is False:
            changes = [reading.unhide(engine(), settings(), user_id, i) for i in article_ids]
            changed = [i for c in changes for i in c.changed]
        else:
            bulk = len(article_ids) > 1
            changed = reading.mark(engine(), settings(), user_id, article_ids, state, value, bulk).changed
        emit({"ok": True, "changed": changed}, as_json, lambda d: print(f"{len(d['changed'])} changed"))


def saved(
    name: str, limit: Annotated[int, typer.Option(min=1, max=1000)] = 50, as_json: JsonOpt = False
) -> None:
    """A user's saved articles, most recently saved first."""
    with cli_errors():
        from tidings.store import reading as state_repo
        from tidings.store.articles import article_rows

        user_id = user_id_of(name)
        with engine().connect() as conn:
            rows = article_rows(conn, state_repo.saved_ids(conn, user_id, limit))
        items = [{"article_id": r["id"], "title": r["title"], "source": r["source"]} for r in rows]
        emit({"items": items}, as_json, _render_saved)


def _render_saved(data: dict[str, Any]) -> None:
    for item in data["items"]:
        print(f"{item['article_id']}\t{item['title']}")


def register(app: typer.Typer) -> None:
    """Add the reading-state commands."""
    app.command()(mark)
    app.command()(saved)
