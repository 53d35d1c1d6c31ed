"""Concurrent first submissions of a clinic without norms all succeed (PostgreSQL).

Each submission of a clinic with no norms snapshot (or bringing an instrument the snapshot
does not know) refits the clinic's norms under the clinic's exclusive lock. Taking a shared
lock first and upgrading it deadlocked when several such submissions arrived together;
the lock is now taken once, in the mode the submission needs.
"""

from __future__ import annotations

import secrets
import threading

import pytest
from sqlalchemy import func, select

from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.models import NormsSnapshot, Signal
from web.service_world import BACKENDS, PHQ9_MILD, SAC_OK

CLIENTS = 8


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_concurrent_first_submissions_of_a_new_clinic_all_succeed(empty_database: str) -> None:
    engine = make_engine(empty_database)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as db:
            clinic = actions.create_clinic(db, actor=None, name=f"New {secrets.token_hex(3)}")
            therapist = actions.create_user(
                db,
                actor=None,
                clinic_id=clinic.id,
                username=f"t-{secrets.token_hex(3)}@test",
                password=secrets.token_urlsafe(16),
                role="therapist",
            )
            tokens = []
            for n in range(CLIENTS):
                client = actions.create_client(db, actor=therapist, code=f"first-{n}")
                session = actions.create_session(db, actor=therapist, client_id=client.id)
                _, token = actions.create_form_request(
                    db, actor=therapist, session_id=session.id, instruments=["sac", "phq9"]
                )
                tokens.append(token)
            clinic_id = clinic.id
        start = threading.Barrier(CLIENTS)
        errors: list[BaseException] = []

        def submit(token: str) -> None:
            try:
                start.wait()
                with transaction(factory) as db:
                    actions.record_submission(
                        db, token=token, answers={"sac": SAC_OK, "phq9": PHQ9_MILD}
                    )
            except BaseException as exc:  # collected: the test names every failure
                errors.append(exc)

        threads = [threading.Thread(target=submit, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        with factory() as db:
            assert db.scalar(
                select(func.count())
                .select_from(NormsSnapshot)
                .where(NormsSnapshot.clinic_id == clinic_id)
            )
            assert db.scalar(select(func.count(func.distinct(Signal.client_id)))) == CLIENTS
    finally:
        engine.dispose()
