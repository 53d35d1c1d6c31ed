"""Scale scores of the simulated responses, computed on the wide item arrays.

The simulator holds each instrument's responses as a rows x items array, so its scores are
plain row means and sums; ``tests/unit/simulate`` checks them against
:func:`bordin.scoring.score_responses` on the long frame, so the two never disagree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bordin.simulate._items import SAC_COMPONENT_OF_ITEM, WAI_SR_COMPONENT_OF_ITEM, ItemBlock
from bordin.simulate._latent import COMPONENTS

__all__ = ["score_blocks"]


def _alliance_scores(block: ItemBlock, components: tuple[int, ...]) -> dict[str, np.ndarray]:
    k = len(components)
    values = block.values[:, :k].astype(np.float64)
    out = {f"{block.instrument}_total": values.mean(axis=1)}
    for j, name in enumerate(COMPONENTS):
        cols = [i for i, c in enumerate(components) if c == j]
        out[f"{block.instrument}_{name}"] = values[:, cols].mean(axis=1)
    return out


def score_blocks(blocks: list[ItemBlock]) -> pd.DataFrame:
    """Scale scores of each block, one column per scale, in a fixed order."""
    columns: dict[str, np.ndarray] = {}
    for block in blocks:
        if block.instrument == "sac":
            columns.update(_alliance_scores(block, SAC_COMPONENT_OF_ITEM))
        elif block.instrument == "wai_sr":
            columns.update(_alliance_scores(block, WAI_SR_COMPONENT_OF_ITEM))
        else:
            total = block.values.astype(np.int64).sum(axis=1)
            columns[f"{block.instrument}_total"] = total
    return pd.DataFrame(columns)
