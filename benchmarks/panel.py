"""Benchmark: `bordin panel` against lme4 on a registry-scale panel (issue 5).

Simulates 50,000 clients (about 600,000 session rows) with a small generator of its own,
writes the CSV, then times the whole `bordin panel ... --json` process (start-up, reading,
preparation, fit) and `Rscript benchmarks/panel_lme4.R` doing the same (when Rscript is on
PATH). Prints both wall times, the ratio (goal: Bordin at most half of lme4's time), whether
the estimates agree (issue 5 tolerances) and the peak memory of each child process.

Usage: python benchmarks/panel.py [--clients 50000] [--seed 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def simulate(n_clients: int, seed: int) -> pd.DataFrame:
    """A lagged alliance-outcome panel with known effects, vectorised over clients."""
    rng = np.random.default_rng(seed)
    n_sessions = rng.integers(6, 19, size=n_clients)  # mean 12 sessions
    client = np.repeat(np.arange(n_clients), n_sessions)
    starts = np.r_[0, np.cumsum(n_sessions)[:-1]]
    session = np.arange(client.size) - np.repeat(starts, n_sessions) + 1
    therapist = rng.integers(0, 500, size=n_clients)[client]
    mean_a = rng.normal(5.0, 0.6, n_clients)[client]
    u0 = rng.normal(0.0, 0.8, n_clients)[client]
    u1 = rng.normal(0.0, 0.4, n_clients)[client]
    alliance = mean_a + rng.normal(0.0, 0.5, client.size)
    noise = rng.normal(0.0, 1.5, client.size)
    outcome = np.empty(client.size)
    first = session == 1
    outcome[first] = rng.normal(15.0, 4.0, int(first.sum()))
    # outcome[t+1] = 3 + 0.7 outcome[t] - (0.9 + u1)(a[t] - mean) - 0.5 (mean - 5) + u0 + e,
    # stepped forward one session at a time over all clients at once.
    for t in range(1, int(n_sessions.max())):
        now = np.flatnonzero((session == t) & (session < np.repeat(n_sessions, n_sessions)))
        outcome[now + 1] = (
            3.0
            + 0.7 * outcome[now]
            - (0.9 + u1[now]) * (alliance[now] - mean_a[now])
            - 0.5 * (mean_a[now] - 5.0)
            + u0[now]
            + noise[now]
        )
    # A few missed sessions (a missing session breaks the pair) and missing alliance ratings.
    keep = rng.random(client.size) > 0.03
    alliance[rng.random(client.size) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "client_id": np.char.add("c", client.astype(str)),
            "therapist_id": np.char.add("t", therapist.astype(str)),
            "session": session,
            "alliance": np.round(alliance, 4),
            "outcome": np.round(outcome, 4),
        }
    )[keep]


def _run(cmd: list[str], work: Path) -> tuple[float, int, str, str, int]:
    """Run ``cmd``: wall seconds, exit code, stdout, stderr and its peak RSS in kB.

    ``os.wait4`` returns the resource usage of that one child (its ru_maxrss), so each
    command's peak memory is its own.
    """
    out_path, err_path = work / "stdout.txt", work / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    return (
        wall,
        code,
        out_path.read_text(encoding="utf-8"),
        err_path.read_text(encoding="utf-8"),
        usage.ru_maxrss,
    )


def _agree(ours: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    """Differences beyond the issue 5 tolerances (empty when the estimates agree)."""
    problems = []
    for t, b in ref["fixed"].items():
        if abs(ours["fixed"][t] - b) > 1e-5 * (abs(b) + ref["se"][t]):
            problems.append(f"fixed {t}: {ours['fixed'][t]} vs {b}")
        if abs(ours["se"][t] - ref["se"][t]) > 1e-5 * ref["se"][t]:
            problems.append(f"se {t}: {ours['se'][t]} vs {ref['se'][t]}")
    for key in ("sd_intercept", "sd_slope", "sd_residual"):
        if abs(ours[key] - ref[key]) > 1e-4 * ref[key]:
            problems.append(f"{key}: {ours[key]} vs {ref[key]}")
    if abs(ours["corr"] - ref["corr"]) > 1e-4:
        problems.append(f"corr: {ours['corr']} vs {ref['corr']}")
    if abs(ours["loglik"] - ref["loglik"]) > 1e-4:
        problems.append(f"loglik: {ours['loglik']} vs {ref['loglik']}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the files in DIR.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bordin-panel-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "panel.csv"
    frame = simulate(args.clients, args.seed)
    frame.to_csv(csv, index=False)
    print(f"data: {args.clients} clients, {len(frame)} rows ({csv.stat().st_size / 1e6:.1f} MB)")

    bordin = shutil.which("bordin", path=str(Path(sys.executable).parent)) or "bordin"
    cmd = [bordin, "panel", str(csv), "--alliance", "alliance", "--outcome", "outcome", "--json"]
    wall_b, code_b, out_b, err_b, peak_b = _run(cmd, work)
    if code_b != 0:
        sys.exit(f"bordin panel failed:\n{err_b}")
    ours = json.loads(out_b)
    print(f"bordin panel: {wall_b:.2f} s wall, peak memory {peak_b / 1024:.0f} MB")
    print(
        f"  n_obs={ours['n_obs']} within={ours['fixed']['alliance_within']:.6f} "
        f"loglik={ours['loglik']:.4f} converged={ours['converged']}"
    )
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found: lme4 timing skipped")
        return
    out_json = work / "lme4.json"
    r_cmd = [rscript, str(HERE / "panel_lme4.R"), str(csv), str(out_json)]
    wall_r, code_r, _, err_r, peak_r = _run(r_cmd, work)
    if code_r != 0:
        sys.exit(f"Rscript failed:\n{err_r}")
    ref = json.loads(out_json.read_text(encoding="utf-8"))
    print(
        f"Rscript lme4:  {wall_r:.2f} s wall (lmer itself {ref['fit_seconds']:.2f} s), "
        f"peak memory {peak_r / 1024:.0f} MB"
    )
    print(f"ratio bordin/lme4 = {wall_b / wall_r:.2f} (goal <= 0.50)")
    problems = _agree(ours, ref)
    print("estimates agree with lme4" if not problems else "estimates DIFFER:")
    for p in problems:
        print("  " + p)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
