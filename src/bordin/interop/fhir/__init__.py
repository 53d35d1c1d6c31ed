"""FHIR R4 interoperability: Questionnaire, QuestionnaireResponse, Observation and Bundle.

Resources are built and checked with the R4B models of ``fhir.resources`` (R4B shares R4's
structure for these resources). See docs/fhir.md for what is supported.
"""

from bordin.interop.fhir.bundle import (
    BundleType,
    export_responses,
    export_scores,
    read_bundle,
    write_export,
    write_resource,
)
from bordin.interop.fhir.observations import to_observation
from bordin.interop.fhir.questionnaire import to_questionnaire
from bordin.interop.fhir.responses import (
    response_identifier,
    responses_from_resources,
    to_questionnaire_responses,
)

__all__ = [
    "BundleType",
    "export_responses",
    "export_scores",
    "read_bundle",
    "response_identifier",
    "responses_from_resources",
    "to_observation",
    "to_questionnaire",
    "to_questionnaire_responses",
    "write_export",
    "write_resource",
]
