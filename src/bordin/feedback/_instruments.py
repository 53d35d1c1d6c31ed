"""The instrument facts the feedback rules need, in one small typed record.

Facts come from the instrument registry (:func:`bordin.instruments.get_instrument`) when it
knows the instrument; the table below carries the published values for the instruments the
feedback engine ships rules for, so that feedback works on a scores file alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bordin.errors import InstrumentError

__all__ = ["InstrumentFacts", "instrument_facts"]


@dataclass(frozen=True)
class InstrumentFacts:
    """What the feedback rules need to know about one instrument.

    ``cutoff`` is the caseness cutoff for outcome measures (a score at or above it is in the
    clinical range when higher is worse) and the concern cutoff for alliance measures (a mean
    below it is weak). ``reliable_change`` is the smallest change that is reliable
    (Jacobson & Truax, 1991), in scale points.
    """

    id: str
    minimum: float
    maximum: float
    higher_is_better: bool
    cutoff: float | None
    reliable_change: float | None
    remission_below: float | None = None
    defines_response: bool = False
    risk_item: str | None = None
    citation: str = ""


_TABLE: dict[str, InstrumentFacts] = {
    "phq9": InstrumentFacts(
        id="phq9",
        minimum=0,
        maximum=27,
        higher_is_better=False,
        cutoff=10,
        reliable_change=6,
        remission_below=5,
        defines_response=True,
        risk_item="phq9_item9",
        citation="Kroenke, Spitzer & Williams (2001). doi:10.1046/j.1525-1497.2001.016009606.x",
    ),
    "gad7": InstrumentFacts(
        id="gad7",
        minimum=0,
        maximum=21,
        higher_is_better=False,
        cutoff=8,
        reliable_change=4,
        remission_below=5,
        defines_response=True,
        citation="Spitzer, Kroenke, Williams & Lowe (2006). doi:10.1001/archinte.166.10.1092",
    ),
    "core10": InstrumentFacts(
        id="core10",
        minimum=0,
        maximum=40,
        higher_is_better=False,
        cutoff=11,
        reliable_change=6,
        risk_item="core10_item6",
        citation="Barkham et al. (2013). doi:10.1080/14733145.2012.729069",
    ),
    "k10": InstrumentFacts(
        id="k10",
        minimum=10,
        maximum=50,
        higher_is_better=False,
        cutoff=20,
        reliable_change=None,
        citation="Kessler et al. (2002). doi:10.1017/S0033291702006074",
    ),
    "sac": InstrumentFacts(
        id="sac",
        minimum=1,
        maximum=5,
        higher_is_better=True,
        cutoff=3.5,
        reliable_change=None,
        citation="Bordin session alliance check (CC0; not psychometrically validated)",
    ),
    "wai_sr": InstrumentFacts(
        id="wai_sr",
        minimum=1,
        maximum=5,
        higher_is_better=True,
        cutoff=None,
        reliable_change=None,
        citation="Hatcher & Gillaspy (2006). doi:10.1080/10503300500352500",
    ),
}


def _from_registry(instrument: str) -> dict[str, object]:
    """Override table values with what the registry states, where it states them."""
    try:
        from bordin.instruments import get_instrument
    except ImportError:
        return {}
    try:
        definition = get_instrument(instrument)
    except Exception:  # the registry does not know it; the table may
        return {}
    found: dict[str, object] = {}
    for field, names in {
        "cutoff": ("concern_cutoff", "clinical_cutoff", "cutoff"),
        "reliable_change": ("reliable_change", "reliable_change_threshold", "rci_threshold"),
    }.items():
        for name in names:
            value = getattr(definition, name, None)
            if isinstance(value, int | float):
                found[field] = float(value)
                break
    return found


def instrument_facts(instrument: str) -> InstrumentFacts:
    """Return the facts for ``instrument`` (an id such as ``"phq9"`` or ``"sac"``).

    Raises
    ------
    InstrumentError
        When neither the registry nor the table knows the instrument.
    """
    base = _TABLE.get(instrument)
    if base is None:
        raise InstrumentError(
            f"feedback has no rules for instrument {instrument!r}; "
            f"known: {', '.join(sorted(_TABLE))}"
        )
    overrides = _from_registry(instrument)
    if overrides:
        base = replace(base, **overrides)  # type: ignore[arg-type]
    return base
