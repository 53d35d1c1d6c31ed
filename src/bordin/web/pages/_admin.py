"""The admin page: users and teams, instruments and content packs of the clinic."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bordin.errors import BordinError, Conflict, InputError, PermissionDenied
from bordin.storage.models import ROLES, User
from bordin.web.pages._deps import open_transaction, optional_form_id, page_user
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._norms import clinic_norms_context
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._reads import list_clinic_content_packs, list_clinic_users
from bordin.web.pages._render import render_page

__all__ = ["admin_context", "router"]

router = APIRouter()

DONE_MESSAGES = {
    "team": "Team created.",
    "user": "User created. Give them their password by a separate, secure channel.",
    "pack": "Content pack saved; new form links use this wording.",
    "clinic": "Time zone saved; dates and times are shown in it.",
    "norms": "Norms refitted on the clinic's data; every client's signals were recomputed "
    "against them.",
}
MAX_PACK_BYTES = 1_000_000


def admin_context(db: Session, user: User) -> dict[str, Any]:
    """Users, teams, instruments and content packs (shipped and uploaded by the clinic)."""
    from bordin.instruments import list_content_packs, list_instruments

    users, teams = list_clinic_users(db, actor=user)
    team_names = {t.id: t.name for t in teams}
    uploaded = list_clinic_content_packs(db, actor=user)
    shipped = list_content_packs()
    wording = {(p.instrument, p.language) for p in shipped} | {
        (p.instrument, p.language) for p in uploaded
    }
    instruments = [
        {
            "id": d.id,
            "name": d.name,
            "short_name": d.short_name,
            "version": d.version,
            "respondent": d.respondent,
            "items": d.n_items,
            "licence": d.licence,
            "validated": d.validated,
            "wording_redistributable": d.wording_redistributable,
            "languages": sorted(lang for inst, lang in wording if inst == d.id),
        }
        for d in list_instruments()
    ]
    context = base_context(user, title="Admin", current="/admin")
    context.update(
        {
            "users": [
                {
                    "id": u.id,
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": u.role,
                    "code": u.code,
                    "team": team_names.get(u.team_id or 0),
                    "active": u.active,
                }
                for u in users
            ],
            "teams": [
                {
                    "id": t.id,
                    "name": t.name,
                    "members": sum(1 for u in users if u.team_id == t.id),
                }
                for t in teams
            ],
            "instruments": instruments,
            "content_packs": [
                {
                    "instrument": p.instrument,
                    "language": p.language,
                    "origin": "shipped",
                    "source": p.source,
                    "notice": p.notice,
                }
                for p in shipped
            ]
            + [
                {
                    "instrument": p.instrument,
                    "language": p.language,
                    "origin": "clinic",
                    "source": str((p.data or {}).get("source", "")),
                    "notice": str((p.data or {}).get("notice", "")),
                    "uploaded_at": p.uploaded_at,
                }
                for p in uploaded
            ],
            "api": {
                "content_packs": "/api/v1/content-packs",
                "openapi": "/api/v1/openapi.json",
            },
            "roles": list(ROLES),
            "clinic_timezone": user.clinic.timezone,
            "norms": clinic_norms_context(db, user.clinic_id),
            "done": None,
            "error": None,
            "entered": {},
        }
    )
    return context


@router.get("/admin", include_in_schema=False)
def admin(request: Request, done: str | None = None) -> Response:
    """Users and teams, instruments and content packs (administrators only)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        if user.role != "admin":
            return error_page(
                request,
                user,
                status_code=403,
                heading="Not allowed",
                message="This page is for administrators.",
            )
        context = admin_context(db, user)
        context["done"] = DONE_MESSAGES.get(done or "")
    return render_page(request, "admin.html", context, html=html_extras(request))


async def _admin_write(request: Request, what: str) -> Response:
    form = await request.form()
    try:
        return await _admin_write_form(request, what, form)
    finally:
        await form.close()  # an uploaded file is spooled to disk: release it now


async def _admin_write_form(request: Request, what: str, form: Any) -> Response:
    entered = {
        k: v for k, v in form.items() if isinstance(v, str) and k not in ("password", "csrf_token")
    }
    error: BordinError | None = None
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        if user.role != "admin":
            return error_page(
                request,
                user,
                status_code=403,
                heading="Not allowed",
                message="This page is for administrators.",
            )
        try:
            check_form_csrf(request, form)
            with db.begin_nested():
                await _apply(db, user, what, form)
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except BordinError as exc:
            error = exc
    if error is None:
        return RedirectResponse(f"/admin?done={what}", status_code=303)
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        context = admin_context(db, user)
    context.update(
        {"error": {"form": what, "message": field_error_message(error)}, "entered": entered}
    )
    status = 409 if isinstance(error, Conflict) else 422
    return render_page(
        request, "admin.html", context, status_code=status, html=html_extras(request)
    )


async def _apply(db: Session, user: User, what: str, form: Any) -> None:
    from bordin.storage.actions import create_team, create_user, upload_content_pack

    if what == "norms":
        from bordin.storage.actions import refresh_clinic_norms

        refresh_clinic_norms(db, actor=user, clinic_id=user.clinic_id)
    elif what == "clinic":
        from bordin.storage.actions import set_clinic_timezone

        set_clinic_timezone(db, actor=user, timezone=str(form.get("timezone") or ""))
    elif what == "team":
        create_team(db, actor=user, clinic_id=user.clinic_id, name=str(form.get("name") or ""))
    elif what == "user":
        create_user(
            db,
            actor=user,
            clinic_id=user.clinic_id,
            username=str(form.get("username") or ""),
            password=str(form.get("password") or ""),
            role=str(form.get("role") or ""),
            display_name=str(form.get("display_name") or "").strip(),
            team_id=optional_form_id(form.get("team_id"), what="team"),
        )
    else:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InputError("choose a content pack file (JSON)", column="file")
        raw = await upload.read(MAX_PACK_BYTES + 1)
        if len(raw) > MAX_PACK_BYTES:
            raise InputError("the file is larger than 1 MB", file=upload.filename or "upload")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"not valid JSON ({exc})", file=upload.filename or "upload") from None
        if not isinstance(data, dict):
            raise InputError("a content pack is a JSON object", file=upload.filename or "upload")
        upload_content_pack(
            db,
            actor=user,
            instrument=str(form.get("instrument") or ""),
            language=str(form.get("language") or "").strip(),
            data=data,
        )


@router.post("/admin/clinic", include_in_schema=False)
async def set_clinic(request: Request) -> Response:
    """Set the clinic's time zone (an IANA name)."""
    return await _admin_write(request, "clinic")


@router.post("/admin/norms", include_in_schema=False)
async def refit_norms(request: Request) -> Response:
    """Refit the clinic's norms now and recompute every client against them."""
    return await _admin_write(request, "norms")


@router.post("/admin/teams", include_in_schema=False)
async def add_team(request: Request) -> Response:
    """Create a team in the admin's clinic."""
    return await _admin_write(request, "team")


@router.post("/admin/users", include_in_schema=False)
async def add_user(request: Request) -> Response:
    """Create a staff account (argon2id password hash; audited)."""
    return await _admin_write(request, "user")


@router.post("/admin/content-packs", include_in_schema=False)
async def add_content_pack(request: Request) -> Response:
    """Upload the clinic's wording of an instrument in one language (a JSON content pack)."""
    return await _admin_write(request, "pack")
