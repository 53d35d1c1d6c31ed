"""Importing a clinic's history: the long responses CSV or the wide scores CSV (DESIGN.md).

Unlike :func:`bordin.storage.actions.import_responses` (new clients only, therapists given
by the caller), this import is what a clinic moving to Bordin runs, possibly more than
once: clients, therapists and sessions already stored are matched (by client code,
therapist code and session number) and reused, and a session's instrument already stored is
skipped, so the same file imported twice adds nothing. Every row is checked before anything
is written; a bad row raises :class:`~bordin.errors.InputError` naming file, row and column,
and nothing is stored.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.actions._feedback import refresh_norms, store_scores
from bordin.storage.audit import record_event
from bordin.storage.models import (
    Client,
    Episode,
    ItemResponse,
    Score,
    TherapySession,
    User,
)

__all__ = ["HistoryImport", "import_endings", "import_history"]

HistoryKind = Literal["responses", "scores"]

_ID_COLUMNS = ("client_id", "therapist_id", "session", "date")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class HistoryImport:
    """What an import creates (or, as a preview, would create).

    Attributes
    ----------
    kind
        ``"responses"`` (long item responses) or ``"scores"`` (wide session scores).
    committed
        False for a preview: the counts are what importing would create.
    rows
        Data rows read from the file.
    clients, therapists, episodes, sessions
        New clients, new therapist accounts (created inactive, by code), new episodes and
        new sessions.
    administrations
        New (session, instrument) pairs: one questionnaire given at one session.
    skipped
        (session, instrument) pairs of the file already stored, left as they are.
    therapist_codes
        Codes of the new therapist accounts, sorted.
    episodes_closed
        Episodes closed with the ending recorded for them (:func:`import_endings`).
    """

    kind: HistoryKind
    committed: bool
    rows: int
    clients: int
    therapists: int
    episodes: int
    sessions: int
    administrations: int
    skipped: int
    therapist_codes: tuple[str, ...]
    episodes_closed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The counts as a JSON-ready mapping."""
        return {
            "kind": self.kind,
            "committed": self.committed,
            "rows": self.rows,
            "clients": self.clients,
            "therapists": self.therapists,
            "episodes": self.episodes,
            "sessions": self.sessions,
            "administrations": self.administrations,
            "skipped": self.skipped,
            "therapist_codes": list(self.therapist_codes),
            "episodes_closed": self.episodes_closed,
        }


def _require_admin_of(actor: User | None, clinic_id: int) -> None:
    """Only an admin of the clinic, or the system (``actor`` None), imports into it."""
    if actor is not None:
        require_role(actor, "admin")
        if actor.clinic_id != clinic_id:
            raise NotFound(f"clinic {clinic_id} not found")


def _file_row(frame: pd.DataFrame, position: int) -> int:
    """The file row (header = row 1) of the frame's ``position``-th record."""
    return int(frame.index[position]) + 2


def _check_ids(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Codes, session numbers and dates checked; returns the frame with parsed columns."""
    frame = frame.copy()
    for column in ("client_id", "therapist_id"):
        text = frame[column].astype("string").str.strip()
        bad = text.isna() | ~text.fillna("").str.fullmatch(_CODE.pattern)
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                "a code is 1-64 letters, digits, '.', '_' or '-' (a pseudonym, never a name)",
                file=source,
                row=_file_row(frame, at),
                column=column,
            )
        frame[column] = text.astype(object)
    number = pd.to_numeric(frame["session"], errors="coerce")
    bad = number.isna() | (number < 1) | (number != np.floor(number))
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            "a session is a whole number from 1",
            file=source,
            row=_file_row(frame, at),
            column="session",
        )
    frame["session"] = number.astype(np.int64)
    if "date" not in frame.columns:
        frame["date"] = None
    text = frame["date"].astype("string").str.strip()
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = text.notna() & (text != "") & parsed.isna()
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            "a date is written YYYY-MM-DD", file=source, row=_file_row(frame, at), column="date"
        )
    frame["date"] = parsed
    return frame


def _check_scores(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The wide file's score columns, each mapped to its instrument, values checked."""
    from bordin.instruments import list_instruments

    known = sorted((d.id for d in list_instruments()), key=len, reverse=True)
    instrument_of: dict[str, str] = {}
    for column in frame.columns:
        if column in _ID_COLUMNS:
            continue
        owner = next((i for i in known if column.startswith(i + "_")), None)
        if owner is None:
            raise InputError(
                "not a score column: a score column is <instrument>_<scale>, e.g. phq9_total",
                file=source,
                column=column,
            )
        instrument_of[column] = owner
    if not instrument_of:
        raise InputError("the file has no score columns", file=source)
    frame = frame.copy()
    for column in instrument_of:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & values.isna()
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"not a number: {raw.iloc[at]!r}",
                file=source,
                row=_file_row(frame, at),
                column=column,
            )
        frame[column] = values.astype(float)
    key = frame[["client_id", "session"]]
    twice = key.duplicated()
    if twice.any():
        at = int(np.flatnonzero(twice.to_numpy())[0])
        raise InputError(
            "this client's session appears twice",
            file=source,
            row=_file_row(frame, at),
            column="session",
        )
    return frame, instrument_of


def _day(value: object) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def import_history(
    db: Session,
    *,
    actor: User | None,
    clinic_id: int,
    frame: pd.DataFrame,
    kind: HistoryKind,
    source: str,
    preview: bool = False,
    endings: Mapping[str, str] | None = None,
    endings_source: str = "endings.csv",
) -> HistoryImport:
    """Import a clinic's history (long responses or wide scores), or preview what it adds.

    Clients are matched by code within the clinic, therapists by their code (the file's
    ``therapist_id``; a code no account has becomes a new, inactive therapist account that
    an admin reactivates and sends a password reset link to), sessions by client and number.
    A new client is given to the therapist of its first session in the file, with one
    episode opened at its first session's date. A (session, instrument) already holding
    responses (or scores) is skipped. All rows are validated first (responses by
    :func:`bordin.scoring.score_responses`); feedback is then recomputed for the clinic once
    (:func:`refresh_norms`, reason ``"import"``). Everything is in the caller's transaction,
    with one audit event for the import. Only an admin of the clinic, or the system, imports.

    Parameters
    ----------
    frame
        The file as read by :func:`bordin.interop.read_responses_csv` (its index is the
        record's position, so errors name the file row).
    kind
        ``"responses"`` for the long item-response file, ``"scores"`` for the wide one.
    source
        The file name for error messages and the audit row.
    preview
        Validate and count only; nothing is written.
    endings, endings_source
        How the treatments ended (client code -> planned, dropout or referral, as
        :func:`bordin.interop.read_endings_csv` reads them) and that file's name: each
        listed client's open episode is then closed at their last session with that reason
        (:func:`import_endings`), also when the history itself adds nothing new.

    Raises
    ------
    InputError
        A column is missing or a row is bad (file, row, column and item named).
    NotFound
        The actor is not in the clinic.
    """
    result = _import_rows(
        db,
        actor=actor,
        clinic_id=clinic_id,
        frame=frame,
        kind=kind,
        source=source,
        preview=preview,
    )
    if endings is None:
        return result
    closed = import_endings(
        db,
        actor=actor,
        clinic_id=clinic_id,
        endings=endings,
        source=endings_source,
        preview=preview,
        also=set(frame["client_id"].astype(str).str.strip()),
    )
    return dataclasses.replace(result, episodes_closed=closed)


def _import_rows(
    db: Session,
    *,
    actor: User | None,
    clinic_id: int,
    frame: pd.DataFrame,
    kind: HistoryKind,
    source: str,
    preview: bool = False,
) -> HistoryImport:
    """The rows of :func:`import_history`: validated, counted and (unless ``preview``)
    written, feedback recomputed once."""
    from bordin.scoring import score_responses

    _require_admin_of(actor, clinic_id)
    required = (
        ("client_id", "therapist_id", "session", "instrument", "item", "value")
        if kind == "responses"
        else ("client_id", "therapist_id", "session")
    )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError("missing required column", file=source, column=missing[0])
    if frame.empty:
        raise InputError("the file has no data rows", file=source)
    frame = _check_ids(frame, source)
    if kind == "responses":
        frame["instrument"] = frame["instrument"].astype(str).str.strip()
        for_scoring = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
        wide = score_responses(for_scoring, source=source)  # names row, column and item
        wide["session"] = wide["session"].astype(np.int64)
        wide["client_id"] = wide["client_id"].astype(str)
        given = frame[["client_id", "session", "instrument"]].drop_duplicates()
        present = sorted(frame["instrument"].unique(), key=len, reverse=True)
        instrument_of = {
            c: next(i for i in present if c.startswith(i + "_"))
            for c in wide.columns
            if c not in _ID_COLUMNS
        }
    else:
        frame, instrument_of = _check_scores(frame, source)
        wide = frame
        melted = frame.melt(
            id_vars=["client_id", "session"], value_vars=list(instrument_of), value_name="v"
        ).dropna(subset=["v"])
        melted["instrument"] = melted["variable"].map(instrument_of)
        given = melted[["client_id", "session", "instrument"]].drop_duplicates()

    sessions = (
        frame.groupby(["client_id", "session"], sort=True)
        .agg(therapist_id=("therapist_id", "first"), date=("date", "first"))
        .reset_index()
    )
    firsts = sessions.groupby("client_id", sort=True).agg(
        therapist_id=("therapist_id", "first"), opened=("date", "min")
    )

    given_instruments = sorted(given["instrument"].unique(), key=len, reverse=True)
    # What is stored already.
    therapist_ids: dict[str, int] = {}
    for code, uid, role, username in db.execute(
        select(User.code, User.id, User.role, User.username).where(User.clinic_id == clinic_id)
    ):
        if role == "therapist":
            therapist_ids[code] = uid
        elif code in set(frame["therapist_id"]):
            at = int(np.flatnonzero((frame["therapist_id"] == code).to_numpy())[0])
            raise InputError(
                f"the therapist code {code!r} belongs to the {role} account {username!r}",
                file=source,
                row=_file_row(frame, at),
                column="therapist_id",
            )
    codes = list(firsts.index)
    client_ids: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        client_ids.update(
            (code, cid)
            for code, cid in db.execute(
                select(Client.code, Client.id).where(
                    Client.clinic_id == clinic_id, Client.code.in_(chunk)
                )
            )
        )
    known_ids = list(client_ids.values())
    session_ids: dict[tuple[int, int], int] = {}
    stored: set[tuple[int, str]] = set()
    for start in range(0, len(known_ids), 500):
        chunk = known_ids[start : start + 500]
        session_ids.update(
            {
                (cid, number): sid
                for sid, cid, number in db.execute(
                    select(
                        TherapySession.id, TherapySession.client_id, TherapySession.number
                    ).where(TherapySession.client_id.in_(chunk))
                )
            }
        )
        stored.update(
            (sid, instrument)
            for sid, instrument in db.execute(
                select(ItemResponse.session_id, ItemResponse.instrument)
                .where(ItemResponse.client_id.in_(chunk))
                .distinct()
            )
        )
        for sid, column in db.execute(
            select(Score.session_id, Score.column).where(Score.client_id.in_(chunk)).distinct()
        ):
            owner = instrument_of.get(column) or next(
                (i for i in given_instruments if column.startswith(i + "_")), None
            )
            if owner is not None:
                stored.add((sid, owner))

    new_therapists = sorted(set(firsts["therapist_id"]) - set(therapist_ids))
    new_clients = [c for c in codes if c not in client_ids]
    new_sessions = [
        (str(r.client_id), int(r.session))
        for r in sessions.itertuples(index=False)
        if str(r.client_id) not in client_ids
        or (client_ids[str(r.client_id)], int(r.session)) not in session_ids
    ]

    def already(client: str, number: int, instrument: str) -> bool:
        cid = client_ids.get(client)
        sid = session_ids.get((cid, number)) if cid is not None else None
        return sid is not None and (sid, instrument) in stored

    skip_mask = np.fromiter(
        (
            already(c, int(n), i)
            for c, n, i in zip(
                given["client_id"], given["session"], given["instrument"], strict=True
            )
        ),
        dtype=bool,
        count=len(given),
    )
    summary = HistoryImport(
        kind=kind,
        committed=not preview,
        rows=len(frame),
        clients=len(new_clients),
        therapists=len(new_therapists),
        episodes=len(new_clients),
        sessions=len(new_sessions),
        administrations=int((~skip_mask).sum()),
        skipped=int(skip_mask.sum()),
        therapist_codes=tuple(new_therapists),
    )
    if preview or (summary.administrations == 0 and summary.sessions == 0):
        return summary

    # Writes: therapists, clients and episodes, sessions, responses, scores.
    for code in new_therapists:
        user = User(
            clinic_id=clinic_id,
            username=f"{code}@clinic-{clinic_id}.import",
            code=code,
            display_name=code,
            role="therapist",
            # No one knows this password: the account is inactive until an admin
            # reactivates it and sends a reset link.
            password_hash="!" + secrets.token_hex(16),
            active=False,
        )
        db.add(user)
        db.flush()
        therapist_ids[code] = user.id
        record_event(
            db,
            actor=actor,
            action="user.import",
            object_type="user",
            object_id=user.id,
            clinic_id=clinic_id,
            detail={"code": code, "source": source},
        )
    if new_clients:
        client_rows = [
            {
                "clinic_id": clinic_id,
                "therapist_id": therapist_ids[str(firsts.at[code, "therapist_id"])],
                "code": code,
            }
            for code in new_clients
        ]
        ids = db.scalars(
            insert(Client).returning(Client.id, sort_by_parameter_order=True), client_rows
        )
        created = dict(zip(new_clients, ids, strict=True))
        client_ids.update(created)
        db.execute(
            insert(Episode),
            [
                {
                    "client_id": created[code],
                    "opened_on": _day(firsts.at[code, "opened"]) or date.today(),
                }
                for code in new_clients
            ],
        )
    episodes = {
        cid: eid
        for eid, cid in db.execute(
            select(Episode.id, Episode.client_id)
            .where(Episode.client_id.in_([client_ids[c] for c in codes]))
            .order_by(Episode.client_id, Episode.opened_on, Episode.id)
        )
    }  # each client's latest episode (ordered, so the last one wins)
    if new_sessions:
        dates = {
            (str(r.client_id), int(r.session)): _day(r.date)
            for r in sessions.itertuples(index=False)
        }
        rows = [
            {
                "client_id": client_ids[c],
                "episode_id": episodes[client_ids[c]],
                "number": n,
                "date": dates[(c, n)],
            }
            for c, n in new_sessions
        ]
        ids = db.scalars(
            insert(TherapySession).returning(TherapySession.id, sort_by_parameter_order=True),
            rows,
        )
        for (c, n), sid in zip(new_sessions, ids, strict=True):
            session_ids[(client_ids[c], n)] = sid
    session_of = {
        (c, int(n)): (client_ids[c], session_ids[(client_ids[c], int(n))])
        for c, n in sessions[["client_id", "session"]].itertuples(index=False)
    }
    skip = {
        (c, int(n), i)
        for (c, n, i), s in zip(given.itertuples(index=False), skip_mask, strict=True)
        if s
    }
    if kind == "responses":
        keep = frame["value"].notna().to_numpy(copy=True)
        if skip:
            keep &= np.fromiter(
                (
                    (c, int(n), i) not in skip
                    for c, n, i in zip(
                        frame["client_id"], frame["session"], frame["instrument"], strict=True
                    )
                ),
                dtype=bool,
                count=len(frame),
            )
        kept = frame.loc[keep]
        db.execute(
            insert(cast(Table, ItemResponse.__table__)),  # Core: no ORM bookkeeping
            [
                {
                    "client_id": session_of[(c, int(n))][0],
                    "session_id": session_of[(c, int(n))][1],
                    "form_request_id": None,
                    "instrument": i,
                    "item": int(item),
                    "value": float(v),
                }
                for c, n, i, item, v in zip(
                    kept["client_id"],
                    kept["session"],
                    kept["instrument"],
                    kept["item"],
                    kept["value"],
                    strict=True,
                )
            ],
        )
    scores = wide[["client_id", "therapist_id", "session", *instrument_of]].copy()
    if skip:
        for column, instrument in instrument_of.items():
            drop = np.fromiter(
                (
                    (c, int(n), instrument) in skip
                    for c, n in zip(scores["client_id"], scores["session"], strict=True)
                ),
                dtype=bool,
                count=len(scores),
            )
            scores.loc[drop, column] = np.nan
    store_scores(db, scores, session_of)
    record_event(
        db,
        actor=actor,
        action="clinic.import",
        object_type="clinic",
        object_id=clinic_id,
        clinic_id=clinic_id,
        detail={"source": source, **summary.to_dict()},
    )
    # The clinic's data changed wholesale: new norms, and everyone recomputed once.
    refresh_norms(db, clinic_id, reason="import", actor=actor)
    return summary


def import_endings(
    db: Session,
    *,
    actor: User | None,
    clinic_id: int,
    endings: Mapping[str, str],
    source: str,
    preview: bool = False,
    also: Collection[str] = (),
) -> int:
    """Close the open episode of each client of ``endings`` (client code -> ``planned``,
    ``dropout`` or ``referral``, as :func:`bordin.interop.read_endings_csv` reads them) at
    the date of the client's last session, with that reason: how the treatments of an
    imported history ended, so that the clinic figures do not count a client who finished
    as a dropout. A client whose episodes are all closed is left as it is, so importing the
    same endings twice closes nothing more. Returns the number of episodes closed (for a
    preview, that would be: ``also`` are the codes the history import would create, each
    with one open episode). One audit event for the import's endings.

    Raises
    ------
    InputError
        A client of ``endings`` is neither in the clinic nor in ``also``, or an ending is
        not one of planned, dropout, referral.
    NotFound
        The actor is not in the clinic.
    """
    from bordin.storage.actions.care import CLOSE_REASONS

    _require_admin_of(actor, clinic_id)
    for code, reason in endings.items():
        if reason not in CLOSE_REASONS:
            raise InputError(
                f"client {code!r}: the ending is one of {', '.join(CLOSE_REASONS)}",
                file=source,
                column="ended",
            )
    # whole-clinic queries (no IN list of every client: SQLite caps its parameters)
    in_clinic = {
        str(code): int(cid)
        for code, cid in db.execute(
            select(Client.code, Client.id).where(Client.clinic_id == clinic_id)
        )
    }
    ids = {code: in_clinic[code] for code in endings if code in in_clinic}
    new = set(also) - set(in_clinic)
    unknown = [code for code in endings if code not in ids and code not in new]
    if unknown:
        raise InputError(
            f"client {unknown[0]!r} is neither in the clinic nor in the history imported",
            file=source,
            column="client_id",
        )
    wanted = set(ids.values())
    episodes = [
        episode
        for episode in db.scalars(
            select(Episode)
            .join(Client, Client.id == Episode.client_id)
            .where(Client.clinic_id == clinic_id, Episode.closed_on.is_(None))
            .order_by(Episode.client_id, Episode.opened_on, Episode.id)
        )
        if episode.client_id in wanted
    ]
    if preview:
        return len({e.client_id for e in episodes}) + len(new & set(endings))
    last = {
        cid: day
        for cid, day in db.execute(
            select(TherapySession.client_id, func.max(TherapySession.date))
            .join(Client, Client.id == TherapySession.client_id)
            .where(Client.clinic_id == clinic_id)
            .group_by(TherapySession.client_id)
        )
    }
    code_of = {cid: code for code, cid in ids.items()}
    closed: dict[str, int] = {}
    for episode in episodes:
        reason = endings[code_of[episode.client_id]]
        day = last.get(episode.client_id)
        episode.closed_on = max(day, episode.opened_on) if day is not None else episode.opened_on
        episode.close_reason = reason
        closed[reason] = closed.get(reason, 0) + 1
    record_event(
        db,
        actor=actor,
        action="clinic.import_endings",
        object_type="clinic",
        object_id=clinic_id,
        clinic_id=clinic_id,
        detail={"source": source, "closed": closed},
    )
    return sum(closed.values())
