"""Risk notifications reach the therapist by email through the outbox, once, with no
clinical content (issue 17: the risk pathway's email leg)."""

from __future__ import annotations

from sqlalchemy import select

from bordin.storage import actions, transaction
from bordin.storage.models import OutboxMessage

from .conftest import CLINIC_NAME, Clinic

PHQ9_RISK = {str(i): 1 for i in range(1, 9)} | {"9": 2}


def test_a_risk_answer_emails_the_therapist_once_without_clinical_content(
    clinic: Clinic,
) -> None:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        session = actions.create_session(db, actor=t1, client_id=clinic.clients["C-02"])
        _, token = actions.create_form_request(
            db, actor=t1, session_id=session.id, instruments=["phq9"]
        )
    with transaction(clinic.sessions) as db:
        actions.record_submission(db, token=token, answers={"phq9": PHQ9_RISK})
    sender = clinic.sender()
    first = sender.run_once()
    second = sender.run_once()  # nothing is owed twice
    assert (first.risk_notices, second.risk_notices) == (1, 0)
    received = clinic.smtp.received()
    assert [m.to for m in received] == [("t1@clinic.test",)]
    message = received[0]
    assert CLINIC_NAME in message.subject
    assert "http://clinic.test/" in message.body
    for clinical in ("C-02", "PHQ", "phq9", "item 9", "self-harm"):
        assert clinical not in message.subject + message.body, clinical
    with transaction(clinic.sessions) as db:
        kinds = db.execute(select(OutboxMessage.kind, OutboxMessage.status)).all()
    assert [tuple(k) for k in kinds] == [("notification", "sent")]
