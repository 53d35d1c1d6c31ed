"""Clinical cutoffs, reliable change and recovery (Jacobson & Truax, 1991).

Every threshold comes from the instrument definition, which names its source; nothing is
hard-coded here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from bordin.errors import InstrumentError
from bordin.instruments import InstrumentDefinition, ScaleDefinition, get_instrument

__all__ = [
    "ChangeCategory",
    "CutoffResult",
    "ReliableChangeResult",
    "ReliableChangeThreshold",
    "is_case",
    "reliable_change",
    "reliable_change_threshold",
]

ArrayLike = npt.ArrayLike


class ChangeCategory(StrEnum):
    """Reliable change category of one pre-post pair."""

    RELIABLE_IMPROVEMENT = "reliable_improvement"
    NO_RELIABLE_CHANGE = "no_reliable_change"
    RELIABLE_DETERIORATION = "reliable_deterioration"


@dataclass(frozen=True)
class ReliableChangeThreshold:
    """The reliable change threshold of a scale and where it comes from.

    Attributes
    ----------
    instrument, scale
        Which scale.
    value
        A change of at least this many score points is reliable.
    computed
        True when computed from ``sd`` and ``reliability`` (Jacobson & Truax, 1991), False
        when a published threshold is used as is.
    sd, reliability
        The inputs of the computation (None for a published threshold).
    source
        The publication the threshold or its inputs come from.
    """

    instrument: str
    scale: str
    value: float
    computed: bool
    sd: float | None
    reliability: float | None
    source: str


@dataclass(frozen=True)
class CutoffResult:
    """Caseness of each score against a scale's clinical cutoff.

    Attributes
    ----------
    case
        True where the score is in the clinical (or concern) range; False for a score
        outside it and for a missing score (see ``valid``).
    valid
        False where the score is missing.
    value, case_if, source
        The cutoff used (``score <case_if> value`` is a case) and its source.
    """

    case: np.ndarray
    valid: np.ndarray
    value: float
    case_if: str
    source: str

    def to_frame(self) -> pd.DataFrame:
        """One row per score: case, valid."""
        return pd.DataFrame({"case": self.case, "valid": self.valid})

    def summary(self) -> str:
        """Counts of cases among the valid scores, with the cutoff and its source."""
        n_valid = int(self.valid.sum())
        return (
            f"{int(self.case.sum())} of {n_valid} scores {self.case_if} {self.value:g} "
            f"({self.source})"
        )


@dataclass(frozen=True)
class ReliableChangeResult:
    """Reliable change and recovery of each pre-post pair (Jacobson & Truax, 1991).

    Attributes
    ----------
    instrument, scale
        The scale compared.
    change
        ``post - pre`` in score points (NaN where either is missing).
    improvement
        Change in the direction of improvement: ``pre - post`` for a scale where higher is
        worse, ``post - pre`` where higher is better.
    category
        Object array of :class:`ChangeCategory` values, None where either score is missing.
    recovered
        Clinically significant change: a case at ``pre``, not a case at ``post``, and a
        reliable improvement. False where a score is missing or the scale has no cutoff.
    valid
        True where both scores are present.
    threshold
        The reliable change threshold used, with its source.
    has_cutoff
        False when the scale has no clinical cutoff (``recovered`` is then all False).
    """

    instrument: str
    scale: str
    change: np.ndarray
    improvement: np.ndarray
    category: np.ndarray
    recovered: np.ndarray
    valid: np.ndarray
    threshold: ReliableChangeThreshold
    has_cutoff: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per pair: change, improvement, category, recovered, valid."""
        return pd.DataFrame(
            {
                "change": self.change,
                "improvement": self.improvement,
                "category": pd.Categorical(
                    self.category, categories=[c.value for c in ChangeCategory]
                ),
                "recovered": self.recovered,
                "valid": self.valid,
            }
        )

    def summary(self) -> str:
        """Counts per category, for the terminal."""
        counts = {c: int(np.sum(self.category == c)) for c in ChangeCategory}
        parts = [f"{c.value}: {n}" for c, n in counts.items()]
        parts.append(f"recovered: {int(self.recovered.sum())}")
        parts.append(f"missing: {int((~self.valid).sum())}")
        return (
            f"{self.instrument}_{self.scale} reliable change (threshold "
            f"{self.threshold.value:.4g}; {self.threshold.source}): " + ", ".join(parts)
        )


def _scale(instrument: str, scale: str) -> tuple[InstrumentDefinition, ScaleDefinition]:
    definition = get_instrument(instrument)
    try:
        return definition, definition.scale(scale)
    except KeyError:
        names = ", ".join(s.name for s in definition.scales)
        raise InstrumentError(f"{instrument} has no scale {scale!r} (scales: {names})") from None


def reliable_change_threshold(instrument: str, scale: str = "total") -> ReliableChangeThreshold:
    """The reliable change threshold of a scale and its source.

    Notes
    -----
    A published threshold (e.g. 6 points on the PHQ-9, NHS Talking Therapies) is used as
    is. Otherwise it is the Jacobson & Truax (1991) reliable change criterion in score
    points,

    .. math:: 1.96 \\, S_{diff}, \\qquad S_{diff} = \\sqrt{2 S_E^2},
              \\qquad S_E = s_1 \\sqrt{1 - r_{xx}},

    with :math:`s_1` the pretreatment standard deviation and :math:`r_{xx}` the reliability.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
    defining meaningful change in psychotherapy research. Journal of Consulting and
    Clinical Psychology, 59(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

    Raises
    ------
    InstrumentError
        Unknown instrument or scale, or the scale has no reliable change threshold.
    """
    _, spec_scale = _scale(instrument, scale)
    spec = spec_scale.reliable_change
    if spec is None:
        raise InstrumentError(
            f"{instrument}_{scale} has no reliable change threshold "
            "(no published value or reliability data in its definition)"
        )
    return ReliableChangeThreshold(
        instrument=instrument,
        scale=scale,
        value=spec.value,
        computed=spec.computed,
        sd=spec.sd,
        reliability=spec.reliability,
        source=spec.source,
    )


def _as_float(values: ArrayLike) -> np.ndarray:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def is_case(scores: ArrayLike, *, instrument: str, scale: str = "total") -> CutoffResult:
    """Whether each score is in the clinical range of a scale (vectorised).

    Raises
    ------
    InstrumentError
        Unknown instrument or scale, or the scale has no cutoff.
    """
    _, spec_scale = _scale(instrument, scale)
    cutoff = spec_scale.cutoff
    if cutoff is None:
        raise InstrumentError(f"{instrument}_{scale} has no clinical cutoff")
    x = _as_float(scores)
    valid = ~np.isnan(x)
    filled = np.where(valid, x, cutoff.value)
    ops = {
        ">=": np.greater_equal,
        ">": np.greater,
        "<=": np.less_equal,
        "<": np.less,
    }
    case = ops[cutoff.case_if](filled, cutoff.value) & valid
    return CutoffResult(
        case=case, valid=valid, value=cutoff.value, case_if=cutoff.case_if, source=cutoff.source
    )


def reliable_change(
    pre: ArrayLike, post: ArrayLike, *, instrument: str, scale: str = "total"
) -> ReliableChangeResult:
    """Classify pre-post change as reliable improvement, no reliable change or deterioration.

    Parameters
    ----------
    pre, post
        Scores at the first (or an earlier) session and now; equal-length arrays (or
        scalars). NaN marks a missing score.
    instrument, scale
        The scale the scores are on; its direction, cutoff and threshold come from the
        instrument definition.

    Returns
    -------
    ReliableChangeResult
        Category per pair, and a separate ``recovered`` flag (Jacobson & Truax, 1991:
        a case at pre, not a case at post, with reliable improvement).

    Raises
    ------
    InstrumentError
        Unknown instrument or scale, or no reliable change threshold for the scale.
    ValueError
        ``pre`` and ``post`` have different lengths.

    Notes
    -----
    A change counts as reliable when :math:`|x_{post} - x_{pre}| \\ge` the threshold of
    :func:`reliable_change_threshold`; its sign, with the scale's direction, says whether it
    is an improvement. Equivalent to :math:`|RC| \\ge 1.96` with
    :math:`RC = (x_2 - x_1) / S_{diff}` for a computed threshold.

    Validation
    ----------
    A closed form with no R counterpart needed: hand-worked pairs at and around each
    published threshold, both directions of scale, and missing scores are checked in
    ``tests/unit/scoring/test_scoring_change.py``; swapping ``pre`` and ``post`` flipping
    improvement and deterioration is a Hypothesis property in
    ``tests/property/test_scoring_properties.py``.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). https://doi.org/10.1037/0022-006X.59.1.12

    Examples
    --------
    >>> r = reliable_change([18, 12, 9], [8, 10, 16], instrument="phq9")
    >>> [str(c) for c in r.category]
    ['reliable_improvement', 'no_reliable_change', 'reliable_deterioration']
    >>> r.recovered.tolist()
    [True, False, False]
    """
    threshold = reliable_change_threshold(instrument, scale)
    _, spec_scale = _scale(instrument, scale)
    x1, x2 = _as_float(pre), _as_float(post)
    if x1.shape != x2.shape:
        raise ValueError(f"pre has {x1.shape[0]} scores, post has {x2.shape[0]}")
    valid = ~np.isnan(x1) & ~np.isnan(x2)
    change = x2 - x1
    sign = -1.0 if spec_scale.direction == "higher_is_worse" else 1.0
    improvement = sign * change
    # A tiny tolerance so thresholds computed in floating point are not missed by rounding.
    tol = 1e-9 * max(1.0, threshold.value)
    reliable = valid & (np.abs(np.where(valid, change, 0.0)) >= threshold.value - tol)
    category = np.full(x1.shape, None, dtype=object)
    category[valid] = ChangeCategory.NO_RELIABLE_CHANGE
    category[reliable & (improvement > 0)] = ChangeCategory.RELIABLE_IMPROVEMENT
    category[reliable & (improvement < 0)] = ChangeCategory.RELIABLE_DETERIORATION
    has_cutoff = spec_scale.cutoff is not None
    if has_cutoff:
        pre_case = is_case(x1, instrument=instrument, scale=scale).case
        post_case = is_case(x2, instrument=instrument, scale=scale).case
        recovered = valid & pre_case & ~post_case & reliable & (improvement > 0)
    else:
        recovered = np.zeros(x1.shape, dtype=bool)
    return ReliableChangeResult(
        instrument=instrument,
        scale=scale,
        change=np.where(valid, change, math.nan),
        improvement=np.where(valid, improvement, math.nan),
        category=category,
        recovered=recovered,
        valid=valid,
        threshold=threshold,
        has_cutoff=has_cutoff,
    )
