"""Benchmark: the whole meta-analysis pipeline of ``bordin meta`` against R's metafor.

Simulates correlation studies (true correlations around r = .278 with tau = 0.1 on the
Fisher z scale, sample sizes 20-2,000, sampling error on the z scale), writes them to a CSV
and times, in the same run:

* ``pandas.read_csv`` -- the floor: the time just to load the data;
* Bordin's pipeline (``analyse_correlations``): escalc (ZCOR), REML fit, Q-profile interval
  for tau^2 and I^2, Egger's test, trim and fill, and leave-one-out (leave-one-out only for
  k <= ``--loo-max-k``: k refits);
* when ``Rscript`` with metafor is on the PATH, the same metafor calls on the same file
  (``escalc``, ``rma(method = "REML")``, ``confint``, ``regtest``, ``trimfill``,
  ``leave1out``), timed inside R (package loading excluded) for k <= ``--r-max-k``:
  metafor forms k-by-k matrices (800 MB each at k = 10,000), so large k is Bordin-only.

It prints each time, the ratio Bordin / metafor (and Bordin / load time), and the largest
relative difference between Bordin's and metafor's estimate, tau^2 and trim-and-fill
estimate, as a check that both did the same work. Times are the best of ``--repeat`` runs
(``--r-repeat``, default 1, for metafor, which takes minutes at k = 300).

Usage: python benchmarks/meta.py [--k 300 10000] [--repeat 3] [--seed 4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bordin.analytics.meta_analysis import analyse_correlations

R_SCRIPT = r"""
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(TRUE); path <- args[1]; loo <- args[2] == "1"; repeat_n <- as.integer(args[3])
best <- Inf
for (i in seq_len(repeat_n)) {
  t0 <- proc.time()[["elapsed"]]
  d <- read.csv(path)
  es <- escalc(measure = "ZCOR", ri = r, ni = n, data = d)
  res <- rma(yi, vi, data = es, method = "REML",
             control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))
  ci <- confint(res, control = list(tol = 1e-12))
  eg <- regtest(res)
  tf <- trimfill(res)
  if (loo) l1 <- leave1out(res)
  best <- min(best, proc.time()[["elapsed"]] - t0)
}
cat(toJSON(list(seconds = best, estimate = as.numeric(res$b), tau2 = res$tau2,
                trimfill = as.numeric(tf$b), k0 = tf$k0), digits = NA, auto_unbox = TRUE))
"""


def simulate(k: int, seed: int) -> pd.DataFrame:
    """k studies: n in 20-2,000 (log-uniform), rho_i = tanh(N(atanh(.278), 0.1^2))."""
    rng = np.random.default_rng(seed)
    n = np.round(np.exp(rng.uniform(np.log(20), np.log(2000), size=k))).astype(int)
    zeta = rng.normal(np.arctanh(0.278), 0.1, size=k)
    z = rng.normal(zeta, 1 / np.sqrt(n - 3))
    return pd.DataFrame({"study": np.arange(1, k + 1), "n": n, "r": np.round(np.tanh(z), 4)})


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
    return best, value


def run_r(path: Path, loo: bool, repeat: int, folder: Path) -> dict[str, Any] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    script = folder / "bench_meta.R"
    script.write_text(R_SCRIPT)
    done = subprocess.run(
        [rscript, str(script), str(path), "1" if loo else "0", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"  metafor failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[300, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--loo-max-k", type=int, default=1000)
    parser.add_argument("--r-max-k", type=int, default=1000)
    parser.add_argument(
        "--r-repeat", type=int, default=1, help="metafor runs (minutes each at k = 300)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k in args.k:
            path = folder / f"studies_{k}.csv"
            simulate(k, args.seed).to_csv(path, index=False)
            loo = k <= args.loo_max_k
            load, frame = best_of(args.repeat, lambda p=path: pd.read_csv(p))

            def pipeline(p: Path = path, loo: bool = loo) -> Any:
                data = pd.read_csv(p)
                return analyse_correlations(
                    data["r"].to_numpy(), data["n"].to_numpy(), with_leave_one_out=loo
                )

            bordin_s, res = best_of(args.repeat, pipeline)
            what = "REML + Q-profile CI + Egger + trim and fill" + (
                " + leave-one-out" if loo else ""
            )
            print(f"k = {k:,} ({what})")
            print(f"  load CSV (pandas)      {load * 1000:10.1f} ms")
            print(
                f"  Bordin pipeline        {bordin_s * 1000:10.1f} ms   "
                f"ratio to load {bordin_s / load:8.1f}"
            )
            ref = run_r(path, loo, args.r_repeat, folder) if k <= args.r_max_k else None
            if ref is None:
                why = (
                    "Rscript not found" if shutil.which("Rscript") is None else "k above --r-max-k"
                )
                print(f"  metafor                (not run: {why})")
                continue
            diff = max(
                abs(res.model.estimate - ref["estimate"]) / abs(ref["estimate"]),
                abs(res.model.tau2 - ref["tau2"]) / abs(ref["tau2"]),
                abs(res.trimfill.estimate - ref["trimfill"]) / abs(ref["trimfill"]),
            )
            print(
                f"  metafor 3.8 (in R)     {ref['seconds'] * 1000:10.1f} ms   "
                f"ratio Bordin/metafor {bordin_s / ref['seconds']:6.3f}"
            )
            print(
                f"  agreement: k0 {res.trimfill.k0} vs {ref['k0']}, "
                f"max relative difference {diff:.1e}"
            )


if __name__ == "__main__":
    main()
