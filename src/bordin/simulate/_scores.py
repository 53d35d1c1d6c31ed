"""Scale scores of the simulated responses, through the project's scoring rules.

The simulator holds each instrument's responses as a ``sessions x items`` array already, so
it scores them with :func:`bordin.scoring.score_item_matrix` (the same rules and definitions
as :func:`bordin.scoring.score_responses`, without re-validating millions of item rows).
Columns come out exactly as ``score_responses`` names and orders them (instruments in id
order, each with its scales then its raw risk items); a test checks the two agree.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from bordin.instruments import get_instrument
from bordin.scoring import score_item_matrix
from bordin.simulate._items import ItemBlock

__all__ = ["score_blocks"]


def _matrix(block: ItemBlock, n_items: int) -> npt.NDArray[np.float64]:
    matrix = np.full((block.values.shape[0], n_items), np.nan)
    cols = np.asarray(block.items) - 1
    matrix[:, cols] = np.where(block.present, block.values, np.nan)
    return matrix


def score_blocks(blocks: list[ItemBlock]) -> pd.DataFrame:
    """The scale (and risk-item) columns of the session-scores frame, in scoring's order."""
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for block in sorted(blocks, key=lambda b: b.instrument):
        definition = get_instrument(block.instrument)
        matrix = _matrix(block, definition.n_items)
        scores = score_item_matrix(definition, matrix)
        for scale in definition.scales:
            columns[definition.column(scale.name)] = scores[scale.name]
        for number in definition.risk_items:
            columns[definition.item_column(number)] = matrix[:, number - 1]
    return pd.DataFrame(columns)
