"""Clinic exports (CSV contracts of DESIGN.md), instruments and content packs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response
from sqlalchemy import select

from bordin.errors import NotFound
from bordin.storage import actions, queries
from bordin.storage.access import require_role
from bordin.storage.models import ContentPack, NormsSnapshot
from bordin.web.deps import CurrentUser, Db, RecordId, require_csrf
from bordin.web.schemas import ContentPackOut, InstrumentOut, NormsSnapshotOut

__all__ = ["router"]

router = APIRouter(tags=["clinic"])
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "A CSV file."}
}


def _csv(frame: Any, name: str) -> Response:
    """``frame`` as a CSV download, text cells neutralised against formula injection."""
    from bordin.interop.spreadsheet_safety import formula_safe_csv

    return Response(
        formula_safe_csv(frame),
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


def norms_out(
    snapshot: NormsSnapshot, *, current: bool, document: bool = False
) -> NormsSnapshotOut:
    """A stored snapshot as the API shows it (the description is the core's)."""
    from bordin.storage.actions._feedback import snapshot_norms

    norms = snapshot_norms(snapshot)
    return NormsSnapshotOut(
        id=snapshot.id,
        version=snapshot.version,
        reason=snapshot.reason,
        source=snapshot.source,
        created_at=snapshot.created_at,
        sessions_at_fit=snapshot.sessions_at_fit,
        fitted_on=norms.fitted_on.to_dict(),
        alliance=norms.alliance,
        outcomes=list(norms.outcomes),
        quantities=norms.describe(),
        current=current,
        document=dict(snapshot.data) if document else None,
    )


@router.get("/clinic/norms")
def list_norms(db: Db, user: CurrentUser) -> list[NormsSnapshotOut]:
    """The clinic's norms snapshots, current first (admin, supervisor)."""
    found = queries.list_norms_snapshots(db, actor=user)
    return [norms_out(s, current=i == 0) for i, s in enumerate(found)]


@router.get("/clinic/norms/current")
def get_current_norms(db: Db, user: CurrentUser) -> NormsSnapshotOut:
    """The current snapshot with its norms document (for ``bordin feedback --norms``)."""
    snapshot = queries.get_norms_snapshot(db, actor=user, snapshot_id=None)
    return norms_out(snapshot, current=True, document=True)


@router.get("/clinic/norms/{snapshot_id}")
def get_norms(snapshot_id: RecordId, db: Db, user: CurrentUser) -> NormsSnapshotOut:
    """One snapshot with its norms document."""
    snapshot = queries.get_norms_snapshot(db, actor=user, snapshot_id=snapshot_id)
    current = queries.get_norms_snapshot(db, actor=user, snapshot_id=None)
    return norms_out(snapshot, current=snapshot.id == current.id, document=True)


@router.post("/clinic/norms/refresh", status_code=201, dependencies=[Depends(require_csrf)])
def refresh_norms(db: Db, user: CurrentUser) -> NormsSnapshotOut:
    """Refit the clinic's norms now and recompute every client against them (admin)."""
    snapshot = actions.refresh_clinic_norms(db, actor=user, clinic_id=user.clinic_id)
    return norms_out(snapshot, current=True)
