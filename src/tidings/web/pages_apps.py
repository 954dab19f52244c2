"""Settings for reader apps: app passwords (Google Reader ClientLogin) and the Fever key made with one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import Response

from tidings.web.compat import keys
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import redirect, require_user
from tidings.web.pages_settings import settings_page_with

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


@router.post("/settings/app-passwords")
def create_app_password(
    request: Request,
    label: Annotated[str, Form(max_length=100)] = "",
    fever: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Create an app password (shown once) and, when asked, make it the Fever key too."""
    user = require_user(request)
    try:
        made = keys.create_app_password(request.app.state.engine, user.id, label or "app", fever == "on")
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return settings_page_with(request, user, new_app_password=made)


@router.post("/settings/app-passwords/{token_id}/revoke")
def revoke_app_password(request: Request, token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """Revoke one app password (or the Fever key): apps using it are signed out."""
    user = require_user(request)
    engine = request.app.state.engine
    live = {int(p["id"]): p for p in keys.list_app_passwords(engine, user.id)}
    if token_id not in live:
        raise HTTPException(status_code=404, detail="No such live app password.")
    which = "fever" if live[token_id]["name"] == keys.FEVER_TOKEN_NAME else str(token_id)
    keys.revoke_app_password(engine, user.id, which)
    return redirect("/settings#apps", "app-password-revoked")
