"""Two-group effect sizes (issue 20): bad input names row and column; zero-cell rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bordin.analytics.meta_analysis import compute_group_effect_sizes
from bordin.analytics.meta_analysis.escalc import hedges_correction
from bordin.errors import InputError

MEANS = {
    "m1i": [10.0, 12.0, 9.0],
    "sd1i": [2.0, 3.0, 2.5],
    "n1i": [20, 30, 25],
    "m2i": [8.0, 11.0, 9.5],
    "sd2i": [2.2, 2.8, 2.0],
    "n2i": [22, 28, 24],
}


def test_exact_correction_approaches_hedges_approximation() -> None:
    for m in (10, 50, 400):
        assert hedges_correction(m) == pytest.approx(1 - 3 / (4 * m - 1), rel=1e-3)
    # m = 2: Gamma(1) / (1 * Gamma(1/2)) = 1 / sqrt(pi), exactly.
    assert hedges_correction(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-15)


def test_smd_sign_follows_group_order() -> None:
    es = compute_group_effect_sizes(MEANS, measure="SMD")
    swapped = {
        "m1i": MEANS["m2i"], "sd1i": MEANS["sd2i"], "n1i": MEANS["n2i"],
        "m2i": MEANS["m1i"], "sd2i": MEANS["sd1i"], "n2i": MEANS["n1i"],
    }  # fmt: skip
    back = compute_group_effect_sizes(swapped, measure="SMD")
    np.testing.assert_allclose(back.yi, -es.yi, rtol=1e-15)
    np.testing.assert_allclose(back.vi, es.vi, rtol=1e-15)


@pytest.mark.parametrize(
    ("change", "measure", "message", "column"),
    [
        ({"sd1i": [2.0, -1.0, 2.5]}, "SMD", "negative", "sd1i"),
        ({"n2i": [22, 0, 24]}, "MD", "not positive", "n2i"),
        ({"m2i": [8.0, -11.0, 9.5]}, "ROM", "same sign", "m1i"),
        ({"n1i": [1, 30, 25], "n2i": [2, 28, 24]}, "SMD", "needs n1i", "n1i"),
        ({"m1i": [10.0, "ten", 9.0]}, "MD", "not a number", "m1i"),
    ],
)
def test_bad_means_name_row_and_column(
    change: dict[str, list[object]], measure: str, message: str, column: str
) -> None:
    data: dict[str, list[object]] = {**MEANS, **change}  # type: ignore[dict-item]
    with pytest.raises(InputError, match=message) as info:
        compute_group_effect_sizes(data, measure=measure, file="s.csv", first_row=2)  # type: ignore[arg-type]
    text = str(info.value)
    assert "s.csv" in text and column in text
    assert "row 3" in text or "row 2" in text


def test_missing_values_are_dropped_and_counted() -> None:
    data: dict[str, list[object]] = {**MEANS, "sd2i": [2.2, "NA", ""]}  # type: ignore[dict-item]
    data["sd2i"][2] = 2.0
    es = compute_group_effect_sizes(data, measure="MD", labels=["a", "b", "c"], first_row=2)
    assert es.k == 2 and es.dropped_rows == (3,) and es.labels == ("a", "c")


COUNTS = {"ai": [0, 5, 7], "bi": [20, 15, 13], "ci": [3, 4, 0], "di": [17, 16, 20]}


def test_zero_cell_rules() -> None:
    only0 = compute_group_effect_sizes(COUNTS, measure="OR")
    assert only0.n_corrected == 2
    # Study 2 has no zero: untouched under "only0", corrected under "all" and "if0all".
    assert only0.yi[1] == pytest.approx(math.log(5 * 16 / (15 * 4)), rel=1e-15)
    every = compute_group_effect_sizes(COUNTS, measure="OR", to="all")
    assert every.n_corrected == 3
    assert every.yi[1] == pytest.approx(math.log(5.5 * 16.5 / (15.5 * 4.5)), rel=1e-15)
    if0all = compute_group_effect_sizes(COUNTS, measure="OR", to="if0all")
    np.testing.assert_array_equal(if0all.yi, every.yi)
    none_zero = {k: v[1:2] for k, v in COUNTS.items()}
    assert compute_group_effect_sizes(none_zero, measure="OR", to="if0all").n_corrected == 0
    with pytest.raises(InputError, match="infinite log odds ratio") as info:
        compute_group_effect_sizes(COUNTS, measure="OR", to="none", first_row=2)
    assert "row 2" in str(info.value) and "ai" in str(info.value)
    # RR needs only non-zero event counts once corrected; a zero non-event cell is fine.
    rr = compute_group_effect_sizes(
        {"ai": [5], "bi": [0], "ci": [3], "di": [4]}, measure="RR", to="none"
    )
    assert rr.yi[0] == pytest.approx(math.log(1 / (3 / 7)), rel=1e-15)


def test_counts_checks_and_columns() -> None:
    with pytest.raises(InputError, match="negative"):
        compute_group_effect_sizes({**COUNTS, "di": [17, -1, 20]}, measure="RR")
    with pytest.raises(InputError, match="empty group"):
        compute_group_effect_sizes({**COUNTS, "ai": [0, 0, 7], "bi": [20, 0, 13]}, measure="RR")
    with pytest.raises(InputError, match="missing ci, di"):
        compute_group_effect_sizes({"ai": [1], "bi": [2]}, measure="OR")
    renamed = {"tpos": COUNTS["ai"], "tneg": COUNTS["bi"], "ci": COUNTS["ci"], "di": COUNTS["di"]}
    es = compute_group_effect_sizes(renamed, measure="RR", columns={"ai": "tpos", "bi": "tneg"})
    np.testing.assert_array_equal(es.yi, compute_group_effect_sizes(COUNTS, measure="RR").yi)
    with pytest.raises(InputError, match="unknown measure"):
        compute_group_effect_sizes(COUNTS, measure="PETO")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="add must be"):
        compute_group_effect_sizes(COUNTS, measure="OR", add=-1)


def test_generic_effect_sizes_need_positive_variances() -> None:
    es = compute_group_effect_sizes(
        {"yi": [0.1, "NA", 0.3], "vi": [0.01, 0.02, 0.03]}, measure="GEN"
    )
    assert es.k == 2 and es.n_dropped == 1
    with pytest.raises(InputError, match="vi = 0 is not positive"):
        compute_group_effect_sizes({"yi": [0.1], "vi": [0]}, measure="GEN")


def test_pipeline_and_plots_name_the_measure() -> None:
    from bordin.analytics.meta_analysis import analyse_effect_sizes
    from bordin.reports.meta_plots import forest_figure, funnel_figure

    es = compute_group_effect_sizes(COUNTS, measure="RR")
    analysis = analyse_effect_sizes(es, with_leave_one_out=False)
    out = analysis.to_json_dict()
    assert out["measure"] == "RR"
    assert out["exp_estimate"] == pytest.approx(math.exp(out["estimate"]), rel=1e-15)
    assert any("zero cell" in note for note in analysis.notes)
    assert "as a ratio (exp)" in analysis.summary()
    assert forest_figure(analysis).axes[0].get_xlabel() == "log risk ratio"
    assert funnel_figure(analysis).axes[0].get_xlabel() == "log risk ratio"
    smd = analyse_effect_sizes(compute_group_effect_sizes(MEANS, measure="SMD"))
    assert "exp_estimate" not in smd.to_json_dict()


def test_numeric_and_text_columns_give_the_same_effect_sizes() -> None:
    import pandas as pd

    frame = pd.DataFrame({**MEANS, "sd2i": [2.2, np.nan, 2.0]})
    text = frame.astype(str).replace("nan", "")
    for measure in ("SMD", "MD", "ROM"):
        a = compute_group_effect_sizes(frame, measure=measure)  # type: ignore[arg-type]
        b = compute_group_effect_sizes(text, measure=measure)  # type: ignore[arg-type]
        np.testing.assert_array_equal(a.yi, b.yi)
        assert a.dropped_rows == b.dropped_rows == (2,)


def test_the_first_bad_row_is_named_whatever_the_problem() -> None:
    # Row 3 (first_row=2) has a negative SD, row 2 an empty group size: row 2 is reported.
    data: dict[str, list[object]] = {**MEANS, "sd1i": [2.0, -3.0, 2.5], "n2i": [0, 28, 24]}  # type: ignore[dict-item]
    with pytest.raises(InputError, match="n2i = 0 is not positive") as info:
        compute_group_effect_sizes(data, measure="SMD", first_row=2)
    assert "row 2" in str(info.value)
