"""The FHIR R4 routes: searches return the stored data, audited; Bundle import is idempotent."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from bordin.interop.fhir import export_responses
from bordin.storage.models import AuditEvent, Client, ItemResponse, User
from web.service_world import BACKENDS, PHQ9_RISK, World

FHIR = "/fhir/R4"


def _therapist_code(world: World, name: str) -> str:
    with world.sessions_factory() as db:
        return str(db.scalar(select(User.code).where(User.id == world.users[name])))


def _bundle(world: World, client: str, session: int, values: list[int]) -> str:
    frame = pd.DataFrame(
        {
            "client_id": client,
            "therapist_id": _therapist_code(world, "ta1"),
            "session": session,
            "date": f"2026-01-{10 + session:02d}",
            "instrument": "phq9",
            "item": range(1, 10),
            "value": values,
        }
    )
    return export_responses(frame, bundle_type="transaction").model_dump_json(exclude_none=True)


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_responses_and_observations_of_a_client(world: World) -> None:
    client = world.login("ta1")
    found = client.get(f"{FHIR}/QuestionnaireResponse", params={"subject": "ta1-c1"})
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("application/fhir+json")
    bundle = found.json()
    assert bundle["type"] == "searchset"
    phq9 = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["questionnaire"].endswith("phq9|1.0")
    )
    assert phq9["subject"]["identifier"]["value"] == "ta1-c1"
    answers = {i["linkId"]: i["answer"][0]["valueCoding"]["code"] for i in phq9["item"]}
    assert answers == {k: str(v) for k, v in PHQ9_RISK.items()}
    observations = client.get(
        f"{FHIR}/Observation", params={"subject": "ta1-c1", "code": "http://loinc.org|44261-6"}
    ).json()
    (total,) = [e["resource"] for e in observations["entry"]]
    assert total["valueQuantity"]["value"] == 18
    assert total["interpretation"][0]["coding"][0]["code"] == "A"
    with world.sessions_factory() as db:
        actions = set(
            db.scalars(
                select(AuditEvent.action).where(AuditEvent.client_id == world.clients["ta1"])
            )
        )
    assert {"fhir.read_responses", "fhir.read_scores"} <= actions


def test_questionnaire_and_capability_statement(world: World) -> None:
    client = world.login("ta2")
    q = client.get(f"{FHIR}/Questionnaire/wai-sr").json()
    assert q["url"] == "urn:bordin:questionnaire:wai_sr"
    assert client.get(f"{FHIR}/Questionnaire/nope").status_code == 404
    meta = world.anonymous().get(f"{FHIR}/metadata").json()
    assert meta["resourceType"] == "CapabilityStatement"
    kinds = {r["type"] for r in meta["rest"][0]["resource"]}
    assert kinds == {"Questionnaire", "QuestionnaireResponse", "Observation"}
    assert "no SMART" in meta["rest"][0]["security"]["description"]


def _stored(world: World) -> int:
    with world.sessions_factory() as db:
        return int(db.scalar(select(func.count()).select_from(ItemResponse)) or 0)


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_bundle_import_is_idempotent_and_refuses_changed_answers(world: World) -> None:
    admin = world.login("aa")
    before = _stored(world)
    new_client = _bundle(world, "fhir-c9", 1, [1] * 9)
    existing = _bundle(world, "ta1-c1", 2, [0] * 9)
    for text in (new_client, existing):
        first = admin.post(f"{FHIR}/Bundle", content=text)
        assert first.status_code == 200, first.text
        assert "responses created: 1" in first.json()["issue"][0]["diagnostics"]
    assert _stored(world) == before + 18
    again = admin.post(f"{FHIR}/Bundle", content=new_client)
    assert "responses unchanged: 1" in again.json()["issue"][0]["diagnostics"]
    assert _stored(world) == before + 18
    changed = admin.post(f"{FHIR}/Bundle", content=_bundle(world, "fhir-c9", 1, [2] * 9))
    assert changed.status_code == 409
    assert "fhir-c9/1/phq9" in changed.text
    assert _stored(world) == before + 18
    # The existing client's new session was scored and is visible to their therapist.
    scores = world.login("ta1").get(f"/api/v1/clients/{world.clients['ta1']}/scores").json()
    by_session = {row["session"]: row["scores"] for row in scores}
    assert by_session[2]["phq9_total"] == 0
    with world.sessions_factory() as db:
        owner = db.scalar(select(Client.therapist_id).where(Client.code == "fhir-c9"))
    assert owner == world.users["ta1"]


def test_bad_bundle_names_the_entry_and_stores_nothing(world: World) -> None:
    admin = world.login("aa")
    before = _stored(world)
    data = json.loads(_bundle(world, "fhir-c8", 1, [1] * 9))
    data["entry"][0]["resource"]["item"][4]["linkId"] = "44"
    response = admin.post(f"{FHIR}/Bundle", content=json.dumps(data))
    assert response.status_code == 422
    assert "entry 0, phq9 linkId 44" in response.text
    assert _stored(world) == before
