"""The Examples in the scoring docstrings run and give what they show."""

from __future__ import annotations

import doctest

import pytest

import bordin.scoring.change
import bordin.scoring.scores


@pytest.mark.parametrize("module", [bordin.scoring.change, bordin.scoring.scores])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0
