"""Clinic exports (CSV contracts of DESIGN.md), instruments and content packs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response
from sqlalchemy import select

from bordin.errors import NotFound
from bordin.storage import actions, queries
from bordin.storage.access import require_role
from bordin.storage.models import ContentPack
from bordin.web.deps import CurrentUser, Db, require_csrf
from bordin.web.schemas import ContentPackOut, InstrumentOut

__all__ = ["router"]

router = APIRouter(tags=["clinic"])
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "A CSV file."}
}


def _csv(frame: Any, name: str) -> Response:
    return Response(
        frame.to_csv(index=False, lineterminator="\n"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/exports/item-responses.csv", response_class=Response, responses=_CSV)
def export_item_responses(db: Db, user: CurrentUser) -> Response:
    """Item responses of the clinic (admin) or team (supervisor), long CSV of DESIGN.md."""
    return _csv(queries.export_item_responses(db, actor=user), "item-responses.csv")


@router.get("/exports/session-scores.csv", response_class=Response, responses=_CSV)
def export_session_scores(db: Db, user: CurrentUser) -> Response:
    """Session scores of the clinic (admin) or team (supervisor), wide CSV of DESIGN.md."""
    return _csv(queries.export_session_scores(db, actor=user), "session-scores.csv")


def _instrument_out(definition: Any) -> InstrumentOut:
    from bordin.instruments import get_content_pack

    return InstrumentOut(
        id=definition.id,
        name=definition.name,
        version=definition.version,
        items=len(definition.items),
        scales=[s.name for s in definition.scales],
        licence=definition.licence,
        wording_redistributable=definition.wording_redistributable,
        validated=definition.validated,
        citation=definition.citation,
        wording_available=get_content_pack(definition.id, "en") is not None,
    )


@router.get("/instruments")
def list_instruments(user: CurrentUser) -> list[InstrumentOut]:
    """Every instrument Bordin can score (wording shipped or not)."""
    from bordin.instruments import list_instruments as registry

    return [_instrument_out(d) for d in registry()]


@router.get("/instruments/{instrument_id}")
def get_instrument(instrument_id: str, user: CurrentUser) -> InstrumentOut:
    """One instrument (404 for an unknown id)."""
    from bordin.errors import InstrumentError
    from bordin.instruments import get_instrument as registry

    try:
        return _instrument_out(registry(instrument_id))
    except InstrumentError:
        raise NotFound(f"instrument {instrument_id!r} not found") from None


@router.get("/content-packs")
def list_content_packs(db: Db, user: CurrentUser) -> list[ContentPackOut]:
    """The clinic's uploaded content packs and the shipped ones."""
    from bordin.instruments import list_content_packs as shipped

    out = [
        ContentPackOut(
            instrument=p.instrument,
            language=p.language,
            title=str(p.data.get("title", "")),
            origin="clinic",
            uploaded_at=p.uploaded_at,
        )
        for p in db.scalars(
            select(ContentPack)
            .where(ContentPack.clinic_id == user.clinic_id)
            .order_by(ContentPack.instrument, ContentPack.language)
        )
    ]
    out += [
        ContentPackOut(
            instrument=p.instrument, language=p.language, title=p.title, origin="shipped"
        )
        for p in shipped()
    ]
    return out


@router.put("/content-packs/{instrument_id}/{language}", dependencies=[Depends(require_csrf)])
def upload_content_pack(
    instrument_id: str,
    language: str,
    db: Db,
    user: CurrentUser,
    body: dict[str, Any] = Body(
        ...,
        examples=[
            {
                "version": "1.0",
                "title": "…",
                "instructions": "…",
                "items": [{"number": 1, "text": "…", "responses": "agree5"}],
                "response_sets": {"agree5": [{"value": 1, "label": "Seldom"}]},
                "notice": "© licensed to this clinic",
                "source": "licence agreement",
            }
        ],
    ),
) -> ContentPackOut:
    """Upload a clinic's licensed wording for an instrument (admins only)."""
    require_role(user, "admin")
    pack = actions.upload_content_pack(
        db, actor=user, instrument=instrument_id, language=language, data=body
    )
    return ContentPackOut(
        instrument=pack.instrument,
        language=pack.language,
        title=str(pack.data.get("title", "")),
        origin="clinic",
        uploaded_at=pack.uploaded_at,
    )
