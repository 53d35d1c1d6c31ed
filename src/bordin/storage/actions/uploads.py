"""Import from the admin page: upload and preview a history file, then import it.

The file is kept (in the database, so any app worker can finish the import) between the
preview and the admin's confirmation, under a random token stored hashed; its content is
deleted once imported. Uploads left unconfirmed for a day are removed when the next one is
made.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.actions.history import HistoryImport, HistoryKind, import_history
from bordin.storage.audit import record_event
from bordin.storage.credentials import hash_token, new_token
from bordin.storage.models import ImportUpload, User, utcnow

__all__ = ["UPLOAD_LIFETIME", "confirm_import", "stage_import"]

#: how long an uploaded, previewed file waits for its confirmation
UPLOAD_LIFETIME = timedelta(days=1)


def _preview(db: Session, actor: User, upload: ImportUpload, *, preview: bool) -> HistoryImport:
    from bordin.interop import read_csv_bytes, read_endings_bytes

    kind: HistoryKind = "scores" if upload.kind == "scores" else "responses"
    frame = read_csv_bytes(upload.content or b"", name=upload.filename)
    # the endings file is read first: a bad one is refused before the history is checked
    endings = (
        read_endings_bytes(upload.endings, name=upload.endings_filename or "endings.csv")
        if upload.endings is not None
        else None
    )
    return import_history(
        db,
        actor=actor,
        clinic_id=actor.clinic_id,
        frame=frame,
        kind=kind,
        source=upload.filename,
        preview=preview,
        endings=endings,
        endings_source=upload.endings_filename or "endings.csv",
    )


def stage_import(
    db: Session,
    *,
    actor: User,
    kind: str,
    filename: str,
    content: bytes,
    endings: tuple[str, bytes] | None = None,
) -> tuple[str, HistoryImport]:
    """Check an uploaded history file, keep it, and say what importing it would create.

    ``endings`` (file name, content) is an optional second file saying how the treatments
    ended (:func:`bordin.interop.read_endings_csv`): importing then also closes each listed
    client's episode with that reason (:func:`import_endings`).

    Returns
    -------
    tuple
        The upload's one-time token (for :func:`confirm_import`) and the preview.

    Raises
    ------
    InputError
        Unknown kind, or a bad row (file, row and column named): then nothing is kept.
    """
    require_role(actor, "admin")
    if kind not in ("responses", "scores"):
        raise InputError("choose responses or scores", column="kind")
    db.execute(delete(ImportUpload).where(ImportUpload.created_at < utcnow() - UPLOAD_LIFETIME))
    token = new_token()
    upload = ImportUpload(
        clinic_id=actor.clinic_id,
        token_hash=hash_token(token),
        kind=kind,
        filename=filename[:255] or "upload.csv",
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        endings_filename=(endings[0][:255] or "endings.csv") if endings else None,
        endings=endings[1] if endings else None,
        created_by=actor.id,
    )
    preview = _preview(db, actor, upload, preview=True)  # raises before anything is kept
    db.add(upload)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="import.upload",
        object_type="import_upload",
        object_id=upload.id,
        detail={
            "filename": upload.filename,
            "sha256": upload.sha256,
            "kind": kind,
            "endings": upload.endings_filename,
        },
    )
    return token, preview


def confirm_import(db: Session, *, actor: User, token: str) -> tuple[str, HistoryImport]:
    """Import a previewed upload (once); returns its file name and what was created.

    Raises
    ------
    NotFound
        No upload has this token in the actor's clinic, or it expired.
    Conflict
        It was imported already.
    """
    require_role(actor, "admin")
    upload = db.scalar(
        select(ImportUpload).where(
            ImportUpload.token_hash == hash_token(token),
            ImportUpload.clinic_id == actor.clinic_id,
        )
    )
    if upload is None or upload.created_at < utcnow() - UPLOAD_LIFETIME:
        raise NotFound("this upload is not known or has expired; upload the file again")
    if upload.imported_at is not None:
        raise Conflict(f"{upload.filename} was imported already")
    result = _preview(db, actor, upload, preview=False)
    upload.imported_at = utcnow()
    upload.content = None
    upload.endings = None
    return upload.filename, result
