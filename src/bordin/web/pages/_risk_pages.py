"""Risk answers for staff (``/risk``, ``/risk/{id}``) and the admin's risk log and risk
settings (``/admin/risk``). Each page answers ``?format=json`` with its context."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bordin.errors import BordinError, InputError, NotFound, PermissionDenied
from bordin.storage.models import Clinic, User
from bordin.web.pages._deps import PageId, open_transaction, page_user
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._render import render_page

__all__ = ["risk_notice_context", "router"]

router = APIRouter()


def risk_notice_context(db: Session, user: User, *, client_id: int | None = None) -> dict[str, Any]:
    """The risk banner of a staff page: unread notices and open risk answers in scope
    (of one client when ``client_id`` is given)."""
    from bordin.storage.queries import count_unread_risk_notices, list_risk_events

    open_answers = list_risk_events(db, actor=user, open_only=True)
    if client_id is not None:
        open_answers = [a for a in open_answers if a["client"]["id"] == client_id]
    return {"unread": count_unread_risk_notices(db, user=user), "open": open_answers}


def _not_found(request: Request, user: User) -> Response:
    return error_page(
        request,
        user,
        status_code=404,
        heading="Risk answer not found",
        message="This risk answer does not exist or is not in your caseload.",
    )


@router.get("/risk", include_in_schema=False)
def risk_list(request: Request) -> Response:
    """Risk answers in the caller's scope: open ones first, then recently acknowledged."""
    from bordin.storage.queries import list_risk_events

    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        every = list_risk_events(db, actor=user, open_only=False, limit=100)
        context = base_context(user, title="Risk answers", current="/risk")
        context.update(
            {
                "open": [a for a in every if a["acknowledged"] is None],
                "acknowledged": [a for a in every if a["acknowledged"] is not None],
            }
        )
    return render_page(request, "risk_list.html", context, html=html_extras(request))


@router.get("/risk/{event_id}", include_in_schema=False)
def risk_event(request: Request, event_id: PageId, acknowledged: int | None = None) -> Response:
    """One risk answer: the item's wording, the answer, when it was given; acknowledge it."""
    from bordin.storage.actions import open_risk_event
    from bordin.storage.queries import describe_risk_event

    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            event = open_risk_event(db, actor=user, risk_event_id=event_id)
        except NotFound:
            return _not_found(request, user)
        context = base_context(user, title="Risk answer", current="")
        context.update(
            {"event": describe_risk_event(db, event), "just_acknowledged": bool(acknowledged)}
        )
    return render_page(request, "risk_event.html", context, html=html_extras(request))


@router.post("/risk/{event_id}/acknowledge", include_in_schema=False)
async def acknowledge(request: Request, event_id: PageId) -> Response:
    """Acknowledge a risk answer with a note; this stops its escalation."""
    from bordin.storage.actions import acknowledge_risk

    form = await request.form()
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            acknowledge_risk(
                db, actor=user, risk_event_id=event_id, note=str(form.get("note") or "")
            )
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except NotFound:
            return _not_found(request, user)
        except InputError as exc:
            return error_page(
                request,
                user,
                status_code=422,
                heading="Could not save the note",
                message=field_error_message(exc),
            )
    return RedirectResponse(f"/risk/{event_id}?acknowledged=1", status_code=303)


def _admin_only(request: Request, user: User) -> Response | None:
    if user.role == "admin":
        return None
    return error_page(
        request,
        user,
        status_code=403,
        heading="Not allowed",
        message="This page is for administrators.",
    )


def _admin_context(db: Session, user: User) -> dict[str, Any]:
    from bordin.storage.queries import list_risk_log

    clinic = db.get(Clinic, user.clinic_id)
    context = base_context(user, title="Risk pathway", current="/admin")
    context.update(
        {
            "settings": {
                "crisis_text": (clinic.crisis_text if clinic else None) or "",
                "escalate_minutes": clinic.risk_escalate_minutes if clinic else 60,
            },
            "log": list_risk_log(db, actor=user),
            "saved": False,
            "error": None,
        }
    )
    return context


@router.get("/admin/risk", include_in_schema=False)
def risk_admin(request: Request, saved: int | None = None) -> Response:
    """The clinic's crisis text and escalation delay, and every step of the risk log."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        refused = _admin_only(request, user)
        if refused is not None:
            return refused
        context = _admin_context(db, user)
        context["saved"] = bool(saved)
    return render_page(request, "risk_admin.html", context, html=html_extras(request))


@router.post("/admin/risk", include_in_schema=False)
async def save_risk_settings(request: Request) -> Response:
    """Save the crisis text and escalation delay (administrators only)."""
    from bordin.storage.actions import set_risk_settings

    form = await request.form()
    error: BordinError | None = None
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        refused = _admin_only(request, user)
        if refused is not None:
            return refused
        try:
            check_form_csrf(request, form)
            raw_minutes = str(form.get("escalate_minutes") or "").strip()
            try:
                minutes = int(raw_minutes)
            except ValueError:
                raise InputError(
                    f"the escalation delay {raw_minutes!r} is not a whole number of minutes",
                    column="escalate_minutes",
                ) from None
            with db.begin_nested():
                set_risk_settings(
                    db,
                    actor=user,
                    crisis_text=str(form.get("crisis_text") or ""),
                    escalate_minutes=minutes,
                )
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except BordinError as exc:
            error = exc
        if error is None:
            return RedirectResponse("/admin/risk?saved=1", status_code=303)
        context = _admin_context(db, user)
        context["error"] = field_error_message(error)
        context["settings"] = {
            "crisis_text": str(form.get("crisis_text") or ""),
            "escalate_minutes": str(form.get("escalate_minutes") or ""),
        }
    return render_page(
        request, "risk_admin.html", context, status_code=422, html=html_extras(request)
    )
