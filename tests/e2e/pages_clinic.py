"""A small, deterministic clinic for the page tests (web and browser).

Built only through the storage actions (the same writes the app makes), so scores, signals
and alerts come from the real scoring and feedback engines:

* ``C-101`` (therapist Alex Morgan): a good start, then a drop in alliance with tension at
  session 4 and PHQ-9 rising; an open form link for session 5;
* ``C-102`` (Alex Morgan): improving steadily, good alliance;
* ``C-103`` (Jordan Lee): two sessions, a waiting form link;
* an expired link and a used link (for the message pages).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

PASSWORD = "correct horse battery"


@dataclass
class PagesClinic:
    """What a test needs to know about the clinic it got."""

    url: str
    users: dict[str, str]  # role name -> username
    clients: dict[str, int]  # code -> client id
    open_token: str  # C-101, session 5: sac then phq9
    waiting_token: str  # C-103
    expired_token: str
    used_token: str
    tokens: dict[str, str] = field(default_factory=dict)


def sac_answers(
    bond: int, goal: int, task: int, *, tension: int = 0, resolved: int = 4
) -> dict[str, int]:
    """Session alliance check answers: two items each for bond, goal and task, then the
    rupture items (tension, its resolution when there was tension, misunderstood,
    withdrawal)."""
    answers = {"1": bond, "2": bond, "3": goal, "4": goal, "5": task, "6": task}
    answers["7"] = tension
    if tension >= 1:
        answers["8"] = resolved
    answers["9"] = min(tension, 4)
    answers["10"] = 0
    return answers


def phq9_answers(total: int, *, item9: int = 0) -> dict[str, int]:
    """PHQ-9 answers adding up to ``total`` (item 9 as given)."""
    answers = {str(n): 0 for n in range(1, 10)}
    answers["9"] = item9
    left = total - item9
    for n in range(1, 9):
        value = min(3, left)
        answers[str(n)] = value
        left -= value
    if left:
        raise ValueError(f"a PHQ-9 total of {total} is not possible with item 9 = {item9}")
    return answers


def _record(
    db: object,
    actor: object,
    client_id: int,
    session_date: date,
    answers: dict[str, dict[str, int]],
) -> None:
    from bordin.storage.actions import create_form_request, create_session, record_submission

    session = create_session(db, actor=actor, client_id=client_id, session_date=session_date)  # type: ignore[arg-type]
    _request, token = create_form_request(
        db,  # type: ignore[arg-type]
        actor=actor,  # type: ignore[arg-type]
        session_id=session.id,
        instruments=list(answers),
    )
    record_submission(db, token=token, answers=answers)  # type: ignore[arg-type]


def build_pages_clinic(url: str, *, today: date | None = None) -> PagesClinic:
    """Create the clinic in the (migrated, empty) database at ``url``."""
    from bordin.storage import make_engine, make_session_factory, transaction
    from bordin.storage.actions import (
        create_client,
        create_clinic,
        create_form_request,
        create_session,
        create_team,
        create_user,
    )

    today = today or date.today()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    tokens: dict[str, str] = {}
    with transaction(factory) as db:
        clinic = create_clinic(db, actor=None, name="Riverside Clinic")
        team = create_team(db, actor=None, clinic_id=clinic.id, name="North team")
        alex = create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="therapist@test",
            password=PASSWORD,
            role="therapist",
            display_name="Alex Morgan",
            team_id=team.id,
        )
        jordan = create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="therapist2@test",
            password=PASSWORD,
            role="therapist",
            display_name="Jordan Lee",
            team_id=team.id,
        )
        create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="supervisor@test",
            password=PASSWORD,
            role="supervisor",
            display_name="Sam Rivera",
            team_id=team.id,
        )
        create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="admin@test",
            password=PASSWORD,
            role="admin",
            display_name="Robin Admin",
        )
        c101 = create_client(db, actor=alex, code="C-101")
        c102 = create_client(db, actor=alex, code="C-102")
        c103 = create_client(db, actor=jordan, code="C-103")

        start = today - timedelta(days=35)
        week = timedelta(days=7)
        # (bond, goal, task, tension, PHQ-9 total) per session; every scale varies early
        # on, as real ratings do (the rupture detector scales drops by the client's SD)
        plan_101: Sequence[tuple[int, int, int, int, int]] = [
            (5, 4, 4, 0, 17),
            (4, 5, 3, 0, 16),
            (5, 5, 4, 0, 17),
            (2, 2, 3, 3, 21),
        ]
        plan_102: Sequence[tuple[int, int, int, int, int]] = [
            (4, 4, 3, 0, 19),
            (4, 5, 4, 0, 15),
            (5, 4, 5, 0, 11),
            (5, 5, 4, 0, 8),
            (5, 5, 5, 0, 6),
        ]
        plan_103: Sequence[tuple[int, int, int, int, int]] = [(4, 3, 4, 0, 12), (3, 4, 3, 1, 11)]
        for client, therapist, plan, offset in (
            (c101, alex, plan_101, 0),
            (c102, alex, plan_102, 0),
            (c103, jordan, plan_103, 2),
        ):
            for i, (bond, goal, task, tension, phq) in enumerate(plan):
                sac = sac_answers(bond, goal, task, tension=tension, resolved=0)
                _record(
                    db,
                    therapist,
                    client.id,
                    start + (i + offset) * week,
                    {"sac": sac, "phq9": phq9_answers(phq)},
                )

        # links: open (C-101, session 5), waiting (C-103), expired and used
        s5 = create_session(db, actor=alex, client_id=c101.id, session_date=today)
        _r, tokens["open"] = create_form_request(
            db, actor=alex, session_id=s5.id, instruments=["sac", "phq9"]
        )
        s103 = create_session(db, actor=jordan, client_id=c103.id, session_date=today)
        _r, tokens["waiting"] = create_form_request(
            db, actor=jordan, session_id=s103.id, instruments=["sac"]
        )
        s102 = create_session(db, actor=alex, client_id=c102.id, session_date=today)
        _r, tokens["expired"] = create_form_request(
            db,
            actor=alex,
            session_id=s102.id,
            instruments=["sac"],
            lifetime=timedelta(seconds=-60),
        )
        _r, tokens["used"] = create_form_request(
            db, actor=alex, session_id=s102.id, instruments=["phq9"]
        )
        from bordin.storage.actions import record_submission

        record_submission(db, token=tokens["used"], answers={"phq9": phq9_answers(5)})
        ids = {"C-101": c101.id, "C-102": c102.id, "C-103": c103.id}
    engine.dispose()
    return PagesClinic(
        url=url,
        users={
            "therapist": "therapist@test",
            "therapist2": "therapist2@test",
            "supervisor": "supervisor@test",
            "admin": "admin@test",
        },
        clients=ids,
        open_token=tokens["open"],
        waiting_token=tokens["waiting"],
        expired_token=tokens["expired"],
        used_token=tokens["used"],
        tokens=tokens,
    )


_TEMPLATE: dict[str, tuple[object, Path, PagesClinic]] = {}


def copy_pages_clinic(folder: Path) -> PagesClinic:
    """A private copy of the clinic in ``folder`` (built once per test run, then copied).

    Building runs the real scoring and feedback for every submission, which takes seconds;
    copying the SQLite file gives each test its own database in milliseconds.
    """
    from bordin.storage import upgrade_database

    if "clinic" not in _TEMPLATE:
        keeper = tempfile.TemporaryDirectory(prefix="bordin-pages-")
        atexit.register(keeper.cleanup)
        path = Path(keeper.name) / "template.sqlite"
        url = f"sqlite:///{path}"
        upgrade_database(url)
        built = build_pages_clinic(url)
        _TEMPLATE["clinic"] = (keeper, path, built)
    _keeper, path, built = _TEMPLATE["clinic"]
    target = folder / "bordin.sqlite"
    shutil.copyfile(path, target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            shutil.copyfile(extra, target.with_name(target.name + suffix))
    return replace(built, url=f"sqlite:///{target}")
