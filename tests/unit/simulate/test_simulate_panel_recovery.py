"""The panel engine (`bordin.analytics.multilevel`) recovers the simulator's true effects.

Fitted on the latent values (truth_sessions): the lagged model of the panel issue,
``outcome[t+1] ~ outcome[t] + alliance_within + alliance_between + (1 + alliance_within |
client)``, with the client's improvement target as a covariate (the generating model's
client-specific equilibrium).
"""

from __future__ import annotations

import pytest

from bordin.analytics.multilevel import fit_lagged_model
from bordin.simulate import SimulationConfig, simulate_clinic

Z = 4.0  # |estimate - truth| <= Z standard errors (fixed seed; see test_simulate_recovery)


def test_lagged_model_recovers_the_true_within_effect() -> None:
    clinic = simulate_clinic(SimulationConfig(n_clients=1000), seed=3)
    cfg = clinic.config
    data = clinic.truth.merge(
        clinic.clients[["client_id", "intake_severity", "expected_improvement"]], on="client_id"
    )
    data["target"] = data["intake_severity"] - data["expected_improvement"]
    fit = fit_lagged_model(
        data, alliance="alliance_total", outcome="severity", covariates=["target"]
    )
    table = fit.to_frame().set_index("term")
    est, se = table["estimate"], table["se"]
    assert abs(est["alliance_within"] - cfg.within_effect) <= Z * se["alliance_within"]
    assert abs(est["outcome"] - cfg.severity_ar) <= Z * se["outcome"]
    assert abs(est["target"] - (1 - cfg.severity_ar)) <= Z * se["target"]
    assert est["sd_residual"] == pytest.approx(cfg.severity_noise_sd, rel=0.05)
    # The panel's between term is the person mean of the latent total, which also carries
    # each client's formation gap and rupture drops, so it is close to, not exactly, the
    # trait effect.
    assert est["alliance_between"] == pytest.approx(cfg.between_effect, rel=0.2)
    assert se["alliance_within"] < 0.1
