"""Benchmark: `bordin report` on a 20,000-client simulated clinic (issue 8).

Simulates the clinic with ``bordin.simulate`` (sac alliance, PHQ-9, adherence), writes the
scores CSV, then times, in this process:

* reading the scores CSV (the reference, measured in the same run), and
* the whole report: reading, every analysis (outcomes, early alliance, lagged model with
  and without trend, moderation, rupture and repair at k = 1 and 2, therapists) and the
  HTML with its figures.

It also times the ``bordin report`` command end to end as a child process (start-up and
imports included). Prints the times, the ratio report / CSV read, and whether the goal
(the report in under a minute) is met.

Usage: python benchmarks/report.py [--clients 20000] [--seed 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()

    from bordin.reports.report import build_report, read_scores, render_html
    from bordin.simulate import SimulationConfig, simulate_clinic

    work = Path(tempfile.mkdtemp(prefix="bordin-report-bench-"))
    try:
        clinic = simulate_clinic(SimulationConfig(n_clients=args.clients), seed=args.seed)
        csv = work / "scores.csv"
        clinic.scores.to_csv(csv, index=False)
        columns = ("sac_total", "phq9_total", "adherence")
        print(f"clinic: {args.clients} clients, {len(clinic.scores)} session rows")

        t0 = time.perf_counter()
        frame = read_scores(csv, columns)
        t_read = time.perf_counter() - t0

        t0 = time.perf_counter()
        frame = read_scores(csv, columns)
        report = build_report(
            frame,
            alliance="sac_total",
            outcome="phq9_total",
            adherence="adherence",
            source=csv.name,
        )
        t_build = time.perf_counter() - t0
        html = render_html(report)
        t_report = time.perf_counter() - t0
        (work / "report.html").write_text(html, encoding="utf-8")

        cmd = [
            sys.executable,
            "-m",
            "bordin",
            "report",
            str(csv),
            "--alliance",
            "sac_total",
            "--outcome",
            "phq9_total",
            "--adherence",
            "adherence",
            "-o",
            str(work / "report_cli.html"),
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "COLUMNS": "100"})
        t_cli = time.perf_counter() - t0

        missing = [s.key for s in report.sections if not s.available]
        print(f"read scores CSV         {t_read:8.2f} s   (reference)")
        print(f"analyses                {t_build:8.2f} s")
        ratio = t_report / t_read
        print(f"analyses + HTML         {t_report:8.2f} s   ratio to CSV read {ratio:6.1f}")
        print(f"bordin report (process) {t_cli:8.2f} s   ratio to CSV read {t_cli / t_read:6.1f}")
        print(f"HTML size {len(html) / 1e6:.2f} MB; sections missing: {missing or 'none'}")
        verdict = "met" if t_cli < GOAL_SECONDS else "NOT met"
        print(f"goal: whole command under {GOAL_SECONDS:.0f} s: {verdict}")
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("scores.csv", "report.html"):
                shutil.copy(work / name, args.keep / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
