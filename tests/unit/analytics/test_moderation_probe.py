"""Moderation probing: Johnson-Neyman cases, simple slopes, invariances and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.moderation import fit_moderation, johnson_neyman
from bordin.errors import InputError


def _data(seed: int, b3: float, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.7, 0.15, n)
    m = rng.normal(3.9, 0.5, n)
    y = 10 + 1.0 * x - 0.5 * m + b3 * (x - 0.7) * (m - 3.9) + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "x": x, "m": m, "z": rng.normal(size=n)})


def test_slope_band_touches_zero_at_the_bounds() -> None:
    res = fit_moderation(_data(1, -4.0), outcome="y", predictor="x", moderator="m")
    jn = res.johnson_neyman
    assert jn.kind in ("inside", "outside")
    for bound in (jn.lower, jn.upper):
        s = res.slope_at(bound)
        assert min(abs(s.ci_low), abs(s.ci_high)) == pytest.approx(0.0, abs=1e-9)
    # Significance changes across each bound, in the direction the kind says.
    mid = (jn.lower + jn.upper) / 2
    inside = res.slope_at(mid)
    inside_sig = inside.ci_low > 0 or inside.ci_high < 0
    assert inside_sig == (jn.kind == "inside")


@pytest.mark.parametrize(
    ("b1", "b3", "v11", "v33", "kind"),
    [
        (5.0, 0.0, 1.0, 0.0, "everywhere"),  # a constant, clearly non-zero slope
        (0.0, 0.001, 1.0, 1.0, "nowhere"),  # no effect, large uncertainty
        (-1.0, 2.0, 0.01, 0.01, "outside"),
        (1.0, 0.05, 0.01, 1.0, "inside"),
    ],
)
def test_johnson_neyman_kinds(b1: float, b3: float, v11: float, v33: float, kind: str) -> None:
    jn = johnson_neyman(b1, b3, v11, v33, 0.0, df=100)
    assert jn.kind == kind
    if kind in ("everywhere", "nowhere"):
        assert np.isnan(jn.lower) and np.isnan(jn.upper)
    else:
        assert jn.lower < jn.upper


def test_simple_slopes_at_mean_and_sd() -> None:
    data = _data(2, -3.0)
    res = fit_moderation(data, outcome="y", predictor="x", moderator="m", covariates=("z",))
    m = data["m"]
    assert [s.label for s in res.simple_slopes] == ["mean - 1 SD", "mean", "mean + 1 SD"]
    np.testing.assert_allclose(
        [s.moderator_value for s in res.simple_slopes],
        [m.mean() - m.std(), m.mean(), m.mean() + m.std()],
    )
    b = {t.term: t.estimate for t in res.coefficients}
    for s in res.simple_slopes:
        np.testing.assert_allclose(s.slope.estimate, b["x"] + b["x:m"] * s.moderator_value)
    frame = res.to_frame()
    assert set(frame["group"]) == {"coefficient", "simple_slope", "johnson_neyman"}


def test_interaction_invariant_to_centering_the_moderator() -> None:
    data = _data(3, -3.0)
    raw = fit_moderation(data, outcome="y", predictor="x", moderator="m", cov_type="HC3")
    centred = fit_moderation(
        data.assign(m=data["m"] - 3.9), outcome="y", predictor="x", moderator="m", cov_type="HC3"
    )
    np.testing.assert_allclose(raw.interaction.estimate, centred.interaction.estimate, rtol=1e-10)
    np.testing.assert_allclose(raw.interaction.se, centred.interaction.se, rtol=1e-8)
    np.testing.assert_allclose(
        raw.johnson_neyman.lower - 3.9, centred.johnson_neyman.lower, rtol=1e-8
    )


def test_missing_rows_are_dropped_like_lm() -> None:
    data = _data(4, -3.0)
    holed = data.copy()
    holed.loc[[3, 7, 11], "m"] = np.nan
    res = fit_moderation(holed, outcome="y", predictor="x", moderator="m")
    ref = fit_moderation(data.drop(index=[3, 7, 11]), outcome="y", predictor="x", moderator="m")
    assert res.n == len(data) - 3
    np.testing.assert_allclose(res.interaction.estimate, ref.interaction.estimate)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"moderator": "nope"}, "nope"),
        ({"moderator": "x"}, "distinct"),
        ({"cov_type": "CR1"}, "cluster"),
        ({"level": 1.5}, "level"),
    ],
)
def test_input_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"outcome": "y", "predictor": "x", "moderator": "m"}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        fit_moderation(_data(5, 0.0), **args)  # type: ignore[arg-type]


def test_constant_moderator_is_not_identifiable() -> None:
    with pytest.raises(InputError, match="not identifiable"):
        fit_moderation(_data(6, 0.0).assign(m=1.0), outcome="y", predictor="x", moderator="m")


def test_reverse_probe_equals_swapping_roles() -> None:
    data = _data(7, -3.0)
    res = fit_moderation(data, outcome="y", predictor="x", moderator="m", cov_type="HC3")
    swapped = fit_moderation(data, outcome="y", predictor="m", moderator="x", cov_type="HC3")
    a, b = res.moderator_slope_at(0.7), swapped.slope_at(0.7)
    np.testing.assert_allclose(
        [a.estimate, a.se, a.ci_low], [b.estimate, b.se, b.ci_low], rtol=1e-9
    )
