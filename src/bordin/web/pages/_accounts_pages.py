"""Account pages: one's own password, an admin's page for a user (role and team,
deactivation, a one-time reset link), and the reset link's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bordin.errors import BordinError, Conflict, NotFound, PermissionDenied
from bordin.storage.models import User
from bordin.web.deps import app_state
from bordin.web.pages._deps import PageId, open_transaction, optional_form_id, page_user
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._reads import list_clinic_users
from bordin.web.pages._render import render_page

__all__ = ["account_context", "router", "user_admin_context"]

router = APIRouter()

DONE = {
    "password": "Password changed.",
    "update": "Role and team saved.",
    "deactivate": "Account deactivated; its login sessions have ended.",
    "activate": "Account reactivated.",
}


def _status(exc: BordinError) -> int:
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, NotFound):
        return 404
    return 422


def _error(exc: BordinError) -> dict[str, Any]:
    return {"message": field_error_message(exc), "column": getattr(exc, "column", None)}


def account_context(user: User) -> dict[str, Any]:
    """The signed-in user's account page."""
    context = base_context(user, title="Your account", current="/account")
    context.update({"done": None, "error": None})
    return context


@router.get("/account", include_in_schema=False)
def account(request: Request, done: str | None = None) -> Response:
    """Who you are, and a form to change your password."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        context = account_context(user)
        context["done"] = DONE.get(done or "") if done == "password" else None
    return render_page(request, "account.html", context, html=html_extras(request))


@router.post("/account/password", include_in_schema=False)
async def change_password(request: Request) -> Response:
    """Change your own password (the current one is asked for)."""
    from bordin.storage.actions import change_own_password

    form = await request.form()
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            with db.begin_nested():
                change_own_password(
                    db,
                    actor=user,
                    current=str(form.get("current_password") or ""),
                    new=str(form.get("new_password") or ""),
                )
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except BordinError as exc:
            context = account_context(user)
            context["error"] = _error(exc)
            return render_page(
                request,
                "account.html",
                context,
                status_code=_status(exc),
                html=html_extras(request),
            )
    return RedirectResponse("/account?done=password", status_code=303)


# ------------------------------------------------------------------ an admin's user page


def user_admin_context(db: Session, actor: User, user_id: int) -> dict[str, Any]:
    """One user of the admin's clinic, with the teams and roles to choose from.

    Raises
    ------
    NotFound
        No such user in the clinic.
    """
    from bordin.storage.models import ROLES

    users, teams = list_clinic_users(db, actor=actor)
    user = next((u for u in users if u.id == user_id), None)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    context = base_context(actor, title=f"User {user.username}", current="/admin")
    context.update(
        {
            "account": {
                "id": user.id,
                "username": user.username,
                "display_name": user.display_name,
                "code": user.code,
                "role": user.role,
                "team_id": user.team_id,
                "active": user.active,
                "is_you": user.id == actor.id,
            },
            "teams": [{"id": t.id, "name": t.name} for t in teams],
            "roles": list(ROLES),
            "reset_link": None,
            "done": None,
            "error": None,
        }
    )
    return context


def _admin_page(
    request: Request, user_id: int, fill: Callable[[dict[str, Any]], None] | None = None
) -> Response:
    with open_transaction(request) as db:
        actor = page_user(request, db)
        if actor is None:
            return login_redirect(request)
        if actor.role != "admin":
            return error_page(
                request,
                actor,
                status_code=403,
                heading="Not allowed",
                message="This page is for administrators.",
            )
        try:
            context = user_admin_context(db, actor, user_id)
        except NotFound as exc:
            return error_page(
                request, actor, status_code=404, heading="Not found", message=str(exc)
            )
        if fill is not None:
            fill(context)
    status = _status_of(context)
    return render_page(
        request, "admin_user.html", context, status_code=status, html=html_extras(request)
    )


def _status_of(context: dict[str, Any]) -> int:
    error = context.get("error")
    return int(error["status"]) if error else 200


@router.get("/admin/users/{user_id}", include_in_schema=False)
def admin_user(request: Request, user_id: PageId, done: str | None = None) -> Response:
    """An admin's page for one user: role and team, deactivation, a reset link."""
    return _admin_page(request, user_id, lambda c: c.update(done=DONE.get(done or "")))


async def _admin_write(request: Request, user_id: int, what: str) -> Response:
    from bordin.storage.actions import create_password_reset, set_user_active, update_user

    form = await request.form()
    link: str | None = None
    with open_transaction(request) as db:
        actor = page_user(request, db)
        if actor is None:
            return login_redirect(request)
        error: BordinError | None = None
        try:
            check_form_csrf(request, form)
            with db.begin_nested():
                if what == "reset":
                    token = create_password_reset(db, actor=actor, user_id=user_id)
                    base = app_state(request).settings.base_url.rstrip("/")
                    link = f"{base}/reset/{token}"
                elif what == "update":
                    update_user(
                        db,
                        actor=actor,
                        user_id=user_id,
                        role=str(form.get("role") or ""),
                        team_id=optional_form_id(form.get("team_id"), what="team"),
                    )
                else:
                    set_user_active(db, actor=actor, user_id=user_id, active=what == "activate")
        except PermissionDenied as exc:
            return error_page(
                request, actor, status_code=403, heading="Not allowed", message=str(exc)
            )
        except BordinError as exc:
            error = exc
    if error is not None:
        failed = error
        return _admin_page(
            request,
            user_id,
            lambda c: c.update(error={**_error(failed), "status": _status(failed), "form": what}),
        )
    if link is not None:
        # Shown once: the link is in this response only, never stored or shown again.
        shown = link
        return _admin_page(request, user_id, lambda c: c.update(reset_link=shown))
    return RedirectResponse(f"/admin/users/{user_id}?done={what}", status_code=303)


@router.post("/admin/users/{user_id}/reset-link", include_in_schema=False)
async def make_reset_link(request: Request, user_id: PageId) -> Response:
    """Make a one-time password reset link for the user, shown once."""
    return await _admin_write(request, user_id, "reset")


@router.post("/admin/users/{user_id}/update", include_in_schema=False)
async def change_role_team(request: Request, user_id: PageId) -> Response:
    """Change the user's role and team."""
    return await _admin_write(request, user_id, "update")


@router.post("/admin/users/{user_id}/deactivate", include_in_schema=False)
async def deactivate(request: Request, user_id: PageId) -> Response:
    """Deactivate the account; its login sessions end at once."""
    return await _admin_write(request, user_id, "deactivate")


@router.post("/admin/users/{user_id}/activate", include_in_schema=False)
async def activate(request: Request, user_id: PageId) -> Response:
    """Reactivate the account."""
    return await _admin_write(request, user_id, "activate")


# ------------------------------------------------------------------------ a reset link


def _reset_page(
    request: Request, token: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    from bordin.storage.actions import find_password_reset

    with open_transaction(request) as db:
        try:
            find_password_reset(db, token)
            valid = True
        except NotFound:
            valid = False
    context: dict[str, Any] = {
        "title": "Set a new password",
        "lang": "en",
        "user": None,
        "nav": [],
        "valid": valid,
        "error": error,
    }
    return render_page(
        request,
        "reset.html",
        context,
        status_code=status_code if valid else 404,
        html={"action": f"/reset/{token}"},
    )


@router.get("/reset/{token}", include_in_schema=False)
def reset_form(request: Request, token: str) -> Response:
    """The page of a password reset link: choose a new password."""
    return _reset_page(request, token)


@router.post("/reset/{token}", include_in_schema=False)
async def reset_submit(request: Request, token: str) -> Response:
    """Set the new password; the link is used up; then log in."""
    from bordin.storage.actions import reset_password

    form = await request.form()
    password = str(form.get("new_password") or "")
    try:
        with open_transaction(request) as db:
            reset_password(db, token=token, password=password)
    except BordinError as exc:
        return _reset_page(request, token, error=str(exc), status_code=_status(exc))
    return RedirectResponse("/login", status_code=303)
