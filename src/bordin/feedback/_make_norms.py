"""Make the bundled expected-recovery norms (``norms.json``) from simulated clinics.

Run ``python -m bordin.feedback._make_norms`` to regenerate. The norms are what a clinic
without enough data of its own is compared with; they come from Bordin's simulator
(:func:`bordin.simulate.simulate_clinic` with its default parameters), not from real
clients, and the feedback output says so whenever they are used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bordin.feedback._prepare import prepare_scores
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.outcomes import assess_outcome
from bordin.feedback.trajectories import fit_curve_norm

__all__ = ["make_norms"]

_SEED = 20260101
_N_CLIENTS = 5000
OUTCOMES = ("phq9", "gad7")


def make_norms(*, n_clients: int = _N_CLIENTS, seed: int = _SEED) -> dict[str, Any]:
    """Fit the expected-recovery model on one large simulated clinic for each outcome."""
    from bordin.simulate import SimulationConfig, simulate_clinic

    clinic = simulate_clinic(SimulationConfig(n_clients=n_clients), seed=seed)
    prepared = prepare_scores(clinic.scores, alliance="sac", outcomes=OUTCOMES)
    config = FeedbackConfig()
    source = (
        f"norms derived from {n_clients} simulated clients (Bordin simulator, default "
        f"parameters, seed {seed}), not from real clients"
    )
    norms = {
        oid: fit_curve_norm(assess_outcome(prepared, oid, config), prepared, source=source)
        for oid in OUTCOMES
    }
    return {
        "provenance": {
            "command": "python -m bordin.feedback._make_norms",
            "simulator": "bordin.simulate.simulate_clinic(SimulationConfig("
            f"n_clients={n_clients}), seed={seed})",
            "model": "y_t - y_1 = (c + d * y_1) * log(t), Var = sigma^2 * log(t), WLS",
        },
        "norms": {k: v.to_dict() for k, v in norms.items()},
    }


if __name__ == "__main__":
    target = Path(__file__).with_name("norms.json")
    target.write_text(json.dumps(make_norms(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target.name}")
