"""Reliable change, recovery and caseness (Jacobson & Truax, 1991) with published thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from bordin.errors import InstrumentError
from bordin.scoring import (
    ChangeCategory,
    is_case,
    reliable_change,
    reliable_change_threshold,
)

IMP = ChangeCategory.RELIABLE_IMPROVEMENT
NONE = ChangeCategory.NO_RELIABLE_CHANGE
DET = ChangeCategory.RELIABLE_DETERIORATION


def test_phq9_categories_at_the_threshold() -> None:
    # NHS Talking Therapies: 6 points is reliable, 5 is not; caseness is 10 or more.
    pre = [18, 18, 12, 9, 15, 10]
    post = [12, 13, 12, 15, 4, 9]
    r = reliable_change(pre, post, instrument="phq9")
    assert list(r.category) == [IMP, NONE, NONE, DET, IMP, NONE]
    # 18 -> 12 is reliable but still a case; 15 -> 4 is recovery; 10 -> 9 is not reliable.
    assert r.recovered.tolist() == [False, False, False, False, True, False]
    np.testing.assert_array_equal(r.change, [-6, -5, 0, 6, -11, -1])
    np.testing.assert_array_equal(r.improvement, [6, 5, 0, -6, 11, 1])
    assert r.threshold.value == 6 and not r.threshold.computed
    assert "NHS Talking Therapies" in r.threshold.source


def test_direction_higher_is_better_for_the_ors() -> None:
    # ORS: higher is better, a case below 25, 5 points reliable.
    r = reliable_change([18.0, 30.0, 20.0], [26.0, 24.0, 24.9], instrument="ors")
    assert list(r.category) == [IMP, DET, NONE]
    assert r.recovered.tolist() == [True, False, False]


def test_missing_scores() -> None:
    r = reliable_change([12.0, np.nan, 20.0], [5.0, 3.0, np.nan], instrument="gad7")
    assert list(r.category) == [IMP, None, None]
    assert r.valid.tolist() == [True, False, False]
    assert r.recovered.tolist() == [True, False, False]
    assert np.isnan(r.change[1]) and np.isnan(r.improvement[2])
    frame = r.to_frame()
    assert list(frame.columns) == ["change", "improvement", "category", "recovered", "valid"]
    assert frame["category"].isna().tolist() == [False, True, True]
    assert "reliable_improvement: 1" in r.summary()


def test_scalars_and_shape_checks() -> None:
    r = reliable_change(20, 10, instrument="oq45")
    assert list(r.category) == [NONE]
    r = reliable_change(80, 60, instrument="oq45")
    assert list(r.category) == [IMP] and r.recovered.tolist() == [True]
    with pytest.raises(ValueError, match="pre has 2"):
        reliable_change([1, 2], [1, 2, 3], instrument="phq9")


def test_no_threshold_or_cutoff_is_an_instrument_error() -> None:
    with pytest.raises(InstrumentError, match="no reliable change threshold"):
        reliable_change([3.0], [4.0], instrument="wai_sr")
    with pytest.raises(InstrumentError, match="no scale 'bond'"):
        reliable_change_threshold("phq9", "bond")
    with pytest.raises(InstrumentError, match="no clinical cutoff"):
        is_case([3.0], instrument="wai_sr")


@pytest.mark.parametrize(
    ("instrument", "value", "source_word"),
    [
        ("phq9", 6, "NHS"),
        ("gad7", 4, "NHS"),
        ("core10", 6, "CORE-10"),
        ("oq45", 14, "Lambert"),
        ("ors", 5, "Miller"),
    ],
)
def test_published_thresholds(instrument: str, value: float, source_word: str) -> None:
    t = reliable_change_threshold(instrument)
    assert t.value == value and source_word in t.source


def test_is_case_uses_the_direction() -> None:
    phq = is_case([9, 10, np.nan], instrument="phq9")
    assert phq.case.tolist() == [False, True, False] and phq.valid.tolist() == [True, True, False]
    srs = is_case([35.9, 36.0], instrument="srs")
    assert srs.case.tolist() == [True, False]
    sac = is_case([3.4, 3.5], instrument="sac")
    assert sac.case.tolist() == [True, False] and "not a validated cutoff" in sac.source


def test_cutoff_result_table_and_summary() -> None:
    result = is_case([12.0, 3.0, np.nan], instrument="gad7")
    assert result.to_frame()["case"].tolist() == [True, False, False]
    assert result.summary().startswith("1 of 2 scores >= 8")
