"""The floors the validation family shows, at the size docs/feedback-validation.md is run at.

``bordin.validation.FLOORS`` holds what the fixed-constant and the adaptive (default)
detector reach today (a little below the figures); a change that loses ground on the family
fails here. The issue's target (``TARGET``) holds on these seeds (worst gap 0.021 since EM
is run to convergence) and is the adaptive detector's floor; on the held-out seeds
(``HELD_OUT_SEEDS``, 4141 and 4242) the default was first run ahead of both SD rules in 14
settings and within 0.03 in 13 (worst gap 0.064), and their floor asks for 13, 12 and 0.07.
"""

from __future__ import annotations

import pytest

from bordin.validation import (
    FAMILY,
    FLOORS,
    HELD_OUT_FLOORS,
    HELD_OUT_SEEDS,
    FamilyResult,
    Floor,
    evaluate_family,
)


@pytest.fixture(scope="module")
def family() -> FamilyResult:
    # the documented run: 2000 clients per clinic, seeds 101 and 202
    return evaluate_family(2000, seeds=(101, 202))


@pytest.mark.slow
@pytest.mark.parametrize("floor", FLOORS, ids=[f.detector for f in FLOORS])
def test_the_family_shows_the_floors(family: FamilyResult, floor: Floor) -> None:
    assert floor.failures(family) == []


@pytest.mark.slow
def test_the_default_holds_its_floors_on_seeds_it_was_not_developed_on() -> None:
    held = evaluate_family(2000, seeds=HELD_OUT_SEEDS)
    assert set(HELD_OUT_SEEDS).isdisjoint({101, 202})
    assert [f for floor in HELD_OUT_FLOORS for f in floor.failures(held)] == []


@pytest.mark.slow
def test_the_adaptive_default_is_close_to_the_oracle_where_the_fixed_constants_are_not(
    family: FamilyResult,
) -> None:
    adaptive, fixed = family.standing("adaptive"), family.standing("bordin")
    assert family.standing() == adaptive  # the default detector leads the feedback
    assert adaptive["worst_gap"] < fixed["worst_gap"] - 0.2
    assert adaptive["close"] >= fixed["close"] + 5
    assert len(family.by_setting) == len(FAMILY)


def test_a_floor_names_what_falls_short() -> None:
    result = evaluate_family(120, seeds=(3,), settings=FAMILY[:2])
    got = result.standing("bordin")
    assert 0 <= got["beats_sd"] <= 2 and 0 <= got["close"] <= 2
    assert got["worst_setting"] in {s.name for s in FAMILY[:2]}
    strict = Floor("bordin", min_beats_sd=3, min_close=3, max_worst_gap=-1.0)
    failures = strict.failures(result)
    assert len(failures) == 3
    assert "beats both SD criteria in" in failures[0] and "(floor 3)" in failures[0]
    lax = Floor("bordin", min_beats_sd=0, min_close=0, max_worst_gap=1.0)
    assert lax.failures(result) == []
