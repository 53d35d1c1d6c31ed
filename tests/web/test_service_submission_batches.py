"""Form submissions that arrive together share a transaction, and each is answered as if
it had been alone (``bordin.web.submissions``).

The database slot is held while the submissions queue, so that they all land in one batch
whatever the machine's speed; then every answer is checked: receipts for the good ones,
422 naming the item, 409 with the first receipt, 404; the unusable links are counted
against the address and the invalid answer is not; nothing of a refused submission is
stored; the batch's clients have the signals ``compute_feedback`` gives them with the
clinic's norms; a batch that fails is stored again one submission at a time; and a
submission that waited too long is refused with 503 and not stored.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import event, func, select

from bordin.feedback import compute_feedback
from bordin.settings import Settings
from bordin.storage import actions, transaction
from bordin.storage.actions._feedback import clinic_scores_frame, current_snapshot, snapshot_norms
from bordin.storage.audit_chain import verify_audit_chain
from bordin.storage.models import Client, FormRequest, ItemResponse, RateLimitCount, Signal
from bordin.web import create_app
from bordin.web import submissions as batching
from web.service_world import BACKENDS, PHQ9_MILD, SAC_OK, SAC_WEAK

GOOD = {"sac": SAC_OK, "phq9": PHQ9_MILD}
CLIENTS = 6


@dataclass
class Clinic:
    app: Any
    tokens: list[str]  # one open link per client
    used: str  # a link answered already
    used_receipt: dict[str, Any]


@pytest.fixture
def clinic(empty_database: str) -> Iterator[Clinic]:
    yield from _clinic(empty_database)


def _clinic(url: str) -> Iterator[Clinic]:
    settings = Settings(
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        base_url="http://testserver",
        token_rate_limit=1000,
    )
    app = create_app(settings)
    factory = app.state.bordin.sessions
    with transaction(factory) as db:
        clinic = actions.create_clinic(db, actor=None, name="Batches")
        therapist = actions.create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="batch@test",
            password=secrets.token_urlsafe(16),
            role="therapist",
        )
        tokens, used = [], ""
        for n in range(CLIENTS + 1):
            client = actions.create_client(db, actor=therapist, code=f"b{n}")
            for _ in range(2):  # an answered session first: the batch brings the second
                session = actions.create_session(db, actor=therapist, client_id=client.id)
                _, token = actions.create_form_request(
                    db, actor=therapist, session_id=session.id, instruments=["sac", "phq9"]
                )
                tokens.append(token)
        firsts, tokens = tokens[0::2], tokens[1::2]
        receipts = [actions.record_submission(db, token=t, answers=GOOD) for t in firsts]
        used, used_receipt = firsts[-1], receipts[-1]
    try:
        yield Clinic(app, tokens[:CLIENTS], used, used_receipt)
    finally:
        app.state.bordin.engine.dispose()


async def _together(
    app: Any, requests: list[tuple[str, dict[str, Any]]], *, hold: float = 0.0
) -> list[httpx.Response]:
    """Send the submissions at once while every database slot is held, so that they queue;
    release the slots once all of them wait (or after ``hold`` seconds)."""
    state = app.state.bordin
    slot = state.db_slot()
    for _ in range(state.db_slots):
        await slot.acquire()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        sent = [
            asyncio.ensure_future(client.post(f"/api/v1/forms/{t}", json={"answers": a}))
            for t, a in requests
        ]
        queue = state.submissions._queues
        loop_key = id(asyncio.get_running_loop())
        for _ in range(1000):
            if hold == 0.0 and len(queue.get(loop_key, [])) == len(requests):
                break
            await asyncio.sleep(hold / 1000 if hold else 0.01)
        for _ in range(state.db_slots):
            slot.release()
        return list(await asyncio.gather(*sent))


def _batch_of_everything(clinic: Clinic) -> list[tuple[str, dict[str, Any]]]:
    bad = {"sac": SAC_WEAK, "phq9": {**PHQ9_MILD, "3": 7}}  # item 3 out of range
    return [
        (clinic.tokens[0], GOOD),
        (clinic.tokens[1], {"sac": SAC_WEAK, "phq9": PHQ9_MILD}),
        (clinic.tokens[2], bad),  # 422
        (clinic.used, GOOD),  # 409 with the first receipt
        ("no-such-token-" + secrets.token_hex(8), GOOD),  # 404
        (clinic.tokens[3], GOOD),
        (clinic.tokens[3], GOOD),  # the same link twice in one batch: 201 then 409
        (clinic.tokens[4], GOOD),
    ]


def _check_answers(clinic: Clinic, responses: list[httpx.Response]) -> None:
    codes = [r.status_code for r in responses]
    assert codes == [201, 201, 422, 409, 404, 201, 409, 201], [r.text for r in responses]
    receipts = [r.json()["receipt"] for r in responses if r.status_code == 201]
    assert len(set(receipts)) == 4
    assert "phq9:3" in responses[2].text
    assert responses[3].json()["error"]["receipt"]["receipt"] == clinic.used_receipt["receipt"]
    assert responses[6].json()["error"]["receipt"]["receipt"] == responses[5].json()["receipt"]
    factory = clinic.app.state.bordin.sessions
    with factory() as db:
        # the invalid answers stored nothing; the link stays open
        request = db.scalar(select(FormRequest).where(FormRequest.submitted_at.is_(None)).limit(1))
        assert request is not None
        answered = db.scalar(
            select(func.count(func.distinct(ItemResponse.form_request_id))).where(
                ItemResponse.form_request_id.is_not(None)
            )
        )
        assert answered == CLIENTS + 1 + 4  # the first sessions, then four in the batch
        # the unknown and the used links (twice) count against the address; 422 does not
        counted = db.scalar(
            select(func.sum(RateLimitCount.count)).where(RateLimitCount.scope == "token")
        )
        assert counted == 3
        # every stored submission's audit event is on the tamper-evident chain, in order
        report = verify_audit_chain(db)
        assert not report.problems and report.chained == report.events


def _check_feedback(clinic: Clinic) -> None:
    """Every client's stored signals are ``compute_feedback``'s with the clinic's norms."""
    factory = clinic.app.state.bordin.sessions
    with factory() as db:
        clinic_id = db.scalar(select(Client.clinic_id).limit(1))
        assert clinic_id is not None
        snapshot = current_snapshot(db, clinic_id)
        assert snapshot is not None
        norms = snapshot_norms(snapshot)
        frame: pd.DataFrame = clinic_scores_frame(db, clinic_id)
        result = compute_feedback(
            frame, alliance=norms.alliance, outcomes=norms.outcomes, norms=norms
        )
        expected: dict[str, list[dict[str, Any]]] = {}
        for record in result.records("sessions"):
            expected.setdefault(str(record["client_id"]), []).append(record)
        codes = {int(i): str(c) for i, c in db.execute(select(Client.id, Client.code))}
        stored: dict[str, list[dict[str, Any]]] = {}
        for signal in db.scalars(
            select(Signal).where(Signal.kind == "session").order_by(Signal.session)
        ):
            assert signal.norms_id == snapshot.id
            stored.setdefault(codes[signal.client_id], []).append(signal.data)
        assert stored == expected


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_submissions_arriving_together_share_a_transaction(clinic: Clinic) -> None:
    sizes = clinic.app.state.bordin.submissions.batch_sizes
    responses = asyncio.run(_together(clinic.app, _batch_of_everything(clinic)))
    assert sizes == [8]
    _check_answers(clinic, responses)
    _check_feedback(clinic)


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_a_failed_batch_is_stored_one_submission_at_a_time(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the batch failed")

    monkeypatch.setattr(batching, "record_submissions", broken)
    responses = asyncio.run(_together(clinic.app, _batch_of_everything(clinic)))
    _check_answers(clinic, responses)
    _check_feedback(clinic)


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_a_submission_that_fails_alone_fails_alone(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    poisoned = clinic.tokens[1]
    real = batching.record_submission

    def record(db: Any, *, token: str, answers: Any) -> Any:
        if token == poisoned:
            raise RuntimeError("this one cannot be stored")
        return real(db, token=token, answers=answers)

    monkeypatch.setattr(batching, "record_submissions", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(batching, "record_submission", record)
    requests = [(t, GOOD) for t in clinic.tokens[:3]]
    responses = asyncio.run(_together(clinic.app, requests))
    assert [r.status_code for r in responses] == [201, 500, 201]


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_a_submission_that_waits_too_long_is_refused_and_not_stored(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def items() -> int:
        with clinic.app.state.bordin.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(ItemResponse)) or 0)

    before = items()
    monkeypatch.setattr(batching, "WAIT_SECONDS", 0.2)
    responses = asyncio.run(_together(clinic.app, [(clinic.tokens[0], GOOD)], hold=1.0))
    assert [r.status_code for r in responses] == [503]
    assert items() == before
    assert clinic.app.state.bordin.submissions.batch_sizes == []


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_a_batch_costs_the_same_statements_whatever_its_size(clinic: Clinic) -> None:
    """A batch is stored set-based: one statement per table, not one per submission, so
    batches of 2 and 4 submissions (with a refused one each) run as many statements."""
    engine = clinic.app.state.bordin.engine
    factory = clinic.app.state.bordin.sessions
    counts: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # SQLite gives no ordered RETURNING for a multi-row insert, so the ORM inserts
        # audit rows (whose ids the chain needs) one by one there; PostgreSQL in one
        if not statement.startswith("INSERT INTO audit_events"):
            counts[-1] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        for batch in (clinic.tokens[:2], clinic.tokens[2:6]):
            counts.append(0)
            with transaction(factory) as db:
                outcomes = actions.record_submissions(
                    db, [*((t, GOOD) for t in batch), ("unknown-" + batch[0], GOOD)]
                )
            assert [isinstance(o, dict) for o in outcomes] == [True] * len(batch) + [False]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert counts[0] == counts[1], counts
    _check_feedback(clinic)
