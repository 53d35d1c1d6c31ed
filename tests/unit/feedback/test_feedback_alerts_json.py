"""Alerts (content, ordering) and the JSON output against its schema."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pandas as pd
import pytest

import bordin.feedback as feedback
from bordin.feedback import ALERT_KINDS, FeedbackResult, compute_feedback
from bordin.feedback.content import REFERENCES, SUGGESTIONS
from bordin.simulate import SimulationConfig, simulate_clinic


@pytest.fixture(scope="module")
def result() -> FeedbackResult:
    clinic = simulate_clinic(SimulationConfig(n_clients=150), seed=42)
    return compute_feedback(clinic.scores, outcomes=("phq9", "gad7"))


def _schema() -> dict:
    text = resources.files("bordin.feedback").joinpath("feedback.schema.json").read_text()
    return json.loads(text)


def test_json_output_matches_the_schema(result: FeedbackResult) -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(json.dumps(result.to_json_dict(), allow_nan=False))
    jsonschema.Draft202012Validator(schema).validate(document)
    compact = json.loads(json.dumps(result.to_json_dict(include_sessions=False)))
    jsonschema.Draft202012Validator(schema).validate(compact)
    assert compact["sessions"] is None


def test_schema_rejects_a_malformed_alert(result: FeedbackResult) -> None:
    document = json.loads(json.dumps(result.to_json_dict(include_sessions=False)))
    assert document["alerts"], "the simulated clinic should raise alerts"
    document["alerts"][0]["severity"] = "urgent"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_schema()).validate(document)


def test_every_alert_has_numbers_explanation_suggestions_and_references(
    result: FeedbackResult,
) -> None:
    kinds = {a.kind for a in result.alerts}
    assert {"rupture_open", "rupture_unrepaired", "not_on_track"} <= kinds
    for alert in result.alerts:
        assert alert.kind in ALERT_KINDS
        assert alert.explanation and alert.title
        assert alert.suggestions and alert.references
        assert alert.evidence
        assert all(ref in REFERENCES.values() for ref in alert.references)
    priorities = [a.priority for a in result.alerts]
    assert priorities == sorted(priorities, reverse=True)


def test_alerts_describe_each_clients_latest_session(result: FeedbackResult) -> None:
    last = result.clients.set_index("client_id")["last_session"]
    for alert in result.alerts:
        assert alert.session == last[alert.client_id]


def test_rupture_suggestions_fit_component_and_marker(result: FeedbackResult) -> None:
    ruptures = [a for a in result.alerts if a.kind.startswith("rupture")]
    for alert in ruptures:
        component, marker = alert.evidence["component"], alert.evidence["marker"]
        assert (
            alert.suggestions[: len(SUGGESTIONS[f"rupture_{component}"])]
            == SUGGESTIONS[f"rupture_{component}"]
        )
        if marker in ("withdrawal", "confrontation"):
            assert set(SUGGESTIONS[f"marker_{marker}"]) <= set(alert.suggestions)
    bond = next(a for a in ruptures if a.evidence["component"] == "bond")
    text = " ".join(bond.suggestions)
    assert "relationship" in text and "Empathise" in text and "your part" in text
    goal_task = [a for a in ruptures if a.evidence["component"] in ("goal", "task")]
    assert all("renegotiate" in " ".join(a.suggestions) for a in goal_task)
    assert any("Eubanks" in r for r in bond.references)


def test_client_table_orders_a_caseload(result: FeedbackResult) -> None:
    clients = result.clients
    assert clients["client_id"].is_unique
    assert set(clients["rupture_code"]) <= {"none", "open", "repaired", "unrepaired"}
    top = {a.client_id: a.priority for a in reversed(result.alerts)}
    for row in clients.itertuples():
        assert row.priority == top.get(row.client_id, 0)
    assert (clients["n_alerts"] >= (clients["priority"] > 0)).all()


def test_alerts_frame_and_summary(result: FeedbackResult) -> None:
    frame = result.alerts_frame()
    assert len(frame) == len(result.alerts)
    assert list(frame.columns[:5]) == ["client_id", "session", "kind", "severity", "priority"]
    text = result.summary()
    assert "Ruptures (adaptive detector)" in text and "alert(s)" in text
    pd.testing.assert_frame_equal(result.to_frame(), result.clients)


def test_public_api_is_listed() -> None:
    assert feedback.__all__ == sorted(feedback.__all__)
    assert "compute_feedback" in feedback.__all__ and "detect_ruptures" in feedback.__all__


def test_docs_carry_the_shipped_schema() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[3] / "docs" / "feedback.md"
    text = docs.read_text(encoding="utf-8")
    block = text.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(block) == _schema()
