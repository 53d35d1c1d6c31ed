"""Identifiers and code systems shared by the FHIR mappings.

Where LOINC has a code (the PHQ-9 and GAD-7 panels, items and totals) the resources use it;
everywhere else they use Bordin's own URIs. They are URNs, not web addresses, so nothing
suggests that a server answers at them.
"""

from __future__ import annotations

from bordin.instruments import InstrumentDefinition

__all__ = [
    "ANSWER_SYSTEM",
    "CLIENT_SYSTEM",
    "LOINC",
    "RESPONSE_SYSTEM",
    "SCALE_SYSTEM",
    "SESSION_EXTENSION",
    "THERAPIST_EXTENSION",
    "answer_code",
    "questionnaire_id",
    "questionnaire_url",
]

LOINC = "http://loinc.org"
CLIENT_SYSTEM = "urn:bordin:client"
RESPONSE_SYSTEM = "urn:bordin:response"
SCALE_SYSTEM = "urn:bordin:scale"
ANSWER_SYSTEM = "urn:bordin:answer"
SESSION_EXTENSION = "urn:bordin:fhir:extension:session"
THERAPIST_EXTENSION = "urn:bordin:fhir:extension:therapist"


def questionnaire_id(definition: InstrumentDefinition) -> str:
    """The resource id of an instrument's Questionnaire (FHIR ids allow no underscore)."""
    return definition.id.replace("_", "-")


def questionnaire_url(definition: InstrumentDefinition) -> str:
    """The canonical URL of an instrument's Questionnaire (without the version)."""
    return f"urn:bordin:questionnaire:{definition.id}"


def answer_code(value: float) -> str:
    """A response code as text: ``2`` for 2.0, ``0.5`` for 0.5."""
    rounded = round(float(value), 10)
    return str(int(rounded)) if rounded == int(rounded) else repr(rounded)
