"""Results objects of the meta-analysis: vocabulary, summaries, documentation (issue 4)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bordin.analytics.meta_analysis as meta
from bordin.columns import check_result_columns

ROOT = Path(__file__).resolve().parents[3]
MOLLOY = ROOT / "tests" / "reference" / "data" / "meta" / "molloy2014.csv"


@pytest.fixture(scope="module")
def analysis() -> meta.CorrelationMetaAnalysis:
    data = pd.read_csv(MOLLOY)
    return meta.analyse_correlations(
        data["r"], data["n"], moderator=list(data["design"]), moderator_name="design"
    )


def test_tables_use_the_column_vocabulary(analysis: meta.CorrelationMetaAnalysis) -> None:
    frames = [
        analysis.model.to_frame(),
        analysis.to_frame(),
        analysis.confint.to_frame() if analysis.confint else None,
        analysis.egger.to_frame() if analysis.egger else None,
        analysis.trimfill.to_frame() if analysis.trimfill else None,
        analysis.leave_one_out.to_frame() if analysis.leave_one_out else None,
        analysis.regression.to_frame() if analysis.regression else None,
    ]
    for frame in frames:
        assert frame is not None
        assert check_result_columns(list(frame.columns)) == []
    loo = analysis.leave_one_out
    assert loo is not None and len(loo.to_frame()) == analysis.model.k


def test_summary_reads_like_a_report(analysis: meta.CorrelationMetaAnalysis) -> None:
    text = analysis.summary()
    for words in ("random-effects (REML)", "k = 16", "I^2", "Q-profile", "Egger", "trim and fill"):
        assert words in text
    assert "r = 0.149" in text
    assert "designprospective" in text


def test_json_keys_of_the_issue(analysis: meta.CorrelationMetaAnalysis) -> None:
    out = analysis.to_json_dict()
    for key in ("coef", "se", "QM", "QMp", "QMdf", "QE", "tau2", "R2", "k"):
        assert key in out
    assert set(out["coef"]) == {"intrcpt", "designprospective"}
    overall = out["overall"]
    keys = [
        "estimate",
        "se",
        "stat",
        "pval",
        "ci_lb",
        "ci_ub",
        "tau2",
        "se_tau2",
        "I2",
        "H2",
        "Q",
        "Q_pval",
        "k",
        "pi_lb",
        "pi_ub",
        "r_estimate",
        "r_ci_lb",
        "r_ci_ub",
        "r_pi_lb",
        "r_pi_ub",
        "tau2_ci_lb",
        "tau2_ci_ub",
        "I2_ci_lb",
        "I2_ci_ub",
        "egger_stat",
        "egger_pval",
        "trimfill_k0",
        "trimfill_side",
        "trimfill_estimate",
        "leave1out_estimate",
    ]
    assert [k for k in keys if k not in overall] == []
    assert overall["r_estimate"] == pytest.approx(np.tanh(overall["estimate"]), rel=1e-15)


def test_cor_measure_has_no_back_transform() -> None:
    data = pd.read_csv(MOLLOY)
    out = meta.analyse_correlations(data["r"], data["n"], measure="COR").to_json_dict()
    assert "r_estimate" not in out and out["measure"] == "COR"


def test_two_studies_skip_bias_diagnostics() -> None:
    res = meta.analyse_correlations([0.35, 0.18], [60, 150])
    assert res.egger is None and res.trimfill is None and res.leave_one_out is None
    assert any("at least 3 studies" in note for note in res.notes)


def test_knapp_hartung_uses_t_with_k_minus_1_df() -> None:
    data = pd.read_csv(MOLLOY)
    es = meta.compute_effect_sizes(data["r"], data["n"])
    z = meta.random_effects_meta(es.yi, es.vi)
    t = meta.random_effects_meta(es.yi, es.vi, test="knha")
    assert z.df is None and t.df == 15
    assert t.estimate == pytest.approx(z.estimate, rel=1e-15)
    # Knapp-Hartung scales the variance by the weighted residual Q / (k - 1) (untruncated).
    w = 1 / (es.vi + z.tau2)
    scale = np.sum(w * (es.yi - z.estimate) ** 2) / 15
    assert t.se == pytest.approx(z.se * np.sqrt(scale), rel=1e-12)


def test_trim_and_fill_mirrors_the_most_extreme_studies() -> None:
    # Small studies with large effects only: studies are missing on the left.
    r = [0.05, 0.08, 0.1, 0.12, 0.3, 0.35, 0.45, 0.5]
    n = [900, 700, 500, 400, 60, 50, 30, 25]
    res = meta.analyse_correlations(r, n, method="FE")
    tf = res.trimfill
    assert tf is not None and tf.side == "left" and tf.k0 > 0
    assert tf.estimate < res.model.estimate
    assert len(tf.filled_yi) == tf.k0 and tf.filled.k == 8 + tf.k0


def test_docstrings_follow_the_statistics_convention() -> None:
    sections = ["Parameters", "Returns", "Raises", "Notes", "Validation", "References", "Examples"]
    for name in (
        "compute_effect_sizes",
        "random_effects_meta",
        "tau2_confint",
        "egger_test",
        "trim_and_fill",
        "leave_one_out",
        "fit_meta_regression",
        "analyse_correlations",
        "correlations_by_group",
    ):
        doc = inspect.getdoc(getattr(meta, name)) or ""
        positions = [doc.find(f"\n{s}\n---") for s in sections]
        assert all(p > 0 for p in positions), name
        assert positions == sorted(positions), name
        assert "doi.org/" in doc, name
        for cited in re.findall(r"tests/[\w/]+\.(?:json|py|R)", doc):
            assert (ROOT / cited).is_file(), f"{name} cites {cited}"
