"""Session scores as FHIR ``Observation`` resources.

One ``Observation`` per client, session and scale score: LOINC's code where the definition
has one (PHQ-9 total 44261-6, GAD-7 total 70274-6), Bordin's scale code otherwise
(``urn:bordin:scale`` with the wide-frame column name, e.g. ``wai_sr_bond``); the score as a
``valueQuantity`` in UCUM's ``{score}`` unit; and, for scales with a published clinical
cutoff, an interpretation of ``A`` (abnormal: in the clinical range by that cutoff) or ``N``,
with the cutoff's label and source in the text. ``derivedFrom`` points at the response the
score came from when it is in the same bundle.
"""

from __future__ import annotations

import math
from typing import Any

from fhir.resources.R4B.observation import Observation

from bordin.instruments import InstrumentDefinition, ScaleDefinition
from bordin.interop.fhir._common import (
    CLIENT_SYSTEM,
    LOINC,
    SCALE_SYSTEM,
    SESSION_EXTENSION,
    THERAPIST_EXTENSION,
    in_element_order,
)

__all__ = ["INTERPRETATION_SYSTEM", "observation_data", "to_observation"]

INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_UCUM = "http://unitsofmeasure.org"


def _is_case(scale: ScaleDefinition, score: float) -> bool | None:
    cutoff = scale.cutoff
    if cutoff is None:
        return None
    compare = {
        ">=": score >= cutoff.value,
        ">": score > cutoff.value,
        "<=": score <= cutoff.value,
        "<": score < cutoff.value,
    }
    return compare[cutoff.case_if]


def to_observation(
    definition: InstrumentDefinition,
    scale: ScaleDefinition,
    *,
    client_id: str,
    therapist_id: str,
    session: int,
    date: str | None,
    score: float,
    derived_from: str | None = None,
) -> Observation:
    """One scale score as a validated ``Observation`` (see :func:`observation_data`)."""
    return Observation.model_validate(
        observation_data(
            definition,
            scale,
            client_id=client_id,
            therapist_id=therapist_id,
            session=session,
            date=date,
            score=score,
            derived_from=derived_from,
        )
    )


def observation_data(
    definition: InstrumentDefinition,
    scale: ScaleDefinition,
    *,
    client_id: str,
    therapist_id: str,
    session: int,
    date: str | None,
    score: float,
    derived_from: str | None = None,
) -> dict[str, Any]:
    """One scale score as an ``Observation`` JSON dict (validated by the caller's Bundle).

    Parameters
    ----------
    definition, scale
        The instrument and the scale scored.
    client_id, therapist_id, session, date
        Whose score, at which session (``date`` ISO 8601 or None).
    score
        The scale score (finite).
    derived_from
        Reference (e.g. ``urn:uuid:...``) of the ``QuestionnaireResponse`` it was scored from.
    """
    column = definition.column(scale.name)
    if not math.isfinite(score):
        raise ValueError(f"{column}: a score must be finite to be exported")
    codings = [
        {
            "system": SCALE_SYSTEM,
            "code": column,
            "display": f"{definition.short_name} {scale.label}",
        }
    ]
    if scale.loinc is not None:
        codings.insert(0, {"system": LOINC, "code": scale.loinc})
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "survey"}]}],
        "code": {"coding": codings, "text": f"{definition.short_name} {scale.label}"},
        "subject": {"identifier": {"system": CLIENT_SYSTEM, "value": client_id}},
        "extension": [
            {"url": SESSION_EXTENSION, "valueInteger": session},
            {"url": THERAPIST_EXTENSION, "valueString": therapist_id},
        ],
        "valueQuantity": {
            "value": round(float(score), 10),
            "unit": "score",
            "system": _UCUM,
            "code": "{score}",
        },
    }
    if date is not None:
        data["effectiveDateTime"] = date
    if derived_from is not None:
        data["derivedFrom"] = [{"reference": derived_from}]
    case = _is_case(scale, float(score))
    if case is not None and scale.cutoff is not None:
        code = "A" if case else "N"
        display = "Abnormal" if case else "Normal"
        state = "at or past" if case else "short of"
        data["interpretation"] = [
            {
                "coding": [{"system": INTERPRETATION_SYSTEM, "code": code, "display": display}],
                "text": (
                    f"{state} the cutoff {scale.cutoff.case_if} {scale.cutoff.value:g} "
                    f"({scale.cutoff.label}; {scale.cutoff.source})"
                ),
            }
        ]
    return in_element_order(data, Observation)
