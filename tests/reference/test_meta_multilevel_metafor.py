"""Three-level meta-analysis against R's metafor 3.8.1 and clubSandwich 0.5.8 (issue 20).

Reads ``tests/reference/data/meta/multilevel/*.json`` made by
``tests/reference/r/make_multilevel_cases.R`` (``rma.mv`` with ``~ 1 | cluster/effect``,
``fitstats``, ``confint``, ``robust(..., clubSandwich = TRUE)``). Never needs R.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bordin.analytics.meta_analysis import (
    MultilevelMetaResult,
    fit_multilevel_meta,
    robust_cr2,
    sigma2_confint,
)
from support.tolerances import CLOSED_FORM_RTOL, ITERATIVE_RTOL

DATA = Path(__file__).parent / "data" / "meta" / "multilevel"
FILES = sorted(DATA.glob("*.json"))
# metafor's rma.mv maximises the likelihood with nlminb at its default tolerances, and they
# cannot be tightened (rel.tol below 1e-10 makes nlminb report false convergence on these
# data). Its sigma2 are up to 1.2e-6 (relative) from the maximum, which Bordin's Fisher
# scoring reaches to 1e-12 (its score is 0 there and its log-likelihood at least R's);
# coefficients, CIs and tail p-values inherit up to ~4e-6 from that. Everything that depends
# on the estimates is compared at this tolerance, and again at CLOSED_FORM_RTOL with the
# variance components held at R's values (which removes the optimiser from the comparison).
OPTIMISER_RTOL = 5e-6


def _cases() -> list[tuple[str, str]]:
    out = []
    for path in FILES:
        ref = json.loads(path.read_text())
        out += [(path.name, key) for key in ref if key not in ("provenance", "data")]
    return out


CASES = _cases()


def _fit(file: str, key: str, *, fixed: bool) -> tuple[MultilevelMetaResult, dict[str, Any]]:
    ref = json.loads((DATA / file).read_text())
    data = pd.read_csv((DATA / file).with_suffix(".csv"))
    info = ref["data"]
    want = ref[key]
    method, test = key.split("_")[:2]
    mods = list(info["mods"]) if isinstance(info["mods"], list) else [info["mods"]]
    res = fit_multilevel_meta(
        data["yi"],
        data["vi"],
        list(data[info["cluster"]]),
        effect=list(data[info["effect"]]),
        mods=data[mods] if key.endswith("_mods") else None,
        method=method,  # type: ignore[arg-type]
        test=test,  # type: ignore[arg-type]
        cluster_name=info["cluster"],
        effect_name=info["effect"],
        sigma2=(want["sigma2"][0], want["sigma2"][1]) if fixed else (None, None),
    )
    return res, want


def _close(name: str, got: Any, want: Any, rtol: float, scale: Any = None) -> None:
    # jsonlite writes a vector of length 1 as a scalar.
    got_a = np.atleast_1d(np.asarray(got, dtype=float))
    want_a = np.atleast_1d(np.asarray(want, dtype=float))
    assert got_a.shape == want_a.shape, name
    # Confidence limits can be near 0 (a coefficient whose interval just excludes 0); compare
    # those relative to the coefficient's standard error.
    atol = np.zeros(want_a.shape)
    if scale is not None:
        atol = rtol * np.broadcast_to(np.asarray(scale, dtype=float), want_a.shape)
    for index in np.ndindex(want_a.shape):
        np.testing.assert_allclose(
            got_a[index], want_a[index], rtol=rtol, atol=float(atol[index]), err_msg=name
        )


def _check_model(res: MultilevelMetaResult, want: dict[str, Any], rtol: float) -> None:
    got = res.to_json_dict()
    assert list(got["beta"]) == list(want["beta"])
    assert got["k"] == want["k"] and got["p"] == want["p"]
    assert got["s.nlevels"] == want["s.nlevels"]
    assert got["s.names"] == want["s.names"]
    stat = "zval" if res.test == "z" else "tval"
    _close("beta", list(got["beta"].values()), list(want["beta"].values()), rtol)
    for name in ("se", "pval", "QM", "QMp"):
        _close(name, got[name], want[name], rtol)
    _close(stat, got[stat], want["zval"], rtol)
    for name in ("ci.lb", "ci.ub"):
        _close(name, got[name], want[name], rtol, scale=want["se"])
    assert got["QMdf"] == want["QMdf"]
    if res.test == "t":
        assert [got["dfs"]] * res.p == np.atleast_1d(want["dfs"]).tolist()
    # QE does not depend on the variance components: a closed form.
    _close("QE", got["QE"], want["QE"], CLOSED_FORM_RTOL)
    _close("QEp", got["QEp"], want["QEp"], CLOSED_FORM_RTOL)


@pytest.mark.parametrize(("file", "key"), CASES, ids=[f"{f}:{k}" for f, k in CASES])
def test_model_matches_metafor(file: str, key: str) -> None:
    res, want = _fit(file, key, fixed=False)
    _close("sigma2", res.sigma2, want["sigma2"], OPTIMISER_RTOL)
    _check_model(res, want, OPTIMISER_RTOL)
    got = res.to_json_dict()
    for name in ("logLik", "deviance", "AIC", "BIC", "AICc"):
        _close(name, got[name], want[name], ITERATIVE_RTOL)
    # Bordin's maximum is at least metafor's (up to rounding of the log-likelihood).
    assert got["logLik"] >= want["logLik"] - 1e-9


@pytest.mark.parametrize(("file", "key"), CASES, ids=[f"{f}:{k}" for f, k in CASES])
def test_model_at_metafor_variance_components(file: str, key: str) -> None:
    res, want = _fit(file, key, fixed=True)
    _check_model(res, want, CLOSED_FORM_RTOL)
    _close("logLik", res.loglik, want["logLik"], CLOSED_FORM_RTOL)


ROBUST = [(f, k) for f, k in CASES if k.split("_")[1] == "z"]


def _check_robust(res: MultilevelMetaResult, want: dict[str, Any], rtol: float) -> None:
    got = robust_cr2(res).to_json_dict()
    assert got["n"] == want["n"]
    for name in ("se", "tval", "dfs", "pval", "QM", "QMdf", "QMp"):
        _close(name, got[name], want[name], rtol)
    for name in ("ci.lb", "ci.ub"):
        _close(name, got[name], want[name], rtol, scale=want["se"])


@pytest.mark.parametrize(("file", "key"), ROBUST, ids=[f"{f}:{k}" for f, k in ROBUST])
def test_robust_matches_clubsandwich(file: str, key: str) -> None:
    res, want = _fit(file, key, fixed=False)
    _check_robust(res, want["robust"], OPTIMISER_RTOL)
    res, want = _fit(file, key, fixed=True)
    _check_robust(res, want["robust"], CLOSED_FORM_RTOL)
    vb = robust_cr2(res).vb
    _close("vb", vb, want["robust"]["vb"], CLOSED_FORM_RTOL, scale=np.sqrt(np.diag(vb)))


@pytest.mark.parametrize(("file", "key"), ROBUST, ids=[f"{f}:{k}" for f, k in ROBUST])
def test_profile_confint_matches_metafor(file: str, key: str) -> None:
    res, want = _fit(file, key, fixed=False)
    got = sigma2_confint(res).to_json_dict()
    for comp in ("sigma2.1", "sigma2.2"):
        for name in ("ci.lb", "ci.ub"):
            # A lower limit of exactly 0 (the likelihood ratio at 0 is below the cut-off).
            if want["confint"][comp][name] == 0:
                assert got[comp][name] == 0.0
                continue
            _close(f"{comp} {name}", got[comp][name], want["confint"][comp][name], ITERATIVE_RTOL)


def test_every_reference_file_is_used() -> None:
    assert {f for f, _ in CASES} == {
        "assink2016.json",
        "bornmann2007.json",
        "konstantopoulos2011.json",
    }
    assert len(CASES) == 24
    zero_lower = [
        json.loads((DATA / f).read_text())[k]["confint"]["sigma2.1"]["ci.lb"] for f, k in ROBUST
    ]
    assert 0.0 in zero_lower  # the boundary case is among the references


def test_provenance_blocks_name_versions() -> None:
    for path in FILES:
        prov = json.loads(path.read_text())["provenance"]
        assert prov["metafor"] == "3.8.1"
        assert prov["clubSandwich"] == "0.5.8"
        assert prov["R"].startswith("R version 4.2.2")
        assert (Path(__file__).parent.parent.parent / prov["script"]).is_file()
