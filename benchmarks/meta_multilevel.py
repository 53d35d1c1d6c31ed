"""Benchmark: the three-level model of ``bordin meta-multilevel`` against R's metafor rma.mv.

Simulates (seeded) ``--clusters`` clusters with ``--k`` effect sizes in all (sizes 2 to
2 k / J - 2, uniform), a moderator, and effects
:math:`y_{ij} = 0.3 + 0.1 x_{ij} + u_i + w_{ij} + e_{ij}` with
:math:`\\sigma^2_1 = 0.05`, :math:`\\sigma^2_2 = 0.02` and sampling variances 0.01-0.1,
writes them to a CSV and times, in the same run:

* Bordin: ``fit_multilevel_meta`` (REML, with the moderator) and ``robust_cr2``
  (CR2 + Satterthwaite df + HTZ), and separately ``sigma2_confint`` (profile likelihood);
* when ``Rscript`` with metafor and clubSandwich is on the PATH, the same calls in R on the
  same file, timed inside R (package loading excluded): ``rma.mv(yi, vi, mods = ~ x,
  random = ~ 1 | cluster/effect, sparse = TRUE)`` (metafor's sparse-matrix mode, its fastest
  for this size; the default dense mode works on 5,000-by-5,000 matrices and did not finish
  in 15 minutes on the development machine) with ``robust(res, cluster = cluster,
  clubSandwich = TRUE)``; and ``confint(res)`` (skipped with ``--no-r-confint``: it refits
  the model dozens of times). R is stopped after ``--r-limit`` seconds; the fit's times are
  written before ``confint`` starts, so they are reported even then.

It prints each time, the ratio Bordin / metafor, and the largest relative difference of the
variance components and coefficients, as a check that both did the same work. Without R it
prints Bordin's times and says that metafor was not run.

Usage: python benchmarks/meta_multilevel.py [--k 5000] [--clusters 500] [--seed 20]
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

from bordin.analytics.meta_analysis import fit_multilevel_meta, robust_cr2, sigma2_confint

R_SCRIPT = r"""
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})
args <- commandArgs(TRUE); path <- args[1]; do_ci <- args[2] == "1"; out <- args[3]
d <- read.csv(path)
t0 <- proc.time()[["elapsed"]]
res <- rma.mv(yi, vi, mods = ~ x, random = ~ 1 | cluster/effect, data = d, sparse = TRUE)
fit_s <- proc.time()[["elapsed"]] - t0
t0 <- proc.time()[["elapsed"]]
rob <- robust(res, cluster = d$cluster, clubSandwich = TRUE)
robust_s <- proc.time()[["elapsed"]] - t0
# Written before confint() so that a run stopped by the time limit still reports the fit.
writeLines(toJSON(list(fit_seconds = fit_s, robust_seconds = robust_s, sigma2 = res$sigma2,
                       beta = as.numeric(res$beta), robust_df = as.numeric(rob$dfs)),
                  digits = NA, auto_unbox = TRUE), file.path(out, "fit.json"))
if (do_ci) {
  t0 <- proc.time()[["elapsed"]]
  ci <- confint(res)
  writeLines(toJSON(list(ci_seconds = proc.time()[["elapsed"]] - t0), digits = NA,
                    auto_unbox = TRUE), file.path(out, "ci.json"))
}
"""


def simulate(k: int, clusters: int, seed: int) -> pd.DataFrame:
    """``clusters`` clusters of 2 or more effects, ``k`` effects in all."""
    rng = np.random.default_rng(seed)
    mean = k / clusters
    sizes = rng.integers(2, max(3, int(2 * mean - 1)), size=clusters)
    # Adjust to exactly k effects, keeping every cluster at 2 or more.
    while sizes.sum() != k:
        i = int(rng.integers(clusters))
        if sizes.sum() > k and sizes[i] > 2:
            sizes[i] -= 1
        elif sizes.sum() < k:
            sizes[i] += 1
    cluster = np.repeat(np.arange(1, clusters + 1), sizes)
    effect = np.concatenate([np.arange(1, s + 1) for s in sizes])
    x = rng.normal(size=k)
    vi = rng.uniform(0.01, 0.1, size=k)
    u = rng.normal(0, np.sqrt(0.05), size=clusters)[cluster - 1]
    w = rng.normal(0, np.sqrt(0.02), size=k)
    yi = 0.3 + 0.1 * x + u + w + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"cluster": cluster, "effect": effect, "x": x, "yi": yi, "vi": vi})


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
    return best, value


def run_r(path: Path, with_ci: bool, folder: Path, limit: float) -> dict[str, Any] | None:
    """metafor's times (None without Rscript); ``ci_seconds`` None if confint did not end."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    script = folder / "bench_meta_multilevel.R"
    script.write_text(R_SCRIPT)
    try:
        done = subprocess.run(
            [rscript, str(script), str(path), "1" if with_ci else "0", str(folder)],
            capture_output=True,
            text=True,
            check=False,
            timeout=limit,
        )
        if done.returncode != 0:
            print(f"  metafor failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
    except subprocess.TimeoutExpired:
        print(f"  metafor stopped at the time limit ({limit:.0f} s)")
    if not (folder / "fit.json").is_file():
        return None
    result: dict[str, Any] = json.loads((folder / "fit.json").read_text())
    ci = folder / "ci.json"
    result["ci_seconds"] = json.loads(ci.read_text())["ci_seconds"] if ci.is_file() else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-r-confint", action="store_true", help="skip confint() in R")
    parser.add_argument("--r-limit", type=float, default=900.0, help="seconds before R is stopped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "effects.csv"
        simulate(args.k, args.clusters, args.seed).to_csv(path, index=False)

        def fit() -> Any:
            data = pd.read_csv(path)
            res = fit_multilevel_meta(
                data["yi"],
                data["vi"],
                list(data["cluster"]),
                effect=list(data["effect"]),
                mods=data[["x"]],
            )
            return res, robust_cr2(res)

        fit_s, (res, rob) = best_of(args.repeat, fit)
        ci_s, _ = best_of(1, lambda: sigma2_confint(res))
        print(f"k = {args.k:,} effects in {args.clusters:,} clusters (REML, one moderator)")
        print(f"  Bordin fit + CR2       {fit_s * 1000:10.1f} ms")
        print(f"  Bordin profile CIs     {ci_s * 1000:10.1f} ms")
        ref = run_r(path, not args.no_r_confint, folder, args.r_limit)
        if ref is None:
            why = "Rscript not found" if shutil.which("Rscript") is None else "R did not finish"
            print(f"  metafor                (not run: {why})")
            return
        diff = max(
            float(np.max(np.abs(res.sigma2 - ref["sigma2"]) / np.abs(ref["sigma2"]))),
            float(np.max(np.abs(res.coef - ref["beta"]) / np.abs(ref["beta"]))),
            float(np.max(np.abs(rob.df - ref["robust_df"]) / np.abs(ref["robust_df"]))),
        )
        r_fit = ref["fit_seconds"] + ref["robust_seconds"]
        print(
            f"  metafor fit + robust   {r_fit * 1000:10.1f} ms   "
            f"ratio Bordin/metafor {fit_s / r_fit:8.4f}"
        )
        print(
            f"    (rma.mv {ref['fit_seconds'] * 1000:.1f} ms, "
            f"robust/clubSandwich {ref['robust_seconds'] * 1000:.1f} ms)"
        )
        if ref["ci_seconds"] is not None:
            print(
                f"  metafor confint        {ref['ci_seconds'] * 1000:10.1f} ms   "
                f"ratio Bordin/metafor {ci_s / ref['ci_seconds']:8.4f}"
            )
        elif not args.no_r_confint:
            print(f"  metafor confint        (did not finish within {args.r_limit:.0f} s)")
        print(f"  largest relative difference (sigma2, beta, robust df): {diff:.1e}")


if __name__ == "__main__":
    main()
