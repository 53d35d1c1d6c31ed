"""Hand-checked scores for every instrument: all minimum, all maximum, reverse keys, and the
missing-item rule at and just past its limit.

Every expected number below was worked out by hand from the published scoring rules (not
from the definition files), so a wrong reverse key or missing-item rule in a definition fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bordin.instruments import get_instrument, list_instruments
from bordin.scoring import score_item_matrix

NAN = math.nan


def _score(instrument: str, values: list[float], scale: str = "total") -> float:
    scores = score_item_matrix(instrument, np.array([values], dtype=float))
    return float(scores[scale][0])


def _check(actual: float, expected: float) -> None:
    if math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-12)


# instrument, raw item values, expected total. "keyed" rows put reverse-keyed items at the
# opposite end, so the keyed score is at its minimum or maximum.
CASES = [
    # PHQ-9: 9 items 0-3, sum 0-27; prorated with one item missing.
    ("phq9", [0] * 9, 0),
    ("phq9", [3] * 9, 27),
    ("phq9", [1, 2, 3, 0, 1, 2, 3, 0, 1], 13),
    ("phq9", [1, 2, 3, 0, 1, 2, 3, 0, NAN], 13.5),  # 12 / 8 * 9
    ("phq9", [3] * 7 + [NAN, NAN], NAN),
    # GAD-7: 7 items 0-3, sum 0-21.
    ("gad7", [0] * 7, 0),
    ("gad7", [3] * 7, 21),
    ("gad7", [2, 2, 2, 2, 2, 2, NAN], 14),
    ("gad7", [2, 2, 2, 2, 2, NAN, NAN], NAN),
    # K10: 10 items 1-5, sum 10-50.
    ("k10", [1] * 10, 10),
    ("k10", [5] * 10, 50),
    ("k10", [2, 3, 2, 3, 2, 3, 2, 3, 2, NAN], 220 / 9),  # 22 / 9 answered * 10 items
    ("k10", [2] * 8 + [NAN, NAN], NAN),
    # CORE-10: 10 items 0-4, items 2 and 3 reversed; sum 0-40.
    ("core10", [0] * 10, 8),
    ("core10", [4] * 10, 32),
    ("core10", [0, 4, 4, 0, 0, 0, 0, 0, 0, 0], 0),
    ("core10", [4, 0, 0, 4, 4, 4, 4, 4, 4, 4], 40),
    ("core10", [4, 0, 0, 4, 4, 4, 4, 4, 4, NAN], 40),
    ("core10", [4, 0, 0, 4, 4, 4, 4, 4, NAN, NAN], NAN),
    # ORS: 4 lines 0-10 (mm resolution), sum 0-40, no missing item allowed.
    ("ors", [0] * 4, 0),
    ("ors", [10] * 4, 40),
    ("ors", [7.3, 5.5, 6.1, 8.0], 26.9),
    ("ors", [7.3, 5.5, 6.1, NAN], NAN),
    # SRS: as the ORS.
    ("srs", [0] * 4, 0),
    ("srs", [10] * 4, 40),
    ("srs", [9.5, 9.1, 8.8, 9.0], 36.4),
    ("srs", [NAN, 9.1, 8.8, 9.0], NAN),
    # OQ-45: 45 items 0-4; items 1, 12, 13, 20, 21, 24, 31, 37, 43 reversed; sum 0-180.
    ("oq45", [0] * 45, 36),
    ("oq45", [4] * 45, 144),
    # HAq-II: 19 items 1-6; items 4, 8, 11, 16, 19 reversed; mean 1-6.
    ("haq2", [1] * 19, (14 * 1 + 5 * 6) / 19),
    ("haq2", [6] * 19, (14 * 6 + 5 * 1) / 19),
    # WAI-SR client and therapist: 12 items 1-5, no reverse items, mean 1-5.
    ("wai_sr", [1] * 12, 1),
    ("wai_sr", [5] * 12, 5),
    ("wai_sr", [5, 5, 1, 1, 5, 1, 1, 1, 1, 5, 1, 5], 32 / 12),
    ("wai_sr", [5, 5, 1, 1, 5, 1, 1, 1, 1, 5, NAN, NAN], 26 / 10),
    ("wai_sr", [5, 5, 1, 1, 5, 1, 1, 1, 1, NAN, NAN, NAN], NAN),
    ("wai_sr_t", [1] * 12, 1),
    ("wai_sr_t", [5] * 12, 5),
    ("wai_sr_t", [4] * 10 + [NAN, NAN], 4),
    ("wai_sr_t", [4] * 9 + [NAN, NAN, NAN], NAN),
    # Session alliance check: mean of items 1-6 (1-5), at least 5 of 6.
    ("sac", [1] * 6 + [0] * 4, 1),
    ("sac", [5] * 6 + [4] * 4, 5),
    ("sac", [5, 4, 3, 2, 1, NAN, 0, NAN, 0, 0], 3),
    ("sac", [5, 4, 3, 2, NAN, NAN, 0, NAN, 0, 0], NAN),
]


@pytest.mark.parametrize(("instrument", "values", "expected"), CASES)
def test_hand_checked_total(instrument: str, values: list[float], expected: float) -> None:
    _check(_score(instrument, values), expected)


def _keyed_extreme(instrument: str, high: bool) -> list[float]:
    """Raw values that put every keyed item at its minimum (or maximum)."""
    d = get_instrument(instrument)
    out = []
    for item in d.items:
        at_top = high != item.reverse
        out.append(item.max_value if at_top else item.min_value)
    return out


# The keyed range of each total, worked out by hand.
KEYED_RANGE = {
    "phq9": (0, 27),
    "gad7": (0, 21),
    "k10": (10, 50),
    "core10": (0, 40),
    "ors": (0, 40),
    "srs": (0, 40),
    "oq45": (0, 180),
    "haq2": (1, 6),
    "wai_sr": (1, 5),
    "wai_sr_t": (1, 5),
    "sac": (1, 5),
    "tsc": (1, 5),
    "csc": (1, 5),
}


def test_every_instrument_has_a_hand_checked_range() -> None:
    assert sorted(KEYED_RANGE) == sorted(d.id for d in list_instruments())


@pytest.mark.parametrize("instrument", sorted(KEYED_RANGE))
def test_keyed_minimum_and_maximum(instrument: str) -> None:
    low, high = KEYED_RANGE[instrument]
    scale = get_instrument(instrument).primary_scale  # csc has no total: its first domain
    _check(_score(instrument, _keyed_extreme(instrument, high=False), scale), low)
    _check(_score(instrument, _keyed_extreme(instrument, high=True), scale), high)


def test_tsc_mirrors_sac_and_csc_domains_by_hand() -> None:
    # therapist check: bond 1-2, goal 3-4, task 5-6 as sac; items 7-9 single-item scales
    tsc = [5, 4, 3, 2, 1, 2, 3, 1, 4]
    _check(_score("tsc", tsc, "bond"), 4.5)
    _check(_score("tsc", tsc, "goal"), 2.5)
    _check(_score("tsc", tsc, "task"), 1.5)
    _check(_score("tsc", tsc, "total"), 17 / 6)
    _check(_score("tsc", tsc, "rupture"), 3)
    _check(_score("tsc", tsc, "addressed"), 1)
    _check(_score("tsc", tsc, "adherence"), 4)
    sac, therapist = get_instrument("sac"), get_instrument("tsc")
    for name in ("bond", "goal", "task", "total"):
        assert therapist.scale(name).items == sac.scale(name).items
    csc = [2, 3, 4, 5, 1, 1, 3, 2, 4]
    _check(_score("csc", csc, "alliance"), 2.5)
    _check(_score("csc", csc, "motivation"), 4.5)
    _check(_score("csc", csc, "social_support"), 1)
    _check(_score("csc", csc, "life_events"), 2.5)
    _check(_score("csc", csc, "change_wish"), 4)


def test_oq45_reverse_keys_and_missing_limit() -> None:
    reverse = {1, 12, 13, 20, 21, 24, 31, 37, 43}
    # Raising a reversed item lowers the total, raising another item raises it.
    base = [2.0] * 45
    _check(_score("oq45", base), 90)
    for number in (1, 12, 13, 20, 21, 24, 31, 37, 43, 2, 8, 45):
        raised = list(base)
        raised[number - 1] = 4
        _check(_score("oq45", raised), 88 if number in reverse else 92)
    three_missing = [4.0] * 42 + [NAN] * 3  # keyed: 4s, with reversed items 1..37 at 0
    keyed = [0.0 if i + 1 in reverse else 4.0 for i in range(42)]
    _check(_score("oq45", three_missing), sum(keyed) / 42 * 45)
    _check(_score("oq45", [4.0] * 41 + [NAN] * 4), NAN)


def test_haq2_reverse_keys_and_missing_limit() -> None:
    reverse = {4, 8, 11, 16, 19}
    base = [3.0] * 19  # keyed: 14 items score 3, 5 reversed items score 7 - 3 = 4
    _check(_score("haq2", base), 62 / 19)
    for number in range(1, 20):
        raised = list(base)
        raised[number - 1] = 6
        # A reversed 6 scores 1 (3 points less than 4); another 6 scores 3 points more.
        expected = (62 - 3) / 19 if number in reverse else (62 + 3) / 19
        _check(_score("haq2", raised), expected)
    # Items 1-17 answered with 6: reversed 4, 8, 11, 16 score 1, the other 13 score 6.
    _check(_score("haq2", [6.0] * 17 + [NAN, NAN]), (13 * 6 + 4 * 1) / 17)
    _check(_score("haq2", [6.0] * 16 + [NAN] * 3), NAN)


def test_wai_sr_subscale_key() -> None:
    # Hatcher & Gillaspy (2006): goal 4, 6, 8, 11; task 1, 2, 10, 12; bond 3, 5, 7, 9.
    values = [5.0, 5, 1, 1, 5, 1, 1, 1, 1, 5, 1, 5]
    _check(_score("wai_sr", values, "task"), 5)
    _check(_score("wai_sr", values, "goal"), 1)
    _check(_score("wai_sr", values, "bond"), 2)
    # A subscale needs 3 of its 4 items.
    values[2] = NAN
    _check(_score("wai_sr", values, "bond"), 7 / 3)
    values[4] = NAN
    _check(_score("wai_sr", values, "bond"), NAN)


def test_sac_subscales_and_rupture_items() -> None:
    values = [5.0, 4, 3, 2, 1, 2, 3, 1, 2, 4]
    expected = {
        "total": 17 / 6,
        "bond": 4.5,
        "goal": 2.5,
        "task": 1.5,
        "tension": 3,
        "resolution": 1,
        "misunderstood": 2,
        "withdrawal": 4,
    }
    for scale, value in expected.items():
        _check(_score("sac", values, scale), value)
    # Bond needs both of its items.
    values[1] = NAN
    _check(_score("sac", values, "bond"), NAN)


def test_sac_resolution_only_counts_after_tension() -> None:
    no_tension = [4.0] * 6 + [0, 3, 0, 0]
    _check(_score("sac", no_tension, "resolution"), NAN)
    _check(_score("sac", no_tension, "tension"), 0)
    tension_missing = [4.0] * 6 + [NAN, 3, 0, 0]
    _check(_score("sac", tension_missing, "resolution"), NAN)
    tension = [4.0] * 6 + [1, 3, 0, 0]
    _check(_score("sac", tension, "resolution"), 3)
    skipped = [4.0] * 6 + [2, NAN, 0, 0]
    _check(_score("sac", skipped, "resolution"), NAN)


def test_score_item_matrix_rejects_wrong_width() -> None:
    with pytest.raises(ValueError, match="9 columns"):
        score_item_matrix("phq9", np.zeros((2, 8)))
