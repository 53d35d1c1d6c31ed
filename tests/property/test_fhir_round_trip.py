"""Every shipped instrument's responses go out as FHIR and come back as identical rows."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bordin.instruments import get_instrument, list_instruments
from bordin.interop.fhir import export_responses, read_bundle

IDS = [d.id for d in list_instruments()]


@st.composite
def long_rows(draw: st.DrawFn, instrument: str) -> pd.DataFrame:
    """One to three clients with one or two sessions each, every item answered validly."""
    definition = get_instrument(instrument)
    rows = []
    for client in range(draw(st.integers(1, 3))):
        for session in range(1, draw(st.integers(1, 2)) + 1):
            dated = draw(st.booleans())
            for item in definition.items:
                codes = item.codes
                value = codes[draw(st.integers(0, len(codes) - 1))]
                rows.append(
                    {
                        "client_id": f"c{client:03d}",
                        "therapist_id": f"t{client % 2}",
                        "session": session,
                        "date": f"2025-03-{session + 10:02d}" if dated else None,
                        "instrument": instrument,
                        "item": item.number,
                        "value": float(value),
                    }
                )
    return pd.DataFrame(rows)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["client_id", "session", "instrument", "item"]
    out = frame.sort_values(keys).reset_index(drop=True)
    out["session"] = out["session"].astype("int64")
    out["item"] = out["item"].astype("int64")
    out["value"] = out["value"].astype("float64")
    out["date"] = out["date"].astype(object).where(out["date"].notna(), None)
    return out


@pytest.mark.parametrize("instrument", IDS)
def test_responses_survive_a_round_trip_through_a_bundle(instrument: str) -> None:
    @settings(max_examples=8, deadline=None)
    @given(frame=long_rows(instrument))
    def check(frame: pd.DataFrame) -> None:
        text = export_responses(frame).model_dump_json(exclude_none=True)
        back = read_bundle(text)
        pd.testing.assert_frame_equal(_sorted(back), _sorted(frame)[list(back.columns)])

    check()
