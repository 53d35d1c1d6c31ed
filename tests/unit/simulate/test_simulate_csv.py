"""The simulator's vectorised CSV writer reads back as the frame it wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.simulate import _csv
from bordin.simulate._csv import write_frame_csv


def test_values_round_trip_through_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_csv, "_CHUNK_ROWS", 3_000)  # several chunks, the last one partial
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame(
        {
            "id": np.array([f"c{i:06d}" for i in range(n)], dtype=object),
            "cat": pd.Categorical.from_codes(rng.integers(0, 3, n), ["sac", "phq9", "gad7"]),
            "small": rng.integers(-5, 30, n),
            "big": rng.integers(0, 10**15, n),
            "real": rng.normal(0, 10, n),
            "tiny": rng.normal(0, 1e-6, n),
            "flag": rng.random(n) < 0.3,
            "maybe": pd.array(rng.integers(1, 20, n), dtype="Int64"),
        }
    )
    frame.loc[::7, "real"] = np.nan
    frame.loc[::5, "maybe"] = pd.NA
    path = tmp_path / "out.csv"
    write_frame_csv(frame, path)
    back = pd.read_csv(path, keep_default_na=True)
    assert list(back.columns) == list(frame.columns)
    assert (back["id"] == frame["id"]).all()
    assert (back["cat"] == frame["cat"].astype(str)).all()
    np.testing.assert_array_equal(back["small"], frame["small"])
    np.testing.assert_array_equal(back["big"], frame["big"])
    # Fixed point with nine decimals: absolute error at most half a unit in the 9th place.
    np.testing.assert_allclose(back["real"], frame["real"], rtol=0, atol=5.1e-10)
    np.testing.assert_allclose(back["tiny"], frame["tiny"], rtol=0, atol=5.1e-10)
    assert (back["real"].isna() == frame["real"].isna()).all()
    assert (back["flag"] == frame["flag"]).all()
    assert (back["maybe"].isna() == frame["maybe"].isna()).all()
    np.testing.assert_array_equal(back["maybe"].dropna(), frame["maybe"].dropna())


def test_exact_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "x": [3.5, 12.0, -0.25, 0.0, -1e-12, 0.018885226, np.nan],
            "n": pd.array([1, None, -30, 0, 7, 100, 5], dtype="Int64"),
            "s": ["a", 'say "hi"', "x,y", "", "b", "c", "d"],
            "b": [True, False, True, False, True, False, True],
        }
    )
    path = tmp_path / "t.csv"
    write_frame_csv(frame, path)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "x,n,s,b",
        "3.5,1,a,True",
        '12,,"say ""hi""",False',
        '-0.25,-30,"x,y",True',
        "0,0,,False",
        "0,7,b,True",
        "0.018885226,100,c,False",
        ",5,d,True",
    ]


def test_empty_frame_writes_the_header(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": pd.Series([], dtype=np.int64), "b": pd.Series([], dtype=float)})
    path = tmp_path / "e.csv"
    write_frame_csv(frame, path)
    assert path.read_text(encoding="utf-8") == "a,b\n"


@pytest.mark.parametrize(
    ("decimals", "expected"),
    [(2, ["x", "1.25", "-0.5", "0", "100"]), (6, ["x", "1.254999", "-0.5", "0.001", "100"])],
)
def test_other_precisions(tmp_path: Path, decimals: int, expected: list[str]) -> None:
    frame = pd.DataFrame({"x": [1.254999, -0.5, 0.001, 100.0]})
    path = tmp_path / "p.csv"
    write_frame_csv(frame, path, decimals=decimals)
    assert path.read_text(encoding="utf-8").splitlines() == expected


def test_wide_integer_ranges_and_missing_values(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "wide": [0, 10**12, -(10**9), 7],
            "narrow": pd.array([3, None, 5, 4], dtype="Int64"),
            "gone": pd.array([None, None, None, None], dtype="Int64"),
        }
    )
    path = tmp_path / "w.csv"
    write_frame_csv(frame, path)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "wide,narrow,gone",
        "0,3,",
        "1000000000000,,",
        "-1000000000,5,",
        "7,4,",
    ]
