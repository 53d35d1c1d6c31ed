"""The instrument facts the feedback rules need, read from the instrument registry.

Range, direction, cutoff, reliable change and risk items come from the instrument definition
(:func:`bordin.instruments.get_instrument`, thresholds through
:func:`bordin.scoring.reliable_change_threshold`). Response and remission are not part of
an instrument definition; the few instruments that define them are listed here with their
source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from bordin.errors import InstrumentError
from bordin.instruments import get_instrument

__all__ = ["InstrumentFacts", "instrument_facts"]

# Remission (score below this) and response (>= 50% reduction from intake):
# PHQ-9, Kroenke, Spitzer & Williams (2001) and Kroenke et al. (2010),
# doi:10.1016/j.genhosppsych.2010.03.006; GAD-7 by the same convention (Spitzer et al., 2006,
# 0-4 = minimal anxiety).
_REMISSION_BELOW: Final[dict[str, float]] = {"phq9": 5.0, "gad7": 5.0}


@dataclass(frozen=True)
class InstrumentFacts:
    """What the feedback rules need to know about one instrument's total scale.

    ``cutoff`` is the caseness cutoff for outcome measures and the concern cutoff for
    alliance measures; ``case_if`` says which side of it is a case (or a concern).
    ``reliable_change`` is the smallest reliable change in score points (Jacobson & Truax,
    1991), None when the instrument has none. ``risk_items`` maps wide-frame risk-item
    columns to the response at which they signal risk.
    """

    id: str
    minimum: float
    maximum: float
    higher_is_better: bool
    cutoff: float | None
    case_if: str | None
    reliable_change: float | None
    remission_below: float | None
    defines_response: bool
    risk_items: tuple[tuple[str, float], ...]
    validated: bool


@lru_cache(maxsize=64)
def instrument_facts(instrument: str, scale: str = "total") -> InstrumentFacts:
    """Return the facts for one scale of ``instrument`` (an id such as ``"phq9"``).

    Raises
    ------
    InstrumentError
        The registry does not know the instrument or the scale.
    """
    definition = get_instrument(instrument)
    try:
        spec = definition.scale(scale)
    except KeyError:
        raise InstrumentError(f"{instrument} has no scale {scale!r}") from None
    items = [definition.item(n) for n in spec.items]
    if spec.method == "mean":
        low = min(i.min_value for i in items)
        high = max(i.max_value for i in items)
    else:
        low = sum(i.min_value for i in items)
        high = sum(i.max_value for i in items)
    rc = spec.reliable_change.value if spec.reliable_change is not None else None
    risk = tuple(
        (definition.item_column(i.number), float(i.risk_from))
        for i in definition.items
        if i.risk_from is not None
    )
    remission = _REMISSION_BELOW.get(instrument) if scale == "total" else None
    return InstrumentFacts(
        id=instrument,
        minimum=float(low),
        maximum=float(high),
        higher_is_better=spec.direction == "higher_is_better",
        cutoff=None if spec.cutoff is None else float(spec.cutoff.value),
        case_if=None if spec.cutoff is None else spec.cutoff.case_if,
        reliable_change=rc,
        remission_below=remission,
        defines_response=remission is not None,
        risk_items=risk,
        validated=definition.validated,
    )
