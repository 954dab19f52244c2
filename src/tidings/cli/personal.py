"""`tidings event` and `tidings feed`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOpt, UserError, cli_errors, emit, engine, settings


def event(
    name: str,
    article_id: int,
    kind: Annotated[
        str, typer.Argument(help="impression, click, read, like, dislike, hide, save, share, more, fewer")
    ],
    dwell: Annotated[float | None, typer.Option("--dwell", help="Seconds spent reading.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a feedback event for a user on an article."""
    with cli_errors():
        from tidings.service.feed import RateLimitedError, record_event
        from tidings.store.users import NotFoundError

        try:
            result = record_event(engine(), settings(), name, article_id, kind, dwell)
        except (ValueError, NotFoundError, RateLimitedError) as exc:
            raise UserError(str(exc)) from None
        emit(result, as_json, lambda d: print("ok"))


def feed(
    name: str,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    as_of: Annotated[datetime | None, typer.Option("--as-of", help="Rank as if it were this time.")] = None,
    show_hidden: Annotated[
        bool, typer.Option("--show-hidden", help="Also list what mutes and caps removed.")
    ] = False,
    log: Annotated[
        bool, typer.Option("--log-impressions", help="Record the items shown, for `tidings train`.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The personalised feed for a user, with the reasons for each item."""
    with cli_errors():
        from tidings.service.feed import feed_for
        from tidings.store.users import NotFoundError

        try:
            data, _ = feed_for(engine(), settings(), name, limit, as_of, log_impressions=log)
        except (ValueError, NotFoundError) as exc:
            raise UserError(str(exc)) from None
        if not show_hidden:
            data.pop("hidden", None)
        emit(data, as_json, _render)


def _render(data: dict[str, Any]) -> None:
    if data.get("window_anchored"):
        print(f"(the news is older than the window: ranked as of {data['as_of']})")
    for i, item in enumerate(data["items"], 1):
        top = item["reasons"][0]["detail"] if item["reasons"] else ""
        extra = f" +{item['other_sources']} sources" if item["other_sources"] else ""
        print(f"{i:>2}. {item['title']}{extra}  [{item['score']:.2f}] {top}")
    for hidden in data.get("hidden", []):
        print(f"    hidden: {hidden['title']} ({hidden['rule']})")


def train(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report without adopting new weights.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit ranking weights on this instance's logged impressions and clicks (adopted only if they win)."""
    with cli_errors():
        from tidings.service.training import train as train_weights

        emit(train_weights(engine(), settings(), dry_run), as_json, lambda d: print(d))


def preview(
    name: str,
    mute: Annotated[str | None, typer.Option(help="A mute to try, e.g. source:example.com")] = None,
    follow: Annotated[str | None, typer.Option(help="A follow to try, e.g. topic:Science")] = None,
    weight: Annotated[list[str] | None, typer.Option(help="SIGNAL=VALUE to try, repeatable")] = None,
    days: Annotated[int, typer.Option(min=1, max=30)] = 7,
    as_json: JsonOpt = False,
) -> None:
    """Show how a mute, follow or weight would have changed the last days' feeds, without saving it."""
    with cli_errors():
        from tidings.service.feed import preview_change
        from tidings.store.users import NotFoundError

        weights: dict[str, float] = {}
        for pair in weight or []:
            signal, _, value = pair.partition("=")
            try:
                weights[signal.strip()] = float(value)
            except ValueError:
                raise UserError(f"weights are SIGNAL=NUMBER, got {pair!r}") from None
        try:
            data = preview_change(
                engine(), settings(), name, mute=mute, follow=follow, weights=weights, days=days
            )
        except (ValueError, NotFoundError) as exc:
            raise UserError(str(exc)) from None
        emit(
            data,
            as_json,
            lambda d: print(f"{d['removed']} items would leave and {d['added']} join your feeds"),
        )


profile_app = typer.Typer(help="Export or reset what Tidings learnt about a reader.", no_args_is_help=True)


@profile_app.command("export")
def profile_export(name: str) -> None:
    """Print a reader's learnt profile, follows, mutes and controls as JSON."""
    with cli_errors():
        from tidings.service.feed import export_profile
        from tidings.store.users import NotFoundError

        try:
            emit(export_profile(engine(), name), True)
        except NotFoundError as exc:
            raise UserError(str(exc)) from None


@profile_app.command("reset")
def profile_reset(name: str, as_json: JsonOpt = False) -> None:
    """Forget what was learnt from a reader's feedback; follows, mutes and controls stay."""
    with cli_errors():
        from tidings.service.feed import reset_profile
        from tidings.store.users import NotFoundError

        try:
            emit(reset_profile(engine(), name), as_json, lambda d: print("profile reset"))
        except NotFoundError as exc:
            raise UserError(str(exc)) from None


def register(app: typer.Typer) -> None:
    """Add the personal commands."""
    app.command()(event)
    app.command()(feed)
    app.command()(train)
    app.command()(preview)
    app.add_typer(profile_app, name="profile")
