"""Content packs: a clinic's licensed wording for an instrument shipped without wording."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import InputError, InstrumentError
from bordin.storage.access import require_role
from bordin.storage.audit import record_event
from bordin.storage.models import ContentPack, User

__all__ = ["upload_content_pack"]


def _check_pack(instrument: str, language: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate a pack with the instrument library's schema and consistency check."""
    from pydantic import ValidationError

    from bordin.instruments import ContentPack as PackSchema
    from bordin.instruments import check_content_pack, get_instrument

    try:
        definition = get_instrument(instrument)
    except InstrumentError as exc:
        raise InputError(f"unknown instrument {instrument!r}", column="instrument") from exc
    payload = {
        "version": definition.version,
        **data,
        "instrument": instrument,
        "language": language,
    }
    try:
        pack = PackSchema.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(str(first.get("msg", "invalid")), column=where or None) from exc
    try:
        check_content_pack(pack, definition)
    except InstrumentError as exc:
        raise InputError(str(exc), column="items") from exc
    return pack.model_dump(mode="json")


def upload_content_pack(
    db: Session, *, actor: User, instrument: str, language: str, data: dict[str, Any]
) -> ContentPack:
    """Store (or replace) the clinic's wording of an instrument in one language (admins only).

    The pack has the shape of :class:`bordin.instruments.ContentPack` (title, instructions,
    items with their response set, response sets, notice, source) and must word every item
    of the instrument's definition. It is used only inside the uploading clinic: licensed
    wording stays licensed.

    Raises
    ------
    PermissionDenied
        The actor is not an admin.
    InputError
        The pack does not match the instrument (names the item).
    """
    require_role(actor, "admin")
    language = language.strip().lower()
    if not language or len(language) > 16:
        raise InputError("give a language code such as 'en' or 'de'", column="language")
    clean = _check_pack(instrument, language, data)
    pack = db.scalar(
        select(ContentPack).where(
            ContentPack.clinic_id == actor.clinic_id,
            ContentPack.instrument == instrument,
            ContentPack.language == language,
        )
    )
    if pack is None:
        pack = ContentPack(
            clinic_id=actor.clinic_id,
            instrument=instrument,
            language=language,
            data=clean,
            uploaded_by=actor.id,
        )
        db.add(pack)
    else:
        pack.data = clean
        pack.uploaded_by = actor.id
    db.flush()
    record_event(
        db,
        actor=actor,
        action="content_pack.upload",
        object_type="content_pack",
        object_id=pack.id,
        detail={"instrument": instrument, "language": language},
    )
    return pack
