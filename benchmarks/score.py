"""Benchmark: scoring 100,000 sessions of PHQ-9 + GAD-7 + session alliance check.

Generates a long item-response CSV (about 2.5 million rows: 9 + 7 + 9 or 10 items per
session), then times, in the same run:

* ``read_responses_csv`` -- the reference: the time just to load the data;
* ``score_responses`` -- validation, long-to-wide and every scale.

and prints both and their ratio (scoring time / loading time). Scoring is vectorised, so the
ratio should stay around 1 or below whatever the size.

Usage: python benchmarks/score.py [--sessions 100000] [--seed 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bordin.interop import read_responses_csv
from bordin.scoring import score_responses


def generate(n_sessions: int, seed: int) -> pd.DataFrame:
    """A long response frame: ~12 sessions per client, PHQ-9, GAD-7 and sac every session."""
    rng = np.random.default_rng(seed)
    n_clients = max(1, n_sessions // 12)
    client = np.sort(rng.integers(0, n_clients, size=n_sessions))
    first = np.r_[True, client[1:] != client[:-1]]
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, n_sessions])
    session = np.arange(n_sessions) - np.repeat(starts, counts) + 1
    therapist = (client % 400).astype(np.int64)
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(client % 200 + 7 * session, unit="D")
    date = day.strftime("%Y-%m-%d").to_numpy()

    blocks = []
    for instrument, n_items, low, high in (("phq9", 9, 0, 3), ("gad7", 7, 0, 3)):
        values = rng.integers(low, high + 1, size=(n_sessions, n_items))
        blocks.append((instrument, values, np.ones(values.shape, dtype=bool)))
    alliance = rng.integers(1, 6, size=(n_sessions, 6))
    rupture = rng.integers(0, 5, size=(n_sessions, 4)) * (rng.random((n_sessions, 4)) < 0.2)
    sac = np.column_stack([alliance, rupture])
    asked = np.ones(sac.shape, dtype=bool)
    asked[:, 7] = sac[:, 6] > 0  # item 8 only after tension (item 7)
    blocks.append(("sac", sac, asked))

    frames = []
    for instrument, values, present in blocks:
        rows, cols = np.nonzero(present)
        frames.append(
            pd.DataFrame(
                {
                    "client_id": client[rows],
                    "therapist_id": therapist[rows],
                    "session": session[rows],
                    "date": date[rows],
                    "instrument": instrument,
                    "item": cols + 1,
                    "value": values[rows, cols],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the CSV in this folder.")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bordin-bench-score-"))
    try:
        path = folder / "responses.csv"
        t0 = time.perf_counter()
        generate(args.sessions, args.seed).to_csv(path, index=False)
        t_generate = time.perf_counter() - t0

        t0 = time.perf_counter()
        frame = read_responses_csv(path)
        t_read = time.perf_counter() - t0

        t0 = time.perf_counter()
        wide = score_responses(frame, source=path.name)
        t_score = time.perf_counter() - t0

        size_mb = path.stat().st_size / 1e6
        print(f"sessions scored:        {len(wide):,} ({wide['client_id'].nunique():,} clients)")
        print(f"response rows:          {len(frame):,} ({size_mb:.0f} MB CSV)")
        print(f"generate + write CSV:   {t_generate:.2f} s (not part of the ratio)")
        print(f"read_responses_csv:     {t_read:.2f} s (reference: loading the data)")
        print(f"score_responses:        {t_score:.2f} s")
        print(f"ratio score / read:     {t_score / t_read:.2f}")
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, args.keep / path.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
