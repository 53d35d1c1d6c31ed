"""Clinical support check: when it is asked, and which domains are flagged."""

from __future__ import annotations

import math

import pytest

from bordin.errors import InputError
from bordin.feedback import flag_support_domains, needs_support_check
from bordin.feedback.support import SUPPORT_DOMAINS
from bordin.instruments import get_instrument


@pytest.mark.parametrize(
    ("colours", "expected"),
    [
        (["red"], True),
        ([None, "red", "green"], True),
        (["yellow"], False),
        (["green", "white"], False),
        ([None], False),
        ([], False),
    ],
)
def test_support_check_follows_red(colours: list[str | None], expected: bool) -> None:
    assert needs_support_check(colours) is expected


def test_domains_flag_at_their_cutoffs() -> None:
    scores = {
        "csc_alliance": 2.5,  # < 3: flagged
        "csc_motivation": 3.0,  # not < 3
        "csc_social_support": math.nan,  # not scored
        "csc_life_events": 2.0,  # >= 2: flagged
        "csc_change_wish": 1.0,
    }
    domains = {d.domain: d for d in flag_support_domains(scores)}
    assert list(domains) == list(SUPPORT_DOMAINS)
    assert [d for d, v in domains.items() if v.flagged] == ["alliance", "life_events"]
    assert domains["social_support"].score is None
    assert domains["alliance"].considerations and domains["alliance"].references
    assert domains["motivation"].considerations == ()
    assert domains["alliance"].cutoff == "< 3"
    assert any("Whipple" in r for r in domains["change_wish"].references)
    assert domains["alliance"].to_dict()["flagged"] is True


def test_every_domain_is_a_scale_with_a_cutoff() -> None:
    definition = get_instrument("csc")
    assert [s.name for s in definition.scales] == list(SUPPORT_DOMAINS)
    assert all(s.cutoff is not None and not s.cutoff.validated for s in definition.scales)


def test_out_of_range_score_names_the_column() -> None:
    with pytest.raises(InputError) as info:
        flag_support_domains({"csc_change_wish": 7})
    assert info.value.column == "csc_change_wish"
