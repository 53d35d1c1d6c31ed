"""Recording the responses of a FHIR Bundle (``POST /fhir/R4/Bundle``), idempotently."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError
from bordin.storage.access import require_role
from bordin.storage.actions._feedback import recompute_feedback, store_scores
from bordin.storage.audit import record_event
from bordin.storage.models import Client, Episode, ItemResponse, TherapySession, User

__all__ = ["FhirImportSummary", "import_fhir_responses"]

FhirImportSummary = dict[str, int]


def _day(value: object) -> date | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    return pd.Timestamp(str(value)).date()


def _identifier(client: str, session: int, instrument: str) -> str:
    return f"{client}/{session}/{instrument}"


def import_fhir_responses(
    db: Session, *, actor: User, responses: pd.DataFrame
) -> FhirImportSummary:
    """Record the long responses read from a Bundle in the actor's clinic, idempotently.

    Each response (client, session, instrument; its identifier ``client/session/instrument``)
    is recorded once: a response already stored with the same answers is skipped, one
    stored with different answers is a :class:`Conflict` and nothing is written. Clients
    (by pseudonymous code) and sessions (by number) that do not exist yet are created, a
    new client assigned to the therapist whose code is the response's therapist id and given
    an episode opened at the first session's date. Everything is in the caller's
    transaction, with one audit event per client touched; the touched clients' feedback is
    recomputed against the clinic's current norms. Only an admin imports.

    Returns
    -------
    dict
        ``responses_created``, ``responses_unchanged``, ``clients_created``,
        ``sessions_created``.

    Raises
    ------
    InputError
        A new client's therapist code is not a therapist of the clinic, or scoring rejects
        the responses.
    Conflict
        A response is already stored with different answers.
    """
    from bordin.scoring import score_responses

    require_role(actor, "admin")
    clinic_id = actor.clinic_id
    summary = {
        "responses_created": 0,
        "responses_unchanged": 0,
        "clients_created": 0,
        "sessions_created": 0,
    }
    if responses.empty:
        return summary
    frame = responses.copy()
    for column in ("client_id", "therapist_id", "instrument"):
        frame[column] = frame[column].astype(str)
    codes = sorted(set(frame["client_id"]))
    clients = {
        c.code: c
        for c in db.scalars(
            select(Client).where(Client.clinic_id == clinic_id, Client.code.in_(codes))
        )
    }
    sessions: dict[tuple[str, int], TherapySession] = {}
    if clients:
        by_id = {c.id: code for code, c in clients.items()}
        for s in db.scalars(
            select(TherapySession).where(TherapySession.client_id.in_(list(by_id)))
        ):
            sessions[(by_id[s.client_id], s.number)] = s
    stored: dict[tuple[int, str], dict[int, float]] = {}
    session_ids = [s.id for s in sessions.values()]
    if session_ids:
        for r in db.scalars(select(ItemResponse).where(ItemResponse.session_id.in_(session_ids))):
            stored.setdefault((r.session_id, r.instrument), {})[r.item] = r.value

    keep = []
    for (code, number, instrument), group in frame.groupby(
        ["client_id", "session", "instrument"], sort=True
    ):
        key = (str(code), int(number))
        incoming = {int(i): float(v) for i, v in zip(group["item"], group["value"], strict=True)}
        session = sessions.get(key)
        existing = None if session is None else stored.get((session.id, str(instrument)))
        if existing is None:
            keep.append(group)
            continue
        if existing == incoming:
            summary["responses_unchanged"] += 1
            continue
        raise Conflict(
            f"response {_identifier(key[0], key[1], str(instrument))} is already stored "
            "with different answers"
        )
    if not keep:
        return summary
    new = pd.concat(keep).reset_index(drop=True)
    wide = score_responses(new)  # validates before anything is written

    therapists = {
        u.code: u
        for u in db.scalars(
            select(User).where(User.clinic_id == clinic_id, User.role == "therapist")
        )
    }
    session_of: dict[tuple[str, int], tuple[int, int]] = {}
    touched: dict[int, list[str]] = {}
    for (code, number), group in new.groupby(["client_id", "session"], sort=True):
        key = (str(code), int(number))
        client = clients.get(key[0])
        day = _day(group["date"].iloc[0]) if "date" in group.columns else None
        if client is None:
            therapist = therapists.get(str(group["therapist_id"].iloc[0]))
            if therapist is None:
                raise InputError(
                    f"therapist {group['therapist_id'].iloc[0]!r} is not a therapist of this "
                    "clinic",
                    column="therapist_id",
                    item=_identifier(key[0], key[1], str(group["instrument"].iloc[0])),
                )
            client = Client(clinic_id=clinic_id, therapist_id=therapist.id, code=key[0])
            db.add(client)
            db.flush()
            db.add(Episode(client_id=client.id, opened_on=day or date.today()))
            db.flush()
            clients[key[0]] = client
            summary["clients_created"] += 1
        session = sessions.get(key)
        if session is None:
            episode = db.scalar(
                select(Episode).where(Episode.client_id == client.id).order_by(Episode.id.desc())
            )
            if episode is None:
                episode = Episode(client_id=client.id, opened_on=day or date.today())
                db.add(episode)
                db.flush()
            session = TherapySession(
                client_id=client.id, episode_id=episode.id, number=key[1], date=day
            )
            db.add(session)
            db.flush()
            sessions[key] = session
            summary["sessions_created"] += 1
        session_of[key] = (client.id, session.id)
        for instrument in sorted(set(group["instrument"])):
            touched.setdefault(client.id, []).append(_identifier(key[0], key[1], instrument))
            summary["responses_created"] += 1
        for item, value, instrument in zip(
            group["item"], group["value"], group["instrument"], strict=True
        ):
            db.add(
                ItemResponse(
                    client_id=client.id,
                    session_id=session.id,
                    instrument=str(instrument),
                    item=int(item),
                    value=float(value),
                )
            )
    db.flush()
    store_scores(db, wide, session_of)
    for client_id, identifiers in touched.items():
        record_event(
            db,
            actor=actor,
            action="fhir.import",
            object_type="client",
            object_id=client_id,
            client_id=client_id,
            detail={"responses": identifiers},
        )
    recompute_feedback(db, list(touched))
    return summary
