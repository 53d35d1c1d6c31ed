"""The demo clinic: a fresh SQLite database filled from the simulator, through the actions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.storage import actions, make_engine, make_session_factory, transaction, upgrade_database
from bordin.storage.credentials import hash_password
from bordin.storage.models import TherapySession, User
from bordin.storage.queries import list_caseload

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEMO_USERS", "DemoClinic", "create_demo_clinic"]

DEMO_USERS = ("therapist@demo", "supervisor@demo", "admin@demo")
_THERAPISTS = ("therapist@demo", "therapist2@demo", "therapist3@demo")


@dataclass(frozen=True)
class DemoClinic:
    """What the demo prints: the logins and one client form link."""

    database_url: str
    password: str
    logins: tuple[str, ...]
    form_link: str
    form_token: str
    clients: int


def create_demo_clinic(
    database_url: str,
    *,
    password: str | None = None,
    base_url: str = "http://127.0.0.1:8000",
    seed: int = 20240601,
    n_clients: int = 45,
    contact_key: str | None = None,
) -> DemoClinic:
    """Create the demo clinic in an empty database at ``database_url``.

    Three therapists (``therapist@demo`` and two colleagues) in one team with
    ``supervisor@demo``, and ``admin@demo``; ``n_clients`` simulated clients
    (:func:`bordin.simulate.simulate_clinic`) with alliance check, PHQ-9 and GAD-7 at every
    session and the therapist's session check
    (:func:`bordin.simulate.simulate_therapist_ratings`), so caseloads have ruptures
    (repaired and not), not-on-track clients and the occasional risk item, and one risk
    case (a form sent today with PHQ-9 item 9 endorsed, waiting for the therapist's
    acknowledgement). The import is audited (one event per client). ``password`` is every
    demo user's password; a random one is made when it is ``None``. With ``contact_key``
    (``BORDIN_CONTACT_KEY``) one client has sessions booked ahead with a schedule and
    another a form due and not answered (the non-completer list).
    """
    import pandas as pd

    from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings

    password = password or secrets.token_urlsafe(12)
    digest = hash_password(password)  # one hash for the five demo users: they share it
    upgrade_database(database_url)
    clinic_data = simulate_clinic(
        SimulationConfig(n_clients=n_clients, clients_per_therapist=n_clients // 3), seed=seed
    )
    # the therapists' own session checks (tsc), so the client pages show the pair signals
    ratings = simulate_therapist_ratings(clinic_data, seed=seed + 1)
    responses = pd.concat(
        [clinic_data.responses.astype({"instrument": str}), ratings.responses], ignore_index=True
    )
    responses["date"] = _recent_dates(responses["date"], responses["client_id"])
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as db:
            clinic = actions.create_clinic(db, actor=None, name="Bordin demo clinic")
            team = actions.create_team(db, actor=None, clinic_id=clinic.id, name="Demo team")
            therapist_codes = sorted(set(clinic_data.responses["therapist_id"].astype(str)))
            users = {}
            for index, code in enumerate(therapist_codes):
                username = _THERAPISTS[index] if index < 3 else f"therapist{index + 1}@demo"
                users[code] = actions.create_user(
                    db,
                    actor=None,
                    clinic_id=clinic.id,
                    username=username,
                    password=None,
                    password_hash=digest,
                    role="therapist",
                    team_id=team.id,
                    code=code,
                    display_name=f"Therapist {index + 1}",
                )
            actions.create_user(
                db,
                actor=None,
                clinic_id=clinic.id,
                username="supervisor@demo",
                password=None,
                password_hash=digest,
                role="supervisor",
                team_id=team.id,
                display_name="Supervisor",
            )
            actions.create_user(
                db,
                actor=None,
                clinic_id=clinic.id,
                username="admin@demo",
                password=None,
                password_hash=digest,
                role="admin",
                display_name="Administrator",
            )
            client_ids = actions.import_responses(
                db,
                actor=None,
                clinic_id=clinic.id,
                responses=responses,
                therapists={code: user.id for code, user in users.items()},
            )
        therapist = users[therapist_codes[0]]
        with transaction(factory) as db:
            first = list_caseload(db, actor=therapist)[0]
            last = db.get(TherapySession, _last_session_id(db, first.client_id))
            next_date = last.date + timedelta(days=7) if last and last.date else None
            session = actions.create_session(
                db, actor=therapist, client_id=first.client_id, session_date=next_date
            )
            _, token = actions.create_form_request(
                db, actor=therapist, session_id=session.id, instruments=["sac", "phq9", "gad7"]
            )
        with transaction(factory) as db:  # issue 17: the risk pathway
            other = next(
                entry.client_id
                for entry in list_caseload(db, actor=therapist)
                if entry.client_id != first.client_id
            )
            _add_risk_case(db, therapist, other)
        # --- delivery (issue 17): booked sessions under a schedule, a non-completer ------
        if contact_key:
            from bordin.storage.contact_cipher import make_cipher
            from bordin.web._demo_delivery import add_delivery_demo

            with transaction(factory) as db:
                others = [e.client_id for e in list_caseload(db, actor=therapist)[1:3]]
                add_delivery_demo(
                    db, therapist=therapist, client_ids=others, cipher=make_cipher(contact_key)
                )
    finally:
        engine.dispose()
    return DemoClinic(
        database_url=database_url,
        password=password,
        logins=DEMO_USERS,
        form_link=f"{base_url.rstrip('/')}/f/{token}",
        form_token=token,
        clients=len(client_ids),
    )


#: The demo's crisis text (a clinic enters its own local crisis line and numbers).
DEMO_CRISIS_TEXT = (
    "Demo clinic: in an emergency call 112 (Europe), 999 (UK) or 911 (US and Canada), or go "
    "to the nearest emergency department. A clinic puts its local crisis line here."
)


def _add_risk_case(db: Session, therapist: User, client_id: int) -> None:
    """A form sent today with PHQ-9 item 9 endorsed: the therapist's risk notice (and the
    supervisor's, if nobody acknowledges it within the clinic's delay), and the crisis
    text the client saw."""
    admin = db.scalar(select(User).where(User.username == "admin@demo"))
    if admin is not None:
        actions.set_risk_settings(
            db, actor=admin, crisis_text=DEMO_CRISIS_TEXT, escalate_minutes=60
        )
    last = db.get(TherapySession, _last_session_id(db, client_id))
    session = actions.create_session(
        db,
        actor=therapist,
        client_id=client_id,
        session_date=last.date + timedelta(days=7) if last and last.date else None,
    )
    _, token = actions.create_form_request(
        db, actor=therapist, session_id=session.id, instruments=["sac", "phq9"]
    )
    phq9 = {str(item): 2 for item in range(1, 9)} | {"9": 1}
    sac = {"1": 3, "2": 3, "3": 3, "4": 3, "5": 3, "6": 3, "7": 0, "9": 0, "10": 0}
    actions.record_submission(db, token=token, answers={"phq9": phq9, "sac": sac})


def _last_session_id(db: Session, client_id: int) -> int:
    found = db.scalar(
        select(TherapySession.id)
        .where(TherapySession.client_id == client_id)
        .order_by(TherapySession.number.desc())
    )
    return int(found or 0)


def _recent_dates(dates: pd.Series, clients: pd.Series) -> pd.Series:
    """Each client's simulated session dates moved by whole weeks so that their latest
    session is one to two weeks before today: the demo is a clinic's current caseload, every
    client in treatment at their own point of the course. The simulator dates a clinic's
    intakes over a year from 2024, which made every demo client a dropout (no session in
    the 8 weeks before today) and none in treatment; moved as one, most clients still had
    their last session months ago. Weekdays and the gaps between a client's sessions stay
    as simulated."""
    import pandas as pd

    days = pd.to_datetime(dates.astype(str), format="%Y-%m-%d")
    latest = days.groupby(clients.astype(str)).transform("max")
    target = pd.Timestamp(date.today() - timedelta(days=7))
    weeks = (target - latest).dt.days // 7
    return (days + pd.to_timedelta(weeks * 7, unit="D")).dt.strftime("%Y-%m-%d")
