"""Benchmark: one client's recompute, as the service runs it after every form submission.

Simulates a clinic with Bordin's simulator, fits its norms (``fit_clinic_norms``, sac with
PHQ-9 and GAD-7), and takes one client's first ``--rows`` sessions laid out as the service
lays them out (identifying columns from object arrays, session numbers as int64, every score
column as float64; ``storage.actions`` builds the same frame from stored scores). Then times,
in the same run:

* ``pandas.DataFrame(columns)`` -- the reference: building that few-row frame, a unit of
  pandas' fixed cost per call;
* ``compute_feedback(frame, norms=norms)`` -- every signal of that client against the
  stored norms (no clinic-wide fit).

and prints both per call and their ratio (recompute / reference). On a few rows the
recompute's cost is pandas' and numba's per-call overhead, not arithmetic: the ratio shows
how many frame constructions' worth of it the engine pays. Each is timed ``--repeat``
times (``--calls`` calls each) and the best is reported.

Usage: python benchmarks/feedback_client.py [--rows 6] [--clients 300] [--seed 11]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bordin.feedback import compute_feedback, fit_clinic_norms
from bordin.simulate import SimulationConfig, simulate_clinic

ID_COLUMNS = ("client_id", "therapist_id", "session", "date")
OUTCOMES = ("phq9", "gad7")


def client_columns(scores: pd.DataFrame, rows: int) -> dict[str, np.ndarray]:
    """The first ``rows`` sessions of the first client who has that many, as the columns
    the service builds its frame from."""
    sizes = scores.groupby("client_id", observed=True, sort=False).size()
    client = sizes.index[sizes.to_numpy() >= rows][0]
    mine = scores[scores["client_id"] == client].sort_values("session").head(rows)
    data: dict[str, np.ndarray] = {
        "client_id": np.array([str(v) for v in mine["client_id"]], dtype=object),
        "therapist_id": np.array([str(v) for v in mine["therapist_id"]], dtype=object),
        "session": mine["session"].to_numpy(dtype=np.int64),
        "date": np.array([str(v)[:10] for v in mine["date"]], dtype=object),
    }
    for column in sorted(set(mine.columns) - set(ID_COLUMNS)):
        data[column] = mine[column].to_numpy(dtype=np.float64)
    return data


def per_call(repeat: int, calls: int, func: Callable[[], Any]) -> float:
    """Best time per call in microseconds over ``repeat`` runs of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            func()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    clinic = simulate_clinic(SimulationConfig(n_clients=args.clients), seed=args.seed).scores
    clinic = clinic.drop(columns=["adherence"], errors="ignore")
    norms = fit_clinic_norms(clinic, alliance="sac", outcomes=OUTCOMES)
    columns = client_columns(clinic, args.rows)
    frame = pd.DataFrame(columns)

    def recompute() -> object:
        return compute_feedback(frame, alliance="sac", outcomes=OUTCOMES, norms=norms)

    result = recompute()  # loads the compiled kernels
    for _ in range(args.calls // 10):  # warm up
        recompute()
    reference = per_call(args.repeat, args.calls, lambda: pd.DataFrame(columns))
    compute = per_call(args.repeat, args.calls, recompute)
    print(
        f"one client: {len(frame)} rows x {frame.shape[1]} columns, "
        f"{len(result.ruptures)} rupture event(s); norms fitted on {args.clients} clients"
    )
    print(f"pandas.DataFrame(columns) (reference): {reference:8.1f} us per call")
    print(f"compute_feedback(frame, norms=norms):  {compute:8.1f} us per call")
    print(f"ratio recompute / reference:           {compute / reference:8.1f}")


if __name__ == "__main__":
    main()
