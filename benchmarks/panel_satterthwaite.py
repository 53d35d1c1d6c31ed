"""Benchmark: Satterthwaite df of the lagged model at registry scale, Bordin vs lmerTest (issue 20).

Simulates the panel of ``benchmarks/panel.py`` (50,000 clients, about 600,000 session rows),
then in one run:

- Bordin in this process: prepares and fits the model (``fit_lmm``) and times the
  Satterthwaite step alone (``infer_fixed_effects``) and the conditional modes
  (``predict_random_effects``); then times the whole ``bordin panel --json`` process, which
  now includes both.
- R (when Rscript is on PATH): ``Rscript benchmarks/panel_lmertest.R``, which times lme4's fit
  and lmerTest's Satterthwaite step (``as_lmerModLmerTest`` + ``summary``) separately, and
  the whole process.

Prints each time, the ratios of the Satterthwaite steps and of the whole processes, and
whether the df agree with lmerTest's (rtol 1e-4: both sides' optimisers differ at ~1e-5).
Without Rscript the R side is skipped with a message and the exit code is 0.

Usage: python benchmarks/panel_satterthwaite.py [--clients 50000] [--seed 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from panel import _run, simulate  # noqa: E402

from bordin.analytics.multilevel import (  # noqa: E402
    fit_lmm,
    infer_fixed_effects,
    predict_random_effects,
    prepare_lagged_design,
)
from bordin.errors import BordinWarning  # noqa: E402

DF_RTOL = 1e-4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the files in DIR.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bordin-satt-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "panel.csv"
    simulate(args.clients, args.seed).to_csv(csv, index=False)
    frame = pd.read_csv(csv)
    print(f"data: {args.clients} clients, {len(frame)} rows")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BordinWarning)
        t0 = time.perf_counter()
        lagged = prepare_lagged_design(frame, alliance="alliance", outcome="outcome")
        fit = fit_lmm(lagged.design)
        t1 = time.perf_counter()
        inference = infer_fixed_effects(lagged.design, fit)
        t2 = time.perf_counter()
        predict_random_effects(lagged.design, fit, client_labels=lagged.client_labels)
        t3 = time.perf_counter()
    satt_b = t2 - t1
    print(f"bordin: fit {t1 - t0:.2f} s, Satterthwaite {satt_b:.2f} s, ranef {t3 - t2:.2f} s")
    for term, df in zip(inference.terms, inference.df, strict=True):
        print(f"  {term:<18} df = {df:.2f}")

    bordin = shutil.which("bordin", path=str(Path(sys.executable).parent)) or "bordin"
    cmd = [bordin, "panel", str(csv), "--alliance", "alliance", "--outcome", "outcome", "--json"]
    wall_b, code_b, _, err_b, _ = _run(cmd, work)
    if code_b != 0:
        sys.exit(f"bordin panel failed:\n{err_b}")
    print(f"bordin panel --json (fit, Satterthwaite, ranef): {wall_b:.2f} s wall")

    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found: lmerTest timing skipped")
        return
    out_json = work / "lmertest.json"
    r_cmd = [rscript, str(HERE / "panel_lmertest.R"), str(csv), str(out_json)]
    wall_r, code_r, _, err_r, _ = _run(r_cmd, work)
    if code_r != 0:
        print(f"Rscript failed (lme4 and lmerTest installed?):\n{err_r}")
        return
    ref = json.loads(out_json.read_text(encoding="utf-8"))
    satt_r = ref["satterthwaite_seconds"]
    print(
        f"Rscript lme4 + lmerTest {ref['lmerTest']}: {wall_r:.2f} s wall "
        f"(lmer {ref['fit_seconds']:.2f} s, Satterthwaite {satt_r:.2f} s)"
    )
    print(f"ratio Satterthwaite step bordin/lmerTest = {satt_b / satt_r:.3f}")
    print(f"ratio whole process bordin/R = {wall_b / wall_r:.3f}")
    ours = dict(zip(inference.terms, inference.df, strict=True))
    theirs = dict(zip(ref["terms"], ref["df"], strict=True))
    bad = [t for t in theirs if not np.isclose(ours[t], theirs[t], rtol=DF_RTOL, atol=0.0)]
    if bad:
        print("df DIFFER from lmerTest:")
        for t in bad:
            print(f"  {t}: {ours[t]:.4f} vs {theirs[t]:.4f}")
    else:
        print(f"df agree with lmerTest (rtol {DF_RTOL:g})")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
