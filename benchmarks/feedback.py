"""Benchmark: every feedback signal for a clinic of 1,000,000 sessions.

Simulates a clinic with Bordin's simulator until it has at least the requested number of
sessions (then keeps exactly that many, whole clients), writes the wide session-scores CSV
(``bordin score`` output: sac total, subscales and rupture items, PHQ-9 with item 9,
GAD-7), and times, in the same run:

* ``pandas.read_csv`` -- the reference: the time just to load the data;
* ``compute_feedback`` -- all signals (the clinic norms with the adaptive rupture
  detector's fit, six rupture detectors on the total and the SD
  criteria on each subscale, repairs, ceiling, early alliance, outcome status and expected
  curves for PHQ-9 and GAD-7, risk, alerts and the client table);
* ``fit_clinic_norms`` -- the norms alone (``bordin norms fit``; the service's refresh);
* ``compute_feedback`` given those norms -- every signal judged against stored norms
  (``bordin feedback --norms``; what the service computes).

and prints them and their ratios to the loading time; the goal is <= 1. Each is
timed ``--repeat`` times and the best time is reported. The first ``compute_feedback`` call
in a process also loads the compiled kernels (compiling them if their on-disk cache is
missing); it is timed and printed apart.

Usage: python benchmarks/feedback.py [--sessions 1000000] [--seed 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from bordin.feedback import compute_feedback, fit_clinic_norms
from bordin.simulate import SimulationConfig, simulate_clinic


def build(n_sessions: int, seed: int) -> pd.DataFrame:
    """Simulated session scores with exactly ``n_sessions`` rows (whole clients)."""
    n_clients = max(10, int(n_sessions / 11))
    scores = simulate_clinic(SimulationConfig(n_clients=n_clients), seed=seed).scores
    while len(scores) < n_sessions:
        n_clients = int(n_clients * 1.2 * n_sessions / len(scores)) + 10
        scores = simulate_clinic(SimulationConfig(n_clients=n_clients), seed=seed).scores
    counts = scores.groupby("client_id", observed=True, sort=False).size()
    keep = counts.index[counts.cumsum().to_numpy() <= n_sessions]
    scores = scores[scores["client_id"].isin(keep)]
    return scores.drop(columns=["adherence"], errors="ignore").reset_index(drop=True)


def best_of(repeat: int, func: object) -> tuple[float, float, object]:
    """Best wall-clock and best CPU time over ``repeat`` runs, and the last value."""
    wall, cpu, value = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = func()  # type: ignore[operator]
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    scores = build(args.sessions, args.seed)
    print(
        f"simulated {len(scores):,} sessions of {scores['client_id'].nunique():,} clients "
        f"in {time.perf_counter() - start:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scores.csv"
        scores.to_csv(path, index=False)
        size = path.stat().st_size / 1e6
        load, load_cpu, frame = best_of(args.repeat, lambda: pd.read_csv(path))
    if not isinstance(frame, pd.DataFrame):
        raise SystemExit("reading the CSV failed")
    start = time.perf_counter()
    compute_feedback(frame, alliance="sac", outcomes=("phq9", "gad7"))
    first_call = time.perf_counter() - start

    def signals() -> object:
        """Every signal, with the sessions and client tables built as frames (the result
        builds them on first access; the timing includes them)."""
        result = compute_feedback(frame, alliance="sac", outcomes=("phq9", "gad7"))
        _ = result.sessions, result.clients
        return result

    compute, compute_cpu, result = best_of(args.repeat, signals)
    fit, fit_cpu, norms = best_of(
        args.repeat,
        lambda: fit_clinic_norms(frame, alliance="sac", outcomes=("phq9", "gad7")),
    )

    def judged() -> object:
        """Every signal against the norms just fitted, tables built."""
        given = compute_feedback(frame, alliance="sac", outcomes=("phq9", "gad7"), norms=norms)
        _ = given.sessions, given.clients
        return given

    with_norms, with_norms_cpu, _ = best_of(args.repeat, judged)
    start, start_cpu = time.perf_counter(), time.process_time()
    n_alerts = len(result.alerts)  # type: ignore[attr-defined]
    texts, texts_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"CSV: {size:.0f} MB, {len(frame):,} rows x {frame.shape[1]} columns")
    print("                                    wall      cpu")
    print(f"load (pandas.read_csv, reference): {load:7.3f}s {load_cpu:7.3f}s")
    print(f"compute_feedback (all signals, tables built): {compute:7.3f}s {compute_cpu:7.3f}s")
    print(f"fit_clinic_norms (the norms alone):  {fit:7.3f}s {fit_cpu:7.3f}s")
    print(f"compute_feedback, norms given:       {with_norms:7.3f}s {with_norms_cpu:7.3f}s")
    print(f"alert texts ({n_alerts:,} alerts, lazy): {texts:7.3f}s {texts_cpu:7.3f}s")
    print(f"first call in this process:        {first_call:7.3f}s   (loads the compiled kernels)")
    print(
        f"ratio feedback / load:             {compute / load:7.2f}  {compute_cpu / load_cpu:7.2f}"
        "   (goal <= 1)"
    )
    print(
        f"ratio norms given / load:          {with_norms / load:7.2f}  "
        f"{with_norms_cpu / load_cpu:7.2f}   (goal <= 1)"
    )


if __name__ == "__main__":
    main()
