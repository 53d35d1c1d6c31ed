"""ClinicNorms: what they hold, how they are read and written, and what they refuse."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.feedback import ClinicNorms, FeedbackConfig, compute_feedback, fit_clinic_norms
from bordin.feedback.trajectories import expected_curves


def _clinic(n_clients: int, *, seed: int = 3, sessions: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clients):
        level = rng.uniform(2.5, 4.5)
        for t in range(1, sessions + 1):
            rows.append(
                {
                    "client_id": f"c{c:03d}",
                    "therapist_id": f"t{c % 3}",
                    "session": t,
                    "date": f"2026-0{1 + t % 9}-1{c % 9}",
                    "sac_total": float(np.clip(level + rng.normal(0, 0.4), 0, 5)),
                    "phq9_total": float(np.clip(round(18 - t + rng.normal(0, 3)), 0, 27)),
                }
            )
    return pd.DataFrame(rows)


def test_norms_record_the_data_they_were_fitted_on() -> None:
    frame = _clinic(12)
    norms = fit_clinic_norms(frame, outcomes=("phq9",), fitted_at="2026-12-04T10:00:00+00:00")
    assert norms.fitted_on.n_clients == 12
    assert norms.fitted_on.n_sessions == 72
    assert norms.fitted_on.last_session == 6
    dates = pd.to_datetime(frame["date"])
    assert norms.fitted_on.first_date == dates.min().date().isoformat()
    assert norms.fitted_on.last_date == dates.max().date().isoformat()
    assert norms.alliance == "sac" and norms.outcomes == ("phq9",)
    assert len(norms.version) == 16


def test_a_small_clinic_says_its_curves_come_from_the_bundled_norms() -> None:
    norms = fit_clinic_norms(_clinic(12), outcomes=("phq9",))
    described = norms.describe()
    assert described["curve_phq9"]["origin"] == "bundled"
    assert "fewer than 200" in described["curve_phq9"]["text"]
    assert described["within_sd_total"]["origin"] == "clinic"
    # the session alliance check has a concern cutoff: the early reference is the instrument's
    assert described["early_reference"]["origin"] == "instrument"
    assert norms.source() == "mixed"
    # the adaptive rupture model is fitted by default (it leads), on too few residuals here
    assert described["rupture_model_total"]["origin"] == "none"
    without = fit_clinic_norms(
        _clinic(12), outcomes=("phq9",), config=FeedbackConfig(adaptive_in_norms=False)
    )
    assert "rupture_model_total" not in without.describe()
    assert without.lacks_rupture_model and not norms.lacks_rupture_model
    big = FeedbackConfig(min_clinic_clients=5)
    assert norms.describe(big)["curve_phq9"]["origin"] == "clinic"
    assert norms.source(big) == "mixed"  # the rupture model rests on too few residuals
    assert without.source(big) == "clinic"
    adaptive = fit_clinic_norms(
        _clinic(12), outcomes=("phq9",), config=FeedbackConfig(adaptive_in_norms=True)
    )
    # 12 clients give 48 scaled residuals (3 at the scale maximum count as censored
    # residuals): too few for the mixture
    assert adaptive.describe()["rupture_model_total"]["origin"] == "none"
    assert "48 prediction residuals" in adaptive.describe()["rupture_model_total"]["text"]
    assert adaptive.source(big) == "mixed"
    fitted = fit_clinic_norms(
        _clinic(12),
        outcomes=("phq9",),
        config=FeedbackConfig(adaptive_min_residuals=40, adaptive_in_norms=True),
    )
    assert fitted.describe(big)["rupture_model_total"]["origin"] == "clinic"
    assert fitted.source(big) == "clinic"
    empty = fit_clinic_norms(_clinic(1).iloc[:0], outcomes=("phq9",))
    assert empty.source() == "bundled"
    assert empty.early_reference == 3.5  # the instrument cutoff needs no clients


def test_the_version_is_the_content_not_the_time() -> None:
    frame = _clinic(8)
    a = fit_clinic_norms(frame, fitted_at="2026-01-01T00:00:00+00:00")
    b = fit_clinic_norms(frame.sample(frac=1.0, random_state=1), fitted_at="2026-02-01")
    assert a.version == b.version
    c = fit_clinic_norms(_clinic(9))
    assert c.version != a.version


def test_a_snapshot_used_on_a_grown_clinic_is_what_the_clinic_had_then() -> None:
    """Norms fitted on the first 10 clients, used on 20: the references stay those of the
    10 (the new clients' sessions do not move them)."""
    frame = _clinic(20)
    first = frame[frame["client_id"] < "c010"]
    norms = fit_clinic_norms(first)
    with_norms = compute_feedback(frame, norms=norms)
    refitted = compute_feedback(frame)
    assert with_norms.norms is norms
    reference = with_norms.sessions["early_alliance_reference"].dropna().unique()
    assert reference.tolist() == [norms.early_reference]
    assert refitted.norms.version != norms.version
    assert refitted.norms.fitted_on.n_clients == 20


def test_read_errors_name_the_file() -> None:
    with pytest.raises(InputError, match="norms.json"):
        ClinicNorms.from_json("{not json", where="norms.json")
    with pytest.raises(InputError, match="format"):
        ClinicNorms.from_json(json.dumps({"format": 99}), where="n.json")
    data = fit_clinic_norms(_clinic(5)).to_dict()
    data["early_reference"] = 1.0
    with pytest.raises(InputError, match="version"):
        ClinicNorms.from_dict(data, where="n.json")
    del data["curves"]
    with pytest.raises(InputError, match="malformed"):
        ClinicNorms.from_dict(data, where="n.json")


def test_norms_for_another_instrument_or_setting_are_refused() -> None:
    frame = _clinic(6)
    norms = fit_clinic_norms(frame, outcomes=("phq9",))
    with pytest.raises(InputError, match="gad7"):
        compute_feedback(frame.assign(gad7_total=5.0), outcomes=("phq9", "gad7"), norms=norms)
    with pytest.raises(InputError, match="alliance 'sac'"):
        compute_feedback(frame.assign(wai_sr_total=4.0), alliance="wai_sr", norms=norms)
    with pytest.raises(InputError, match="early_percentile"):
        compute_feedback(frame, norms=norms, config=FeedbackConfig(early_percentile=10))


def test_json_is_strict_and_exact() -> None:
    norms = fit_clinic_norms(_clinic(7))
    text = norms.to_json()
    assert "NaN" not in text
    back = ClinicNorms.from_json(text)
    for scale, sums in norms.within_sd.items():
        np.testing.assert_array_equal(back.within_sd[scale], sums)
    np.testing.assert_array_equal(back.curves["phq9"], norms.curves["phq9"])


def test_without_a_cutoff_the_early_reference_is_the_clinic_percentile() -> None:
    frame = _clinic(12).rename(columns={"sac_total": "wai_sr_total"})
    norms = fit_clinic_norms(frame, alliance="wai_sr", outcomes=("phq9",))
    described = norms.describe()
    assert described["early_reference"]["origin"] == "clinic"
    assert "25th percentile at session 3 (12 clients)" in described["early_reference"]["text"]
    early = frame[frame["session"] <= 3].groupby("client_id")["wai_sr_total"].mean()
    assert norms.early_reference == pytest.approx(np.percentile(early, 25), rel=1e-12)


def test_two_threads_and_one_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large frames run on two threads, small ones on the calling thread: bit-identical,
    the norms fitted alone (`bordin norms fit`, the service's refresh) as well."""
    from bordin.feedback import _threads
    from bordin.simulate import SimulationConfig, simulate_clinic

    scores = simulate_clinic(SimulationConfig(n_clients=2500), seed=4).scores
    assert len(scores) >= _threads.THREADED_FROM_ROWS
    threaded = compute_feedback(scores, outcomes=("phq9", "gad7"))
    threaded_norms = fit_clinic_norms(scores, outcomes=("phq9", "gad7"))
    monkeypatch.setattr(_threads, "THREADED_FROM_ROWS", 10**9)
    inline = compute_feedback(scores, outcomes=("phq9", "gad7"))
    inline_norms = fit_clinic_norms(scores, outcomes=("phq9", "gad7"))
    assert threaded_norms.to_dict() == inline_norms.to_dict() == inline.norms.to_dict()
    pd.testing.assert_frame_equal(threaded.sessions, inline.sessions)
    pd.testing.assert_frame_equal(threaded.ruptures, inline.ruptures)
    pd.testing.assert_frame_equal(threaded.clients, inline.clients)
    assert threaded.alerts == inline.alerts
    assert threaded.norms.to_dict() == inline.norms.to_dict()


def test_per_session_references_are_made_once_and_each_caller_gets_a_copy() -> None:
    # the service judges every client against one norms value: the clinic SD and the
    # expected curves by session number are kept by argument, equal to a fresh norms
    # value's, and a caller who writes to its copy changes nothing for the next
    norms = fit_clinic_norms(_clinic(40), outcomes=("phq9",))
    fresh = ClinicNorms.from_dict(norms.to_dict())
    strict = FeedbackConfig(not_on_track_level=0.9)
    sd = norms.clinic_sd("total", 9, min_df=20)
    curves = norms.expected_curves("phq9", 9, FeedbackConfig())
    sd[:] = -1.0
    curves[:] = -1.0
    np.testing.assert_array_equal(
        norms.clinic_sd("total", 9, min_df=20), fresh.clinic_sd("total", 9, min_df=20)
    )
    assert not np.isnan(norms.clinic_sd("total", 9, min_df=20)[-1])
    np.testing.assert_array_equal(
        norms.expected_curves("phq9", 9, FeedbackConfig()),
        expected_curves(fresh.curve_sums("phq9", 9), fresh.fallback.get("phq9"), FeedbackConfig()),
    )
    kept = norms.expected_curves("phq9", 9, strict)  # another setting, another curve
    np.testing.assert_array_equal(
        kept, expected_curves(fresh.curve_sums("phq9", 9), fresh.fallback.get("phq9"), strict)
    )
    assert not np.array_equal(kept[5], norms.expected_curves("phq9", 9, FeedbackConfig())[5])
    assert norms.clinic_sd("total", 4, min_df=20).shape == (4,)
    assert np.isnan(norms.clinic_sd("bond", 4, min_df=20)).all()  # no such subscale here
