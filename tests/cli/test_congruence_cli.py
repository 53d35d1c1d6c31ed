"""``bordin congruence`` and the report's congruence section: one code path, one set of numbers."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bordin.cli.main import main
from bordin.errors import BordinWarning
from bordin.reports.report import ClinicReport, build_report, render_html
from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings


@pytest.fixture(scope="module")
def clinic() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same clinic with and without therapist session checks."""
    sim = simulate_clinic(SimulationConfig(n_clients=80, clients_per_therapist=10), seed=12)
    return sim.scores, simulate_therapist_ratings(sim, seed=13).scores


def _report(scores: pd.DataFrame, steps: list[str] | None = None) -> ClinicReport:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return build_report(
            scores,
            alliance="sac_total",
            outcome="phq9_total",
            source="clinic.csv",
            progress=None if steps is None else steps.append,
        )


@pytest.fixture(scope="module")
def with_checks(clinic: tuple[pd.DataFrame, pd.DataFrame]) -> ClinicReport:
    return _report(clinic[1])


@pytest.fixture(scope="module")
def csv(
    clinic: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("congruence") / "scores.csv"
    clinic[1].to_csv(path, index=False)
    return path


def test_report_numbers_equal_the_cli_json(
    with_checks: ClinicReport, csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            "congruence",
            str(csv),
            "--alliance",
            "sac_total",
            "--outcome",
            "phq9_total",
            "--lagged",
            "--json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    numbers = with_checks.numbers()
    shown = {k for k in numbers if k.startswith("congruence.")}
    checked: set[str] = set()
    for group, rows in (("coef", payload["coefficients"]), ("surface", payload["surface"])):
        for row in rows:
            for field in ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "df"):
                key = f"congruence.{group}.{row['term']}.{field}"
                assert numbers[key] == row[field], key  # the same function: equal to the bit
                checked.add(key)
    for field in ("r_squared", "center", "n", "n_excluded"):
        assert numbers[f"congruence.{field}"] == payload[field]
        checked.add(f"congruence.{field}")
    fit = payload["lagged"]
    for side, prefix in (("client", "alliance"), ("therapist", "therapist_total")):
        for part in ("within", "between"):
            key, term = f"congruence.lagged.{side}.{part}", f"{prefix}_{part}"
            assert numbers[f"{key}.estimate"] == fit["fixed"][term]
            assert numbers[f"{key}.se"] == fit["se"][term]
            assert [numbers[f"{key}.ci_low"], numbers[f"{key}.ci_high"]] == fit["ci"][term]
            assert numbers[f"{key}.df"] == fit["df"][term]
            assert numbers[f"{key}.p_value"] == fit["p_value"][term]
            checked |= {
                f"{key}.{f}" for f in ("estimate", "se", "ci_low", "ci_high", "df", "p_value")
            }
    for count in ("n_obs", "n_clients"):
        assert numbers[f"congruence.lagged.{count}"] == fit[count]
        checked.add(f"congruence.lagged.{count}")
    assert shown == checked  # every congruence number of the report is in the CLI's JSON


def test_section_is_shown_with_therapist_checks(with_checks: ClinicReport) -> None:
    status = with_checks.section("congruence")
    assert status.available, status.reason
    assert status.title == "Client\u2013therapist congruence and outcome"
    html = render_html(with_checks)
    assert '<section id="congruence">' in html and 'href="#congruence"' in html
    section = html[html.index('<section id="congruence">') : html.index('<section id="methods">')]
    assert section.count("<svg") == 1 and section.count("<figcaption>") == 1
    for term in ("a1", "a2", "a3", "a4", "a5"):
        key = f"congruence.surface.{term}.estimate"
        m = re.search(rf'data-key="{re.escape(key)}" data-value="([^"]+)"', section)
        assert m is not None and float(m.group(1)) == with_checks.numbers()[key]
    assert "Humberg, Nestler &amp; Back, 2019" in section and "Shanock et al., 2010" in section
    assert "Edwards, J. R., &amp; Parry" in html  # in the references
    assert "the therapist's rating beside the client's" in section
    assert 'data-key="congruence.lagged.therapist.within.estimate"' in section


def test_section_is_absent_without_therapist_checks(
    clinic: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    steps: list[str] = []
    report = _report(clinic[0], steps)
    assert "congruence" not in [s.key for s in report.sections] and "congruence" not in steps
    assert report.congruence is None and report.congruence_lagged is None
    assert not [k for k in report.numbers() if k.startswith("congruence")]
    html = render_html(report)
    assert 'id="congruence"' not in html and "Edwards, J. R." not in html
    assert "Client\u2013therapist congruence" not in html


def test_section_is_missing_with_its_reason_when_too_few_clients_are_rated(
    clinic: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    scores = clinic[1].copy()
    rated = scores["client_id"].isin(sorted(scores["client_id"].unique())[:6])
    for column in [c for c in scores if c.startswith("tsc_")]:
        scores.loc[~rated, column] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BordinWarning)
        report = build_report(scores, alliance="sac_total", outcome="phq9_total")
    status = report.section("congruence")
    assert not status.available and "at least 10" in status.reason
    html = render_html(report)
    assert f"This section is missing: {status.reason}"[:50] in html


def test_cli_without_therapist_checks_is_a_one_line_error(
    clinic: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "client_only.csv"
    clinic[0].to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["congruence", str(path), "--outcome", "phq9"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "tsc_total" in err and err.count("\n") == 1


def test_cli_table(csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["congruence", str(csv), "--outcome", "phq9"])
    out = capsys.readouterr().out
    assert "Response surface: change on client_total (x) and therapist_total (y)" in out
    assert all(f"  a{i} " in out for i in range(1, 6)) and "- Agreement line" in out
