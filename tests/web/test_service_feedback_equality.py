"""One truth: the service shows what ``compute_feedback`` computes on the clinic's export.

A Hypothesis state machine drives the service over HTTP through random sequences of live
work on a clinic that imported its history (40 simulated clients, session alliance check
and PHQ-9, so that the clinic-wide references are estimated from the clinic): new clients,
sessions answered on their form links (the session alliance check and PHQ-9, sometimes the
GAD-7 as well, new to the clinic, with random answers), and an administrator's norms
refresh now and then. After every step, the stored scores equal ``score_responses`` on the
item-responses export, and every client's stored signals and alerts (read through the
API, as the pages read them) equal ``compute_feedback`` run on the clinic's session-scores
export with the clinic's current norms snapshot (read through the API); every signal names
that snapshot; and a submission never changes another client's signals unless it brought
an instrument the snapshot did not know (then the clinic was refitted). Runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import io
import json
import secrets
from datetime import date
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from bordin.feedback import ClinicNorms, compute_feedback
from bordin.scoring import score_responses
from bordin.settings import Settings
from bordin.simulate import SimulationConfig, simulate_clinic
from bordin.storage import actions, transaction
from bordin.storage.actions._feedback import _merged_alerts
from bordin.storage.models import Alert, Signal
from bordin.web import create_app
from bordin.web.security import CSRF_HEADER
from web.service_world import BACKENDS

PASSWORD = "correct horse battery staple"
HISTORY = simulate_clinic(SimulationConfig(n_clients=40), seed=13)

_likert = st.integers(0, 4)
SAC = st.fixed_dictionaries(
    {
        **{str(i): st.integers(1, 5) for i in range(1, 7)},
        **{str(i): _likert for i in range(7, 11)},
    }
).map(lambda a: {k: v for k, v in a.items() if k != "8" or a["7"] > 0})  # 8 asked if 7 > 0
PHQ9 = st.fixed_dictionaries({str(i): st.integers(0, 3) for i in range(1, 10)})
GAD7 = st.fixed_dictionaries({str(i): st.integers(0, 3) for i in range(1, 8)})


def _login(app: Any, username: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=True)
    client.__enter__()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers[CSRF_HEADER] = response.json()["csrf_token"]
    return client


def _expected(admin: TestClient) -> tuple[int | None, Any]:
    """The current snapshot's id and compute_feedback on the clinic's export with it (None
    and None before the clinic's first scored session)."""
    current = admin.get("/api/v1/clinic/norms/current")
    if current.status_code == 404:
        return None, None
    assert current.status_code == 200, current.text
    body = current.json()
    norms = ClinicNorms.from_dict(body["document"])
    assert norms.version == body["version"]
    export = admin.get("/api/v1/exports/session-scores.csv")
    assert export.status_code == 200
    frame = pd.read_csv(io.StringIO(export.text))
    if frame.empty:
        return int(body["id"]), None
    result = compute_feedback(frame, alliance=norms.alliance, outcomes=norms.outcomes, norms=norms)
    return int(body["id"]), result


def _by_client(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        out.setdefault(str(record["client_id"]), []).append(record)
    return out


class ServiceFeedback(RuleBasedStateMachine):
    """Live submissions to one fresh clinic of a shared database."""

    database_url: str = ""
    clients = Bundle("clients")

    @initialize()
    def open_clinic(self) -> None:
        settings = Settings(
            database_url=self.database_url,
            secret_key=secrets.token_urlsafe(32),
            base_url="http://testserver",
            login_rate_limit=10_000,
            token_rate_limit=10_000,
            norms_check_seconds=0,
        )
        self.app = create_app(settings)
        tag = secrets.token_hex(4)
        history = HISTORY.responses[HISTORY.responses["instrument"].isin(["sac", "phq9"])]
        with transaction(self.app.state.bordin.sessions) as db:
            clinic = actions.create_clinic(db, actor=None, name=f"Clinic {tag}")
            users = {
                role: actions.create_user(
                    db,
                    actor=None,
                    clinic_id=clinic.id,
                    username=f"{role}-{tag}@test",
                    password=PASSWORD,
                    role=role,
                )
                for role in ("admin", "therapist")
            }
            therapist_id = users["therapist"].id
            imported = actions.import_responses(
                db,
                actor=None,
                clinic_id=clinic.id,
                responses=history.astype({"instrument": str}),
                therapists=dict.fromkeys(history["therapist_id"].astype(str), therapist_id),
            )
        self.admin = _login(self.app, f"admin-{tag}@test")
        self.therapist = _login(self.app, f"therapist-{tag}@test")
        self.anonymous = TestClient(self.app)
        self.anonymous.__enter__()
        self.ids: dict[str, int] = dict(imported)
        self.new = 0

    @rule(target=clients)
    def add_client(self) -> str:
        self.new += 1
        code = f"k-{self.new}"
        response = self.therapist.post(
            "/api/v1/clients", json={"code": code, "opened_on": "2026-01-05"}
        )
        assert response.status_code == 201, response.text
        self.ids[code] = int(response.json()["id"])
        return code

    @rule(
        code=clients,
        sac=SAC,
        phq9=PHQ9,
        gad7=st.none() | GAD7,
        day=st.integers(0, 300),
    )
    def answer_a_session(
        self, code: str, sac: dict[str, int], phq9: dict[str, int], gad7: Any, day: int
    ) -> None:
        client_id = self.ids[code]
        on = date.fromordinal(date(2026, 1, 5).toordinal() + day).isoformat()
        session = self.therapist.post(f"/api/v1/clients/{client_id}/sessions", json={"date": on})
        assert session.status_code == 201, session.text
        instruments = ["sac", "phq9"] + (["gad7"] if gad7 is not None else [])
        link = self.therapist.post(
            f"/api/v1/sessions/{session.json()['id']}/form-requests",
            json={"instruments": instruments},
        )
        assert link.status_code == 201, link.text
        before_id, _ = _expected(self.admin)
        others_before = self._signals(exclude=client_id)
        answers = {"sac": sac, "phq9": phq9} | ({"gad7": gad7} if gad7 is not None else {})
        sent = self.anonymous.post(
            f"/api/v1/forms/{link.json()['token']}", json={"answers": answers}
        )
        assert sent.status_code == 201, sent.text
        after_id, _ = _expected(self.admin)
        if after_id == before_id:  # no refit: nobody else's feedback moved
            assert self._signals(exclude=client_id) == others_before

    @rule()
    def refresh_norms(self) -> None:
        response = self.admin.post("/api/v1/clinic/norms/refresh")
        assert response.status_code == 201, response.text

    def _signals(self, *, exclude: int) -> dict[int, Any]:
        signals, _ = self._stored()
        return {
            cid: [(s.kind, s.session, s.data, s.norms_id) for s in found]
            for cid, found in signals.items()
            if cid != exclude
        }

    @invariant()
    def service_equals_engine(self) -> None:
        snapshot_id, result = _expected(self.admin)
        assert result is not None and snapshot_id is not None
        sessions = _by_client(result.records("sessions"))
        ruptures = _by_client(result.records("ruptures"))
        summaries = _by_client(result.records("clients"))
        alerts = _merged_alerts(result.alerts, self.ids)
        stored_signals, stored_alerts = self._stored()
        for code, cid in self.ids.items():
            stored = stored_signals.get(cid, [])
            assert {s.norms_id for s in stored} <= {snapshot_id}
            by_kind: dict[str, list[Any]] = {"session": [], "rupture": [], "summary": []}
            for signal in stored:
                by_kind[signal.kind].append(signal.data)
            assert by_kind["session"] == sessions.get(code, []), code
            assert by_kind["rupture"] == ruptures.get(code, []), code
            assert by_kind["summary"] == summaries.get(code, []), code
            expected = {
                (kind, session): values
                for (owner, kind, session), values in alerts.items()
                if owner == cid
            }
            got = {(a.kind, a.session): a for a in stored_alerts.get(cid, [])}
            assert set(got) == set(expected), code
            for key, values in expected.items():
                for field in ("severity", "priority", "title", "explanation"):
                    assert getattr(got[key], field) == values[field], (code, key, field)
                assert json.dumps(got[key].evidence, sort_keys=True) == json.dumps(
                    values["evidence"], sort_keys=True
                )
                assert got[key].norms_id == snapshot_id

    @invariant()
    def stored_scores_equal_scoring_the_items(self) -> None:
        """The scores a submission stored equal ``score_responses`` on the item export."""
        items = self.admin.get("/api/v1/exports/item-responses.csv")
        scores = self.admin.get("/api/v1/exports/session-scores.csv")
        assert items.status_code == scores.status_code == 200
        stored = pd.read_csv(io.StringIO(scores.text))
        expected = score_responses(pd.read_csv(io.StringIO(items.text)))
        key = ["client_id", "session"]
        stored = stored.sort_values(key).reset_index(drop=True)
        expected = expected.sort_values(key).reset_index(drop=True)
        columns = sorted(c for c in expected.columns if c not in ("therapist_id", "date"))
        assert sorted(c for c in stored.columns if c not in ("therapist_id", "date")) == columns
        pd.testing.assert_frame_equal(
            stored[columns], expected[columns], check_dtype=False, rtol=0, atol=0
        )

    def _stored(self) -> tuple[dict[int, list[Signal]], dict[int, list[Alert]]]:
        """Every client's stored signals (in stored order) and active alerts."""
        signals: dict[int, list[Signal]] = {}
        alerts: dict[int, list[Alert]] = {}
        ids = list(self.ids.values())
        with self.app.state.bordin.sessions() as db:
            for signal in db.scalars(
                select(Signal).where(Signal.client_id.in_(ids)).order_by(Signal.id)
            ):
                signals.setdefault(signal.client_id, []).append(signal)
            for alert in db.scalars(
                select(Alert).where(Alert.client_id.in_(ids), Alert.active.is_(True))
            ):
                alerts.setdefault(alert.client_id, []).append(alert)
        return signals, alerts

    def teardown(self) -> None:
        for client in (getattr(self, n, None) for n in ("admin", "therapist", "anonymous")):
            if client is not None:
                client.__exit__(None, None, None)
        if hasattr(self, "app"):
            self.app.state.bordin.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_service_feedback_equals_the_engine_on_the_export(empty_database: str) -> None:
    machine = type("Machine", (ServiceFeedback,), {"database_url": empty_database})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=8,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
