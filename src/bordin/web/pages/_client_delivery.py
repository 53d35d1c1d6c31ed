"""A client's delivery page: contact details (read audited), the episode's schedule,
sessions booked ahead, and sending a form by email now (JSON twin: ``?format=json``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import BordinError, InputError, NotFound, PermissionDenied
from bordin.storage import actions, queries
from bordin.storage.contact_cipher import make_cipher
from bordin.storage.models import Episode, TherapySession, User
from bordin.web.deps import app_state
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

__all__ = ["delivery_context", "router"]

router = APIRouter()

_DONE = {
    "contact": "Contact details saved (encrypted).",
    "forget": "Contact details deleted.",
    "schedule": "Schedule saved.",
    "book": "Session booked.",
    "cancel": "Booking cancelled.",
    "send": "Form link queued for sending by email.",
}


def delivery_context(
    db: Session, user: User, client_id: int, *, contact_key: str | None
) -> dict[str, Any]:
    """The page's data: contact details, schedule, bookings, the latest session."""
    client = queries.get_client(db, actor=user, client_id=client_id)
    contact = None
    if contact_key:
        found = actions.read_client_contact(
            db, actor=user, cipher=make_cipher(contact_key), client_id=client.id
        )
        contact = {"email": found.email, "phone": found.phone} if found else None
    schedules = queries.list_schedules(db, actor=user, client_id=client.id)
    open_episode = db.scalar(
        select(Episode.id).where(Episode.client_id == client.id, Episode.closed_on.is_(None))
    )
    schedule = next((s for s in schedules if s.episode_id == open_episode), None)
    bookings = queries.list_bookings(db, actor=user, client_id=client.id)
    latest = db.scalar(
        select(TherapySession)
        .where(TherapySession.client_id == client.id)
        .order_by(TherapySession.number.desc())
    )
    context = base_context(user, title=f"Forms by email: {client.code}", current="/caseload")
    context.update(
        {
            "client": {"id": client.id, "code": client.code, "href": f"/clients/{client.id}"},
            "contact_key_set": bool(contact_key),
            "contact": contact,
            "open_episode": open_episode,
            "schedule": (
                {
                    "mode": schedule.mode,
                    "instruments": schedule.instruments,
                    "language": schedule.language,
                    "hours_before": schedule.hours_before,
                    "next_due_at": schedule.next_due_at,
                }
                if schedule
                else None
            ),
            "bookings": [
                {
                    "id": b.id,
                    "starts_at": b.starts_at,
                    "form_sent": b.form_request_id is not None,
                }
                for b in bookings
            ],
            "latest_session": (
                {"id": latest.id, "number": latest.number, "date": latest.date} if latest else None
            ),
            "default_instruments": client.default_instruments or ["sac", "phq9"],
            "language": client.form_language,
        }
    )
    return context


@router.get("/clients/{client_id}/delivery", include_in_schema=False)
def delivery_page(request: Request, client_id: PageId) -> Response:
    """Contact details, schedule and bookings of one client."""
    settings = app_state(request).settings
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            context = delivery_context(db, user, client_id, contact_key=settings.contact_key)
        except NotFound:
            return error_page(
                request,
                user,
                status_code=404,
                heading="Client not found",
                message="This client does not exist or is not in your caseload.",
            )
        context["message"] = _DONE.get(request.query_params.get("done") or "")
        return render_page(request, "client_delivery.html", context, html=html_extras(request))


def _instruments(form: Any) -> list[str]:
    return [str(v) for v in form.getlist("instruments") if str(v).strip()] or [
        s.strip() for s in str(form.get("instrument_list") or "").split(",") if s.strip()
    ]


def _local_time(user: User, value: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InputError("a date and time is like 2026-12-10T09:00", column="starts_at") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(user.clinic.timezone))


def _apply(db: Session, user: User, client_id: int, what: str, form: Any, request: Request) -> None:
    settings = app_state(request).settings
    if what == "contact":
        actions.set_client_contact(
            db,
            actor=user,
            cipher=make_cipher(settings.contact_key),
            client_id=client_id,
            email=str(form.get("email") or ""),
            phone=str(form.get("phone") or ""),
        )
    elif what == "forget":
        actions.delete_client_contact(db, actor=user, client_id=client_id)
    elif what == "schedule":
        hours = str(form.get("hours_before") or "24")
        first = str(form.get("first_due_at") or "")
        actions.set_delivery_schedule(
            db,
            actor=user,
            episode_id=int(str(form.get("episode_id") or "0")),
            mode=str(form.get("mode") or ""),
            instruments=_instruments(form),
            language=str(form.get("language") or "en"),
            hours_before=int(hours) if hours.isdigit() else 0,
            first_due_at=_local_time(user, first) if first else None,
        )
    elif what == "book":
        actions.book_session(
            db,
            actor=user,
            client_id=client_id,
            starts_at=_local_time(user, str(form.get("starts_at") or "")),
        )
    elif what == "cancel":
        actions.cancel_booking(db, actor=user, booking_id=int(str(form.get("booking_id") or "0")))
    elif what == "send":
        actions.deliver_form(
            db,
            actor=user,
            cipher=make_cipher(settings.contact_key),
            session_id=int(str(form.get("session_id") or "0")),
            instruments=_instruments(form),
            language=str(form.get("language") or "en"),
            reason="manual",
            lifetime=timedelta(days=settings.token_days),
        )
    else:
        raise NotFound(f"no such change: {what}")


@router.post("/clients/{client_id}/delivery/{what}", include_in_schema=False)
async def change_delivery(request: Request, client_id: PageId, what: str) -> Response:
    """Apply one change (audited), then back to the delivery page."""
    form = await request.form()
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            with db.begin_nested():
                _apply(db, user, client_id, what, form, request)
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except NotFound:
            return error_page(
                request,
                user,
                status_code=404,
                heading="Not found",
                message="This record does not exist or is not in your caseload.",
            )
        except BordinError as exc:
            return error_page(
                request,
                user,
                status_code=422,
                heading="Nothing was saved",
                message=field_error_message(exc),
            )
    return RedirectResponse(f"/clients/{client_id}/delivery?done={what}", status_code=303)
