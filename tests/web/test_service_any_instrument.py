"""A valid submission is always stored, whatever instruments the form asks (issue 21, 9).

Feedback computes what the data allow: outcome signals without an alliance measure, and
alliance signals without an outcome. Every instrument the service offers, alone and in
pairs, is answered on a form link by a new client of a new clinic (no norms yet) and by a
new client of a clinic whose norms know only the alliance check and PHQ-9, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

import pytest
from sqlalchemy import func, select

from bordin.instruments import InstrumentDefinition, get_instrument
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.models import ItemResponse, Score, Signal
from web.service_world import BACKENDS, PHQ9_MILD, SAC_OK

# What a clinic can put on a form without a licensed content pack.
OFFERED = ("core10", "gad7", "k10", "ors", "phq9", "sac", "srs")


def _answers(definition: InstrumentDefinition) -> dict[str, float]:
    """Every item at its midpoint, leaving out items whose asking condition fails."""
    values = {
        item.number: item.min_value
        + item.step * round((item.max_value - item.min_value) / (2 * item.step))
        for item in definition.items
    }
    return {
        str(item.number): values[item.number]
        for item in definition.items
        if item.asked_if is None or values[item.asked_if.item] >= item.asked_if.min_value
    }


def _count(db: Any, model: Any, client_id: int) -> int:
    return int(
        db.scalar(select(func.count()).select_from(model).where(model.client_id == client_id)) or 0
    )


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_every_instrument_alone_and_in_pairs_is_stored_with_feedback(empty_database: str) -> None:
    engine = make_engine(empty_database)
    factory = make_session_factory(engine)
    forms = [(i,) for i in OFFERED] + list(itertools.combinations(OFFERED, 2))
    try:
        with transaction(factory) as db:
            clinics = {}
            for kind in ("new", "known"):
                clinic = actions.create_clinic(
                    db, actor=None, name=f"{kind} {secrets.token_hex(3)}"
                )
                clinics[kind] = actions.create_user(
                    db,
                    actor=None,
                    clinic_id=clinic.id,
                    username=f"t-{kind}-{secrets.token_hex(3)}@test",
                    password=secrets.token_urlsafe(16),
                    role="therapist",
                )
        # the "known" clinic's norms know the alliance check and PHQ-9
        with transaction(factory) as db:
            therapist = db.merge(clinics["known"])
            client = actions.create_client(db, actor=therapist, code="history")
            session = actions.create_session(db, actor=therapist, client_id=client.id)
            _, token = actions.create_form_request(
                db, actor=therapist, session_id=session.id, instruments=["sac", "phq9"]
            )
        with transaction(factory) as db:
            actions.record_submission(db, token=token, answers={"sac": SAC_OK, "phq9": PHQ9_MILD})
        failures = []
        for kind, form in itertools.product(("new", "known"), forms):
            with transaction(factory) as db:
                therapist = db.merge(clinics[kind])
                client = actions.create_client(db, actor=therapist, code=f"{kind}-{'-'.join(form)}")
                session = actions.create_session(db, actor=therapist, client_id=client.id)
                _, token = actions.create_form_request(
                    db, actor=therapist, session_id=session.id, instruments=list(form)
                )
            answers = {i: _answers(get_instrument(i)) for i in form}
            try:
                with transaction(factory) as db:
                    actions.record_submission(db, token=token, answers=answers)
            except Exception as exc:  # collected so that one run names every failing form
                failures.append(f"{kind} clinic, {'+'.join(form)}: {exc!r}")
                continue
            with factory() as db:
                items = _count(db, ItemResponse, client.id)
                assert items == sum(len(a) for a in answers.values()), form
                assert _count(db, Score, client.id) > 0, form
                assert _count(db, Signal, client.id) > 0, (kind, form)
                shown = db.scalar(
                    select(Signal.data).where(
                        Signal.client_id == client.id, Signal.kind == "session"
                    )
                )
                assert shown is not None, (kind, form)
                if "phq9" in form:  # the outcome is assessed with or without an alliance
                    assert shown["phq9_score"] == 18, (kind, form)  # nine items at 2
                if "sac" in form:
                    assert shown["alliance"] is not None, (kind, form)
        assert not failures, "\n".join(failures)
    finally:
        engine.dispose()
