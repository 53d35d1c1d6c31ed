"""How feedback speaks about instruments, scores, colours and risk items, in clinic words.

Names come from the instrument registry (``short_name`` such as "PHQ-9", ``name`` such as
"Bordin Session Alliance Check"), numbers are rounded to what the scale can show (whole
numbers for sum scores of whole-number items, one decimal for item means and for scales
answered in tenths), and a risk item is quoted from its shipped content pack where its
licence allows the wording to ship (otherwise it is named by number and the answer by its
response code). Rounding is for presentation only: alerts keep the unrounded numbers in
their evidence.

The colours follow Lambert's feedback system (Finch, Lambert & Schaalje, 2001; Lambert et
al., 2002; see :mod:`bordin.feedback.trajectories`); :func:`colour_legend` says what each
means in the words the alerts, the client page and the caseload use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pandas as pd

from bordin.errors import InstrumentError
from bordin.feedback.config import FeedbackConfig
from bordin.instruments import get_content_pack, get_instrument, list_instruments

__all__ = [
    "RiskItemWording",
    "colour_legend",
    "colour_meaning",
    "format_date",
    "format_score",
    "instrument_label",
    "risk_item_wording",
    "scale_decimals",
]


@lru_cache(maxsize=128)
def instrument_label(instrument: str) -> str:
    """The name clinicians use for an instrument: its short name ("PHQ-9"), else its id."""
    try:
        return get_instrument(instrument).short_name
    except InstrumentError:
        return instrument


@lru_cache(maxsize=128)
def scale_decimals(instrument: str, scale: str = "total") -> int:
    """Decimals a score of the scale can show: 0 for a sum of whole-number items, else 1.

    An item mean (the Session Alliance Check, WAI-SR) or a scale answered in tenths (the
    ORS and SRS lines) shows one decimal. An unknown instrument or scale shows one decimal.
    """
    try:
        definition = get_instrument(instrument)
        spec = definition.scale(scale)
    except (InstrumentError, KeyError):
        return 1
    whole = all(float(definition.item(n).step).is_integer() for n in spec.items)
    return 0 if spec.method == "sum" and whole else 1


@lru_cache(maxsize=1 << 16)  # scores repeat across a clinic's alerts
def format_score(value: float | None, decimals: int) -> str:
    """A score rounded half away from zero to ``decimals``; ``n/a`` when missing."""
    if value is None or value != value:
        return "n/a"
    factor = 10.0**decimals
    rounded = math.copysign(math.floor(abs(value) * factor + 0.5) / factor, value)
    if rounded == 0:
        rounded = 0.0  # no "-0"
    return f"{rounded:.{decimals}f}"


def format_date(value: Any) -> str | None:
    """An ISO date (``2026-03-02``) from a date, a timestamp or ISO text; None when unknown."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if isinstance(value, datetime):  # also a pandas Timestamp
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text[:10] if text else None


_MEANINGS = {
    "red": (
        "not on track, the change since intake is worse than that of {pct}% of clients who "
        "started at the same score, at this session"
    ),
    "yellow": (
        "less progress than expected, worse than the expected course of clients who started "
        "at the same score but within the range of {pct}% of them"
    ),
    "green": "on track, as expected or better than clients who started at the same score",
    "white": "below the clinical cutoff (and not red)",
}


def colour_meaning(colour: str, *, level: float | None = None) -> str:
    """What a not-on-track colour means, in words (``level`` is the prediction level; by
    default ``FeedbackConfig().not_on_track_level``, the level the service computes with).

    Raises
    ------
    KeyError
        ``colour`` is not one of red, yellow, green, white.
    """
    if level is None:
        level = FeedbackConfig().not_on_track_level
    return f"{colour}: " + _MEANINGS[colour].format(pct=f"{100 * level:g}")


def colour_legend(*, level: float | None = None) -> tuple[dict[str, str], ...]:
    """Every colour with its meaning, for a legend next to the colours on a page (``level``
    as in :func:`colour_meaning`)."""
    return tuple(
        {"colour": colour, "meaning": colour_meaning(colour, level=level)} for colour in _MEANINGS
    )


@dataclass(frozen=True)
class RiskItemWording:
    """A risk item as the alert names it.

    ``item`` is "PHQ-9 item 9"; ``text`` the item's wording when its licence lets it ship
    (None otherwise); ``answer`` the response label when shipped, else the response code;
    ``threshold`` the lowest answer that raises the alert, in the same form.
    """

    item: str
    text: str | None
    answer: str
    threshold: str


@lru_cache(maxsize=64)
def _risk_columns() -> dict[str, tuple[str, int]]:
    return {
        definition.item_column(number): (definition.id, number)
        for definition in list_instruments()
        for number in definition.risk_items
    }


def _code(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:g}"


@lru_cache(maxsize=1024)
def risk_item_wording(column: str, value: float | None) -> RiskItemWording:
    """Name a risk-item column (``phq9_item9``) and the client's answer in clinic words.

    The wording and the response labels come from the instrument's English content pack
    when one ships (:func:`bordin.instruments.get_content_pack`); otherwise the item is
    "item 9 of <instrument name>" and the answer its response code.
    """
    found = _risk_columns().get(column)
    if found is None:
        return RiskItemWording(item=column, text=None, answer=_code(value), threshold="above 0")
    instrument, number = found
    definition = get_instrument(instrument)
    threshold_code = definition.item(number).risk_from
    pack = get_content_pack(instrument) if definition.wording_redistributable else None
    if pack is None:
        return RiskItemWording(
            item=f"item {number} of the {definition.name} ({definition.short_name})",
            text=None,
            answer=_code(value),
            threshold=f"{_code(threshold_code)} or more",
        )
    labels = {float(option.value): option.label for option in pack.labels(number)}
    answer = labels.get(float(value), _code(value)) if value is not None else "n/a"
    threshold = labels.get(float(threshold_code or 1.0), _code(threshold_code))
    return RiskItemWording(
        item=f"{definition.short_name} item {number}",
        text=pack.item_text(number),
        answer=answer,
        threshold=f'"{threshold}" or more',
    )
