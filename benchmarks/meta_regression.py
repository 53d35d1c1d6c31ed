"""Benchmark: meta-regression with several moderators and predictions, Bordin vs metafor.

Simulates k studies of standardised mean differences (two continuous moderators, ``year``
and ``dose``, and a three-level categorical one, ``arm``; residual tau = 0.15; group sizes
10-200), writes them to a CSV and times, in the same run:

* ``pandas.read_csv`` -- the floor: the time just to load the data;
* Bordin: ``escalc`` (SMD from means and SDs), ``rma(mods = ~ year + dose + arm, method =
  "REML", test = "knha")`` with R^2 (which refits the model without moderators) and
  ``predict`` at 3 sets of moderator values;
* when ``Rscript`` with metafor is on the PATH, the same calls in metafor on the same file,
  timed inside R (package loading excluded), for k <= ``--r-max-k`` (metafor forms k-by-k
  matrices: with the tight convergence used here it takes ~30 s at k = 1,000 and ~5 min at
  k = 2,000 on the shared 2-core machine). Without R the metafor part is skipped with a
  message.

It prints each time, the ratio Bordin / metafor, and the largest relative difference of the
coefficients, tau^2, QM, R^2 and predictions, as a check that both did the same work.

Usage: python benchmarks/meta_regression.py [--k 1000 5000 50000] [--repeat 3] [--seed 20]
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

from bordin.analytics.meta_analysis import compute_group_effect_sizes, fit_meta_regression

NEWMODS = [
    {"year": 1990, "dose": 8, "arm": "cbt"},
    {"year": 2005, "dose": 12, "arm": "ipt"},
    {"year": 2020, "dose": 20, "arm": "pdt"},
]

R_SCRIPT = r"""
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(TRUE); path <- args[1]; repeat_n <- as.integer(args[2])
best <- Inf
for (i in seq_len(repeat_n)) {
  t0 <- proc.time()[["elapsed"]]
  d <- read.csv(path)
  es <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
               n2i = n2i, data = d)
  res <- rma(yi, vi, mods = ~ year + dose + arm, data = es, method = "REML", test = "knha",
             control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))
  X.new <- rbind(c(1990, 8, 0, 0), c(2005, 12, 1, 0), c(2020, 20, 0, 1))
  pr <- predict(res, newmods = X.new)
  best <- min(best, proc.time()[["elapsed"]] - t0)
}
cat(toJSON(list(seconds = best, b = as.numeric(res$b), tau2 = res$tau2, QM = res$QM,
                R2 = res$R2, pred = as.numeric(pr$pred)), digits = NA, auto_unbox = TRUE))
"""


def simulate(k: int, seed: int) -> pd.DataFrame:
    """k two-group studies; the true SMD depends on year, dose and arm."""
    rng = np.random.default_rng(seed)
    year = rng.integers(1980, 2025, size=k)
    dose = rng.integers(4, 25, size=k)
    arm = rng.choice(["cbt", "ipt", "pdt"], size=k)
    delta = (
        0.3
        + 0.005 * (year - 2000)
        + 0.01 * dose
        + np.select([arm == "ipt", arm == "pdt"], [-0.1, 0.05], 0.0)
        + rng.normal(0.0, 0.15, size=k)
    )
    n1 = rng.integers(10, 201, size=k)
    n2 = rng.integers(10, 201, size=k)
    m1 = np.array([rng.normal(d, 1, size=n).mean() for d, n in zip(delta, n1, strict=True)])
    m2 = np.array([rng.normal(0, 1, size=n).mean() for n in n2])
    sd1 = np.sqrt(rng.chisquare(n1 - 1) / (n1 - 1))
    sd2 = np.sqrt(rng.chisquare(n2 - 1) / (n2 - 1))
    return pd.DataFrame(
        {
            "m1i": m1.round(4), "sd1i": sd1.round(4), "n1i": n1,
            "m2i": m2.round(4), "sd2i": sd2.round(4), "n2i": n2,
            "year": year, "dose": dose, "arm": arm,
        }
    )  # fmt: skip


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
    return best, value


def bordin(path: Path) -> tuple[Any, Any]:
    data = pd.read_csv(path)
    es = compute_group_effect_sizes(data, measure="SMD")
    res = fit_meta_regression(
        es.yi, es.vi, data[["year", "dose", "arm"]], method="REML", test="knha"
    )
    return res, res.predict(NEWMODS)


def run_r(path: Path, repeat: int, folder: Path) -> dict[str, Any] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    script = folder / "bench_meta_regression.R"
    script.write_text(R_SCRIPT)
    done = subprocess.run(
        [rscript, str(script), str(path), str(repeat)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(f"  metafor failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _rel(ours: Any, theirs: Any) -> float:
    a, b = np.atleast_1d(np.asarray(ours, dtype=float)), np.atleast_1d(np.asarray(theirs, float))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--r-repeat", type=int, default=1)
    parser.add_argument("--r-max-k", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("Rscript") is None:
        print("Rscript not found: metafor is not timed (install R with metafor to compare)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k in args.k:
            path = folder / f"studies_{k}.csv"
            simulate(k, args.seed).to_csv(path, index=False)
            load, _ = best_of(args.repeat, lambda p=path: pd.read_csv(p))
            seconds, (res, pred) = best_of(args.repeat, lambda p=path: bordin(p))
            print(f"k = {k:,} (escalc SMD + REML/knha mods ~ year + dose + arm + R^2 + predict)")
            print(f"  load CSV (pandas)      {load * 1000:10.1f} ms")
            print(
                f"  Bordin                 {seconds * 1000:10.1f} ms   "
                f"ratio to load {seconds / load:8.1f}"
            )
            if k > args.r_max_k or shutil.which("Rscript") is None:
                why = "k above --r-max-k" if shutil.which("Rscript") else "Rscript not found"
                print(f"  metafor                (not run: {why})")
                continue
            ref = run_r(path, args.r_repeat, folder)
            if ref is None:
                continue
            diff = max(
                _rel(res.coef, ref["b"]),
                _rel(res.tau2, ref["tau2"]),
                _rel(res.qm, ref["QM"]),
                _rel(res.r2, ref["R2"]),
                _rel(pred.pred, ref["pred"]),
            )
            print(
                f"  metafor 3.8 (in R)     {ref['seconds'] * 1000:10.1f} ms   "
                f"ratio Bordin/metafor {seconds / ref['seconds']:.2g}"
            )
            print(f"  agreement: max relative difference {diff:.1e}")


if __name__ == "__main__":
    main()
