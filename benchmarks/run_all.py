"""Run every engine benchmark in turn (``make bench``); each prints its own ratio.

Each benchmark measures its reference in the same run (lme4's or metafor's time when R is
installed, the time to load the data, or a bare endpoint), so the ratios stay meaningful on
a busy machine even when the absolute times do not.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "score.py",
    "simulate.py",
    "feedback.py",
    "meta.py",
    "meta_regression.py",
    "meta_multilevel.py",
    "panel.py",
    "panel_satterthwaite.py",
    "report.py",
    "import_history.py",
    "web_load.py",
)


def main() -> int:
    failed = []
    for name in SCRIPTS:
        print(f"\n=== benchmarks/{name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / name)])
        print(f"=== {name}: exit {code}, {time.perf_counter() - start:.1f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
