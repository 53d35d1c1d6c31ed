"""Validation of a client's answers against the instrument definitions."""

from __future__ import annotations

import pytest

from bordin.errors import InputError
from bordin.storage.actions import validate_answers

PHQ9 = {str(i): 1 for i in range(1, 10)}


def test_valid_answers_become_rows() -> None:
    rows = validate_answers(["phq9"], {"phq9": PHQ9})
    assert rows == [("phq9", i, 1.0) for i in range(1, 10)]


@pytest.mark.parametrize(
    ("answers", "item", "message"),
    [
        ({"phq9": PHQ9 | {"0": 1}}, "phq9:0", "unknown item"),
        ({"phq9": PHQ9 | {"x": 1}}, "phq9:x", "unknown item"),
        ({"phq9": PHQ9 | {"2": 4}}, "phq9:2", "outside 0-3"),
        ({"phq9": PHQ9 | {"2": -1}}, "phq9:2", "outside 0-3"),
        ({"phq9": PHQ9 | {"2": 0.5}}, "phq9:2", "not one of the item's codes"),
        ({"phq9": PHQ9 | {"2": "two"}}, "phq9:2", "not a number"),
        ({"phq9": PHQ9 | {"2": True}}, "phq9:2", "must be a number"),
        ({"phq9": PHQ9 | {"9": None}}, "phq9:9", "required"),
        ({"phq9": PHQ9, "gad7": {}}, "gad7", "not part of the form"),
    ],
)
def test_invalid_answers_name_the_item(answers: dict, item: str, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError) as caught:
        validate_answers(["phq9"], answers)
    assert caught.value.item == item
    assert message in str(caught.value)


def test_conditional_item_of_the_alliance_check() -> None:
    base = {"1": 4, "2": 4, "3": 4, "4": 4, "5": 4, "6": 4, "9": 0, "10": 0}
    assert len(validate_answers(["sac"], {"sac": base | {"7": 0}})) == 9
    assert len(validate_answers(["sac"], {"sac": base | {"7": 2, "8": 3}})) == 10
    with pytest.raises(InputError) as caught:
        validate_answers(["sac"], {"sac": base | {"7": 0, "8": 3}})
    assert caught.value.item == "sac:8"
