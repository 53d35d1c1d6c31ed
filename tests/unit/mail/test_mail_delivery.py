"""Forms delivered by email through the outbox to a real SMTP server, on a moved clock:
schedules, reminders, retries with backoff, bounces, resend and "filled on paper"."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from bordin.errors import Conflict, InputError
from bordin.storage import actions, queries, transaction
from bordin.storage.models import AuditEvent, FormDelivery, OutboxMessage
from support.smtp import Received

from .conftest import BACKENDS, CLINIC_NAME, Clinic

PHQ9 = {str(i): 1 for i in range(1, 9)} | {"9": 0}  # no risk answer (no risk e-mail)
LINK = re.compile(r"http://clinic\.test/f/([A-Za-z0-9_-]+)")


def _book(
    clinic: Clinic, code: str, *, hours_ahead: float, hours_before: int = 24, by: str = "t1"
) -> int:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, by)
        actions.set_delivery_schedule(
            db,
            actor=t1,
            episode_id=clinic.episodes[code],
            mode="before_session",
            instruments=["phq9"],
            hours_before=hours_before,
        )
        return actions.book_session(
            db,
            actor=t1,
            client_id=clinic.clients[code],
            starts_at=clinic.clock() + timedelta(hours=hours_ahead),
        ).id


def _statuses(clinic: Clinic) -> list[tuple[str, str, int]]:
    with transaction(clinic.sessions) as db:
        rows = db.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts).order_by(
                OutboxMessage.id
            )
        )
        return [(k, s, a) for k, s, a in rows]


def _token(message: Received) -> str:
    found = LINK.search(message.body)
    assert found is not None, message.body
    return found.group(1)


@pytest.mark.parametrize("any_clinic", BACKENDS, indirect=True)
def test_a_booked_session_gets_its_form_hours_before_and_only_then(
    any_clinic: Clinic,
) -> None:
    clinic = any_clinic
    _book(clinic, "C-01", hours_ahead=30, hours_before=24)
    sender = clinic.sender()
    assert sender.run_once().forms == 0  # 30 h ahead: not due yet
    assert clinic.smtp.received() == []
    clinic.clock.advance(hours=6, minutes=1)
    done = sender.run_once()
    assert (done.forms, done.sent) == (1, 1)
    [message] = clinic.smtp.received()
    assert message.to == ("ada@example.org",)
    assert CLINIC_NAME in message.subject
    # only the clinic's name and the link: no code, no instrument, no clinical word
    body = message.body
    assert CLINIC_NAME in body and LINK.search(body)
    for leaked in ("C-01", "phq9", "PHQ", "depress", "t1@"):
        assert leaked not in message.raw
    # once only, however often the sender passes
    clinic.clock.advance(minutes=5)
    assert sender.run_once().forms == 0
    assert len(clinic.smtp.received()) == 1
    # the link in the email is a working form link
    with transaction(clinic.sessions) as db:
        receipt = actions.record_submission(db, token=_token(message), answers={"phq9": PHQ9})
    assert receipt["items"] == 9


def test_the_message_is_queued_with_the_form_or_not_at_all(clinic: Clinic) -> None:
    with pytest.raises(InputError), transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        session = actions.create_session(db, actor=t1, client_id=clinic.clients["C-01"])
        actions.deliver_form(
            db,
            actor=t1,
            cipher=clinic.cipher,
            session_id=session.id,
            instruments=["phq9"],
            language="en",
            reason="manual",
        )
        raise InputError("the surrounding change fails")
    assert _statuses(clinic) == []
    with transaction(clinic.sessions) as db:
        assert db.scalar(select(FormDelivery.id)) is None


@pytest.mark.parametrize("any_clinic", BACKENDS, indirect=True)
def test_reminders_go_after_the_set_time_at_most_n_times_and_stop_when_answered(
    any_clinic: Clinic,
) -> None:
    clinic = any_clinic
    _book(clinic, "C-01", hours_ahead=10, hours_before=24)
    sender = clinic.sender()
    sender.run_once()
    assert len(clinic.smtp.received()) == 1
    clinic.clock.advance(hours=47)
    sender.run_once()
    assert len(clinic.smtp.received()) == 1  # not yet: reminders after 48 h
    clinic.clock.advance(hours=1, seconds=1)
    assert sender.run_once().reminders == 1
    first, reminder = clinic.smtp.received()
    assert "reminder" in reminder.subject.lower() and CLINIC_NAME in reminder.subject
    assert _token(reminder) == _token(first)  # the same link
    assert reminder.message_id != first.message_id
    clinic.clock.advance(hours=48, seconds=1)
    assert sender.run_once().reminders == 1
    clinic.clock.advance(hours=72)
    assert sender.run_once().reminders == 0  # max_reminders = 2
    assert len(clinic.smtp.received()) == 3

    # answered: no reminder for another client's form after answering
    _book(clinic, "C-03", hours_ahead=10, hours_before=24, by="t2")
    received = len(clinic.smtp.received())
    sender.run_once()
    new = clinic.smtp.received()[received:]
    assert [m.to for m in new] == [("bea@example.org",)]
    with transaction(clinic.sessions) as db:
        actions.record_submission(db, token=_token(new[0]), answers={"phq9": PHQ9})
    clinic.clock.advance(hours=100)
    assert sender.run_once().reminders == 0
    assert len(clinic.smtp.received()) == received + 1


def test_refused_sends_are_retried_with_exponential_backoff_then_sent_once(
    clinic: Clinic,
) -> None:
    clinic.smtp.refuse_recipients("451 4.3.0 try again later", "421 4.3.0 busy")
    _book(clinic, "C-01", hours_ahead=2)
    sender = clinic.sender()
    done = sender.run_once()
    assert (done.sent, done.retried) == (0, 1)
    assert _statuses(clinic) == [("form", "queued", 1)]
    clinic.clock.advance(seconds=59)
    assert sender.run_once().claimed == 0  # first retry after 60 s
    clinic.clock.advance(seconds=1)
    assert sender.run_once().retried == 1
    clinic.clock.advance(seconds=119)
    assert sender.run_once().claimed == 0  # second retry after 120 s more
    clinic.clock.advance(seconds=1)
    assert sender.run_once().sent == 1
    assert _statuses(clinic) == [("form", "sent", 3)]
    assert len(clinic.smtp.received()) == 1
    clinic.clock.advance(hours=1)
    sender.run_once()
    assert len(clinic.smtp.received()) == 1


def test_a_refused_recipient_bounces_and_a_dead_server_fails_after_max_attempts(
    clinic: Clinic,
) -> None:
    clinic.smtp.refuse_recipients("550 5.1.1 no such mailbox")
    _book(clinic, "C-01", hours_ahead=2)
    sender = clinic.sender()
    assert sender.run_once().failed == 1
    assert _statuses(clinic) == [("form", "bounced", 1)]
    with transaction(clinic.sessions) as db:
        actions_seen = db.scalars(select(AuditEvent.action)).all()
    assert "outbox.bounced" in actions_seen

    # no server at all: four attempts (the setting), then failed
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        session = actions.create_session(db, actor=t1, client_id=clinic.clients["C-01"])
        actions.deliver_form(
            db,
            actor=t1,
            cipher=clinic.cipher,
            session_id=session.id,
            instruments=["gad7"],
            language="en",
            reason="manual",
        )
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dead = clinic.sender(smtp_port=closed)
    for _ in range(4):
        dead.run_once()
        clinic.clock.advance(hours=1)
    assert _statuses(clinic)[-1] == ("form", "failed", 4)


@pytest.mark.parametrize("any_clinic", BACKENDS, indirect=True)
def test_weekly_and_manual_schedules(any_clinic: Clinic) -> None:
    clinic = any_clinic
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        actions.set_delivery_schedule(
            db,
            actor=t1,
            episode_id=clinic.episodes["C-01"],
            mode="weekly",
            instruments=["phq9", "gad7"],
            first_due_at=clinic.clock() + timedelta(hours=1),
        )
    sender = clinic.sender()
    assert sender.run_once().forms == 0
    clinic.clock.advance(hours=1)
    assert sender.run_once().forms == 1
    clinic.clock.advance(days=6)
    assert sender.run_once().forms == 0
    clinic.clock.advance(days=1)
    assert sender.run_once().forms == 1
    with transaction(clinic.sessions) as db:
        sessions = queries.list_sessions(
            db, actor=clinic.user(db, "t1"), client_id=clinic.clients["C-01"]
        )
    assert [s.number for s in sessions] == [1, 2]
    # manual: nothing is sent by itself
    with transaction(clinic.sessions) as db:
        actions.set_delivery_schedule(
            db,
            actor=clinic.user(db, "t1"),
            episode_id=clinic.episodes["C-01"],
            mode="manual",
            instruments=["phq9"],
        )
    clinic.clock.advance(days=30)
    assert sender.run_once().forms == 0


def test_schedule_input_is_checked(clinic: Clinic) -> None:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        episode = clinic.episodes["C-01"]
        with pytest.raises(InputError, match="mode"):
            actions.set_delivery_schedule(
                db, actor=t1, episode_id=episode, mode="daily", instruments=["phq9"]
            )
        with pytest.raises(InputError, match="first time"):
            actions.set_delivery_schedule(
                db, actor=t1, episode_id=episode, mode="weekly", instruments=["phq9"]
            )
        with pytest.raises(InputError, match="unknown instrument"):
            actions.set_delivery_schedule(
                db, actor=t1, episode_id=episode, mode="manual", instruments=["nope"]
            )


def test_non_completers_resend_and_filled_on_paper(clinic: Clinic) -> None:
    _book(clinic, "C-01", hours_ahead=2)
    _book(clinic, "C-02", hours_ahead=3)  # no email address: due all the same
    sender = clinic.sender()
    sender.run_once()
    with transaction(clinic.sessions) as db:
        due = queries.list_non_completers(db, actor=clinic.user(db, "t1"), now=clinic.clock())
    assert due == []  # not due before the session starts
    clinic.clock.advance(hours=4)
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        due = queries.list_non_completers(db, actor=t1, now=clinic.clock())
        assert [(n.client_code, n.emailed, n.state) for n in due] == [
            ("C-01", True, "waiting"),
            ("C-02", False, "waiting"),
        ]
        # scope: t2 sees none of them, the supervisor of t1's team sees both
        assert (
            queries.list_non_completers(db, actor=clinic.user(db, "t2"), now=clinic.clock()) == []
        )
        sup = queries.list_non_completers(db, actor=clinic.user(db, "sup"), now=clinic.clock())
        assert [n.client_code for n in sup] == ["C-01", "C-02"]
        fresh = actions.resend_form(
            db, actor=t1, cipher=clinic.cipher, delivery_id=due[0].delivery_id
        )
        paper = actions.mark_filled_on_paper(db, actor=t1, delivery_id=due[1].delivery_id)
        assert paper.paper_at is not None
        with pytest.raises(Conflict):
            actions.mark_filled_on_paper(db, actor=t1, delivery_id=due[1].delivery_id)
    sender.run_once()
    first, second = clinic.smtp.received()
    assert _token(first) != _token(second)
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        due = queries.list_non_completers(db, actor=t1, now=clinic.clock())
        assert [(n.delivery_id, n.client_code) for n in due] == [(fresh.id, "C-01")]
        with pytest.raises(Exception, match="replaced"):
            actions.record_submission(db, token=_token(first), answers={"phq9": PHQ9})
    with transaction(clinic.sessions) as db:
        actions.record_submission(db, token=_token(second), answers={"phq9": PHQ9})
    sender.run_once()
    with transaction(clinic.sessions) as db:
        assert (
            queries.list_non_completers(db, actor=clinic.user(db, "t1"), now=clinic.clock()) == []
        )
        # the answered form's token is no longer kept
        stored = db.scalars(select(FormDelivery.token_enc).order_by(FormDelivery.id)).all()
    assert stored == [None, None, None]  # replaced, filled on paper, answered


def test_enqueue_email_is_idempotent_and_checks_its_input(clinic: Clinic) -> None:
    with transaction(clinic.sessions) as db:
        first = actions.enqueue_email(
            db,
            to_user=clinic.users["t1"],
            subject="Bordin: please look at a client's alert",
            body="Please sign in to Bordin.",
            idempotency_key="risk:1",
        )
        again = actions.enqueue_email(
            db,
            to_user=clinic.users["t1"],
            subject="Bordin: please look at a client's alert",
            body="Please sign in to Bordin.",
            idempotency_key="risk:1",
        )
        assert again.id == first.id
        with pytest.raises(InputError, match="exactly one recipient"):
            actions.enqueue_email(db, subject="x", body="y", idempotency_key="k")
        with pytest.raises(InputError, match="form delivery"):
            actions.enqueue_email(
                db,
                to_user=clinic.users["t1"],
                subject="x",
                body=None,
                idempotency_key="k2",
                kind="form",
            )
    clinic.sender().run_once()
    [message] = clinic.smtp.received()
    assert message.to == ("t1@clinic.test",)
    assert message.message_id == actions.message_id_for("risk:1")
