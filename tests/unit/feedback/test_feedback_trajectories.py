"""Expected recovery curves on log(session) and not-on-track colours (Finch et al., 2001)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bordin.feedback import FeedbackConfig, compute_feedback, fit_curve_norm, load_norms
from bordin.feedback._prepare import prepare_scores
from bordin.feedback.outcomes import assess_outcome
from support.tolerances import CLOSED_FORM_RTOL

C_TRUE, D_TRUE, SIGMA_TRUE = -0.5, -0.15, 1.5


def _clinic(n_clients: int, n_sessions: int = 8, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clients):
        y1 = rng.uniform(8, 25)
        for t in range(1, n_sessions + 1):
            lt = np.log(t)
            y = y1 + (C_TRUE + D_TRUE * y1) * lt + SIGMA_TRUE * np.sqrt(lt) * rng.normal()
            rows.append({"client_id": c, "session": t, "sac_total": 4.0, "phq9_total": y})
    return pd.DataFrame(rows)


def test_weighted_fit_equals_least_squares_on_the_transformed_design() -> None:
    frame = _clinic(60)
    prepared = prepare_scores(frame, alliance="sac", outcomes=("phq9",))
    out = assess_outcome(prepared, "phq9", FeedbackConfig())
    norm = fit_curve_norm(out, prepared, source="test")
    f = frame.merge(
        frame[frame["session"] == 1][["client_id", "phq9_total"]].rename(
            columns={"phq9_total": "y1"}
        ),
        on="client_id",
    )
    f = f[f["session"] >= 2]
    lt = np.log(f["session"].to_numpy(float))
    y1 = f["y1"].to_numpy()
    w = (f["phq9_total"].to_numpy() - y1) / np.sqrt(lt)
    z = np.column_stack([np.sqrt(lt), y1 * np.sqrt(lt)])
    beta, *_ = np.linalg.lstsq(z, w, rcond=None)
    resid = w - z @ beta
    np.testing.assert_allclose(norm.coef, beta, rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(
        norm.sigma, np.sqrt(resid @ resid / (len(w) - 2)), rtol=CLOSED_FORM_RTOL
    )
    np.testing.assert_allclose(norm.xtx_inv, np.linalg.inv(z.T @ z), rtol=1e-8)
    assert norm.df == len(w) - 2


def test_fit_recovers_the_generating_curve() -> None:
    frame = _clinic(400, seed=2)
    prepared = prepare_scores(frame, alliance="sac", outcomes=("phq9",))
    norm = fit_curve_norm(assess_outcome(prepared, "phq9", FeedbackConfig()), prepared, source="")
    se = np.sqrt(np.diag(np.array(norm.xtx_inv))) * norm.sigma
    assert abs(norm.coef[0] - C_TRUE) < 4 * se[0]
    assert abs(norm.coef[1] - D_TRUE) < 4 * se[1]
    assert norm.sigma == pytest.approx(SIGMA_TRUE, rel=0.05)


def test_clinic_curve_at_session_t_uses_sessions_up_to_t_only() -> None:
    frame = _clinic(220, seed=3)
    result = compute_feedback(frame, outcomes=("phq9",))
    s = result.sessions
    assert (s.loc[s["session"] >= 2, "phq9_curve_source"] == "clinic").all()
    t = 4
    sub = frame[frame["session"] <= t]
    prepared = prepare_scores(sub, alliance="sac", outcomes=("phq9",))
    norm = fit_curve_norm(assess_outcome(prepared, "phq9", FeedbackConfig()), prepared, source="")
    row = s[(s["session"] == t)].iloc[7]
    y1, lt = row["phq9_intake"], np.log(t)
    expected = (norm.coef[0] + norm.coef[1] * y1) * lt
    z = np.array([np.sqrt(lt), y1 * np.sqrt(lt)])
    lev = z @ np.array(norm.xtx_inv) @ z
    upper = expected + stats.t.ppf(
        FeedbackConfig().not_on_track_level, norm.df
    ) * norm.sigma * np.sqrt(lt * (1 + lev))
    np.testing.assert_allclose(row["phq9_expected"], expected, rtol=1e-9)
    np.testing.assert_allclose(row["phq9_limit"], upper, rtol=1e-9)


def test_small_clinic_uses_the_bundled_norms_and_says_so() -> None:
    frame = _clinic(20)
    result = compute_feedback(frame, outcomes=("phq9",))
    s = result.sessions
    assert set(s.loc[s["session"] >= 2, "phq9_curve_source"]) == {"norms"}
    assert "simulated" in result.curve_sources["phq9"]
    norm = load_norms()["phq9"]
    row = s[s["session"] == 5].iloc[0]
    assert row["phq9_expected"] == pytest.approx(
        (norm.coef[0] + norm.coef[1] * row["phq9_intake"]) * np.log(5)
    )


def _colour_clinic(target: list[float]) -> pd.DataFrame:
    frame = _clinic(250, seed=4)
    rows = [
        {"client_id": "target", "session": i + 1, "sac_total": 4.0, "phq9_total": y}
        for i, y in enumerate(target)
    ]
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


@pytest.mark.parametrize(
    ("target", "colour"),
    [
        ([18, 19, 22, 24], "red"),  # getting worse: far above the expected curve
        ([18, 15, 12, 9], "white"),  # now below the caseness cutoff (10)
        ([18, 17, 16, 13], "green"),  # better than the expected curve
    ],
)
def test_colours(target: list[float], colour: str) -> None:
    result = compute_feedback(_colour_clinic(target), outcomes=("phq9",))
    row = result.clients.set_index("client_id").loc["target"]
    assert row["colour"] == colour
    assert row["phq9_colour"] == colour


def test_yellow_is_worse_than_expected_but_within_the_limit() -> None:
    result = compute_feedback(_colour_clinic([18, 17, 16, 15.5]), outcomes=("phq9",))
    s = result.sessions
    row = s[(s["client_id"] == "target") & (s["session"] == 4)].iloc[0]
    assert row["phq9_intake"] + row["phq9_expected"] < 15.5 < row["phq9_intake"] + row["phq9_limit"]
    assert row["phq9_colour"] == "yellow"
    # yellow is a colour, not an alert (FeedbackConfig.yellow_alert, docs/alert-validity.md)
    assert not any(a.client_id == "target" and a.kind == "not_on_track" for a in result.alerts)
    counted = compute_feedback(
        _colour_clinic([18, 17, 16, 15.5]),
        outcomes=("phq9",),
        config=FeedbackConfig(yellow_alert=True),
    )
    alert = next(a for a in counted.alerts if a.client_id == "target" and a.kind == "not_on_track")
    assert alert.severity == "moderate"


def test_red_alert_explains_the_numbers_and_suggests_a_review() -> None:
    result = compute_feedback(_colour_clinic([18, 19, 22, 24]), outcomes=("phq9",))
    alert = next(a for a in result.alerts if a.client_id == "target" and a.kind == "not_on_track")
    assert alert.severity == "high"
    assert "24" in alert.explanation and "18" in alert.explanation
    assert alert.evidence["limit"] < 24
    assert any("Review progress with the client" in s for s in alert.suggestions)
    assert any("Finch" in r for r in alert.references)


def test_level_of_the_prediction_limit_is_a_parameter() -> None:
    frame = _colour_clinic([18, 17, 16, 15.5])
    narrow = compute_feedback(frame, outcomes=("phq9",), config=FeedbackConfig())
    wide = compute_feedback(
        frame, outcomes=("phq9",), config=FeedbackConfig(not_on_track_level=0.99)
    )
    assert (wide.sessions["phq9_limit"].dropna() > narrow.sessions["phq9_limit"].dropna()).all()
    assert (
        narrow.sessions["phq9_colour"].eq("red").sum()
        > wide.sessions["phq9_colour"].eq("red").sum()
    )


def test_no_colour_at_intake() -> None:
    result = compute_feedback(_clinic(5, n_sessions=1), outcomes=("phq9",))
    assert result.sessions["phq9_colour"].isna().all()
