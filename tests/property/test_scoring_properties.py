"""Hypothesis properties of scoring and reliable change, over every instrument."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bordin.instruments import InstrumentDefinition, get_instrument, list_instruments
from bordin.scoring import ChangeCategory, reliable_change, score_item_matrix, score_responses

IDS = [d.id for d in list_instruments()]
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def responses(draw: st.DrawFn, *, allow_missing: bool = True) -> tuple[str, np.ndarray]:
    """An instrument id and one row of valid raw responses (NaN = unanswered)."""
    instrument = draw(st.sampled_from(IDS))
    d = get_instrument(instrument)
    row = []
    for item in d.items:
        codes = item.codes
        value = codes[draw(st.integers(0, len(codes) - 1))]
        missing = allow_missing and draw(st.integers(0, 5)) == 0
        row.append(math.nan if missing else value)
    return instrument, np.array([row], dtype=float)


def _scale_bounds(d: InstrumentDefinition, items: tuple[int, ...], method: str) -> tuple:
    lows = [d.item(n).min_value for n in items]
    highs = [d.item(n).max_value for n in items]
    if method == "sum":
        return sum(lows), sum(highs)
    return min(lows), max(highs)


@SETTINGS
@given(responses())
def test_scores_stay_in_range(case: tuple[str, np.ndarray]) -> None:
    instrument, row = case
    d = get_instrument(instrument)
    scores = score_item_matrix(d, row)
    for scale in d.scales:
        value = scores[scale.name][0]
        low, high = _scale_bounds(d, scale.items, scale.method)
        assert math.isnan(value) or low - 1e-9 <= value <= high + 1e-9


@SETTINGS
@given(responses(), st.data())
@example(case=("phq9", np.array([[0.0] * 9])), data=None)
def test_raising_an_item_moves_its_scales_in_the_keyed_direction(
    case: tuple[str, np.ndarray], data: st.DataObject | None
) -> None:
    instrument, row = case
    d = get_instrument(instrument)
    number = 1 if data is None else data.draw(st.integers(1, d.n_items))
    item = d.item(number)
    if math.isnan(row[0, number - 1]) or row[0, number - 1] >= item.max_value:
        return
    raised = row.copy()
    raised[0, number - 1] = min(item.max_value, row[0, number - 1] + item.step)
    before, after = score_item_matrix(d, row), score_item_matrix(d, raised)
    for scale in d.scales:
        if number not in scale.items:
            continue
        b, a = before[scale.name][0], after[scale.name][0]
        if math.isnan(b) or math.isnan(a):
            continue
        if item.reverse:
            assert a <= b + 1e-12
        else:
            assert a >= b - 1e-12


@SETTINGS
@given(responses())
def test_reverse_keying_is_reflection(case: tuple[str, np.ndarray]) -> None:
    """Scoring a reversed item equals scoring its reflection with the reverse key removed."""
    instrument, row = case
    d = get_instrument(instrument)
    reflected = row.copy()
    plain_items = []
    for item in d.items:
        if item.reverse:
            reflected[0, item.number - 1] = (
                item.min_value + item.max_value - row[0, item.number - 1]
            )
        plain_items.append(item.model_copy(update={"reverse": False}))
    plain = d.model_copy(update={"items": tuple(plain_items)})
    a, b = score_item_matrix(d, row), score_item_matrix(plain, reflected)
    for scale in d.scales:
        np.testing.assert_allclose(a[scale.name], b[scale.name], rtol=1e-12, equal_nan=True)


@SETTINGS
@given(responses(allow_missing=False))
def test_complete_responses_give_the_exact_sum_or_mean(case: tuple[str, np.ndarray]) -> None:
    instrument, row = case
    d = get_instrument(instrument)
    keyed = [
        (it.min_value + it.max_value - row[0, i]) if it.reverse else row[0, i]
        for i, it in enumerate(d.items)
    ]
    scores = score_item_matrix(d, row)
    for scale in d.scales:
        if any(d.item(n).asked_if is not None for n in scale.items):
            continue  # a gated item is scored only when its gate is open
        values = [keyed[n - 1] for n in scale.items]
        exact = sum(values) if scale.method == "sum" else sum(values) / len(values)
        assert math.isclose(scores[scale.name][0], exact, rel_tol=1e-12, abs_tol=1e-12)


@SETTINGS
@given(responses())
def test_prorated_sum_is_mean_of_answered_times_items(case: tuple[str, np.ndarray]) -> None:
    instrument, row = case
    d = get_instrument(instrument)
    scores = score_item_matrix(d, row)
    for scale in d.scales:
        if scale.method != "sum" or any(d.item(n).asked_if for n in scale.items):
            continue
        vals = []
        for n in scale.items:
            v = row[0, n - 1]
            it = d.item(n)
            if not math.isnan(v):
                vals.append(it.min_value + it.max_value - v if it.reverse else v)
        got = scores[scale.name][0]
        if len(vals) < scale.min_answered:
            assert math.isnan(got)
        else:
            assert math.isclose(got, sum(vals) / len(vals) * len(scale.items), rel_tol=1e-12)


WITH_RC = [d.id for d in list_instruments() if d.reliable_change is not None]


@SETTINGS
@given(
    st.sampled_from(WITH_RC),
    st.lists(st.tuples(st.floats(0, 40), st.floats(0, 40)), min_size=1, max_size=20),
)
def test_swapping_pre_and_post_flips_the_category(
    instrument: str, pairs: list[tuple[float, float]]
) -> None:
    pre = np.array([p for p, _ in pairs])
    post = np.array([q for _, q in pairs])
    forward = reliable_change(pre, post, instrument=instrument)
    backward = reliable_change(post, pre, instrument=instrument)
    flip = {
        ChangeCategory.RELIABLE_IMPROVEMENT: ChangeCategory.RELIABLE_DETERIORATION,
        ChangeCategory.RELIABLE_DETERIORATION: ChangeCategory.RELIABLE_IMPROVEMENT,
        ChangeCategory.NO_RELIABLE_CHANGE: ChangeCategory.NO_RELIABLE_CHANGE,
    }
    assert [flip[c] for c in forward.category] == list(backward.category)
    # Recovery needs improvement, so at most one direction of a pair can be a recovery.
    assert not np.any(forward.recovered & backward.recovered)


@settings(max_examples=12, deadline=None)
@given(st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_scores(rnd: object) -> None:
    rows = []
    for client in ("b", "a"):
        for session in (2, 1):
            for n, v in enumerate([1, 2, 3, 0, 1, 2, 3, 0, session - 1], start=1):
                rows.append([client, "t", session, "phq9", n, v])
            for n in range(1, 11):
                rows.append([client, "t", session, "sac", n, 4 if n <= 6 else session])
    frame = pd.DataFrame(
        rows, columns=["client_id", "therapist_id", "session", "instrument", "item", "value"]
    )
    order = list(range(len(frame)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = frame.iloc[order]
    expected = score_responses(frame)
    pd.testing.assert_frame_equal(score_responses(shuffled), expected)


CELL = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "phq9", "sac", "GAD7", "1", "2", "3", "0", "-1", "1.5", "x"]),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(*[CELL] * 7), min_size=1, max_size=6))
def test_any_input_scores_or_raises_input_error(cells: list[tuple[object, ...]]) -> None:
    """Garbage in gives a clean InputError (never a crash), or a valid wide frame."""
    from bordin.errors import InputError

    frame = pd.DataFrame(
        cells,
        columns=["client_id", "therapist_id", "session", "date", "instrument", "item", "value"],
        dtype=object,
    )
    try:
        wide = score_responses(frame, source="fuzz.csv")
    except InputError as exc:
        assert str(exc).startswith("file fuzz.csv")
        return
    assert list(wide.columns[:4]) == ["client_id", "therapist_id", "session", "date"]
