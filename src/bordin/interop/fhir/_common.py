"""Identifiers and code systems shared by the FHIR mappings.

Where LOINC has a code (the PHQ-9 and GAD-7 panels, items and totals) the resources use it;
everywhere else they use Bordin's own URIs. They are URNs, not web addresses, so nothing
suggests that a server answers at them.
"""

from __future__ import annotations

import functools
from typing import Any

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
    "in_element_order",
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


def in_element_order(data: dict[str, Any], model: Any) -> dict[str, Any]:
    """A resource's JSON dict with its elements in the order FHIR defines them (the model's
    ``elements_sequence()``, ``resourceType`` first), the order the model's own serialiser
    writes, so that the dict can be written with :mod:`json` as the model would write it."""
    order, known = _element_order(model)
    unknown = data.keys() - known
    if unknown:
        raise ValueError(f"not elements of {model.__name__}: {sorted(unknown)}")
    return {key: data[key] for key in order if key in data}


@functools.cache
def _element_order(model: Any) -> tuple[tuple[str, ...], frozenset[str]]:
    """A model's element order and set, once per model (an export orders every resource)."""
    order = ("resourceType", *model.elements_sequence())
    return order, frozenset(order)
