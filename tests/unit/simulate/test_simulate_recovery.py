"""The simulated data honour their parameters (rates, effects), within sampling error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.simulate import SimulatedClinic, SimulationConfig, simulate_clinic

# Every check below is |observed - expected| <= Z * standard error: with a fixed seed the test
# is deterministic, and Z = 4 keeps a correct generator from failing by chance (p < 1e-4)
# while a wrong rate or coefficient of any practical size is far outside it.
Z = 4.0

NO_DROPOUT = {
    "dropout_hazard": 1e-12,
    "dropout_alliance_log_odds": 0.0,
    "dropout_early_alliance_log_odds": 0.0,
    "dropout_open_rupture_log_odds": 0.0,
}


@pytest.fixture(scope="module")
def big() -> SimulatedClinic:
    return simulate_clinic(SimulationConfig(n_clients=3000), seed=2024)


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients and their classical standard errors."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    sigma2 = resid @ resid / (len(y) - x.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(x.T @ x)))
    return beta, se


def _lagged(clinic: SimulatedClinic) -> pd.DataFrame:
    truth = clinic.truth.merge(
        clinic.clients[["client_id", "intake_severity", "expected_improvement"]], on="client_id"
    )
    nxt = truth.groupby("client_id")["severity"].shift(-1)
    return truth.assign(severity_next=nxt).dropna(subset=["severity_next"])


def test_rupture_onsets_match_the_hazards(big: SimulatedClinic) -> None:
    hazard = big.truth["rupture_hazard"].dropna()
    observed = len(big.ruptures)
    expected = hazard.sum()
    se = np.sqrt((hazard * (1 - hazard)).sum())
    assert abs(observed - expected) <= Z * se
    # Sessions at risk: attended, from session 2, no rupture open, not a repair session.
    assert big.truth.loc[big.truth["session"] == 1, "rupture_hazard"].isna().all()


def test_rupture_rate_equals_its_setting_without_moderators() -> None:
    config = SimulationConfig(
        n_clients=2000,
        rupture_rate=0.1,
        rupture_attachment_log_odds=0.0,
        therapist_rupture_sd=0.0,
    )
    clinic = simulate_clinic(config, seed=7)
    at_risk = int(clinic.truth["rupture_hazard"].notna().sum())
    rate = len(clinic.ruptures) / at_risk
    assert abs(rate - 0.1) <= Z * np.sqrt(0.1 * 0.9 / at_risk)
    np.testing.assert_allclose(clinic.truth["rupture_hazard"].dropna(), 0.1, rtol=1e-12)


def test_component_and_marker_shares_equal_their_settings(big: SimulatedClinic) -> None:
    r = big.ruptures
    n = len(r)
    for share, setting in (
        ((r["marker"] == "withdrawal").mean(), big.config.rupture_withdrawal_probability),
        ((r["component"] == "bond").mean(), big.config.rupture_bond_probability),
        ((r["component"] == "goal").mean(), (1 - big.config.rupture_bond_probability) / 2),
    ):
        assert abs(share - setting) <= Z * np.sqrt(setting * (1 - setting) / n)
    # Gamma depth with the set mean and shape (coefficient of variation 1/sqrt(shape)).
    mean, shape = big.config.rupture_depth_mean, big.config.rupture_depth_shape
    assert abs(r["depth"].mean() - mean) <= Z * mean / np.sqrt(shape * n)


def test_repair_rate_equals_its_setting() -> None:
    config = SimulationConfig(
        n_clients=2000,
        sessions_min=16,
        sessions_max=16,
        therapist_responsiveness_sd=0.0,
        repair_probability=0.55,
        **NO_DROPOUT,
    )
    clinic = simulate_clinic(config, seed=3)
    r = clinic.ruptures
    observed = r[~r["censored"] & (r["onset_session"] + config.repair_window <= 16)]
    n = len(observed)
    assert n > 1000
    assert abs(observed["repaired"].mean() - 0.55) <= Z * np.sqrt(0.55 * 0.45 / n)


def test_repairs_follow_their_probabilities_with_responsive_therapists() -> None:
    config = SimulationConfig(n_clients=2000, sessions_min=16, sessions_max=16, **NO_DROPOUT)
    r = simulate_clinic(config, seed=4).ruptures
    r = r[r["onset_session"] + config.repair_window <= 16]
    p = r["repair_probability"]
    assert abs(r["repaired"].sum() - p.sum()) <= Z * np.sqrt((p * (1 - p)).sum())
    # Therapists differ: the probabilities spread around the setting.
    assert p.std() > 0.05


def test_feedback_raises_repair() -> None:
    config = SimulationConfig(
        n_clients=3000, feedback_trial=True, sessions_min=16, sessions_max=16, **NO_DROPOUT
    )
    clinic = simulate_clinic(config, seed=8)
    arms = clinic.clients["arm"]
    share = (arms == "feedback").mean()
    assert abs(share - 0.5) <= Z * np.sqrt(0.25 / len(arms))
    r = clinic.ruptures.merge(clinic.clients[["client_id", "arm"]], on="client_id")
    r = r[r["onset_session"] + config.repair_window <= 16]
    fb = r.loc[r["arm"] == "feedback", "repaired"]
    nofb = r.loc[r["arm"] == "no_feedback", "repaired"]
    diff = fb.mean() - nofb.mean()
    se = np.sqrt(fb.var() / len(fb) + nofb.var() / len(nofb))
    assert diff > Z * se
    # And the difference is what the log-odds setting implies, on the arms' own probabilities.
    expected = (
        r.loc[r["arm"] == "feedback", "repair_probability"].mean()
        - r.loc[r["arm"] == "no_feedback", "repair_probability"].mean()
    )
    assert abs(diff - expected) <= Z * se


def test_dropout_matches_the_hazards(big: SimulatedClinic) -> None:
    hazard = big.truth["dropout_hazard"].dropna()
    observed = int(big.clients["dropped_out"].sum())
    expected = hazard.sum()
    assert abs(observed - expected) <= Z * np.sqrt((hazard * (1 - hazard)).sum())
    # No one drops out after their planned last session.
    last = big.truth["session"] == big.truth["client_id"].map(
        big.clients.set_index("client_id")["planned_sessions"]
    )
    assert big.truth.loc[last, "dropout_hazard"].isna().all()


def test_dropout_rate_equals_its_setting_without_moderators() -> None:
    config = SimulationConfig(
        n_clients=3000,
        sessions_min=10,
        sessions_max=10,
        dropout_hazard=0.04,
        dropout_alliance_log_odds=0.0,
        dropout_early_alliance_log_odds=0.0,
        dropout_open_rupture_log_odds=0.0,
    )
    clients = simulate_clinic(config, seed=9).clients
    # Nine chances to leave (after sessions 1-9): P(dropout) = 1 - 0.96^9.
    p = 1 - 0.96**9
    assert abs(clients["dropped_out"].mean() - p) <= Z * np.sqrt(p * (1 - p) / len(clients))
    # Per-session hazard from the survival counts.
    at_risk = (clients["sessions_attended"].clip(upper=9)).sum()
    rate = clients["dropped_out"].sum() / at_risk
    assert abs(rate - 0.04) <= Z * np.sqrt(0.04 * 0.96 / at_risk)


def test_dropout_is_more_likely_with_open_ruptures_and_weak_alliance(big: SimulatedClinic) -> None:
    t = big.truth.dropna(subset=["dropout_hazard"])
    left = t["dropout_after"]
    assert left[t["rupture_open"]].mean() > 1.5 * left[~t["rupture_open"]].mean()
    weak = t["alliance_total"] < t["alliance_total"].quantile(0.25)
    assert left[weak].mean() > 1.5 * left[~weak].mean()


def test_within_client_regression_recovers_the_lagged_alliance_effect(
    big: SimulatedClinic,
) -> None:
    cfg = big.config
    centres = big.parameters["true_effects"]["moderation"]
    d = _lagged(big)
    adh = d["adherence"] - centres["adherence_centre"]
    centred = d["alliance_total"] - centres["alliance_centre"]
    x = np.column_stack(
        [
            d["severity"],
            d["alliance_deviation"],
            d["alliance_trait_total"] - cfg.alliance_mean,
            adh,
            adh * centred,
            d["intake_severity"] - d["expected_improvement"],
        ]
    )
    beta, se = _ols(d["severity_next"].to_numpy(), x)
    truth = [
        cfg.severity_ar,
        cfg.within_effect,
        cfg.between_effect,
        cfg.adherence_effect,
        cfg.adherence_alliance_interaction,
        1 - cfg.severity_ar,
    ]
    for name, b, s, t in zip(
        ["ar", "within", "between", "adherence", "interaction", "target"],
        beta,
        se,
        truth,
        strict=True,
    ):
        assert abs(b - t) <= Z * s, (name, b, s, t)
    # Precise enough to mean something: the within effect to about a tenth of a point.
    assert se[1] < 0.05


def test_per_client_slopes_are_the_effect_actually_used(big: SimulatedClinic) -> None:
    cfg = big.config
    slopes = big.clients["within_effect"]
    n = len(slopes)
    assert abs(slopes.mean() - cfg.within_effect) <= Z * cfg.within_effect_sd / np.sqrt(n)
    assert abs(slopes.std() - cfg.within_effect_sd) <= Z * cfg.within_effect_sd / np.sqrt(2 * n)
    # The residual of the generating equation, with each client's own slope, is pure noise.
    centres = big.parameters["true_effects"]["moderation"]
    d = _lagged(big)
    adh = d["adherence"] - centres["adherence_centre"]
    predicted = (
        cfg.severity_ar * d["severity"]
        + (1 - cfg.severity_ar) * (d["intake_severity"] - d["expected_improvement"])
        + d["within_effect"] * d["alliance_deviation"]
        + cfg.between_effect * (d["alliance_trait_total"] - cfg.alliance_mean)
        + cfg.adherence_effect * adh
        + cfg.adherence_alliance_interaction
        * adh
        * (d["alliance_total"] - centres["alliance_centre"])
    )
    resid = d["severity_next"] - predicted
    assert abs(resid.mean()) <= Z * cfg.severity_noise_sd / np.sqrt(len(resid))
    assert resid.std() == pytest.approx(cfg.severity_noise_sd, rel=0.03)


def test_observed_phq9_tracks_latent_severity(big: SimulatedClinic) -> None:
    severity = big.truth["severity"]
    observed = big.scores["phq9_total"]
    mid = severity.between(4, 20)
    slope, intercept = np.polyfit(severity[mid], observed[mid], 1)
    assert slope == pytest.approx(1.0, abs=0.05)
    assert intercept == pytest.approx(0.0, abs=0.6)


def test_observed_lagged_effect_has_the_right_sign_and_size(big: SimulatedClinic) -> None:
    # On observed scores with person-mean centring (what `bordin panel` does), the within
    # effect is attenuated by item noise but keeps its sign and order of magnitude.
    s = big.scores.copy()
    s["mean"] = s.groupby("client_id")["sac_total"].transform("mean")
    s["within"] = s["sac_total"] - s["mean"]
    s["next"] = s.groupby("client_id")["phq9_total"].shift(-1)
    d = s.dropna(subset=["next"])
    x = np.column_stack([np.ones(len(d)), d["phq9_total"], d["within"], d["mean"]])
    beta, se = _ols(d["next"].to_numpy(), x)
    assert beta[2] < -Z * se[2]
    assert big.config.within_effect * 1.5 < beta[2] < big.config.within_effect * 0.2


def test_insecure_attachment_means_weaker_early_alliance_and_more_ruptures(
    big: SimulatedClinic,
) -> None:
    clients = big.clients.set_index("client_id")
    first = big.scores[big.scores["session"] == 1].set_index("client_id")
    insecurity = clients.loc[first.index, "attachment_insecurity"]
    assert np.corrcoef(insecurity, first["sac_total"])[0, 1] < -0.1
    counts = big.ruptures.groupby("client_id").size().reindex(clients.index, fill_value=0)
    per_session = counts / clients["sessions_attended"]
    high = clients["attachment_insecurity"] > 1
    low = clients["attachment_insecurity"] < -1
    assert per_session[high].mean() > 1.3 * per_session[low].mean()
    # Alliance forms: early sessions sit below the trait level, later ones do not.
    gap = big.truth.groupby("session")["formation_gap"].mean()
    assert gap.loc[1] > 0.2 and gap.loc[8] < 0.05


def test_ruptures_are_visible_but_not_trivial(big: SimulatedClinic) -> None:
    # A drop from the previous session of k SDs of session-to-session change: k = 1 catches
    # most ruptures with many false alarms, k = 2 fewer ruptures but more precisely.
    s = big.scores
    change = s.groupby("client_id")["sac_total"].diff()
    sd = change.std()
    onset = big.truth["rupture_onset"].to_numpy()
    recall, precision = {}, {}
    for k in (1, 2):
        flag = (-change >= k * sd).to_numpy()
        hits = (flag & onset).sum()
        recall[k], precision[k] = hits / onset.sum(), hits / flag.sum()
    assert 0.5 < recall[1] < 0.9 and precision[1] < 0.6
    assert recall[2] < recall[1] - 0.15 and precision[2] > precision[1] + 0.15
    assert recall[2] > 0.15
