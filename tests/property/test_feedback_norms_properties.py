"""Clinic norms (Hypothesis): with the same norms, a client's feedback is that client's alone.

This is what lets the service recompute one client at a submission and still show what
``compute_feedback`` computes on the clinic's whole export with the same snapshot.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings

from bordin.feedback import ClinicNorms, FeedbackResult, compute_feedback, fit_clinic_norms
from property.test_feedback_properties import CONFIG, _assert_same, clinics

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _client_part(result: FeedbackResult, client: str) -> dict[str, object]:
    """One client's rows of every table and their alerts, with indexes reset."""

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["client_id"] == client].reset_index(drop=True)

    return {
        "sessions": rows(result.sessions),
        "ruptures": rows(result.ruptures),
        "clients": rows(result.clients),
        "alerts": [a.to_dict() for a in result.alerts if a.client_id == client],
    }


def _assert_part_equal(a: dict[str, object], b: dict[str, object]) -> None:
    for name in ("sessions", "ruptures", "clients"):
        left, right = a[name], b[name]
        assert isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame)
        # categorical columns of a one-client frame keep the same categories
        pd.testing.assert_frame_equal(left, right, check_categorical=False, obj=name)
    assert a["alerts"] == b["alerts"]


@SETTINGS
@given(fitted_on=clinics(), clinic=clinics())
def test_with_given_norms_each_client_is_computed_alone(
    fitted_on: pd.DataFrame, clinic: pd.DataFrame
) -> None:
    norms = fit_clinic_norms(fitted_on, outcomes=("phq9",), config=CONFIG)
    whole = compute_feedback(clinic, outcomes=("phq9",), config=CONFIG, norms=norms)
    for client in clinic["client_id"].unique():
        alone = compute_feedback(
            clinic[clinic["client_id"] == client], outcomes=("phq9",), config=CONFIG, norms=norms
        )
        _assert_part_equal(_client_part(alone, client), _client_part(whole, client))


@SETTINGS
@given(clinic=clinics())
def test_fitting_the_norms_first_changes_nothing(clinic: pd.DataFrame) -> None:
    """``compute_feedback`` without norms fits them on the frame: the same as fitting them
    first and passing them in, bit for bit, and the same after a JSON round trip."""
    fitted = fit_clinic_norms(clinic, outcomes=("phq9",), config=CONFIG)
    implicit = compute_feedback(clinic, outcomes=("phq9",), config=CONFIG)
    explicit = compute_feedback(clinic, outcomes=("phq9",), config=CONFIG, norms=fitted)
    _assert_same(implicit, explicit)
    assert implicit.norms.version == fitted.version
    read_back = ClinicNorms.from_json(fitted.to_json())
    assert read_back.version == fitted.version
    _assert_same(
        explicit, compute_feedback(clinic, outcomes=("phq9",), config=CONFIG, norms=read_back)
    )


@SETTINGS
@given(clinic=clinics(), other=clinics())
def test_a_client_added_to_the_clinic_changes_no_one_else_under_fixed_norms(
    clinic: pd.DataFrame, other: pd.DataFrame
) -> None:
    norms = fit_clinic_norms(clinic, outcomes=("phq9",), config=CONFIG)
    before = compute_feedback(clinic, outcomes=("phq9",), config=CONFIG, norms=norms)
    newcomer = other[other["client_id"] == other["client_id"].iloc[0]].assign(client_id="new")
    after = compute_feedback(
        pd.concat([clinic, newcomer], ignore_index=True),
        outcomes=("phq9",),
        config=CONFIG,
        norms=norms,
    )
    for client in clinic["client_id"].unique():
        _assert_part_equal(_client_part(after, client), _client_part(before, client))
