"""Scoring: item responses to scale scores, missing-item rules, cutoffs and reliable change."""

from bordin.scoring.change import (
    ChangeCategory,
    CutoffResult,
    ReliableChangeResult,
    ReliableChangeThreshold,
    is_case,
    reliable_change,
    reliable_change_threshold,
)
from bordin.scoring.scores import score_item_matrix, score_responses, score_scale

__all__ = [
    "ChangeCategory",
    "CutoffResult",
    "ReliableChangeResult",
    "ReliableChangeThreshold",
    "is_case",
    "reliable_change",
    "reliable_change_threshold",
    "score_item_matrix",
    "score_responses",
    "score_scale",
]
