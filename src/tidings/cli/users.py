"""`tidings user add`, `follow`, `unfollow`, `mute`, `unmute`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from tidings.cli.common import UserError, cli_errors, emit, engine, settings

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON document to stdout.")]


@user_app.command("add")
def user_add(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    admin: Annotated[
        bool | None, typer.Option("--admin/--no-admin", help="Admin role (default: first user).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; the first user becomes an admin."""
    with cli_errors():
        from tidings.service.users import add_user

        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
        try:
            user = add_user(engine(), name, password, admin)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        emit(
            {"id": user["id"], "name": user["name"]},
            as_json,
            lambda d: print(f"created user {d['name']} ({d['id']})"),
        )


def register(app: typer.Typer) -> None:
    """Add the user commands to the main app."""
    app.add_typer(user_app, name="user")
    for action in ("follow", "unfollow", "mute", "unmute"):
        app.command(action)(_make(action))


def _make(action: str) -> Callable[..., None]:
    def command(
        name: Annotated[str, typer.Argument(help="The user name.")],
        target: Annotated[str, typer.Argument(help="topic:X, entity:X, source:X, keyword:X or story:ID")],
        as_json: JsonOpt = False,
    ) -> None:
        with cli_errors():
            from tidings.service.users import change_target
            from tidings.store.users import NotFoundError

            try:
                result = change_target(engine(), name, action, target)
            except (ValueError, NotFoundError) as exc:
                raise UserError(str(exc)) from None
            emit({"ok": result["ok"]}, as_json, lambda d: print(f"{action} {target}: ok"))

    command.__doc__ = f"{action.capitalize()} a topic, entity, source, keyword or story for a user."
    return command


@user_app.command("invite")
def user_invite(
    days: Annotated[
        float | None, typer.Option("--days", min=0.01, help="Days the invite stays valid (default: setting).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a single-use sign-up invite code (for TIDINGS_SIGNUP_POLICY=invite); printed once."""
    with cli_errors():
        from tidings.service.users import create_invite

        code = create_invite(engine(), None, days if days is not None else settings().invite_days)
        emit({"invite": code}, as_json, lambda d: print(d["invite"]))


@user_app.command("token")
def user_token(
    name: str,
    label: Annotated[str, typer.Option("--name", help="A label for the token.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Create an API token for a user (printed once; only its hash is stored)."""
    with cli_errors():
        from tidings.store import users as repo

        with engine().begin() as conn:
            try:
                user = repo.require_user(conn, name)
            except repo.NotFoundError as exc:
                raise UserError(str(exc)) from None
            token_id, token = repo.create_token(conn, int(user["id"]), label)
        emit({"id": token_id, "name": label, "token": token}, as_json, lambda d: print(d["token"]))
