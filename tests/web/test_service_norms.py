"""Norms snapshots in the service: refresh on demand, on schedule and after an import;
history that does not rewrite itself; who may see and refresh them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bordin.cli.main import create_cli
from bordin.storage import actions, transaction
from bordin.storage.models import Alert, FeedbackShown, NormsSnapshot, Signal
from bordin.web.app import refresh_due_norms_now
from web.service_world import BACKENDS, PHQ9_MILD, SAC_OK, World


def _snapshots(world: World, clinic: str) -> list[NormsSnapshot]:
    with world.sessions_factory() as db:
        return list(
            db.scalars(
                select(NormsSnapshot)
                .where(NormsSnapshot.clinic_id == world.clinics[clinic])
                .order_by(NormsSnapshot.id)
            )
        )


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_history_keeps_what_was_shown_when_the_norms_change(world: World) -> None:
    """A refresh recomputes every client against the new snapshot; what the therapist was
    shown at the earlier session stays retrievable as it was, with its snapshot."""
    therapist = world.login("ta1")
    client_id = world.clients["ta1"]
    history = therapist.get(f"/api/v1/clients/{client_id}/feedback-history").json()
    assert [h["session"] for h in history] == [1]
    first = history[0]
    assert first["alerts"], "the world's first session raises alerts"
    assert first["signals"]["session"] == 1
    before = _snapshots(world, "A")
    admin = world.login("aa")
    refreshed = admin.post("/api/v1/clinic/norms/refresh")
    assert refreshed.status_code == 201, refreshed.text
    new_id = refreshed.json()["id"]
    assert new_id > before[-1].id and refreshed.json()["current"] is True
    with world.sessions_factory() as db:
        norms_ids = set(db.scalars(select(Signal.norms_id).where(Signal.client_id == client_id)))
        alert_ids = set(db.scalars(select(Alert.norms_id).where(Alert.client_id == client_id)))
    assert norms_ids == {new_id} and alert_ids == {new_id}
    after = therapist.get(f"/api/v1/clients/{client_id}/feedback-history").json()
    assert after == history  # not rewritten
    assert after[0]["norms_id"] == before[-1].id
    # The next submission adds a record for session 2, against the current snapshot.
    response = world.anonymous().post(
        f"/api/v1/forms/{world.open_tokens['ta1']}",
        json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}},
    )
    assert response.status_code == 201, response.text
    latest = therapist.get(f"/api/v1/clients/{client_id}/feedback-history").json()
    assert [h["session"] for h in latest] == [1, 2]
    assert latest[0] == history[0] and latest[1]["norms_id"] == new_id


def test_norms_are_the_clinic_admins_and_supervisors(world: World) -> None:
    therapist = world.login("ta1")
    assert therapist.get("/api/v1/clinic/norms").status_code == 403
    assert therapist.post("/api/v1/clinic/norms/refresh").status_code == 403
    supervisor = world.login("sa_north")
    listed = supervisor.get("/api/v1/clinic/norms")
    assert listed.status_code == 200
    snapshots = listed.json()
    assert snapshots and snapshots[0]["current"] and not any(s["current"] for s in snapshots[1:])
    assert supervisor.post("/api/v1/clinic/norms/refresh").status_code == 403
    current = supervisor.get("/api/v1/clinic/norms/current").json()
    assert current["document"]["version"] == current["version"]
    assert current["quantities"]["curve_phq9"]["origin"] == "bundled"
    # another clinic's snapshot is not found
    other = world.login("ab").get(f"/api/v1/clinic/norms/{current['id']}")
    assert other.status_code == 404


def test_scheduled_refresh_after_enough_new_sessions(world: World) -> None:
    state = world.app.state.bordin
    state.settings = state.settings.model_copy(update={"norms_refresh_sessions": 1})
    refresh_due_norms_now(state)  # the world's later sessions came after its first snapshots
    assert refresh_due_norms_now(state) == 0  # nothing new since
    before = len(_snapshots(world, "A"))
    response = world.anonymous().post(
        f"/api/v1/forms/{world.open_tokens['ta2']}",
        json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}},
    )
    assert response.status_code == 201
    assert len(_snapshots(world, "A")) == before  # the request itself refits nothing
    assert refresh_due_norms_now(state) == 1
    snapshots = _snapshots(world, "A")
    assert len(snapshots) == before + 1 and snapshots[-1].reason == "sessions"
    assert refresh_due_norms_now(state) == 0
    with transaction(world.sessions_factory) as db:
        due = actions.norms_due(
            db, world.clinics["A"], every_sessions=0, max_age=timedelta(seconds=0)
        )
    assert not due.due and due.new_sessions == 0


def test_cli_refresh_norms(world: World) -> None:
    before = len(_snapshots(world, "B"))
    result = CliRunner().invoke(
        create_cli(), ["db", "refresh-norms", "--clinic", "Clinic B", "--db", world.database_url]
    )
    assert result.exit_code == 0, result.output
    assert f"clinic {world.clinics['B']}: norms snapshot" in result.output
    assert len(_snapshots(world, "B")) == before + 1
    assert len(_snapshots(world, "A")) >= 1
    with world.sessions_factory() as db:
        assert db.scalar(select(func.count()).select_from(FeedbackShown))


def test_the_running_service_refreshes_on_its_own(world: World) -> None:
    """The lifespan task runs the scheduled check every ``norms_check_seconds``."""
    import time

    from fastapi.testclient import TestClient

    from bordin.web import create_app

    settings = world.settings.model_copy(
        update={"norms_check_seconds": 0.05, "norms_refresh_sessions": 1}
    )
    before = len(_snapshots(world, "A"))
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 10
        while len(_snapshots(world, "A")) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/api/v1/health").status_code == 200
    assert len(_snapshots(world, "A")) == before + 1


def _store_snapshot_without_rupture_model(world: World, clinic: str) -> int:
    """Store, as the clinic's current snapshot, its norms without the adaptive rupture
    model: what a snapshot stored before the adaptive detector led looks like."""
    import dataclasses

    from bordin.storage.actions._feedback import current_snapshot, snapshot_norms

    with transaction(world.sessions_factory) as db:
        current = current_snapshot(db, world.clinics[clinic])
        assert current is not None
        old = dataclasses.replace(snapshot_norms(current), rupture_model={})
        assert old.lacks_rupture_model and "rupture_model" not in old.to_dict()
        stored = NormsSnapshot(
            clinic_id=current.clinic_id,
            version=old.version,
            reason="before the model",
            source=old.source(),
            sessions_at_fit=current.sessions_at_fit,
            columns=list(current.columns),
            data=old.to_dict(),
        )
        db.add(stored)
        db.flush()
        return int(stored.id)


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_a_snapshot_without_a_rupture_model_is_refitted_at_the_next_submission(
    world: World,
) -> None:
    """Judged against a snapshot without the rupture model, a client's adaptive detector
    would fit on that client's sessions alone (not what the clinic's export gives): the
    submission refits the snapshot first, and the client is judged against the new one."""
    old_id = _store_snapshot_without_rupture_model(world, "A")
    response = world.anonymous().post(
        f"/api/v1/forms/{world.open_tokens['ta1']}",
        json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}},
    )
    assert response.status_code == 201, response.text
    snapshots = _snapshots(world, "A")
    assert snapshots[-2].id == old_id
    assert snapshots[-1].reason == "rupture model" and snapshots[-1].data.get("rupture_model")
    client_id = world.clients["ta1"]
    with world.sessions_factory() as db:
        norms_ids = set(db.scalars(select(Signal.norms_id).where(Signal.client_id == client_id)))
        sessions = db.scalars(
            select(Signal).where(Signal.client_id == client_id, Signal.kind == "session")
        ).all()
    assert norms_ids == {snapshots[-1].id}
    assert sessions and all("rupture_adaptive" in s.data for s in sessions)
    # once refitted, a submission refits nothing
    response = world.anonymous().post(
        f"/api/v1/forms/{world.open_tokens['ta2']}",
        json={"answers": {"phq9": PHQ9_MILD, "sac": SAC_OK}},
    )
    assert response.status_code == 201, response.text
    assert len(_snapshots(world, "A")) == len(snapshots)


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_the_scheduled_check_refits_a_snapshot_without_a_rupture_model(world: World) -> None:
    state = world.app.state.bordin
    refresh_due_norms_now(state)  # the world's later sessions came after its first snapshots
    assert refresh_due_norms_now(state) == 0
    _store_snapshot_without_rupture_model(world, "B")
    with transaction(world.sessions_factory) as db:
        due = actions.norms_due(
            db, world.clinics["B"], every_sessions=0, max_age=timedelta(days=365)
        )
    assert due.due and due.reason == "rupture model"  # without any new session
    assert refresh_due_norms_now(state) == 1
    snapshots = _snapshots(world, "B")
    assert snapshots[-1].reason == "rupture model" and snapshots[-1].data.get("rupture_model")
    assert refresh_due_norms_now(state) == 0
