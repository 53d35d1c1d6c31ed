"""Recompute clients' scores, signals and alerts inside the caller's transaction, against
their clinic's stored norms snapshot; fit and refresh those snapshots.

Called by every action that changes a client's responses. Scoring, feedback and norms are
the core's (:func:`bordin.scoring.score_responses`, :func:`bordin.feedback.compute_feedback`,
:func:`bordin.feedback.fit_clinic_norms`); this module only moves rows between the database
and their frames. With a fixed snapshot a client's signals depend on that client alone, so
a submission recomputes one client and the result equals ``compute_feedback`` on the
clinic's export with the same snapshot (docs/feedback.md, "Clinic norms").
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, defer

from bordin.storage.audit import record_event
from bordin.storage.bulk import insert_rows
from bordin.storage.models import (
    Alert,
    Client,
    Clinic,
    FeedbackShown,
    ItemResponse,
    NormsSnapshot,
    Score,
    Signal,
    TherapySession,
    User,
    utcnow,
)

__all__ = [
    "clinic_scored_sessions",
    "clinic_scores_frame",
    "current_snapshot",
    "fit_norms_snapshot",
    "jsonable",
    "lacks_rupture_model",
    "recompute_client_feedback",
    "recompute_feedback",
    "refresh_norms",
    "rescore_sessions",
    "scores_frame",
    "snapshot_norms",
    "store_scores",
]

if TYPE_CHECKING:
    from bordin.feedback import ClinicNorms

ID_COLUMNS = ("client_id", "therapist_id", "session", "date")

# Rows written on every submission go through Core statements on the tables: no ORM object
# of these rows is held in a session, and the ORM's bulk insert and its delete (which
# synchronises the session) cost three to four times as much per statement.
SCORES = cast(Table, Score.__table__)
SIGNALS = cast(Table, Signal.__table__)
HISTORY = cast(Table, FeedbackShown.__table__)
ALERTS = cast(Table, Alert.__table__)
ITEMS = cast(Table, ItemResponse.__table__)
SESSIONS = cast(Table, TherapySession.__table__)
CLIENTS = cast(Table, Client.__table__)
USERS = cast(Table, User.__table__)


# The statements every submission runs, built once with their ids as an expanding
# parameter: building a select per call (its clauses, then its cache key) cost about as
# much as running it.
def _ids() -> Any:
    return bindparam("ids", expanding=True)


_ITEMS_OF_SESSIONS = select(
    ITEMS.c.client_id, ITEMS.c.session_id, ITEMS.c.instrument, ITEMS.c.item, ITEMS.c.value
).where(ITEMS.c.session_id.in_(_ids()))
_DELETE_SCORES_OF_SESSIONS = delete(SCORES).where(SCORES.c.session_id.in_(_ids()))
_CLIENTS_BY_ID = select(CLIENTS.c.id, CLIENTS.c.code, CLIENTS.c.clinic_id).where(
    CLIENTS.c.id.in_(_ids())
)
_SESSIONS_OF_CLIENTS = (
    select(SESSIONS.c.id, CLIENTS.c.code, USERS.c.code, SESSIONS.c.number, SESSIONS.c.date)
    .join(CLIENTS, CLIENTS.c.id == SESSIONS.c.client_id)
    .join(USERS, USERS.c.id == CLIENTS.c.therapist_id)
    .where(SESSIONS.c.client_id.in_(_ids()))
)
_SCORES_OF_CLIENTS = select(SCORES.c.session_id, SCORES.c.column, SCORES.c.value).where(
    SCORES.c.client_id.in_(_ids())
)
_DELETE_SIGNALS_OF_CLIENTS = delete(SIGNALS).where(SIGNALS.c.client_id.in_(_ids()))
_ALERTS_OF_CLIENTS = select(
    ALERTS.c.id, ALERTS.c.client_id, ALERTS.c.kind, ALERTS.c.session, ALERTS.c.active
).where(ALERTS.c.client_id.in_(_ids()))
_CURRENT_SNAPSHOT = (
    select(NormsSnapshot)
    .options(defer(NormsSnapshot.data))  # loaded only when first needed
    .where(NormsSnapshot.clinic_id == bindparam("clinic"))
    .order_by(NormsSnapshot.id.desc())
    .limit(1)
)

ALLIANCE_PREFERENCE = ("sac", "wai_sr")
OUTCOME_INSTRUMENTS = ("phq9", "gad7", "core10", "k10", "ors", "oq45")


def jsonable(value: Any) -> Any:
    """Turn numpy/pandas scalars, NaN, dates and containers into plain JSON values."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, int | str | bool):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def rescore_sessions(db: Session, session_ids: Iterable[int]) -> None:
    """Replace the stored scores of the given sessions with fresh ones from their items.

    The items were checked when they were stored (:func:`~bordin.storage.actions.forms.
    validate_answers`, the import's :func:`~bordin.scoring.score_responses`), so each
    instrument's answers go straight into the core's scale scoring
    (:func:`bordin.scoring.score_item_matrix`, the function ``score_responses`` itself
    scores with): a submission builds no data frame to score one session.
    """
    from bordin.instruments import get_instrument
    from bordin.scoring import score_item_matrix

    ids = sorted(set(session_ids))
    if not ids:
        return
    rows = db.execute(_ITEMS_OF_SESSIONS, {"ids": ids}).all()
    db.execute(_DELETE_SCORES_OF_SESSIONS, {"ids": ids})
    given: dict[str, dict[int, dict[int, float]]] = {}
    client_of: dict[int, int] = {}
    for client_id, session_id, instrument, item, value in rows:
        client_of[session_id] = client_id
        answers = given.setdefault(instrument, {}).setdefault(session_id, {})
        answers[item] = math.nan if value is None else float(value)
    scores = []
    for instrument in sorted(given):
        definition = get_instrument(instrument)
        sessions = sorted(given[instrument])
        matrix = np.full((len(sessions), definition.n_items), np.nan)
        for row, session_id in enumerate(sessions):
            for item, value in given[instrument][session_id].items():
                matrix[row, item - 1] = value
        columns = {
            definition.column(name): values
            for name, values in score_item_matrix(definition, matrix).items()
        }
        for number in definition.risk_items:
            columns[definition.item_column(number)] = matrix[:, number - 1]
        for column, values in columns.items():
            scores += [
                {"client_id": client_of[sid], "session_id": sid, "column": column, "value": v}
                for sid, v in zip(sessions, values.tolist(), strict=True)
                if not math.isnan(v)
            ]
    if scores:
        insert_rows(db, SCORES, scores)


def store_scores(
    db: Session, wide: pd.DataFrame, sessions: Mapping[tuple[str, int], tuple[int, int]]
) -> None:
    """Insert the scores of a wide frame; ``sessions`` maps (client code, session number)
    to (client id, session id)."""
    score_columns = [c for c in wide.columns if c not in ID_COLUMNS]
    rows = []
    for record in wide.to_dict(orient="records"):
        client_id, session_id = sessions[(str(record["client_id"]), int(record["session"]))]
        for column in score_columns:
            value = jsonable(record[column])
            if value is None:
                continue
            rows.append(
                {
                    "client_id": client_id,
                    "session_id": session_id,
                    "column": column,
                    "value": float(value),
                }
            )
    if rows:
        db.execute(insert(SCORES), rows)


@dataclass(frozen=True)
class ScoreRows:
    """Stored scores of some clients: ``sessions`` maps a session's id to (client code,
    therapist code, session number, date); ``scores`` holds (session id, column, value)."""

    sessions: dict[int, tuple[str, str, int, date | None]]
    scores: list[tuple[int, str, float]]

    def columns(self) -> set[str]:
        return {column for _, column, _ in self.scores}


def _score_rows(db: Session, client_ids: Iterable[int]) -> ScoreRows:
    """Every stored score of the given clients.

    Two Core statements, the sessions then their scores, kept apart: a client has about
    ten scores a session, and reading each score with its session's codes and date (a
    date parsed again for every score on SQLite) through the ORM's row loading was a
    quarter of a batched submission's time.
    """
    ids = sorted(set(client_ids))
    sessions = {
        int(sid): (client, therapist, int(number), day)
        for sid, client, therapist, number, day in db.execute(
            _SESSIONS_OF_CLIENTS, {"ids": ids}
        ).all()
    }
    scores = db.execute(_SCORES_OF_CLIENTS, {"ids": ids}).all()
    return ScoreRows(sessions, cast(list[tuple[int, str, float]], scores))


def _wide_frame(rows: ScoreRows, columns: Iterable[str] = ()) -> pd.DataFrame:
    """The wide session-scores frame of score rows, with the given score columns too.

    Score columns are the given ones (empty where a client has none), then any other
    column the rows hold, each group sorted, so that one client's frame has the clinic's
    layout; the rows are the sessions that have a score, by client and session number.
    One pass over the scores: cheaper than a pandas pivot for one client's few sessions,
    and linear for a whole clinic's export.
    """
    values: dict[str, dict[int, float]] = {c: {} for c in columns}
    for sid, column, value in rows.scores:
        found = values.get(column)
        if found is None:
            found = values[column] = {}
        found[sid] = value
    scored = set().union(*values.values()) if values else set()
    order = sorted(scored, key=lambda sid: (rows.sessions[sid][0], rows.sessions[sid][2]))
    meta = [rows.sessions[sid] for sid in order]
    wanted = sorted(set(columns) - set(ID_COLUMNS))
    extra = sorted(set(values) - set(wanted) - set(ID_COLUMNS))
    data: dict[str, Any] = {
        "client_id": np.array([m[0] for m in meta], dtype=object),
        "therapist_id": np.array([m[1] for m in meta], dtype=object),
        "session": np.array([m[2] for m in meta], dtype=np.int64),
        "date": np.array([m[3].isoformat() if m[3] else None for m in meta], dtype=object),
    }
    for column in (*wanted, *extra):
        found = values[column]
        data[column] = np.array([found.get(sid, math.nan) for sid in order], dtype=np.float64)
    return pd.DataFrame(data)


def scores_frame(db: Session, client_ids: Iterable[int]) -> pd.DataFrame:
    """The wide session-scores frame (DESIGN.md) of the given clients, from stored scores."""
    return _wide_frame(_score_rows(db, client_ids))


def _feedback_instruments(columns: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """The clinic's alliance instrument (by preference; ``sac`` when it has none yet) and
    its outcome instruments, from the score columns it has."""
    present = set(columns)
    alliance = next((a for a in ALLIANCE_PREFERENCE if f"{a}_total" in present), "sac")
    outcomes = tuple(o for o in OUTCOME_INSTRUMENTS if f"{o}_total" in present)
    return alliance, outcomes


def clinic_scores_frame(db: Session, clinic_id: int) -> pd.DataFrame:
    """The wide session-scores frame of every client of a clinic."""
    ids = db.scalars(select(Client.id).where(Client.clinic_id == clinic_id)).all()
    return scores_frame(db, ids)


def clinic_scored_sessions(db: Session, clinic_id: int) -> int:
    """How many of a clinic's sessions have scores."""
    count = db.scalar(
        select(func.count(func.distinct(Score.session_id)))
        .join(Client, Client.id == Score.client_id)
        .where(Client.clinic_id == clinic_id)
    )
    return int(count or 0)


def current_snapshot(db: Session, clinic_id: int) -> NormsSnapshot | None:
    """The clinic's current norms snapshot (the newest), if it has one."""
    return db.scalars(_CURRENT_SNAPSHOT, {"clinic": clinic_id}).first()


# Snapshots never change, so their parsed form is kept per (id, version), a few at a time:
# a submission neither loads the snapshot's JSON column nor parses it again. The version is
# a content hash, checked when the JSON is parsed.
_PARSED: OrderedDict[tuple[int, str], ClinicNorms] = OrderedDict()
_PARSED_MAX = 32


def snapshot_norms(snapshot: NormsSnapshot) -> ClinicNorms:
    """The :class:`~bordin.feedback.ClinicNorms` of a stored snapshot."""
    from bordin.feedback import ClinicNorms

    key = (snapshot.id, snapshot.version)
    found = _PARSED.get(key)
    if found is None:
        found = ClinicNorms.from_dict(snapshot.data, where=f"norms snapshot {snapshot.id}")
        _PARSED[key] = found
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return found


def _lock_clinic(db: Session, clinic_id: int, *, exclusive: bool) -> bool:
    """Serialise norms refreshes with per-client recomputes of the same clinic; whether a
    row lock was taken.

    PostgreSQL: a recompute takes the clinic row FOR SHARE, a refresh FOR NO KEY UPDATE, so a
    client is never recomputed against a snapshot that a refresh is replacing. SQLite runs
    one write transaction at a time (BEGIN IMMEDIATE), which gives the same order.
    """
    if db.get_bind().dialect.name == "sqlite":
        return False  # the write transaction already holds the database (no row locks)
    query = select(Clinic.id).where(Clinic.id == clinic_id)
    # FOR NO KEY UPDATE, not FOR UPDATE: every row a submission inserts that references the
    # clinic (its audit event, say) holds FOR KEY SHARE on it, which FOR UPDATE would wait
    # for (two first submissions then deadlock); FOR SHARE still excludes the refresh.
    query = query.with_for_update(key_share=True) if exclusive else query.with_for_update(read=True)
    db.execute(query)
    return True


def fit_norms_snapshot(
    db: Session, clinic_id: int, *, reason: str, actor: User | None = None
) -> NormsSnapshot:
    """Fit the clinic's norms on all its scores and store them as the current snapshot
    (audited). Does not recompute anyone: see :func:`refresh_norms`."""
    from bordin.feedback import fit_clinic_norms

    ids = db.scalars(select(Client.id).where(Client.clinic_id == clinic_id)).all()
    rows = _score_rows(db, ids)
    columns = sorted(rows.columns())
    alliance, outcomes = _feedback_instruments(columns)
    required = [f"{alliance}_total", *(f"{o}_total" for o in outcomes)]
    frame = _wide_frame(rows, [*columns, *required])
    fitted_at = utcnow()
    norms = fit_clinic_norms(
        frame,
        alliance=alliance,
        outcomes=outcomes,
        fitted_at=fitted_at.isoformat(timespec="seconds"),
    )
    snapshot = NormsSnapshot(
        clinic_id=clinic_id,
        version=norms.version,
        reason=reason,
        source=norms.source(),
        sessions_at_fit=norms.fitted_on.n_sessions,
        columns=columns,
        data=norms.to_dict(),
        created_at=fitted_at,
        created_by=actor.id if actor is not None else None,
    )
    db.add(snapshot)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="norms.fit",
        object_type="norms_snapshot",
        object_id=snapshot.id,
        clinic_id=clinic_id,
        detail={
            "reason": reason,
            "version": norms.version,
            "source": snapshot.source,
            **norms.fitted_on.to_dict(),
        },
    )
    return snapshot


def refresh_norms(
    db: Session, clinic_id: int, *, reason: str, actor: User | None = None
) -> NormsSnapshot:
    """Fit a new norms snapshot for the clinic and recompute every client against it.

    Clinic-wide work: run by ``bordin db refresh-norms``, the admin's refresh, the
    scheduled refresh and imports, never by a submission (except the first session that
    brings an instrument the current snapshot does not know). The history of what was
    shown before stays as it was.
    """
    _lock_clinic(db, clinic_id, exclusive=True)
    snapshot = fit_norms_snapshot(db, clinic_id, reason=reason, actor=actor)
    codes = {
        str(code): int(cid)
        for cid, code in db.execute(
            select(Client.id, Client.code).where(Client.clinic_id == clinic_id)
        )
    }
    _recompute_with(db, codes, snapshot, rows=None, record_history=False)
    return snapshot


def lacks_rupture_model(snapshot: NormsSnapshot) -> bool:
    """Whether a stored snapshot has no adaptive rupture model although the feedback's
    leading detector needs one (a snapshot stored before the model was): judged against
    it, a client's adaptive detector would fit on that client's rows alone, so such a
    snapshot is refitted (at the next submission or scheduled check) before it is used."""
    from bordin.feedback import FeedbackConfig

    return FeedbackConfig().reports_adaptive() and snapshot_norms(snapshot).lacks_rupture_model


def _stale(snapshot: NormsSnapshot | None, columns: set[str]) -> str | None:
    """Why the clinic's current snapshot must be refitted before a recompute, or None."""
    if snapshot is None:
        return "first"
    if not columns <= set(snapshot.columns):
        return "new instrument"
    if lacks_rupture_model(snapshot):
        return "rupture model"
    return None


def recompute_client_feedback(db: Session, client_id: int) -> None:
    """Recompute one client's signals and alerts against the clinic's current norms and
    record what they show at the client's latest session (after a submission)."""
    recompute_feedback(db, [client_id], record_history=True)


def recompute_feedback(
    db: Session, client_ids: Iterable[int], *, record_history: bool = False
) -> None:
    """Recompute the signals and alerts of the given clients against their clinic's current
    norms snapshot, in one vectorised call per clinic.

    A clinic without a snapshot gets its first one here; a session that brings a score
    column the snapshot does not know (a new instrument for this clinic) refits the
    snapshot and recomputes the clinic (:func:`refresh_norms`), so that its feedback starts
    at once. Otherwise nothing clinic-wide is computed.
    """
    ids = sorted(set(client_ids))
    if not ids:
        return
    by_clinic: dict[int, dict[str, int]] = {}
    for cid, code, clinic in db.execute(_CLIENTS_BY_ID, {"ids": ids}):
        by_clinic.setdefault(int(clinic), {})[str(code)] = int(cid)
    for clinic_id, codes in sorted(by_clinic.items()):
        # Decide first whether a refit is due, then take the lock in the mode that needs
        # once: upgrading a shared lock to an exclusive one deadlocks when two submissions
        # of a clinic without norms (or bringing a new instrument) arrive together.
        snapshot = current_snapshot(db, clinic_id)
        rows = _score_rows(db, codes.values())
        columns = rows.columns()
        stale = _stale(snapshot, columns)
        if _lock_clinic(db, clinic_id, exclusive=stale is not None):
            snapshot = current_snapshot(db, clinic_id)  # as the lock now holds it
            stale = _stale(snapshot, columns)
        if stale is not None or snapshot is None:
            snapshot = refresh_norms(db, clinic_id, reason=stale or "first")
        else:
            _recompute_with(db, codes, snapshot, rows=rows, record_history=record_history)
            continue
        # the refresh recomputed the whole clinic; record what these clients are shown
        if record_history:
            _recompute_with(db, codes, snapshot, rows=None, record_history=True)


def _recompute_with(
    db: Session,
    codes: Mapping[str, int],
    snapshot: NormsSnapshot,
    *,
    rows: ScoreRows | None,
    record_history: bool,
) -> None:
    """Recompute the given clients (client code to id, of the snapshot's clinic) against
    the snapshot, from their score rows (loaded here when not given).

    Alerts are matched on (client, kind, session): an alert found again keeps its
    acknowledgement and note; one no longer raised is marked inactive (kept for the audit
    trail, hidden from the caseload).
    """
    from bordin.feedback import compute_feedback

    ids = sorted(set(codes.values()))
    if not ids:
        return
    norms = snapshot_norms(snapshot)
    required = [f"{norms.alliance}_total", *(f"{o}_total" for o in norms.outcomes)]
    if rows is None:
        rows = _score_rows(db, ids)
    frame = _wide_frame(rows, [*snapshot.columns, *required])
    db.execute(_DELETE_SIGNALS_OF_CLIENTS, {"ids": ids})
    existing = {
        (int(cid), str(kind), int(session)): (int(aid), bool(active))
        for aid, cid, kind, session, active in db.execute(_ALERTS_OF_CLIENTS, {"ids": ids})
    }
    merged: dict[tuple[int, str, int], dict[str, Any]] = {}
    signals: list[dict[str, Any]] = []
    if len(frame):
        result = compute_feedback(
            frame, alliance=norms.alliance, outcomes=norms.outcomes, norms=norms
        )
        signals = _signal_rows(codes, result, snapshot.id)
        if signals:
            insert_rows(db, SIGNALS, signals)
        merged = _merged_alerts(result.alerts, codes)
    _store_alerts(db, existing, merged, snapshot.id)
    if record_history:
        _record_shown(db, ids, signals, merged, snapshot.id)
    db.flush()


def _store_alerts(
    db: Session,
    existing: Mapping[tuple[int, str, int], tuple[int, bool]],
    merged: Mapping[tuple[int, str, int], dict[str, Any]],
    norms_id: int,
) -> None:
    """Write the recomputed alerts over the stored ones (``existing``: alert id and whether
    it is active, by client, kind and session): new ones are inserted, ones found again
    take the new text (their acknowledgement and note stay), active ones no longer raised
    are marked inactive. Three statements at most, whatever the number of alerts."""
    fresh = [
        {"client_id": cid, "kind": kind, "session": session, "norms_id": norms_id, **values}
        for (cid, kind, session), values in merged.items()
        if (cid, kind, session) not in existing
    ]
    again = [
        {"alert_id": existing[key][0], "norms_id": norms_id, **values}
        for key, values in merged.items()
        if key in existing
    ]
    gone = [aid for key, (aid, active) in existing.items() if active and key not in merged]
    if fresh:
        db.execute(insert(ALERTS), fresh)
    if again:
        db.execute(
            update(ALERTS).where(ALERTS.c.id == bindparam("alert_id")),
            again,
        )
    if gone:
        db.execute(update(ALERTS).where(ALERTS.c.id.in_(gone)).values(active=False))
    if again or gone:
        # an alert object the session already holds is read again when next used
        for held in list(db.identity_map.values()):
            if isinstance(held, Alert):
                db.expire(held)


def _record_shown(
    db: Session,
    ids: list[int],
    signals: list[dict[str, Any]],
    alerts: Mapping[tuple[int, str, int], dict[str, Any]],
    norms_id: int,
) -> None:
    """One history row per client: its latest session's signals and the alerts shown."""
    latest: dict[int, dict[str, Any]] = {}
    for row in signals:
        if row["kind"] == "session" and row["session"] is not None:
            found = latest.get(row["client_id"])
            if found is None or row["session"] > found["session"]:
                latest[row["client_id"]] = row
    shown: dict[int, list[dict[str, Any]]] = {cid: [] for cid in ids}
    for (cid, kind, session), values in sorted(alerts.items(), key=lambda kv: kv[0]):
        shown[cid].append({"kind": kind, "session": session, **values})
    rows = [
        {
            "client_id": cid,
            "session": int(latest[cid]["session"]),
            "norms_id": norms_id,
            "recorded_at": utcnow(),
            "signals": latest[cid]["data"],
            "alerts": shown[cid],
        }
        for cid in ids
        if cid in latest
    ]
    if rows:
        insert_rows(db, HISTORY, rows)


def _merged_alerts(
    alerts: Iterable[Any], codes: Mapping[str, int]
) -> dict[tuple[int, str, int], dict[str, Any]]:
    """One stored alert per (client, kind, session), the identity acknowledgements keep.

    When the engine raises two alerts of one kind for the same session (two ruptures in
    different components), the most urgent one leads and the others' explanations and
    evidence are kept with it (``evidence["also"]``), so nothing is lost.
    """
    merged: dict[tuple[int, str, int], dict[str, Any]] = {}
    ordered = sorted(alerts, key=lambda a: -float(a.priority))
    for alert in ordered:
        key = (codes[str(alert.client_id)], str(alert.kind), int(alert.session))
        evidence = jsonable(alert.evidence)
        found = merged.get(key)
        if found is None:
            merged[key] = {
                "severity": str(alert.severity),
                "priority": float(alert.priority),
                "title": str(alert.title),
                "explanation": str(alert.explanation),
                "evidence": evidence,
                "suggestions": jsonable(alert.suggestions),
                "references": jsonable(alert.references),
                "active": True,
            }
            continue
        found["explanation"] += f" Also: {alert.title}. {alert.explanation}"
        if isinstance(found["evidence"], dict):
            found["evidence"].setdefault("also", []).append(evidence)
        for field in ("suggestions", "references"):
            for entry in jsonable(getattr(alert, field)):
                if entry not in found[field]:
                    found[field].append(entry)
    return merged


def _signal_rows(codes: Mapping[str, int], result: Any, norms_id: int) -> list[dict[str, Any]]:
    """The stored signal rows of a result: its ruptures, sessions and client summaries as
    JSON-ready records (:meth:`bordin.feedback.FeedbackResult.records`)."""
    rows = []
    for kind, table in (
        ("rupture", "ruptures"),
        ("session", "sessions"),
        ("summary", "clients"),
    ):
        for record in result.records(table):
            client_id = codes.get(str(record.get("client_id")))
            if client_id is None:
                continue
            session = record.get("session", record.get("onset_session", record.get("onset")))
            rows.append(
                {
                    "client_id": client_id,
                    "kind": kind,
                    "session": int(session) if isinstance(session, int | float) else None,
                    "data": record,
                    "norms_id": norms_id,
                }
            )
    return rows
