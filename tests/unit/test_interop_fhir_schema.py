"""Exported resources validate against HL7's official FHIR R4 JSON schema (CC0, bundled)."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

from bordin.instruments import list_instruments
from bordin.interop.fhir import export_responses, to_questionnaire

SCHEMA = Path(__file__).resolve().parents[1] / "support" / "fhir" / "fhir.schema.json.gz"


@cache
def _validator(resource_type: str) -> jsonschema.Draft6Validator:
    with gzip.open(SCHEMA, "rt", encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    # Validate against one resource's definition (the root is a oneOf over every resource).
    schema.pop("oneOf", None)
    schema.pop("discriminator", None)
    schema["$ref"] = f"#/definitions/{resource_type}"
    return jsonschema.Draft6Validator(schema)


def _errors(resource: dict[str, Any]) -> list[str]:
    validator = _validator(resource["resourceType"])
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(resource)]


@pytest.mark.parametrize("definition", list_instruments(), ids=lambda d: d.id)
def test_questionnaire_validates_against_the_r4_schema(definition: Any) -> None:
    resource = json.loads(to_questionnaire(definition).model_dump_json(exclude_none=True))
    assert _errors(resource) == []


def test_the_schema_check_catches_a_bad_questionnaire() -> None:
    definition = list_instruments()[0]
    resource = json.loads(to_questionnaire(definition).model_dump_json(exclude_none=True))
    resource["status"] = "finished"
    resource["item"][0]["type"] = "likert"
    assert len(_errors(resource)) == 2


def test_responses_and_observations_validate_against_the_r4_schema() -> None:
    frame = pd.DataFrame(
        {
            "client_id": "c1",
            "therapist_id": "t1",
            "session": [1] * 9 + [1] * 10,
            "date": "2025-02-03",
            "instrument": ["phq9"] * 9 + ["sac"] * 10,
            "item": list(range(1, 10)) + list(range(1, 11)),
            "value": [2] * 9 + [4, 4, 4, 4, 4, 4, 2, 1, 0, 0],
        }
    )
    bundle = json.loads(export_responses(frame).model_dump_json(exclude_none=True))
    kinds = set()
    for entry in bundle["entry"]:
        kinds.add(entry["resource"]["resourceType"])
        assert _errors(entry["resource"]) == []
    assert kinds == {"QuestionnaireResponse", "Observation"}
