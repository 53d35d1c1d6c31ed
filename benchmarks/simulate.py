"""Benchmark: `bordin.simulate` at registry scale (issue 3).

Simulates a clinic of about 1,000,000 attended sessions (item responses included: about 25
million rows), on one core, and reports:

- the time of ``simulate_clinic`` (latent processes, item responses, long and wide frames),
- its peak memory (Python allocations traced with tracemalloc in a second run, and the
  process's peak resident set),
- the time to write each file with ``write_clinic`` and the file sizes,
- wall and CPU time (the CPU time is the fairer figure on a shared machine),
- the reference measured in the same run: the time pandas needs to read back the written
  ``scores.csv``, and the ratio simulation time / read time.

Usage: python benchmarks/simulate.py [--sessions 1000000] [--seed 1] [--keep DIR]
       [--no-write] [--no-tracemalloc]
"""

from __future__ import annotations

import os

# One core: keep any threaded numerical library to a single thread.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from bordin.simulate import SimulationConfig, simulate_clinic, write_clinic  # noqa: E402
from bordin.simulate._clinic import SimulatedClinic  # noqa: E402


def _clients_for(sessions: int, seed: int) -> int:
    """Clients needed for about ``sessions`` attended sessions (from a pilot run)."""
    pilot = simulate_clinic(SimulationConfig(n_clients=4000), seed=seed + 1)
    per_client = len(pilot.scores) / 4000
    return max(1, math.ceil(sessions / per_client))


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(config: SimulationConfig, seed: int) -> tuple[SimulatedClinic, float, float]:
    """The clinic, the wall time and the CPU time of this process."""
    start, cpu = time.perf_counter(), time.process_time()
    clinic = simulate_clinic(config, seed=seed)
    return clinic, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="Write the files here.")
    parser.add_argument("--no-write", action="store_true", help="Skip writing the CSV files.")
    parser.add_argument("--no-tracemalloc", action="store_true", help="Skip the traced run.")
    args = parser.parse_args()

    n_clients = _clients_for(args.sessions, args.seed)
    config = SimulationConfig(n_clients=n_clients)
    clinic, seconds, cpu_seconds = _timed(config, args.seed)
    rss = _peak_rss_mib()
    n_sessions, n_items = len(clinic.scores), len(clinic.responses)
    print(f"clients                 {n_clients:,}")
    print(f"sessions                {n_sessions:,}")
    print(f"item responses          {n_items:,}")
    print(f"ruptures                {len(clinic.ruptures):,}")
    print(
        f"simulate_clinic         {seconds:8.2f} s wall, {cpu_seconds:.2f} s CPU"
        f"  ({n_sessions / seconds:,.0f} sessions/s)"
    )
    print(f"peak RSS (process)      {rss:8.0f} MiB")
    frames = {
        "responses": clinic.responses,
        "scores": clinic.scores,
        "truth": clinic.truth,
        "ruptures": clinic.ruptures,
        "clients": clinic.clients,
    }
    in_memory = sum(f.memory_usage(deep=True).sum() for f in frames.values()) / 2**20
    print(f"frames in memory        {in_memory:8.0f} MiB")

    if not args.no_tracemalloc:
        del clinic
        tracemalloc.start()
        clinic, traced_seconds, _ = _timed(config, args.seed)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"peak traced memory      {peak / 2**20:8.0f} MiB  (traced run {traced_seconds:.1f} s)"
        )

    if args.no_write:
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bordin-sim-bench-"))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        paths = write_clinic(clinic, folder)
        write_seconds, write_cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"write_clinic            {write_seconds:8.2f} s wall, {write_cpu:.2f} s CPU")
        for name, path in paths.items():
            print(f"  {name:22s} {path.stat().st_size / 2**20:8.1f} MiB")
        start, cpu = time.perf_counter(), time.process_time()
        back = pd.read_csv(paths["scores.csv"])
        read_seconds, read_cpu = time.perf_counter() - start, time.process_time() - cpu
        if len(back) != n_sessions:
            raise SystemExit(f"read back {len(back)} rows, expected {n_sessions}")
        print(
            f"reference: pandas.read_csv(scores.csv) {read_seconds:8.2f} s wall, "
            f"{read_cpu:.2f} s CPU"
        )
        print(
            f"ratio simulate_clinic / read_csv(scores.csv) = {seconds / read_seconds:.2f} wall, "
            f"{cpu_seconds / read_cpu:.2f} CPU"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
