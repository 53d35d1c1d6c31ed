"""Alliance-outcome across therapists: pooling and BLUPs against metafor; per-therapist r."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.therapist_alliance import (
    FLUCKIGER_2018,
    fit_therapist_alliance,
    pool_therapist_correlations,
)
from bordin.errors import InputError
from support.tolerances import ITERATIVE_RTOL

REF = Path(__file__).resolve().parents[2] / "reference" / "data" / "report" / "therapist_blup.json"


def test_pooling_and_blups_match_metafor() -> None:
    d = json.loads(REF.read_text(encoding="utf-8"))
    ids = [f"t{i:02d}" for i in range(len(d["ri"]))]
    entries, meta = pool_therapist_correlations(ids, np.array(d["ri"]), np.array(d["ni"]))
    np.testing.assert_allclose([e.yi for e in entries], d["yi"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose([e.vi for e in entries], d["vi"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(meta.estimate, d["estimate"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(meta.tau2, d["tau2"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose([e.shrunk for e in entries], np.tanh(d["blup"]), rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(
        [e.shrunk_ci_low for e in entries], np.tanh(d["blup_ci_low"]), rtol=ITERATIVE_RTOL
    )
    np.testing.assert_allclose(
        [e.shrunk_ci_high for e in entries], np.tanh(d["blup_ci_high"]), rtol=ITERATIVE_RTOL
    )
    # Shrinkage pulls every therapist towards the pooled value, never past it.
    for e in entries:
        assert abs(np.arctanh(e.shrunk) - meta.estimate) <= abs(e.yi - meta.estimate) + 1e-12


def _clinic(seed: int, n_ther: int = 8, per: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for j in range(n_ther):
        for c in range(per):
            trait = rng.normal(4, 0.5)
            intake = rng.normal(16, 3)
            gain = 4 + 3 * (trait - 4) + rng.normal(0, 2)
            for s in range(1, 7):
                phq = intake - gain * (s - 1) / 5
                rows.append((f"c{j}_{c}", f"t{n_ther - j:02d}", s, trait + rng.normal(0, 0.1), phq))
    return pd.DataFrame(
        rows, columns=["client_id", "therapist_id", "session", "sac_total", "phq9_total"]
    )


def test_per_therapist_r_and_order_by_id() -> None:
    scores = _clinic(5)
    res = fit_therapist_alliance(scores, alliance="sac_total", outcome="phq9_total")
    assert [t.therapist_id for t in res.therapists] == sorted(scores["therapist_id"].unique())
    # Recompute one therapist's r by hand (improvement = intake - last for the PHQ-9).
    t0 = res.therapists[0]
    sub = scores[scores["therapist_id"] == t0.therapist_id].sort_values(["client_id", "session"])
    g = sub.groupby("client_id")
    early = g.apply(lambda d: d.loc[d["session"] <= 3, "sac_total"].mean(), include_groups=False)
    improvement = g["phq9_total"].first() - g["phq9_total"].last()
    np.testing.assert_allclose(t0.r, np.corrcoef(early, improvement)[0, 1], rtol=1e-12)
    assert t0.n == 12 and res.k == 8 and res.n_clients == 96
    # True r is 1.5 / sqrt(1.5**2 + 2**2) = 0.6; positive means better alliance, more improvement.
    assert res.ci_low < 0.6 < res.ci_high and res.ci_low > 0
    assert res.published == FLUCKIGER_2018
    frame = res.to_frame()
    assert set(frame["group"]) == {"pooled", "published", "therapist", "therapist_shrunk"}


def test_too_few_therapists_is_an_input_error() -> None:
    scores = _clinic(6, n_ther=3, per=4)
    with pytest.raises(InputError, match="therapists"):
        fit_therapist_alliance(scores, alliance="sac_total", outcome="phq9_total", min_clients=5)
