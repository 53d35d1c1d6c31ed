"""FHIR mappings: Questionnaires, LOINC codes, licences, Observations and import errors."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from bordin.errors import InputError
from bordin.instruments import get_instrument
from bordin.interop.fhir import (
    export_responses,
    export_scores,
    read_bundle,
    to_questionnaire,
    write_export,
    write_resource,
)

LOINC = "http://loinc.org"


def _phq9_rows(values: list[int], client: str = "c1", session: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": client,
            "therapist_id": "t1",
            "session": session,
            "date": "2025-02-03",
            "instrument": "phq9",
            "item": range(1, 10),
            "value": values,
        }
    )


def test_phq9_questionnaire_uses_the_loinc_panel_and_item_codes() -> None:
    q = json.loads(to_questionnaire(get_instrument("phq9")).model_dump_json(exclude_none=True))
    assert q["code"] == [{"system": LOINC, "code": "44249-1"}]
    codes = [item["code"][0]["code"] for item in q["item"]]
    assert codes[0] == "44250-9" and codes[8] == "44260-8"
    assert q["item"][0]["text"].startswith("Little interest")
    options = q["item"][0]["answerOption"]
    assert [o["valueCoding"]["code"] for o in options] == ["0", "1", "2", "3"]
    assert options[3]["valueCoding"]["display"] == "Nearly every day"
    assert "Pfizer" in q["copyright"]


def test_no_wording_where_the_licence_forbids_it() -> None:
    definition = get_instrument("wai_sr")
    assert not definition.wording_redistributable
    text = to_questionnaire(definition).model_dump_json(exclude_none=True)
    q = json.loads(text)
    assert all("text" not in item for item in q["item"])
    assert all(
        "display" not in option["valueCoding"]
        for item in q["item"]
        for option in item["answerOption"]
    )
    assert definition.licence in q["copyright"]


def test_asked_if_becomes_enable_when() -> None:
    q = json.loads(to_questionnaire(get_instrument("sac")).model_dump_json(exclude_none=True))
    item8 = q["item"][7]
    assert item8["enableBehavior"] == "any"
    codes = [c["answerCoding"]["code"] for c in item8["enableWhen"]]
    assert all(c["question"] == "7" and c["operator"] == "=" for c in item8["enableWhen"])
    assert codes == ["1", "2", "3", "4"]


def test_fine_grained_items_are_decimal_questions() -> None:
    q = json.loads(to_questionnaire(get_instrument("ors")).model_dump_json(exclude_none=True))
    assert {item["type"] for item in q["item"]} == {"decimal"}


def test_phq9_export_carries_loinc_total_and_interpretation() -> None:
    bundle = json.loads(export_responses(_phq9_rows([2] * 9)).model_dump_json(exclude_none=True))
    resources = [e["resource"] for e in bundle["entry"]]
    response = resources[0]
    assert response["resourceType"] == "QuestionnaireResponse"
    assert response["subject"] == {"identifier": {"system": "urn:bordin:client", "value": "c1"}}
    total = next(
        r
        for r in resources
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "44261-6"
    )
    assert total["valueQuantity"]["value"] == 18
    assert total["interpretation"][0]["coding"][0]["code"] == "A"
    assert total["derivedFrom"][0]["reference"] == bundle["entry"][0]["fullUrl"]


def _bundle(response: dict[str, Any]) -> str:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": response}]}
    )


def _loinc_response(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "subject": {"identifier": {"system": "urn:other", "value": "p7"}},
        "extension": [
            {"url": "urn:bordin:fhir:extension:session", "valueInteger": 2},
            {"url": "urn:bordin:fhir:extension:therapist", "valueString": "t9"},
        ],
        "item": items,
    }


def test_reads_a_response_that_used_loinc_link_ids() -> None:
    items = [{"linkId": "/44250-9", "answer": [{"valueInteger": 3}]}]
    items.append(
        {
            "linkId": "/44260-8",
            "answer": [
                {
                    "valueCoding": {
                        "system": "http://loinc.org",
                        "code": "LA6570-1",
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                                "valueDecimal": 1,
                            }
                        ],
                    }
                }
            ],
        }
    )
    frame = read_bundle(_bundle(_loinc_response(items)))
    assert frame[["client_id", "session", "instrument", "item", "value"]].values.tolist() == [
        ["p7", 2, "phq9", 1, 3.0],
        ["p7", 2, "phq9", 9, 1.0],
    ]


def test_unknown_item_is_named() -> None:
    items = [{"linkId": "12", "answer": [{"valueInteger": 1}]}]
    with pytest.raises(InputError, match=r"file b\.json, item entry 0, phq9 linkId 12"):
        read_bundle(_bundle(_loinc_response(items)), source="b.json")


def test_out_of_range_answer_is_named() -> None:
    items = [{"linkId": "3", "answer": [{"valueInteger": 4}]}]
    with pytest.raises(InputError, match=r"linkId 3: answer 4 is not one of the item's codes"):
        read_bundle(_bundle(_loinc_response(items)))


def test_invalid_bundle_is_refused() -> None:
    with pytest.raises(InputError, match="not a valid FHIR R4 Bundle"):
        read_bundle(json.dumps({"resourceType": "Bundle"}))
    with pytest.raises(InputError, match="status"):
        read_bundle(_bundle({"resourceType": "QuestionnaireResponse"}))
    with pytest.raises(InputError, match="not JSON"):
        read_bundle("{")


def test_transaction_bundle_is_conditional_on_the_response_identifier() -> None:
    bundle = export_responses(_phq9_rows([0] * 9), bundle_type="transaction")
    entry = json.loads(bundle.model_dump_json(exclude_none=True))["entry"][0]
    assert entry["request"] == {
        "method": "POST",
        "url": "QuestionnaireResponse",
        "ifNoneExist": "identifier=urn:bordin:response|c1/1/phq9",
    }


def test_single_resources_are_validated_models() -> None:
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    from bordin.interop.fhir import to_observation, to_questionnaire_responses

    (response,) = to_questionnaire_responses(_phq9_rows([1] * 9))
    assert isinstance(response, QuestionnaireResponse)
    assert response.identifier.value == "c1/1/phq9"  # type: ignore[union-attr]
    definition = get_instrument("gad7")
    observation = to_observation(
        definition,
        definition.scale("total"),
        client_id="c1",
        therapist_id="t1",
        session=3,
        date=None,
        score=7.0,
    )
    assert isinstance(observation, Observation)
    assert observation.code.coding[0].code == "70274-6"  # type: ignore[index]
    assert observation.interpretation[0].coding[0].code == "N"  # type: ignore[index]


@pytest.mark.parametrize("bundle_type", ["collection", "transaction"])
def test_the_export_file_is_what_the_models_write_byte_for_byte(
    tmp_path: Any, bundle_type: Any
) -> None:
    """`bordin fhir export` writes the validated dict with json instead of the models'
    serialiser (most of the export's time): the file must be the same, byte for byte, for
    responses (sac, PHQ-9, GAD-7, and the ORS's decimal answers) and for scores alone."""
    from bordin.simulate import SimulationConfig, simulate_clinic

    clinic = simulate_clinic(SimulationConfig(n_clients=6), seed=3)
    ors = pd.DataFrame(
        {
            "client_id": "c9",
            "therapist_id": "t1",
            "session": 1,
            "date": "2025-02-03",
            "instrument": "ors",
            "item": [1, 2, 3, 4],
            "value": [3.7, 5.0, 9.2, 0.4],
        }
    )
    responses = pd.concat([clinic.responses.astype({"instrument": str}), ors], ignore_index=True)
    for frame, export in (
        (responses, lambda f: export_responses(f, bundle_type=bundle_type)),
        (clinic.scores, lambda f: export_scores(f, bundle_type=bundle_type)),
    ):
        fast, slow = tmp_path / "fast.json", tmp_path / "slow.json"
        bundle = export(frame)
        assert write_export(frame, fast, bundle_type=bundle_type) == len(bundle.entry)
        write_resource(bundle, slow)
        assert fast.read_bytes() == slow.read_bytes()


def test_the_export_reports_its_progress_and_still_validates_every_resource(
    tmp_path: Any,
) -> None:
    """write_export validates resource by resource, saying how far it is; a resource the
    models refuse is still refused (the Bundle validated without its resources would not
    see it)."""
    from pydantic import ValidationError

    from bordin.interop.fhir.bundle import _bundle_data, _response_entries, _validate_export
    from bordin.simulate import SimulationConfig, simulate_clinic

    clinic = simulate_clinic(SimulationConfig(n_clients=6), seed=3)
    seen: list[tuple[int, int]] = []
    written = write_export(
        clinic.responses, tmp_path / "b.json", progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1] == (written, written)
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})
    data = _bundle_data(_response_entries(clinic.responses, "collection", None), "collection")
    data["entry"][-1]["resource"]["notAnElement"] = 1
    with pytest.raises(ValidationError):
        _validate_export(data)
