"""Accounts in the browser: sign up, sign in, sign out, and onboarding (pick topics and sources)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ratelimit import TokenBucket
from tidings.service.users import SignupRefusedError, sign_up
from tidings.store import articles as article_repo
from tidings.store import topics as topic_repo
from tidings.store import users as user_repo
from tidings.store.users import NameTakenError
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import redirect, render, require_user, safe_next
from tidings.web.session import LoginError, check_credentials, current_web_user, end_session, start_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
NameField = Annotated[str, Form(max_length=64)]
PasswordField = Annotated[str, Form(max_length=1024)]
NextField = Annotated[str, Form(max_length=2000)]
InviteField = Annotated[str, Form(max_length=128)]
MAX_PICKS = 100


NAME_UNAVAILABLE = "This user name cannot be used. Choose another one."


def signup_policy(request: Request) -> str:
    """The sign-up policy in force: the configured one, or "open" while the server has no account."""
    settings: Settings = request.app.state.settings
    with request.app.state.engine.connect() as conn:
        return "open" if user_repo.count_users(conn) == 0 else settings.signup_policy


def signup_limiter(request: Request) -> TokenBucket:
    """The app's sign-up throttle: TIDINGS_SIGNUP_PER_HOUR attempts per client address."""
    limiter: TokenBucket | None = getattr(request.app.state, "signup_limiter", None)
    if limiter is None:
        per_hour = float(request.app.state.settings.signup_per_hour)
        limiter = request.app.state.signup_limiter = TokenBucket(rate=per_hour / 3600, burst=per_hour)
    return limiter


def signup_context(request: Request, error: str | None, name: str, invite: str = "") -> dict[str, Any]:
    """What the sign-up page shows."""
    policy = signup_policy(request)
    return {"error": error, "name": name, "policy": policy, "invite": invite}


@router.get("/signup")
def signup_page(request: Request, invite: Annotated[str, Query(max_length=128)] = "") -> Response:
    """The sign-up form (or why sign-up is closed)."""
    return render(request, "signup.html", signup_context(request, None, "", invite))


@router.post("/signup")
def signup(
    request: Request,
    name: NameField,
    password: PasswordField,
    confirm: PasswordField,
    invite: InviteField = "",
) -> Response:
    """Create an account under the sign-up policy (the first one is an admin), sign it in, onboard it."""
    client = request.client.host if request.client else "?"
    if not signup_limiter(request).allow(client):
        context = signup_context(request, "Too many sign-up attempts. Try again later.", name, invite)
        return render(request, "signup.html", context, status=429)
    status, error = 400, None
    if password != confirm:
        error = "The two passwords differ."
    else:
        try:
            policy = request.app.state.settings.signup_policy
            account = sign_up(request.app.state.engine, name, password, policy, invite.strip())
        except SignupRefusedError as exc:
            status, error = 403, f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        except NameTakenError:
            error = NAME_UNAVAILABLE  # the same words for every refused name: no account is named
        except ValueError as exc:
            error = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    if error:
        return render(request, "signup.html", signup_context(request, error, name, invite), status=status)
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
        topics = topic_repo.popular_topics(conn)
        sources = article_repo.popular_sources(conn)
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
