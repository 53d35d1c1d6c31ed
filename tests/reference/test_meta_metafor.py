"""bordin.analytics.meta_analysis against R's metafor 3.8.1 (issue 4).

Reads the committed reference outputs in ``tests/reference/data/meta/`` (shared references
``molloy2014``, ``mcdaniel1994`` made by ``tests/reference/r/ref_meta.R``; the project's own
cases in ``cases/`` made by ``tests/reference/r/make_meta_cases.R``). Never needs R.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.meta_analysis import analyse_correlations, fit_meta_regression
from bordin.errors import ConvergenceWarning
from support.tolerances import CLOSED_FORM_RTOL, ITERATIVE_RTOL

DATA = Path(__file__).parent / "data" / "meta"
FILES = sorted(DATA.glob("*.json")) + sorted((DATA / "cases").glob("*.json"))
CLOSED_FORM = {"FE", "DL", "HE", "SJ"}
# Values this close to 0 are compared absolutely: a relative tolerance is meaningless for a
# coefficient of 1e-17 that is 0 up to rounding (no reference value is that small otherwise).
ZERO_ATOL = 1e-13
# Quantities found by root finding or iteration in every model (Q-profile limits, and the
# diagnostics that refit models) are compared at the iterative tolerance.
BOUNDARY_TAU2 = 1e-10
ROOT_KEYS = {"tau2_ci_lb", "tau2_ci_ub", "I2_ci_lb", "I2_ci_ub"}


def _cases() -> list[tuple[str, str]]:
    out = []
    for path in FILES:
        ref = json.loads(path.read_text())
        for key in ref:
            if key != "provenance":
                out.append((path.relative_to(DATA).as_posix(), key))
    return out


CASES = _cases()


def _load(name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    path = DATA / name
    return pd.read_csv(path.with_suffix(".csv")), json.loads(path.read_text())


def _close(name: str, got: Any, want: Any, rtol: float) -> None:
    if want is None or want == []:
        assert got is None, f"{name}: metafor has no value, Bordin has {got}"
        return
    got_a = np.asarray(got, dtype=float)
    want_a = np.asarray(want, dtype=float)
    assert got_a.shape == want_a.shape, name
    if name.endswith("pval") and np.all(want_a < 1e-10) and np.all(want_a > 0):
        # Very small p-values differ between implementations in their last digits
        # (tail-area algorithms); compare them on the log scale.
        np.testing.assert_allclose(np.log(got_a), np.log(want_a), rtol=rtol, err_msg=name)
        return
    np.testing.assert_allclose(got_a, want_a, rtol=rtol, atol=ZERO_ATOL, err_msg=name)


@pytest.mark.parametrize(("file", "key"), CASES, ids=[f"{f}:{k}" for f, k in CASES])
def test_matches_metafor(file: str, key: str) -> None:
    # metafor warns in the same situations (its ll0check: ML stuck at a local maximum, as in
    # cases/localmax and some leave-one-out refits); the numbers are what is compared here,
    # and tests/unit/analytics/test_meta_inputs.py checks the warning itself.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        _check(file, key)


def _check(file: str, key: str) -> None:
    data, ref = _load(file)
    want = ref[key]
    parts = key.split("_")
    measure, method, test = parts[0], parts[1], parts[2] if len(parts) > 2 else "z"
    if "mods" in parts:
        # Shared file: "<M>_REML_mods_<mod>" (test z);
        # project cases: "<M>_<METHOD>_<TEST>_mods_<mod>".
        mod = parts[-1]
        if parts[2] == "mods":
            test = "z"
        analysis = analyse_correlations(data["r"], data["n"], measure=measure, method=method)
        reg = fit_meta_regression(
            analysis.effect_sizes.yi,
            analysis.effect_sizes.vi,
            list(data[mod].where(data[mod].notna(), None)),
            name=mod,
            method=method,
            test=test,
        )
        rtol = CLOSED_FORM_RTOL if method in CLOSED_FORM else ITERATIVE_RTOL
        assert list(reg.terms) == list(want["coef"])
        _close("coef", reg.coef, list(want["coef"].values()), rtol)
        _close("se", reg.se, want["se"], rtol)
        for ours, theirs in (
            (reg.qm, "QM"),
            (reg.qm_p_value, "QM_pval"),
            (reg.qe, "QE"),
            (reg.tau2, "tau2"),
            (reg.r2, "R2"),
        ):
            _close(theirs, ours, want[theirs], rtol)
        assert reg.k == want["k"]
        return
    level = 0.90 if key.endswith("_level90") else 0.95
    analysis = analyse_correlations(
        data["r"], data["n"], measure=measure, method=method, test=test, level=level
    )
    got = analysis.model_json()
    assert got["k"] == want["k"]
    rtol = CLOSED_FORM_RTOL if method in CLOSED_FORM else ITERATIVE_RTOL
    for name, value in want.items():
        if name == "k":
            continue
        if name in ("trimfill_k0", "trimfill_side"):
            assert got[name] == value, name
            continue
        if name in ("I2", "H2") and 0 < want["tau2"] < BOUNDARY_TAU2:
            # tau^2 on the boundary: Fisher scoring stops once tau^2 changes by < 1e-12, so
            # both implementations leave tau^2 at 0 only up to ~1e-12 (ML, k = 2), and I^2
            # (percent) at 0 up to ~1e-8; compare absolutely at a level far below any use.
            np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-7, err_msg=name)
            continue
        tol = (
            ITERATIVE_RTOL
            if name in ROOT_KEYS or name.startswith(("egger", "trim", "leave"))
            else rtol
        )
        _close(name, got.get(name), value, max(tol, rtol))


def test_every_reference_file_is_used() -> None:
    assert {f for f, _ in CASES} >= {
        "molloy2014.json",
        "mcdaniel1994.json",
        "cases/cohen1981.json",
        "cases/homogeneous.json",
    }
    assert len(CASES) > 100


def test_provenance_blocks_name_versions() -> None:
    for path in sorted((DATA / "cases").glob("*.json")):
        prov = json.loads(path.read_text())["provenance"]
        assert prov["metafor"] == "3.8.1"
        assert prov["R"].startswith("R version 4.2.2")
        assert (Path(__file__).parent.parent.parent / prov["script"]).is_file()
