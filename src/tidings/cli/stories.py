"""`tidings stories`, `story ID` and `related ID`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOpt, UserError, cli_errors, emit, engine


def _render(data: dict[str, Any]) -> None:
    for s in data["stories"]:
        print(
            f"{s['id']:>6}  {len(s['article_ids']):>3} articles  {len(s['sources']):>2} sources  {s['title']}"
        )


def stories(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, as_json: JsonOpt = False) -> None:
    """Story clusters, newest activity first."""
    with cli_errors():
        from tidings.store.stories import list_stories

        with engine().connect() as conn:
            emit({"stories": list_stories(conn, limit=limit)}, as_json, _render)


def story(story_id: int, as_json: JsonOpt = False) -> None:
    """One story with its articles."""
    with cli_errors():
        from tidings.service.stories import story_view

        with engine().connect() as conn:
            view = story_view(conn, story_id)
        if view is None:
            raise UserError(f"no story with id {story_id}")
        emit(view, as_json, lambda d: _render({"stories": [d]}))


def related(
    article_id: int, limit: Annotated[int, typer.Option(min=1, max=100)] = 10, as_json: JsonOpt = False
) -> None:
    """Articles related to an article: the same story first, then nearest neighbours."""
    with cli_errors():
        from tidings.service.stories import related_items

        with engine().connect() as conn:
            items = related_items(conn, article_id, limit)
        if items is None:
            raise UserError(f"no article with id {article_id}")
        emit(
            {"items": items},
            as_json,
            lambda d: [
                print(f"{'*' if i['same_story'] else ' '} {i['score']:.3f} {i['title']}") for i in d["items"]
            ],
        )


def register(app: typer.Typer) -> None:
    """Add the story commands to the main app."""
    app.command()(stories)
    app.command()(story)
    app.command()(related)
