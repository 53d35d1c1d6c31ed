"""Reads of form requests: a therapist's list, and the client's view behind a link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.storage.access import require_client
from bordin.storage.actions.forms import find_form_request
from bordin.storage.audit import record_event
from bordin.storage.exceptions import AlreadySubmitted
from bordin.storage.models import Client, ContentPack, FormRequest, TherapySession, User

__all__ = ["FormContent", "get_form_content", "get_wording", "list_form_requests"]


def list_form_requests(db: Session, *, actor: User, client_id: int) -> list[FormRequest]:
    """A client's form requests, newest first."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="form_request.list",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return list(
        db.scalars(
            select(FormRequest)
            .where(FormRequest.client_id == client.id)
            .order_by(FormRequest.id.desc())
        )
    )


def get_wording(db: Session, clinic_id: int, instrument: str, language: str) -> dict[str, Any]:
    """The wording of an instrument for a clinic: its own uploaded pack, else the shipped one.

    Returns a dict in the shape of :class:`bordin.instruments.ContentPack` plus ``origin``
    (``clinic`` or ``shipped``); an instrument with no wording in either place gets a
    neutral pack that names items by number, so a form can still be completed on paper
    wording the therapist hands over.
    """
    from bordin.instruments import get_content_pack, get_instrument

    pack = db.scalar(
        select(ContentPack).where(
            ContentPack.clinic_id == clinic_id,
            ContentPack.instrument == instrument,
            ContentPack.language == language,
        )
    )
    if pack is not None:
        return {**pack.data, "origin": "clinic"}
    shipped = get_content_pack(instrument, language)
    if shipped is None and language != "en":
        shipped = get_content_pack(instrument, "en")
    if shipped is not None:
        return {**shipped.model_dump(mode="json"), "origin": "shipped"}
    definition = get_instrument(instrument)
    return {
        "instrument": instrument,
        "version": definition.version,
        "language": language,
        "title": definition.name,
        "instructions": "Your clinic has not loaded the wording of this questionnaire.",
        "items": [
            {
                "number": item.number,
                "text": f"Item {item.number}",
                "responses": f"item{item.number}",
            }
            for item in definition.items
        ],
        "response_sets": {
            f"item{item.number}": [
                {"value": code, "label": f"{code:g}"}
                for code in (item.codes if item.step >= 1 else (item.min_value, item.max_value))
            ]
            for item in definition.items
        },
        "notice": definition.licence,
        "source": "no wording loaded",
        "origin": "none",
    }


@dataclass(frozen=True)
class FormContent:
    """What a client sees behind a link: the instruments, their wording and item rules."""

    form_id: int
    session: int
    language: str
    expires_at: str
    instruments: list[dict[str, Any]]


def get_form_content(db: Session, *, token: str) -> FormContent:
    """The form behind a link, with wording, for the client (audited as a token read).

    Raises
    ------
    AlreadySubmitted
        The link was used already (with the first receipt).
    LinkExpired, NotFound
        The link is expired or unknown.
    """
    from bordin.instruments import get_instrument

    request = find_form_request(db, token)
    if request.submitted_at is not None:
        raise AlreadySubmitted(
            "this form was already submitted", receipt=dict(request.receipt or {})
        )
    client = db.get(Client, request.client_id)
    session = db.get(TherapySession, request.session_id)
    clinic_id = client.clinic_id if client else 0
    instruments = []
    for instrument in request.instruments:
        definition = get_instrument(instrument)
        wording = get_wording(db, clinic_id, instrument, request.language)
        texts = {int(i["number"]): i for i in wording.get("items", [])}
        sets = wording.get("response_sets", {})
        items = []
        for item in definition.items:
            content = texts.get(item.number, {})
            items.append(
                {
                    "number": item.number,
                    "text": content.get("text", f"Item {item.number}"),
                    "min_value": item.min_value,
                    "max_value": item.max_value,
                    "step": item.step,
                    "required": item.required,
                    "asked_if": item.asked_if.model_dump() if item.asked_if else None,
                    "responses": sets.get(content.get("responses", ""), []),
                }
            )
        instruments.append(
            {
                "id": instrument,
                "title": wording.get("title", definition.name),
                "instructions": wording.get("instructions", ""),
                "notice": wording.get("notice", ""),
                "items": items,
                # the language the wording is in (English when the pack was missing)
                "language": wording.get("language", request.language),
                "origin": wording.get("origin", "shipped"),
            }
        )
    record_event(
        db,
        actor=None,
        actor_kind="token",
        action="form.read",
        object_type="form_request",
        object_id=request.id,
        client_id=request.client_id,
        clinic_id=clinic_id,
    )
    return FormContent(
        form_id=request.id,
        session=session.number if session else 0,
        language=request.language,
        expires_at=request.expires_at.isoformat(),
        instruments=instruments,
    )
