"""Accounts in the browser: sign up, sign in, sign out, and onboarding (pick topics and sources)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine

from tidings.service.users import add_user
from tidings.store import users as user_repo
from tidings.web import queries
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import redirect, render, require_user, safe_next
from tidings.web.session import LoginError, check_credentials, current_web_user, end_session, start_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
NameField = Annotated[str, Form(max_length=64)]
PasswordField = Annotated[str, Form(max_length=1024)]
NextField = Annotated[str, Form(max_length=2000)]
MAX_PICKS = 100


@router.get("/signup")
def signup_page(request: Request) -> Response:
    """The sign-up form."""
    return render(request, "signup.html", {"error": None, "name": ""})


@router.post("/signup")
def signup(request: Request, name: NameField, password: PasswordField, confirm: PasswordField) -> Response:
    """Create an account (the first one is an admin), sign it in and go to onboarding."""
    error = None
    if password != confirm:
        error = "The two passwords differ."
    else:
        try:
            account = add_user(request.app.state.engine, name, password)
        except ValueError as exc:
            error = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    if error:
        return render(request, "signup.html", {"error": error, "name": name}, status=400)
    response = redirect("/welcome")
    start_session(request.app.state.engine, request, response, int(account["id"]))
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"error": None, "name": "", "next": safe_next(next)})


@router.post("/login")
async def login(
    request: Request, name: NameField, password: PasswordField, next: NextField = "/"
) -> Response:
    """Check the password (rate-limited), start a session and return to where the reader was going."""
    engine = request.app.state.engine
    client = request.client.host if request.client else "?"
    try:
        account = await run_in_threadpool(check_credentials, engine, name, password, client)
    except LoginError as exc:
        context = {"error": str(exc), "name": name, "next": safe_next(next)}
        return render(request, "login.html", context, status=exc.status)
    response = redirect(safe_next(next) if account.get("onboarded") else "/welcome")
    await run_in_threadpool(start_session, engine, request, response, int(account["id"]))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Revoke the session and clear its cookie."""
    user = current_web_user(request)
    response = redirect("/", "signed-out")
    if user:
        end_session(request.app.state.engine, user, response)
    return response


@router.get("/welcome")
def welcome_page(request: Request) -> Response:
    """Onboarding: pick the topics and sources to follow."""
    user = require_user(request)
    with request.app.state.engine.connect() as conn:
        topics = queries.popular_topics(conn)
        sources = queries.popular_sources(conn)
        followed = {t["target"] for t in user_repo.list_targets(conn, user.id, "follow")}
    return render(request, "welcome.html", {"topics": topics, "sources": sources, "followed": followed})


@router.post("/welcome")
async def welcome(request: Request) -> Response:
    """Save the picks as follows, mark the account onboarded and open For you."""
    user = require_user(request)
    form = await request.form()
    picks = [str(v) for v in form.getlist("topic")][:MAX_PICKS]
    sources = [str(v) for v in form.getlist("source")][:MAX_PICKS]
    targets = [f"topic:{t}" for t in picks if t.strip()] + [f"source:{s}" for s in sources if s.strip()]
    await run_in_threadpool(save_picks, request.app.state.engine, user.id, targets)
    return redirect("/for-you")


def save_picks(engine: Engine, user_id: int, targets: list[str]) -> None:
    """Follow each valid target and mark onboarding done."""
    with engine.begin() as conn:
        for target in targets:
            try:
                kind, value = user_repo.parse_target(target)
            except ValueError:
                continue
            user_repo.add_target(conn, user_id, "follow", kind, value)
        user_repo.set_user_fields(conn, user_id, {"onboarded": True})
