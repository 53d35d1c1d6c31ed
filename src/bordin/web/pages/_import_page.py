"""The admin's import page: upload a clinic's history, preview it, then import it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bordin.errors import BordinError, Conflict, InputError, NotFound, PermissionDenied
from bordin.storage.models import User
from bordin.web.pages._deps import open_transaction, page_user
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._render import render_page

__all__ = ["MAX_IMPORT_BYTES", "import_context", "router"]

router = APIRouter()

#: the largest history file the page takes (a 10,000-session responses file is ~15 MB)
MAX_IMPORT_BYTES = 100_000_000

KINDS = (
    {
        "value": "responses",
        "label": "Item responses (long): one row per answered item",
        "columns": "client_id, therapist_id, session, date, instrument, item, value",
    },
    {
        "value": "scores",
        "label": "Session scores (wide): one row per client and session",
        "columns": "client_id, therapist_id, session, date, <instrument>_<scale>, ...",
    },
)


def import_context(user: User) -> dict[str, Any]:
    """The import page's context: the file kinds it takes, and no preview or result yet."""
    context = base_context(user, title="Import a clinic's history", current="/admin")
    context.update(
        {
            "kinds": list(KINDS),
            "max_megabytes": MAX_IMPORT_BYTES // 1_000_000,
            "preview": None,
            "result": None,
            "token": None,
            "filename": None,
            "endings_filename": None,
            "error": None,
        }
    )
    return context


def _not_admin(request: Request, user: User) -> Response:
    return error_page(
        request,
        user,
        status_code=403,
        heading="Not allowed",
        message="This page is for administrators.",
    )


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    return render_page(
        request, "import.html", context, status_code=status_code, html=html_extras(request)
    )


@router.get("/admin/import", include_in_schema=False)
def import_page(request: Request) -> Response:
    """The upload form (administrators only)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        if user.role != "admin":
            return _not_admin(request, user)
        context = import_context(user)
    return _page(request, context)


async def _read_upload(form: Any, field: str = "file") -> tuple[str, bytes] | None:
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        if field != "file":
            return None  # an optional file not given
        raise InputError("choose a CSV file", column="file")
    content = await upload.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise InputError(
            f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB", file=upload.filename
        )
    return upload.filename, content


async def _write(request: Request, step: str) -> Response:
    form = await request.form()
    try:
        with open_transaction(request) as db:
            user = page_user(request, db)
            if user is None:
                return login_redirect(request)
            if user.role != "admin":
                return _not_admin(request, user)
            context = import_context(user)
            try:
                check_form_csrf(request, form)
                with db.begin_nested():
                    context.update(await _apply(db, user, step, form))
            except PermissionDenied as exc:
                return error_page(
                    request, user, status_code=403, heading="Not allowed", message=str(exc)
                )
            except BordinError as exc:
                context["error"] = {"message": str(exc), **_where(exc)}
                status = (
                    409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 422
                )
                return _page(request, context, status)
    finally:
        await form.close()
    return _page(request, context)


def _where(exc: BordinError) -> dict[str, Any]:
    return {key: getattr(exc, key, None) for key in ("file", "row", "column", "item")}


async def _apply(db: Session, user: User, step: str, form: Any) -> dict[str, Any]:
    from bordin.storage.actions import confirm_import, stage_import

    if step == "preview":
        history = await _read_upload(form)
        assert history is not None  # the history file is required (_read_upload raises)
        filename, content = history
        endings = await _read_upload(form, "endings")
        token, preview = stage_import(
            db,
            actor=user,
            kind=str(form.get("kind") or ""),
            filename=filename,
            content=content,
            endings=endings,
        )
        return {
            "preview": preview.to_dict(),
            "token": token,
            "filename": filename,
            "endings_filename": endings[0] if endings else None,
        }
    filename, result = confirm_import(db, actor=user, token=str(form.get("token") or ""))
    return {"result": result.to_dict(), "filename": filename}


@router.post("/admin/import", include_in_schema=False)
async def upload_history(request: Request) -> Response:
    """Check an uploaded history file and show what importing it would create."""
    return await _write(request, "preview")


@router.post("/admin/import/confirm", include_in_schema=False)
async def confirm_history(request: Request) -> Response:
    """Import the previewed file; feedback is recomputed for the clinic once."""
    return await _write(request, "confirm")
