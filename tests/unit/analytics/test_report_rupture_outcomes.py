"""Rupture and repair: rates, client codes and the outcome model, recomputed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.rupture_outcomes import EUBANKS_2018, client_codes, fit_rupture_outcomes
from bordin.errors import InputError
from bordin.feedback import detect_ruptures
from bordin.simulate import SimulationConfig, simulate_clinic


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return simulate_clinic(SimulationConfig(n_clients=300), seed=11).scores


def test_client_codes_priority() -> None:
    events = pd.DataFrame(
        {
            "client_id": ["a", "a", "b", "c", "c"],
            "status": ["repaired", "unrepaired", "repaired", "open", "repaired"],
        }
    )
    ids = pd.Series(["a", "b", "c", "d"])
    assert list(client_codes(events, ids)) == ["unrepaired", "repaired", "repaired", "none"]


def test_rates_and_model_recomputed(scores: pd.DataFrame) -> None:
    res = fit_rupture_outcomes(scores, alliance="sac_total", outcome="phq9_total")
    assert [d.k for d in res.detectors] == [1, 2] and res.published == EUBANKS_2018
    for d in res.detectors:
        events = detect_ruptures(scores, alliance="sac", detector=f"sd_k{d.k}")
        assert d.events == len(events)
        assert d.clients_with_rupture.count == events["client_id"].nunique()
        assert d.clients_with_rupture.n == scores["client_id"].nunique()
        closed = events["status"].isin(["repaired", "unrepaired"])
        assert d.repair_rate.n == int(closed.sum())
        assert d.repair_rate.count == int((events["status"] == "repaired").sum())
        # Rebuild the outcome model from scratch.
        ordered = scores.sort_values(["client_id", "session"])
        g = ordered.groupby("client_id")
        intake, last = g["phq9_total"].first(), g["phq9_total"].last()
        code = client_codes(events, pd.Series(intake.index)).set_axis(intake.index)
        keep = code.isin(["none", "repaired", "unrepaired"]) & (g.size() >= 2)
        x = np.column_stack(
            [
                np.ones(int(keep.sum())),
                intake[keep],
                (code[keep] == "repaired").astype(float),
                (code[keep] == "unrepaired").astype(float),
            ]
        )
        y = (last - intake)[keep].to_numpy(float)
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        np.testing.assert_allclose([t.estimate for t in d.coefficients], beta, rtol=1e-9)
        assert d.n == int(keep.sum())
        counts = dict(d.group_counts)
        assert counts["none"] + counts["repaired"] + counts["unrepaired"] + counts["open"] == 300
        # Adjusted mean of "none" is the intercept plus the intake slope at the mean intake.
        none = next(m for m in d.adjusted_means if m.group == "none")
        np.testing.assert_allclose(none.change.estimate, beta[0] + beta[1] * intake[keep].mean())
        assert -1 <= d.resolution_r <= 1
    frame = res.to_frame()
    assert frame["group"].str.startswith("rate").sum() == 6


def test_unregistered_alliance_column(scores: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="my_alliance"):
        fit_rupture_outcomes(
            scores.rename(columns={"sac_total": "my_alliance"}),
            alliance="my_alliance",
            outcome="phq9_total",
        )
