"""Clinic figures: one definition of ruptures and dropouts, and clients in treatment never
counted as dropouts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from bordin.analytics.clinic_figures import (
    DEFINITIONS,
    classify_clients,
    summarise_clinic,
)
from bordin.errors import InputError
from bordin.feedback import compute_feedback


def _scores() -> pd.DataFrame:
    rows = []
    plans = {
        # client: (therapist, first date, number of weekly sessions)
        "new": ("t1", "2026-05-25", 2),  # two sessions, the last a week ago: in treatment
        "gone": ("t1", "2026-01-05", 3),  # stopped in January
        "done": ("t2", "2026-01-05", 6),  # finished in February, discharged
    }
    for client, (therapist, first, n) in plans.items():
        for s in range(1, n + 1):
            day = pd.Timestamp(first) + pd.Timedelta(weeks=s - 1)
            alliance = 4.5 if s != 3 else 2.5  # a drop at session 3
            rows.append(
                {
                    "client_id": client,
                    "therapist_id": therapist,
                    "session": s,
                    "date": day.date().isoformat(),
                    "sac_total": alliance - 0.1 * (s % 2),
                }
            )
    return pd.DataFrame(rows)


def test_states_follow_the_definition() -> None:
    states = classify_clients(_scores(), as_of=date(2026, 6, 8), ended=["done"])
    assert dict(zip(states["client_id"], states["state"].astype(str), strict=True)) == {
        "done": "ended",
        "gone": "dropout",
        "new": "in_treatment",
    }


def test_a_client_in_treatment_is_never_a_dropout_even_with_few_sessions() -> None:
    scores = _scores()
    scores["dropped"] = False
    states = classify_clients(scores, as_of=date(2026, 6, 8), dropout="dropped")
    state = dict(zip(states["client_id"], states["state"].astype(str), strict=True))
    assert state["new"] == "in_treatment"
    # the column records how treatment ended: unmarked and inactive means ended as planned
    assert state["gone"] == "ended"


def test_a_marked_dropout_counts_whatever_the_dates() -> None:
    scores = _scores()
    scores["dropped"] = scores["client_id"] == "done"
    states = classify_clients(scores, as_of=date(2026, 6, 8), dropout="dropped")
    assert states.set_index("client_id").loc["done", "state"] == "dropout"


def test_an_ending_recorded_as_dropout_counts_whatever_the_dates() -> None:
    """The service's episodes closed as dropout: a dropout even when seen last week, and a
    record of endings (so the inactive client without one is a dropout, not unknown)."""
    states = classify_clients(_scores(), as_of=date(2026, 6, 8), ended=[], dropped_out=["new"])
    state = dict(zip(states["client_id"], states["state"].astype(str), strict=True))
    assert state == {"done": "dropout", "gone": "dropout", "new": "dropout"}
    states = classify_clients(_scores(), as_of=date(2026, 6, 8), dropped_out=["new"])
    assert states.set_index("client_id").loc["done", "state"] == "dropout"  # endings known


def test_without_dates_no_one_is_classified() -> None:
    states = classify_clients(_scores().drop(columns="date"))
    assert set(states["state"].astype(str)) == {"unknown"}


def test_a_bad_date_names_its_row() -> None:
    scores = _scores()
    scores.loc[2, "date"] = "last tuesday"
    with pytest.raises(InputError, match="last tuesday") as info:
        classify_clients(scores)
    assert info.value.row == 4 and info.value.column == "date"


def test_figures_count_the_leading_detector_events() -> None:
    scores = _scores()
    feedback = compute_feedback(scores, alliance="sac", outcomes=())
    figures = summarise_clinic(scores, feedback, as_of=date(2026, 6, 8), ended=["done"])
    assert figures.detector == feedback.config.rupture_detector == "adaptive"
    events = feedback.ruptures[
        (feedback.ruptures["detector"] == "adaptive") & (feedback.ruptures["scale"] == "total")
    ]
    assert figures.value("ruptures") == len(events)
    for status in ("repaired", "unrepaired", "open"):
        assert figures.value(f"ruptures_{status}") == int((events["status"] == status).sum())
    assert figures.value("clients_with_rupture") == events["client_id"].nunique()
    assert figures.value("dropouts") == 1 and figures.value("in_treatment") == 1
    t1 = figures.for_clients(["new", "gone"])
    assert t1.value("dropouts") == 1 and t1.clients == 2
    out = figures.to_dict()
    assert set(out["figures"]) == set(DEFINITIONS)
    assert "8 weeks before 2026-06-08" in out["figures"]["dropouts"]["definition"]
    assert figures.to_frame()["term"].tolist() == list(DEFINITIONS)
    assert "Dropouts: 1" in figures.summary()


def test_without_any_record_of_endings_an_inactive_client_is_not_a_dropout() -> None:
    # a scores file says nothing of how treatments ended: "gone" and "done" stopped in
    # January and February, and either may have finished as planned
    states = classify_clients(_scores(), as_of=date(2026, 6, 8))
    state = dict(zip(states["client_id"], states["state"].astype(str), strict=True))
    assert state == {"done": "unknown", "gone": "unknown", "new": "in_treatment"}
    # the service records endings (its closed episodes), even when none has closed yet
    states = classify_clients(_scores(), as_of=date(2026, 6, 8), ended=[])
    assert set(states.set_index("client_id").loc[["done", "gone"], "state"]) == {"dropout"}


def test_the_dropout_figure_is_not_known_without_endings() -> None:
    scores = _scores()
    feedback = compute_feedback(scores, alliance="sac", outcomes=())
    figures = summarise_clinic(scores, feedback, as_of=date(2026, 6, 8))
    assert figures.value("dropouts") is None and figures.value("in_treatment") == 1
    item = figures.to_dict()["figures"]["dropouts"]
    assert item["value"] is None
    assert item["definition"].startswith("Not known: the data record no endings")
    assert "the 2 clients with no session in the 8 weeks before 2026-06-08" in item["definition"]
    recorded = summarise_clinic(scores, feedback, as_of=date(2026, 6, 8), ended=[])
    assert recorded.value("dropouts") == 2
