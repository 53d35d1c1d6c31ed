"""Benchmark: importing a clinic's 10,000-session history into a new database.

Simulates a clinic (about 830 clients, 10,000 sessions of the session alliance check,
PHQ-9 and GAD-7, about 250,000 item rows) and writes its long responses CSV, then times,
in the same run:

* ``pandas.read_csv`` of the file -- the reference: the time just to read the data;
* ``bordin import``'s work (``import_history``): reading, validating, scoring, storing
  clients, episodes, sessions, responses and scores, and recomputing the clinic's norms
  and feedback once, in one SQLite transaction;
* the same file imported again (nothing new: every session and instrument is matched).

and prints the import rate in sessions per second (wall clock, and per CPU second, which a
busy machine disturbs less) and the ratio to the pandas read.

Usage: python benchmarks/import_history.py [--sessions 10000] [--seed 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from bordin.interop import read_responses_csv
from bordin.simulate import SimulationConfig, simulate_clinic
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.migrate import upgrade_database


def generate(n_sessions: int, seed: int) -> pd.DataFrame:
    """A simulated clinic's responses cut to ``n_sessions`` client-sessions."""
    n_clients = max(1, n_sessions // 10)
    while True:
        clinic = simulate_clinic(SimulationConfig(n_clients=n_clients), seed=seed)
        keys = clinic.responses[["client_id", "session"]].drop_duplicates()
        if len(keys) >= n_sessions:
            break
        n_clients = int(n_clients * 1.3) + 1
    kept = keys.iloc[:n_sessions]
    return clinic.responses.merge(kept, on=["client_id", "session"])


def _import(url: str, path: Path) -> tuple[float, float, actions.HistoryImport]:
    engine = make_engine(url)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        with transaction(make_session_factory(engine)) as db:
            clinic_id = db.scalar(text("SELECT id FROM clinics"))
            result = actions.import_history(
                db,
                actor=None,
                clinic_id=int(clinic_id),
                frame=read_responses_csv(path),
                kind="responses",
                source=path.name,
            )
        return time.perf_counter() - start, time.process_time() - cpu, result
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the CSV in this folder.")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bordin-bench-import-"))
    try:
        path = folder / "responses.csv"
        frame = generate(args.sessions, args.seed)
        frame.to_csv(path, index=False)
        url = f"sqlite:///{folder / 'clinic.sqlite'}"
        upgrade_database(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as db:
            actions.create_clinic(db, actor=None, name="Benchmark clinic")
        engine.dispose()

        start, cpu = time.perf_counter(), time.process_time()
        pd.read_csv(path)
        read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
        took, took_cpu, result = _import(url, path)
        again_took, _, again = _import(url, path)
        if (again.sessions, again.administrations) != (0, 0):
            raise SystemExit(f"re-import was not idempotent: {again}")
        size = path.stat().st_size / 1e6
        print(f"file: {len(frame):,} item rows, {result.sessions:,} sessions, {size:.1f} MB")
        print(f"pandas.read_csv:   {read:8.3f} s wall, {read_cpu:8.3f} s CPU")
        print(
            f"import:            {took:8.3f} s wall, {took_cpu:8.3f} s CPU "
            f"({result.sessions / took:,.0f} sessions/s wall, "
            f"{result.sessions / took_cpu:,.0f} sessions/s CPU; "
            f"{took_cpu / read_cpu:.0f}x the pandas read's CPU time)"
        )
        print(f"re-import (none):  {again_took:8.3f} s  ({again.skipped:,} questionnaires matched)")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, args.keep / path.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
