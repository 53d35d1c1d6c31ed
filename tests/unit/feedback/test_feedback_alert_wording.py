"""Alerts speak clinic: instrument names, rounding to the scale, colours, risk item wording."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bordin.feedback import FeedbackConfig, compute_feedback
from bordin.feedback._alert_rules import build_alerts
from bordin.feedback.wording import (
    colour_legend,
    format_score,
    risk_item_wording,
    scale_decimals,
)


def _clinic(target: list[float], outcome: str = "phq9") -> pd.DataFrame:
    """Forty clients improving steadily, and one target client."""
    rng = np.random.default_rng(11)
    rows = []
    for c in range(40):
        start = 14 + c % 7
        for s in range(1, 7):
            y = max(0.0, start - 1.2 * np.log(s) * 3 + rng.normal(0, 1.5))
            rows.append(
                {"client_id": f"c{c:02d}", "session": s, "sac_total": 4.0, f"{outcome}_total": y}
            )
    for s, y in enumerate(target, start=1):
        rows.append({"client_id": "target", "session": s, "sac_total": 4.0, f"{outcome}_total": y})
    return pd.DataFrame(rows)


def _decimals(text: str) -> set[int]:
    return {len(m) for m in re.findall(r"\d\.(\d+)", text)}


def test_not_on_track_names_the_instrument_rounds_and_explains_red() -> None:
    result = compute_feedback(_clinic([18, 19, 22, 24]), outcomes=("phq9",))
    alert = next(a for a in result.alerts if a.client_id == "target" and a.kind == "not_on_track")
    assert alert.title == "Not on track on PHQ-9 (red)"
    assert "phq9" not in alert.explanation and "PHQ-9 went from 18 at intake to 24" in (
        alert.explanation
    )
    # PHQ-9 is a sum of whole-number items: every score in the text is a whole number
    assert _decimals(alert.explanation.split("The expected course")[0]) == set()
    assert "Red: not on track, the change since intake is worse than that of 95% of" in (
        alert.explanation
    )
    # the on-track bound is the last whole score within the unrounded limit
    limit = alert.evidence["limit"]
    assert f"95% of them at {int(np.floor(limit))} or less" in alert.explanation
    assert alert.references  # the citation is kept


def test_gad7_is_named_gad7_in_clinic_form() -> None:
    frame = _clinic([15, 16, 18, 20], outcome="gad7")
    result = compute_feedback(frame, outcomes=("gad7",))
    titles = [a.title for a in result.alerts if a.client_id == "target"]
    assert any("GAD-7" in t for t in titles)
    assert not any("gad7" in t for t in titles)


def _latest(**columns: object) -> pd.DataFrame:
    base: dict[str, object] = {
        "client_id": ["a"],
        "session": [7],
        "risk": [False],
        "risk_item": [None],
        "risk_value": [np.nan],
        "weak_early_alliance": [False],
        "uninformative": [False],
        "alliance_at_maximum_run": [0],
        "alliance_constant_run": [0],
    }
    for name in ("low", "falling", "mean", "slope", "reference"):
        base[f"early_alliance_{name}"] = [np.nan]
    base.update({k: [v] for k, v in columns.items()})
    return pd.DataFrame(base)


def _alerts(latest: pd.DataFrame, **kwargs: object) -> tuple:
    return build_alerts(
        latest,
        pd.DataFrame(),
        alliance="sac",
        outcomes=(),
        early_reference_source="the SAC concern cutoff",
        config=FeedbackConfig(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_risk_alert_quotes_the_shipped_wording_the_answer_and_the_date() -> None:
    latest = _latest(risk=True, risk_item="phq9_item9", risk_value=1.0)
    (alert,) = _alerts(latest, dates=["2026-03-02"])
    assert alert.kind == "risk" and alert.title == "Risk item endorsed: PHQ-9 item 9"
    assert alert.explanation.startswith(
        'On 2026-03-02 (session 7) the client answered "Several days" to PHQ-9 item 9 '
        '("Thoughts that you would be better off dead or of hurting yourself in some way").'
    )
    assert "above 0" not in alert.explanation
    assert alert.evidence["date"] == "2026-03-02" and alert.evidence["value"] == 1.0
    assert alert.references


def test_risk_alert_without_a_date_names_the_session() -> None:
    latest = _latest(risk=True, risk_item="core10_item6", risk_value=2.0)
    (alert,) = _alerts(latest)
    assert alert.explanation.startswith("At session 7 the client answered")
    assert "CORE-10 item 6" in alert.explanation


def test_risk_item_without_shipped_wording_is_named_by_number_and_code() -> None:
    said = risk_item_wording("oq45_item8", 2.0)
    assert said.text is None
    assert said.item == "item 8 of the Outcome Questionnaire-45.2 (OQ-45)"
    assert said.answer == "2"
    latest = _latest(risk=True, risk_item="oq45_item8", risk_value=2.0)
    (alert,) = _alerts(latest)
    assert "answered 2 to item 8 of the Outcome Questionnaire-45.2 (OQ-45)." in alert.explanation


def test_dates_must_match_the_clients() -> None:
    with pytest.raises(ValueError, match="dates has 2 values for 1 clients"):
        _alerts(_latest(), dates=["2026-03-02", "2026-03-09"])


def test_alliance_alerts_name_the_measure_with_one_decimal() -> None:
    latest = _latest(
        weak_early_alliance=True,
        session=3,
        early_alliance_low=True,
        early_alliance_falling=True,
        early_alliance_mean=3.1666667,
        early_alliance_slope=-0.3333,
        early_alliance_reference=3.5,
    )
    (alert,) = _alerts(latest)
    assert "Bordin Session Alliance Check total" in alert.explanation
    assert "was 3.2, below 3.5" in alert.explanation
    assert "sac" not in alert.explanation


@pytest.mark.parametrize(
    ("instrument", "decimals"), [("phq9", 0), ("gad7", 0), ("core10", 0), ("sac", 1), ("ors", 1)]
)
def test_scores_round_to_what_the_scale_can_show(instrument: str, decimals: int) -> None:
    assert scale_decimals(instrument) == decimals


def test_format_score_rounds_half_away_from_zero() -> None:
    assert format_score(12.5, 0) == "13"
    assert format_score(7.91, 0) == "8"
    assert format_score(3.25, 1) == "3.3"
    assert format_score(-0.04, 1) == "0.0"
    assert format_score(None, 0) == "n/a"


def test_colour_legend_covers_every_colour_in_words() -> None:
    legend = {row["colour"]: row["meaning"] for row in colour_legend()}
    assert set(legend) == {"red", "yellow", "green", "white"}
    assert "95%" in legend["red"] and legend["red"].startswith("red: not on track")


def test_compute_feedback_dates_the_risk_alert_from_the_scores() -> None:
    """The engine passes each client's latest session date to the alert rules."""
    frame = _clinic([18, 19, 20]).assign(date="2026-01-05", phq9_item9=0.0)
    target = frame["client_id"] == "target"
    frame.loc[target, "date"] = ["2026-02-02", "2026-02-09", "2026-02-16"]
    frame.loc[target & (frame["session"] == 3), "phq9_item9"] = 2.0
    result = compute_feedback(frame, outcomes=("phq9",))
    (risk,) = [a for a in result.alerts if a.kind == "risk"]
    assert risk.client_id == "target"
    assert risk.explanation.startswith("On 2026-02-16 (session 3) the client answered")
