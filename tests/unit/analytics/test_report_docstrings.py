"""Statistics docstrings of the report analyses: numpydoc order, cited files exist, examples run."""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bordin.analytics.congruence import fit_congruence, fit_pair_lagged_model
from bordin.analytics.early_alliance import fit_early_alliance
from bordin.analytics.moderation import fit_moderation
from bordin.analytics.outcome_summary import summarise_outcomes, wilson_interval
from bordin.analytics.rupture_outcomes import fit_rupture_outcomes
from bordin.analytics.therapist_alliance import fit_therapist_alliance

ROOT = Path(__file__).resolve().parents[3]
SECTIONS = ("Parameters", "Returns", "Raises", "Notes", "Validation", "References", "Examples")
FUNCTIONS: list[Callable[..., object]] = [
    fit_moderation,
    fit_early_alliance,
    summarise_outcomes,
    fit_rupture_outcomes,
    fit_therapist_alliance,
    fit_congruence,
    fit_pair_lagged_model,
]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_sections_in_order_and_cited_files_exist(function: Callable[..., object]) -> None:
    doc = function.__doc__ or ""
    positions = [doc.find(f"\n    {name}\n    ---") for name in SECTIONS]
    assert all(p > 0 for p in positions), dict(zip(SECTIONS, positions, strict=True))
    assert positions == sorted(positions)
    cited = re.findall(r"``(tests/[\w/.\-]+)``", doc)
    assert cited, "Validation names no reference file"
    assert [c for c in cited if not (ROOT / c).is_file()] == []
    assert "doi.org/10." in doc


def test_wilson_validation_file_exists() -> None:
    cited = re.findall(r"``(tests/[\w/.\-]+)``", wilson_interval.__doc__ or "")
    assert cited and all((ROOT / c).is_file() for c in cited)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_examples_run(function: Callable[..., object]) -> None:
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(
        function,
        globs={
            "__name__": function.__module__,
            **vars(__import__(function.__module__, fromlist=["_"])),
        },
    )
    assert tests and tests[0].examples
    for test in tests:
        runner.run(test)
    assert runner.failures == 0


def test_every_reference_file_has_provenance() -> None:
    import json

    data = ROOT / "tests" / "reference" / "data" / "report"
    files = sorted(data.glob("*.json"))
    assert len(files) >= 6
    for path in files:
        prov = json.loads(path.read_text(encoding="utf-8"))["provenance"]
        assert prov["r_version"].startswith("R version")
        assert prov["call"] and (ROOT / prov["script"]).is_file(), path.name
