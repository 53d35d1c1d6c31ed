"""Warming the scoring and feedback engines before the service takes requests.

The feedback engine's kernels are compiled by numba on first use (from its on-disk cache
after the first run, which still takes a moment per process), and scoring and feedback
import pandas and numba lazily. Without a warm-up the first submission after start-up
pays for all of it. The app's lifespan runs :func:`warm_up_engines` once per process
before uvicorn accepts connections.
"""

from __future__ import annotations

import functools
import time

__all__ = ["warm_up_engines"]


@functools.cache
def warm_up_engines() -> float:
    """Score and compute feedback for a tiny simulated clinic; return the seconds taken.

    Runs once per process (the compiled kernels are per process); later calls return the
    first call's time at once.
    """
    started = time.perf_counter()
    from bordin.feedback import ClinicNorms, compute_feedback
    from bordin.scoring import score_responses
    from bordin.simulate import SimulationConfig, simulate_clinic

    clinic = simulate_clinic(SimulationConfig(n_clients=6), seed=1)
    scores = score_responses(clinic.responses)
    result = compute_feedback(scores, alliance="sac", outcomes=("phq9", "gad7"))
    _ = result.alerts  # alerts are built lazily
    # what a submission runs: one client at a time against the clinic's norms, as records;
    # the norms as fitted and as read back from a stored snapshot, and a snapshot fitted on
    # fewer session numbers than the client has (the adaptive rupture model's parameters
    # are then extended: the kernels see arrays with other flags)
    early = compute_feedback(
        scores[scores["session"] <= 2], alliance="sac", outcomes=("phq9", "gad7")
    ).norms
    stored = [ClinicNorms.from_dict(n.to_dict()) for n in (result.norms, early)]
    for norms in (result.norms, *stored):
        for _client, one in scores.groupby("client_id", sort=True):
            alone = compute_feedback(
                one.reset_index(drop=True),
                alliance="sac",
                outcomes=("phq9", "gad7"),
                norms=norms,
            )
            _ = alone.alerts, alone.records("sessions"), alone.records("clients")
    return time.perf_counter() - started
