"""`tidings user add`, `follow`, `unfollow`, `mute`, `unmute`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from tidings.cli.common import JsonOpt, UserError, cli_errors, emit, engine, settings

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)


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


@user_app.command("app-password")
def user_app_password(
    name: str,
    label: Annotated[str, typer.Option("--label", help="Which app it is for, e.g. newsboat.")] = "app",
    fever: Annotated[bool, typer.Option("--fever", help="Also make it the user's Fever key.")] = False,
    revoke: Annotated[
        str | None, typer.Option("--revoke", help="Revoke the app password with this label or id ('fever').")
    ] = None,
    list_them: Annotated[bool, typer.Option("--list", help="List live app passwords.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create (printed once), list or revoke an app password for reader apps, and the Fever key."""
    with cli_errors():
        from tidings.store import users as repo
        from tidings.web.compat import keys

        with engine().connect() as conn:
            try:
                user_id = int(repo.require_user(conn, name)["id"])
            except repo.NotFoundError as exc:
                raise UserError(str(exc)) from None
        if list_them:
            rows = keys.list_app_passwords(engine(), user_id)
            items = [
                {"id": r["id"], "label": r["label"], "last_used": str(r["last_used"] or "")} for r in rows
            ]
            emit({"items": items}, as_json, lambda d: [print(f"{i['id']}\t{i['label']}") for i in d["items"]])
            return
        if revoke is not None:
            count = keys.revoke_app_password(engine(), user_id, revoke)
            if not count:
                raise UserError(f"no live app password {revoke!r} for {name}")
            emit({"revoked": count}, as_json, lambda d: print(f"revoked {d['revoked']}"))
            return
        try:
            made = keys.create_app_password(engine(), user_id, label, fever)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        emit(made, as_json, _print_app_password)


def _print_app_password(d: dict[str, object]) -> None:
    print(f"app password for {d['user']} ({d['label']}): {d['password']}")
    if d.get("fever_key"):
        print(f"Fever key: {d['fever_key']}")
