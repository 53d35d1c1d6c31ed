"""The package's metadata as setuptools reads it.

``license = { text = ... }`` is deprecated since setuptools 77: a fresh clone's ``make
setup`` printed the same deprecation notice three times (builds fail after 2027-02-18).
The licence is an SPDX expression instead.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_licence_is_an_spdx_expression_for_setuptools_77() -> None:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert data["project"]["license"] == "AGPL-3.0-or-later"
    setuptools = next(r for r in data["build-system"]["requires"] if r.startswith("setuptools"))
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert minimum is not None and int(minimum.group(1)) >= 77
