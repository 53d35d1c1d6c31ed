"""Bad input to the meta-analysis gets a clear error naming the row (issue 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bordin.analytics.meta_analysis import (
    analyse_correlations,
    compute_effect_sizes,
    fit_meta_regression,
    random_effects_meta,
    tau2_confint,
)
from bordin.errors import ConvergenceWarning, InputError


def test_zcor_and_cor_formulas() -> None:
    es = compute_effect_sizes([0.3, "-0.5"], [10, "20"], measure="ZCOR")
    np.testing.assert_allclose(es.yi, [math.atanh(0.3), math.atanh(-0.5)], rtol=1e-15)
    np.testing.assert_allclose(es.vi, [1 / 7, 1 / 17], rtol=1e-15)
    es = compute_effect_sizes([0.3, -0.5], [10, 20], measure="COR")
    np.testing.assert_allclose(es.yi, [0.3, -0.5])
    np.testing.assert_allclose(es.vi, [(1 - 0.09) ** 2 / 9, (1 - 0.25) ** 2 / 19], rtol=1e-15)


def test_missing_rows_are_dropped_and_counted() -> None:
    es = compute_effect_sizes(
        [0.3, None, "NA", 0.2, 0.1], [50, 40, 30, "", 60], measure="ZCOR", first_row=2
    )
    assert es.k == 2
    assert es.n_dropped == 3
    assert es.dropped_rows == (3, 4, 5)
    assert es.rows == (2, 6)
    res = analyse_correlations([0.3, None, 0.2, 0.25], [50, 40, 60, 80])
    assert res.to_json_dict()["n_dropped"] == 1
    assert any("dropped" in note for note in res.notes)


@pytest.mark.parametrize(
    ("r", "n", "measure", "row", "column", "words"),
    [
        ([0.2, 1.3, 0.1], [50, 50, 50], "ZCOR", 3, "r", "outside [-1, 1]"),
        ([0.2, 0.3, -1.01], [50, 50, 50], "COR", 4, "r", "outside [-1, 1]"),
        ([0.2, 0.3, 0.1], [50, 3, 50], "ZCOR", 3, "n", "n > 3"),
        ([0.2, 0.3, 0.1], [50, 1, 50], "COR", 3, "n", "n > 1"),
        ([0.2, "abc", 0.1], [50, 50, 50], "ZCOR", 3, "r", "'abc' is not a number"),
        ([0.2, 0.3, 0.1], [50, "ten", 50], "ZCOR", 3, "n", "'ten' is not a number"),
        ([0.2, 0.3, 0.1], [50, 40.5, 50], "ZCOR", 3, "n", "whole number"),
        ([0.2, 1.0, 0.1], [50, 40, 50], "ZCOR", 3, "r", "infinite Fisher z"),
    ],
)
def test_bad_cells_name_row_and_column(
    r: list[object], n: list[object], measure: str, row: int, column: str, words: str
) -> None:
    with pytest.raises(InputError) as info:
        analyse_correlations(r, n, measure=measure, file="studies.csv", first_row=2)  # type: ignore[arg-type]
    assert info.value.row == row
    assert info.value.column == column
    assert info.value.file == "studies.csv"
    assert words in str(info.value)
    assert f"row {row}" in str(info.value)


def test_fewer_than_two_studies_after_dropping() -> None:
    with pytest.raises(InputError, match="at least 2 complete studies"):
        analyse_correlations([0.3, None, 0.2], [50, 40, None], file="s.csv")
    with pytest.raises(InputError, match="at least 2 studies"):
        random_effects_meta([0.1], [0.01])


def test_bad_model_options() -> None:
    with pytest.raises(InputError, match="unknown method"):
        random_effects_meta([0.1, 0.2], [0.01, 0.02], method="EB")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown test"):
        random_effects_meta([0.1, 0.2], [0.01, 0.02], test="t")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="level"):
        random_effects_meta([0.1, 0.2], [0.01, 0.02], level=95)
    with pytest.raises(InputError, match="vi of study 2"):
        random_effects_meta([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(InputError, match="unknown measure"):
        compute_effect_sizes([0.1], [10], measure="SMD")  # type: ignore[arg-type]


def test_fixed_effect_has_no_prediction_interval_or_tau2_interval() -> None:
    res = random_effects_meta([0.1, 0.3, 0.2], [0.01, 0.02, 0.015], method="FE")
    assert res.pi_low is None and res.pi_high is None and res.se_tau2 is None
    with pytest.raises(InputError, match="fixed-effect"):
        tau2_confint(res)


def test_meta_regression_needs_two_levels_and_drops_missing() -> None:
    y, v = [0.1, 0.2, 0.3, 0.4, 0.5], [0.01, 0.02, 0.01, 0.02, 0.01]
    with pytest.raises(InputError, match="only one level"):
        fit_meta_regression(y, v, ["a", "a", "a", None, "a"], name="g")
    res = fit_meta_regression(y, v, ["a", "b", None, "b", "a"], name="g", reference="b")
    assert res.n_dropped == 1 and res.k == 4
    assert res.terms == ("intrcpt", "ga")
    with pytest.raises(InputError, match="reference level"):
        fit_meta_regression(y, v, ["a", "b", "a", "b", "a"], name="g", reference="c")


def test_ml_local_maximum_warns_and_sets_tau2_to_zero() -> None:
    # tests/reference/data/meta/cases/localmax.json: metafor warns and sets tau^2 = 0 for ML.
    es = compute_effect_sizes([0.0, -0.937, 0.625], [4, 4, 22])
    with pytest.warns(ConvergenceWarning, match="local maximum"):
        res = random_effects_meta(es.yi, es.vi, method="ML")
    assert res.tau2 == 0.0
    assert random_effects_meta(es.yi, es.vi, method="REML").tau2 > 1.0
