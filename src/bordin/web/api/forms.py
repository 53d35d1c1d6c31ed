"""Form requests (therapist side) and the client's side reached by the link's token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request

from bordin.storage import actions, queries
from bordin.storage.models import FormRequest
from bordin.web.deps import (
    TOKEN_FAILURES,
    CurrentUser,
    Db,
    RecordId,
    app_state,
    counted_failures,
    limit_token,
    require_csrf,
)
from bordin.web.schemas import (
    FormContentOut,
    FormRequestIn,
    FormRequestOut,
    ReceiptOut,
    SubmissionIn,
    TherapistCheckIn,
    TherapistCheckOut,
)
from bordin.web.security import client_address

__all__ = ["form_link", "router"]

router = APIRouter(tags=["forms"])

_ALREADY: dict[int | str, dict[str, Any]] = {
    409: {"description": "Already submitted: the body carries the first receipt; nothing stored."},
    410: {"description": "The link has expired."},
    404: {"description": "No form has this link."},
    422: {"description": "An answer is invalid: the body names the item; nothing stored."},
    429: {"description": "Too many unusable links (unknown, expired, used) from this address."},
}


def form_link(base_url: str, token: str) -> str:
    """The client's link for a form token (the page at ``/f/{token}``)."""
    return f"{base_url.rstrip('/')}/f/{token}"


def _out(request: FormRequest, *, token: str | None = None, base_url: str = "") -> FormRequestOut:
    return FormRequestOut(
        id=request.id,
        client_id=request.client_id,
        session_id=request.session_id,
        instruments=list(request.instruments),
        language=request.language,
        created_at=request.created_at,
        expires_at=request.expires_at,
        submitted_at=request.submitted_at,
        token=token,
        url=form_link(base_url, token) if token else None,
    )


@router.post(
    "/sessions/{session_id}/form-requests", status_code=201, dependencies=[Depends(require_csrf)]
)
def create_form_request(
    session_id: RecordId, body: FormRequestIn, request: Request, db: Db, user: CurrentUser
) -> FormRequestOut:
    """Create a one-time form link for a session; the token is shown only in this answer."""
    settings = app_state(request).settings
    created, token = actions.create_form_request(
        db,
        actor=user,
        session_id=session_id,
        instruments=body.instruments,
        language=body.language,
        lifetime=timedelta(days=settings.token_days),
        support_check=body.support_check,
    )
    return _out(created, token=token, base_url=settings.base_url)


@router.post(
    "/sessions/{session_id}/therapist-check",
    status_code=201,
    dependencies=[Depends(require_csrf)],
)
def record_therapist_check(
    session_id: RecordId, body: TherapistCheckIn, db: Db, user: CurrentUser
) -> TherapistCheckOut:
    """Store the therapist's session check (``tsc``) for a session; the client's therapist
    only."""
    items = actions.record_therapist_check(
        db, actor=user, session_id=session_id, answers=body.answers
    )
    return TherapistCheckOut(session_id=session_id, instrument=actions.THERAPIST_CHECK, items=items)


@router.get("/clients/{client_id}/form-requests")
def list_form_requests(client_id: RecordId, db: Db, user: CurrentUser) -> list[FormRequestOut]:
    """A client's form requests, newest first (tokens are never shown again)."""
    return [_out(r) for r in queries.list_form_requests(db, actor=user, client_id=client_id)]


@router.get("/forms/{token}", responses=_ALREADY, dependencies=[Depends(limit_token)])
def get_form(token: str, request: Request, db: Db) -> FormContentOut:
    """The client's form: instruments, wording from the content pack, response options."""
    with counted_failures(request, db, app_state(request).token_limit, TOKEN_FAILURES):
        content = queries.get_form_content(db, token=token)
    return FormContentOut(
        form_id=content.form_id,
        session=content.session,
        language=content.language,
        expires_at=content.expires_at,
        instruments=content.instruments,
    )


@router.post("/forms/{token}", status_code=201, responses=_ALREADY)
async def submit_form(token: str, body: SubmissionIn, request: Request) -> ReceiptOut:
    """Submit the answers once; all or nothing. A repeat answers 409 with the first receipt.

    Submissions that arrive together share a transaction (:mod:`bordin.web.submissions`);
    each gets its own receipt or error, and a receipt only once its answers are stored.
    """
    batcher = app_state(request).submissions
    assert batcher is not None  # create_app sets it
    receipt = await batcher.submit(token, body.answers, client_address(request))
    return ReceiptOut.model_validate(receipt)
