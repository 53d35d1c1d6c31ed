"""``/api/v1``: contact details, booked sessions, delivery schedules, forms sent by email
and the non-completer list (with resend and "filled on paper")."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from bordin.storage import actions, queries
from bordin.storage.contact_cipher import ContactCipher, make_cipher
from bordin.storage.models import utcnow
from bordin.web.deps import CurrentUser, Db, RecordId, app_state, require_csrf

__all__ = ["router"]

router = APIRouter(tags=["delivery"])
csrf = [Depends(require_csrf)]


def _cipher(request: Request) -> ContactCipher:
    return make_cipher(app_state(request).settings.contact_key)


def _lifetime(request: Request) -> dt.timedelta:
    return dt.timedelta(days=app_state(request).settings.token_days)


class ContactIn(BaseModel):
    """A client's contact details (replacing any stored)."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)


class ContactOut(BaseModel):
    """A client's contact details (reading them is audited)."""

    client_id: int
    email: str | None
    phone: str | None
    updated_at: dt.datetime | None


class BookingIn(BaseModel):
    """A session booked ahead (with its time zone, e.g. 2026-12-10T09:00:00+01:00)."""

    model_config = ConfigDict(extra="forbid")
    starts_at: dt.datetime


class BookingOut(BaseModel):
    """A booked session."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    client_id: int
    episode_id: int
    starts_at: dt.datetime
    session_id: int | None
    form_request_id: int | None


class ScheduleIn(BaseModel):
    """How an episode's forms are sent."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["before_session", "weekly", "manual"]
    instruments: list[str] = Field(min_length=1, max_length=20)
    language: str = Field("en", max_length=16)
    hours_before: int = Field(24, ge=1, le=336)
    first_due_at: dt.datetime | None = None


class ScheduleOut(BaseModel):
    """An episode's delivery schedule."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    episode_id: int
    mode: str
    instruments: list[str]
    language: str
    hours_before: int
    next_due_at: dt.datetime | None


class SendFormIn(BaseModel):
    """Send a form link for a session by email now."""

    model_config = ConfigDict(extra="forbid")
    instruments: list[str] = Field(min_length=1, max_length=20)
    language: str = Field("en", max_length=16)


class DeliveryOut(BaseModel):
    """A form sent (or to be sent) to a client."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    client_id: int
    form_request_id: int
    reason: str
    due_at: dt.datetime
    not_emailed: str | None
    reminders_sent: int
    paper_at: dt.datetime | None


@router.get("/clients/{client_id}/contact")
def read_contact(client_id: RecordId, request: Request, db: Db, user: CurrentUser) -> ContactOut:
    """A client's contact details (audited; 404 outside the caller's scope)."""
    found = actions.read_client_contact(
        db, actor=user, cipher=_cipher(request), client_id=client_id
    )
    if found is None:
        return ContactOut(client_id=client_id, email=None, phone=None, updated_at=None)
    return ContactOut(
        client_id=found.client_id, email=found.email, phone=found.phone, updated_at=found.updated_at
    )


@router.put("/clients/{client_id}/contact", status_code=204, dependencies=csrf)
def set_contact(
    client_id: RecordId, body: ContactIn, request: Request, db: Db, user: CurrentUser
) -> None:
    """Set a client's contact details (stored encrypted, apart from clinical data)."""
    actions.set_client_contact(
        db,
        actor=user,
        cipher=_cipher(request),
        client_id=client_id,
        email=body.email,
        phone=body.phone,
    )


@router.delete("/clients/{client_id}/contact", status_code=204, dependencies=csrf)
def delete_contact(client_id: RecordId, db: Db, user: CurrentUser) -> None:
    """Delete a client's contact details (on request)."""
    actions.delete_client_contact(db, actor=user, client_id=client_id)


@router.get("/clients/{client_id}/bookings")
def list_bookings(client_id: RecordId, db: Db, user: CurrentUser) -> list[BookingOut]:
    """A client's booked sessions, by start."""
    found = queries.list_bookings(db, actor=user, client_id=client_id)
    return [BookingOut.model_validate(b) for b in found]


@router.post("/clients/{client_id}/bookings", status_code=201, dependencies=csrf)
def book_session(client_id: RecordId, body: BookingIn, db: Db, user: CurrentUser) -> BookingOut:
    """Book a session ahead in the client's open episode."""
    booking = actions.book_session(db, actor=user, client_id=client_id, starts_at=body.starts_at)
    return BookingOut.model_validate(booking)


@router.post("/bookings/{booking_id}/cancel", dependencies=csrf)
def cancel_booking(booking_id: RecordId, db: Db, user: CurrentUser) -> BookingOut:
    """Cancel a booked session."""
    return BookingOut.model_validate(actions.cancel_booking(db, actor=user, booking_id=booking_id))


@router.put("/episodes/{episode_id}/schedule", dependencies=csrf)
def set_schedule(episode_id: RecordId, body: ScheduleIn, db: Db, user: CurrentUser) -> ScheduleOut:
    """Set how an episode's forms are sent: before each booked session, weekly, or by hand."""
    schedule = actions.set_delivery_schedule(
        db,
        actor=user,
        episode_id=episode_id,
        mode=body.mode,
        instruments=body.instruments,
        language=body.language,
        hours_before=body.hours_before,
        first_due_at=body.first_due_at,
    )
    return ScheduleOut.model_validate(schedule)


@router.post("/sessions/{session_id}/send-form", status_code=201, dependencies=csrf)
def send_form(
    session_id: RecordId, body: SendFormIn, request: Request, db: Db, user: CurrentUser
) -> DeliveryOut:
    """Send a form link for a session by email now (queued with the link, in one step)."""
    delivery = actions.deliver_form(
        db,
        actor=user,
        cipher=_cipher(request),
        session_id=session_id,
        instruments=body.instruments,
        language=body.language,
        reason="manual",
        lifetime=_lifetime(request),
    )
    return DeliveryOut.model_validate(delivery)


@router.get("/non-completers")
def list_non_completers(db: Db, user: CurrentUser) -> list[dict[str, Any]]:
    """Clients in the caller's scope who had a form due and have not answered it."""
    return [n.to_dict() for n in queries.list_non_completers(db, actor=user, now=utcnow())]


@router.post("/form-deliveries/{delivery_id}/resend", status_code=201, dependencies=csrf)
def resend_form(delivery_id: RecordId, request: Request, db: Db, user: CurrentUser) -> DeliveryOut:
    """Send a fresh link for an unanswered form (409 if answered, on paper or replaced)."""
    delivery = actions.resend_form(
        db,
        actor=user,
        cipher=_cipher(request),
        delivery_id=delivery_id,
        lifetime=_lifetime(request),
    )
    return DeliveryOut.model_validate(delivery)


@router.post("/form-deliveries/{delivery_id}/paper", dependencies=csrf)
def mark_paper(delivery_id: RecordId, db: Db, user: CurrentUser) -> DeliveryOut:
    """Record that the client filled the form on paper (the link is cancelled)."""
    return DeliveryOut.model_validate(
        actions.mark_filled_on_paper(db, actor=user, delivery_id=delivery_id)
    )
