"""Benchmark: importing a FHIR Bundle of 10,000 QuestionnaireResponses.

Builds a Bundle (``bordin.interop.fhir.export_responses``) of PHQ-9, GAD-7 and session
alliance check responses, 10,000 QuestionnaireResponses in all, then times, in the same run:

* ``json.loads`` -- the reference: parsing the same JSON with the standard library;
* ``read_bundle`` -- parsing, validating the Bundle with the FHIR R4B models, mapping every
  response back to long rows and checking them as every input is checked.

and prints both and their ratio (import time / standard-library parse time). Model
validation dominates; the ratio says how much the guarantee costs.

Usage: python benchmarks/fhir_import.py [--responses 10000] [--seed 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import time

import numpy as np
import pandas as pd

from bordin.instruments import get_instrument
from bordin.interop.fhir import export_responses, read_bundle

INSTRUMENTS = ("phq9", "gad7", "sac")


def generate(n_responses: int, seed: int) -> pd.DataFrame:
    """Long rows of ``n_responses`` responses: clients answer the three instruments per session."""
    rng = np.random.default_rng(seed)
    frames = []
    n_sessions = -(-n_responses // len(INSTRUMENTS))
    client = np.arange(n_sessions) // 10
    session = np.arange(n_sessions) % 10 + 1
    left = n_responses
    for instrument in INSTRUMENTS:
        definition = get_instrument(instrument)
        take = min(n_sessions, left)
        left -= take
        n_items = definition.n_items
        values = np.column_stack(
            [rng.integers(0, len(item.codes), size=take) for item in definition.items]
        )
        codes = np.array([item.codes for item in definition.items], dtype=object)
        rows = np.repeat(np.arange(take), n_items)
        items = np.tile(np.arange(1, n_items + 1), take)
        value = [float(codes[i - 1][v]) for i, v in zip(items, values.ravel(), strict=True)]
        frames.append(
            pd.DataFrame(
                {
                    "client_id": [f"c{c:05d}" for c in client[rows]],
                    "therapist_id": [f"t{c % 40:03d}" for c in client[rows]],
                    "session": session[rows],
                    "date": None,
                    "instrument": instrument,
                    "item": items,
                    "value": value,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    # sac item 8 is asked only after tension (item 7 > 0); drop it where it was not asked.
    sac = frame["instrument"] == "sac"
    key = ["client_id", "session"]
    tension = frame[sac & (frame["item"] == 7)].set_index(key)["value"]
    asked = frame.join(tension.rename("tension"), on=key)["tension"].fillna(1) > 0
    keep = ~(sac & (frame["item"] == 8) & ~asked.to_numpy())
    return frame[keep.to_numpy()].reset_index(drop=True)


def _best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    frame = generate(args.responses, args.seed)
    start = time.perf_counter()
    bundle = export_responses(frame)
    export_time = time.perf_counter() - start
    text = bundle.model_dump_json(exclude_none=True)
    n = sum(
        1 for e in bundle.entry or [] if e.resource.get_resource_type() == "QuestionnaireResponse"
    )
    n_resources = len(bundle.entry or [])
    back = read_bundle(text)
    if len(back) != len(frame):
        raise SystemExit(f"round trip lost rows: {len(back)} of {len(frame)}")
    # Free the models before timing: live objects slow every garbage collection pass.
    del bundle, back
    gc.collect()

    parse = _best(lambda: json.loads(text), args.repeat)
    imported = _best(lambda: read_bundle(text), args.repeat)
    print(
        f"Bundle: {n} QuestionnaireResponses ({len(frame)} item responses), "
        f"{n_resources} resources with the Observations, {len(text) / 1e6:.1f} MB"
    )
    print(f"export_responses (scoring + building + validating): {export_time:.2f} s")
    print(f"json.loads (standard library):                        {parse:.3f} s")
    print(f"read_bundle (parse + validate + map + check):         {imported:.3f} s")
    print(f"ratio read_bundle / json.loads:                       {imported / parse:.1f}")


if __name__ == "__main__":
    main()
