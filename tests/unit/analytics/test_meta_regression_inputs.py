"""Meta-regression with several moderators (issue 20): coding, errors, predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.meta_analysis import fit_meta_regression
from bordin.columns import check_result_columns
from bordin.errors import InputError

Y = [0.10, 0.32, 0.25, 0.51, 0.44, 0.05, 0.38, 0.61, 0.22, 0.47]
V = [0.02, 0.03, 0.015, 0.04, 0.02, 0.05, 0.03, 0.02, 0.025, 0.035]
MODS = {
    "dose": [1, 2, 2, 4, 3, 1, 3, 5, 2, 4],
    "arm": ["cbt", "cbt", "ipt", "ipt", "pdt", "cbt", "pdt", "ipt", "cbt", "pdt"],
    "wave": [1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
}


def test_terms_and_coding_follow_r() -> None:
    res = fit_meta_regression(Y, V, MODS, formula="~ dose + arm + factor(wave)")
    assert res.terms == ("intrcpt", "dose", "armipt", "armpdt", "factor(wave)2")
    assert res.levels == {"arm": ("cbt", "ipt", "pdt"), "wave": ("1", "2")}
    assert res.qm_df == (4, None) and res.p == 5
    # Without a formula every column enters; a numeric column is continuous.
    plain = fit_meta_regression(Y, V, MODS)
    assert plain.terms == ("intrcpt", "dose", "armipt", "armpdt", "wave")
    # ... unless named categorical (then without "factor()").
    cat = fit_meta_regression(Y, V, MODS, categorical=["wave"], reference={"arm": "pdt"})
    assert cat.terms == ("intrcpt", "dose", "armcbt", "armipt", "wave2")


def test_numeric_levels_sort_as_numbers() -> None:
    res = fit_meta_regression(Y, V, {"g": [9, 10, 9, 10, 2, 2, 9, 10, 2, 9]}, formula="~ factor(g)")
    assert res.levels["g"] == ("2", "9", "10")


def test_one_sequence_is_one_categorical_moderator() -> None:
    res = fit_meta_regression(Y, V, MODS["wave"], name="wave", reference="2")
    assert res.terms == ("intrcpt", "wave1")
    assert res.formula == "~ wave"


def test_coefficients_are_invariant_to_study_order() -> None:
    order = np.random.default_rng(20).permutation(len(Y))
    res = fit_meta_regression(Y, V, MODS, formula="~ dose + arm")
    perm = fit_meta_regression(
        np.asarray(Y)[order],
        np.asarray(V)[order],
        {k: [v[i] for i in order] for k, v in MODS.items()},
        formula="~ dose + arm",
    )
    np.testing.assert_allclose(perm.coef, res.coef, rtol=1e-9)
    assert perm.qm == pytest.approx(res.qm, rel=1e-9)


def test_fixed_effect_r2_is_the_adjusted_weighted_r2() -> None:
    res = fit_meta_regression(Y, V, {"dose": MODS["dose"]}, method="FE")
    w = 1 / np.asarray(V)
    x = np.column_stack([np.ones(len(Y)), MODS["dose"]])
    sw = np.sqrt(w)
    beta = np.linalg.lstsq(x * sw[:, None], np.asarray(Y) * sw, rcond=None)[0]
    rss = float(np.sum(w * (np.asarray(Y) - x @ beta) ** 2))
    tss = float(np.sum(w * (np.asarray(Y) - np.average(Y, weights=w)) ** 2))
    adj = 1 - (rss / tss) * (len(Y) - 1) / (len(Y) - 2)
    assert res.r2 == pytest.approx(max(0.0, 100 * adj), rel=1e-12)


def test_missing_moderator_values_drop_the_study() -> None:
    mods = {**MODS, "dose": [1, None, 2, 4, "NA", 1, 3, 5, 2, 4]}
    res = fit_meta_regression(Y, V, mods, formula="~ dose + arm")
    assert (res.k, res.n_dropped) == (8, 2)


@pytest.mark.parametrize(
    ("mods", "formula", "message"),
    [
        ({**MODS, "twice": [2 * d for d in MODS["dose"]]}, "~ dose + twice", "linear combination"),
        (MODS, "~ dose * arm", "cannot read the term"),
        (MODS, "dose + arm", "starts with '~'"),
        (MODS, "~ dose + dose", "appears twice"),
        (MODS, "~ age", "no moderator column 'age'"),
        ({"c": ["a"] * 10}, None, "only one level"),
    ],
)
def test_bad_models_are_refused(
    mods: dict[str, list[object]], formula: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        fit_meta_regression(Y, V, mods, formula=formula)


def test_too_many_coefficients() -> None:
    with pytest.raises(InputError, match="cannot estimate"):
        fit_meta_regression(Y[:4], V[:4], {"x": [1, 2, 3, 5], "g": ["a", "b", "c", "a"]})


def test_predictions_and_their_errors() -> None:
    res = fit_meta_regression(Y, V, MODS, formula="~ dose + arm", test="knha")
    pr = res.predict([{"dose": 2, "arm": "cbt"}, {"dose": "4.5", "arm": "pdt"}])
    x = np.array([[1, 2, 0, 0], [1, 4.5, 0, 1]])
    np.testing.assert_allclose(pr.pred, x @ res.coef, rtol=1e-12)
    np.testing.assert_allclose(pr.se, np.sqrt(np.diag(x @ res.vb @ x.T)), rtol=1e-12)
    assert pr.pi_low is not None and np.all(pr.pi_low <= pr.ci_low)
    assert pr.df == res.k - res.p
    same = res.predict(pd.DataFrame({"dose": [2, 4.5], "arm": ["cbt", "pdt"]}))
    np.testing.assert_array_equal(same.pred, pr.pred)
    frame = pr.to_frame()
    assert check_result_columns(list(frame.columns)) == []
    assert frame["term"][0] == "dose=2, arm=cbt"
    assert "PI" in pr.summary()
    with pytest.raises(InputError, match="no value for moderator 'arm'"):
        res.predict({"dose": 1})
    with pytest.raises(InputError, match="not one of its levels"):
        res.predict({"dose": 1, "arm": "act"})
    with pytest.raises(InputError, match="not a moderator"):
        res.predict({"dose": 1, "arm": "cbt", "age": 3})
    fe = fit_meta_regression(Y, V, MODS, formula="~ dose", method="FE").predict({"dose": 1})
    assert fe.pi_low is None and fe.to_json_dict()[0]["pi.lb"] is None


def test_result_table_and_json_use_the_agreed_names() -> None:
    res = fit_meta_regression(Y, V, MODS, formula="~ dose + arm")
    assert check_result_columns(list(res.to_frame().columns)) == []
    out = res.to_json_dict()
    for key in ("coef", "se", "zval", "pval", "ci.lb", "ci.ub", "QM", "QMdf", "QMp", "R2"):
        assert key in out
    assert out["QMdf"] == [3, None]
    assert "QM(3)" in res.summary()


def test_text_cells_parse_like_numbers_and_booleans_are_levels() -> None:
    text = {"dose": [f" {d} " for d in MODS["dose"]], "arm": MODS["arm"]}
    a = fit_meta_regression(Y, V, text, formula="~ dose + arm")
    b = fit_meta_regression(Y, V, MODS, formula="~ dose + arm")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    flags = fit_meta_regression(Y, V, {"flag": [i % 2 == 0 for i in range(len(Y))]})
    assert flags.terms == ("intrcpt", "flagTRUE")  # as model.matrix(~ flag) in R
