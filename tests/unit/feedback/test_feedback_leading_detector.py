"""The leading rupture detector: the adaptive one by default, the fixed-constant one on
request; what a therapist sees (ruptures, repairs, alerts) comes from the one that leads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.feedback import FeedbackConfig, compute_feedback, detect_ruptures
from bordin.simulate import SimulationConfig, simulate_clinic

OUTCOMES = ("phq9", "gad7")
FIXED = FeedbackConfig(rupture_detector="bordin", adaptive_in_norms=False)
#: What the engine reported before the adaptive detector led.
FIXED_RUNS = [
    ("bordin", "total"),
    ("sd_k1", "total"),
    ("sd_k2", "total"),
    ("items", "total"),
    ("sd_k1", "bond"),
    ("sd_k1", "goal"),
    ("sd_k1", "task"),
    ("sd_k2", "bond"),
    ("sd_k2", "goal"),
    ("sd_k2", "task"),
]


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return simulate_clinic(SimulationConfig(n_clients=150), seed=11).scores


def _runs(ruptures: pd.DataFrame) -> list[tuple[str, str]]:
    pairs = ruptures[["detector", "scale"]].astype(str).itertuples(index=False, name=None)
    return list(dict.fromkeys(pairs))


def test_the_adaptive_detector_leads_by_default(scores: pd.DataFrame) -> None:
    config = FeedbackConfig()
    assert config.rupture_detector == "adaptive" and config.adaptive_in_norms
    result = compute_feedback(scores, outcomes=OUTCOMES)
    assert _runs(result.ruptures)[:2] == [("adaptive", "total"), ("bordin", "total")]
    lead = detect_ruptures(scores, norms=result.norms)  # the default detector: adaptive
    expected = detect_ruptures(scores, detector="adaptive", norms=result.norms)
    pd.testing.assert_frame_equal(lead, expected)
    table = result.ruptures
    shown = table[(table["detector"] == "adaptive") & (table["scale"] == "total")]
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), lead.reset_index(drop=True), check_categorical=False
    )
    sessions = result.sessions
    onsets = sessions.loc[sessions["rupture_onset"], ["client_id", "session"]]
    assert len(onsets) == len(lead)
    assert (sessions["rupture_onset"] <= sessions["rupture_adaptive"]).all()
    # the evidence shown is the posterior probability of a rupture; none (NaN) at a session
    # number with too few residuals for the mixture, where a drop of 2 residual SDs flags
    flagged = sessions[sessions["rupture_adaptive"]]
    evidence = flagged["alliance_evidence"]
    assert evidence.dropna().between(0, 1).all()
    fallback = set(flagged.loc[evidence.isna(), "session"])
    unfitted = ~np.isfinite(result.norms.rupture_model["total"].threshold)
    assert fallback <= set(np.flatnonzero(unfitted))
    clients = result.clients.set_index("client_id")
    per_client = lead.groupby(lead["client_id"].astype(str)).size()
    assert (clients.loc[per_client.index, "ruptures"] == per_client).all()
    alerts = [a for a in result.alerts if a.kind.startswith("rupture")]
    assert alerts, "the simulated clinic shows rupture alerts"
    for alert in alerts:
        probability = alert.evidence["rupture_probability"]
        assert "evidence_score" not in alert.evidence
        if probability is None:
            assert "too few ratings at this session number" in alert.explanation
        else:
            assert 0 <= probability <= 1
            assert "probability that a drop like this is a rupture" in alert.explanation
        assert any("Dempster" in r for r in alert.references)
    assert result.to_json_dict()["config"]["rupture_detector"] == "adaptive"


def test_the_fixed_constant_detector_restores_the_previous_feedback(
    scores: pd.DataFrame,
) -> None:
    result = compute_feedback(scores, outcomes=OUTCOMES, config=FIXED)
    assert _runs(result.ruptures) == FIXED_RUNS
    assert not result.norms.rupture_model
    fixed = detect_ruptures(scores, detector="bordin", config=FIXED)
    assert detect_ruptures(scores, config=FIXED).equals(fixed)
    table = result.ruptures
    shown = table[(table["detector"] == "bordin") & (table["scale"] == "total")]
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), fixed.reset_index(drop=True), check_categorical=False
    )
    assert "rupture_adaptive" not in result.sessions.columns
    alerts = [a for a in result.alerts if a.kind.startswith("rupture")]
    assert alerts and all("evidence_score" in a.evidence for a in alerts)
    assert not any(any("Dempster" in r for r in a.references) for a in alerts)
    # the fixed-constant detector may lead while the adaptive one is reported beside it
    both = compute_feedback(
        scores, outcomes=OUTCOMES, config=FeedbackConfig(rupture_detector="bordin")
    )
    assert _runs(both.ruptures)[:2] == [("bordin", "total"), ("adaptive", "total")]
    np.testing.assert_array_equal(
        both.sessions["alliance_evidence"], result.sessions["alliance_evidence"]
    )
    assert [a.to_dict() for a in both.alerts] == [a.to_dict() for a in result.alerts]


def test_a_client_judged_alone_against_the_clinic_norms_gets_the_clinic_s_feedback(
    scores: pd.DataFrame,
) -> None:
    clinic = compute_feedback(scores, outcomes=OUTCOMES)
    assert clinic.norms.rupture_model  # fitted into the norms by default
    ids = clinic.ruptures.loc[clinic.ruptures["detector"] == "adaptive", "client_id"]
    for client in ids.astype(str).unique()[:5]:
        alone = compute_feedback(
            scores[scores["client_id"].astype(str) == client],
            outcomes=OUTCOMES,
            norms=clinic.norms,
        )
        mine = clinic.sessions[clinic.sessions["client_id"].astype(str) == client]
        pd.testing.assert_frame_equal(
            alone.sessions.reset_index(drop=True),
            mine.reset_index(drop=True),
            check_categorical=False,
        )


def test_norms_without_a_rupture_model_fit_it_on_the_frame_and_say_so(
    scores: pd.DataFrame,
) -> None:
    norms = compute_feedback(scores, outcomes=OUTCOMES).norms
    old = dataclasses.replace(norms, rupture_model={})
    assert old.lacks_rupture_model and not norms.lacks_rupture_model
    result = compute_feedback(scores, outcomes=OUTCOMES, norms=old)
    assert any("no adaptive rupture model" in note for note in result.notes)
    # fitted on the whole clinic's frame, the model is the one the norms would carry
    again = compute_feedback(scores, outcomes=OUTCOMES, norms=norms)
    pd.testing.assert_frame_equal(result.ruptures, again.ruptures)


def test_an_unknown_leading_detector_is_refused() -> None:
    with pytest.raises(InputError, match="leading rupture detector"):
        FeedbackConfig(rupture_detector="sd_k1")  # type: ignore[arg-type]


def test_a_clinic_too_small_for_the_model_still_sees_a_deep_drop() -> None:
    """A new clinic of three clients has no residual scale for the adaptive detector at any
    session number; the published 2-SD criterion stands in, so a deep fall is flagged."""
    rows = []
    for client, level in (("a", 5.0), ("b", 5.5), ("c", 4.5)):
        for session in range(1, 7):
            value = level + (0.2 if session % 2 else -0.2)
            if client == "a" and session == 5:
                value = level - 3.0  # a fall of 3 points on a 0-10 scale
            rows.append(
                {
                    "client_id": client,
                    "therapist_id": "t1",
                    "session": session,
                    "date": pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=session),
                    "sac_total": value,
                }
            )
    scores = pd.DataFrame(rows)
    lead = detect_ruptures(scores)
    assert np.isnan(
        detect_ruptures(scores, detector="adaptive")["evidence"].to_numpy(dtype=float)
    ).all()
    assert list(zip(lead["client_id"], lead["onset"], strict=True)) == [("a", 5)]
    result = compute_feedback(scores, outcomes=())
    alerts = [a for a in result.alerts if a.kind.startswith("rupture")]
    assert alerts and "too few ratings" in alerts[0].explanation
    # a client alone against the clinic's norms (the service's path) gets the same
    for client in ("a", "b", "c"):
        alone = detect_ruptures(scores[scores["client_id"] == client], norms=result.norms)
        mine = lead[lead["client_id"] == client]
        assert list(alone["onset"]) == list(mine["onset"])
