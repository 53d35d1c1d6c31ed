"""Form submissions are idempotent and all-or-nothing, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from bordin.errors import InputError
from bordin.storage import actions, transaction
from bordin.storage.exceptions import AlreadySubmitted
from bordin.storage.models import Alert, AuditEvent, FormRequest, ItemResponse, Score
from web.service_world import BACKENDS, PHQ9_MILD, SAC_OK, World

ANSWERS = {"phq9": PHQ9_MILD, "sac": SAC_OK}


def _counts(world: World) -> dict[str, int]:
    with world.sessions_factory() as db:
        return {
            model.__tablename__: int(db.scalar(select(func.count()).select_from(model)) or 0)
            for model in (ItemResponse, Score, Alert, AuditEvent)
        }


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_second_submission_returns_first_receipt_and_stores_nothing(world: World) -> None:
    token = world.open_tokens["ta1"]
    with transaction(world.sessions_factory) as db:
        receipt = actions.record_submission(db, token=token, answers=ANSWERS)
    after_first = _counts(world)
    with pytest.raises(AlreadySubmitted) as caught, transaction(world.sessions_factory) as db:
        actions.record_submission(db, token=token, answers={"phq9": PHQ9_MILD})
    assert caught.value.receipt == receipt
    assert _counts(world) == after_first
    # Over HTTP: 409 with the same receipt.
    response = world.anonymous().post(f"/api/v1/forms/{token}", json={"answers": ANSWERS})
    assert response.status_code == 409
    assert response.json()["error"]["receipt"] == receipt
    assert _counts(world) == after_first


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_invalid_submission_stores_nothing(world: World) -> None:
    token = world.open_tokens["ta2"]
    before = _counts(world)
    bad = {"phq9": PHQ9_MILD, "sac": SAC_OK | {"6": 9}}
    with pytest.raises(InputError, match=r"item sac:6"), transaction(world.sessions_factory) as db:
        actions.record_submission(db, token=token, answers=bad)
    assert _counts(world) == before
    with world.sessions_factory() as db:
        request = db.scalar(select(FormRequest).where(FormRequest.receipt.is_not(None)).limit(1))
        assert request is not None  # the world's used links
        assert (
            db.scalar(
                select(func.count())
                .select_from(FormRequest)
                .where(FormRequest.submitted_at.is_(None))
            )
            == 4
        )


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_failure_after_writes_rolls_everything_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in the feedback step (after responses and scores are written) leaves no trace."""
    import bordin.storage.actions.forms as forms

    def broken(db: object, client_ids: object, **kwargs: object) -> None:
        raise RuntimeError("feedback engine failed")

    monkeypatch.setattr(forms, "recompute_feedback", broken)
    before = _counts(world)
    with pytest.raises(RuntimeError), transaction(world.sessions_factory) as db:
        actions.record_submission(db, token=world.open_tokens["ta3"], answers=ANSWERS)
    assert _counts(world) == before
    monkeypatch.undo()
    with transaction(world.sessions_factory) as db:
        receipt = actions.record_submission(db, token=world.open_tokens["ta3"], answers=ANSWERS)
    assert receipt["items"] == 18


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_concurrent_submissions_store_exactly_one(world: World) -> None:
    token = world.open_tokens["tb1"]
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        try:
            with transaction(world.sessions_factory) as db:
                actions.record_submission(db, token=token, answers=ANSWERS)
            outcomes.append("stored")
        except AlreadySubmitted:
            outcomes.append("already")

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "already", "already", "stored"]
    with world.sessions_factory() as db:
        request = db.scalar(
            select(FormRequest)
            .where(FormRequest.client_id == world.clients["tb1"])
            .order_by(FormRequest.id.desc())
        )
        assert request is not None
        stored = db.scalar(
            select(func.count())
            .select_from(ItemResponse)
            .where(ItemResponse.form_request_id == request.id)
        )
        assert stored == 18
