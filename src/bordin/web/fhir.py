"""FHIR R4 routes under ``/fhir/R4``: read-only Questionnaire, QuestionnaireResponse and
Observation searches, an admin's Bundle import, and the CapabilityStatement.

Authorisation is the JSON API's: a login (session cookie) is needed, a therapist finds only
their own clients, a supervisor their team's, an admin their clinic's; a subject outside the
caller's scope is answered like one that does not exist (an empty search set would say less,
but a 404 is what the JSON API answers). Subjects are pseudonymous client codes.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bordin.errors import InputError, InstrumentError, NotFound
from bordin.web.deps import CurrentUser, Db, require_csrf

__all__ = ["FHIR_PREFIX", "capability_statement", "router"]

FHIR_PREFIX = "/fhir/R4"
FHIR_JSON = "application/fhir+json"

router = APIRouter(tags=["fhir"])


def _fhir(resource: Any, status_code: int = 200) -> Response:
    return Response(
        resource.model_dump_json(exclude_none=True), status_code=status_code, media_type=FHIR_JSON
    )


def _subject_code(subject: str) -> str:
    # "CODE", "urn:bordin:client|CODE" (token form) or "Patient/CODE" all name the client code.
    for prefix in ("urn:bordin:client|", "Patient/"):
        if subject.startswith(prefix):
            return subject[len(prefix) :]
    return subject


def capability_statement() -> Any:
    """The CapabilityStatement of these routes (exactly what is supported)."""
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    from bordin import __version__

    subject = {
        "name": "subject",
        "type": "reference",
        "documentation": "The client's pseudonymous code (also urn:bordin:client|CODE).",
    }
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-01",
            "kind": "instance",
            "software": {"name": "Bordin", "version": __version__},
            "implementation": {"description": "Bordin FHIR R4 interface (no SMART on FHIR)"},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "cors": False,
                        "description": (
                            "Bordin session login (cookie) as for the JSON API; no SMART on "
                            "FHIR launch or OAuth2. Writes need the X-CSRF-Token header."
                        ),
                    },
                    "resource": [
                        {
                            "type": "Questionnaire",
                            "interaction": [{"code": "read"}],
                        },
                        {
                            "type": "QuestionnaireResponse",
                            "interaction": [{"code": "search-type"}],
                            "searchParam": [subject],
                        },
                        {
                            "type": "Observation",
                            "interaction": [{"code": "search-type"}],
                            "searchParam": [
                                subject,
                                {
                                    "name": "code",
                                    "type": "token",
                                    "documentation": (
                                        "LOINC code (44261-6 or http://loinc.org|44261-6) or "
                                        "Bordin's score column (phq9_total)."
                                    ),
                                },
                            ],
                        },
                    ],
                    "interaction": [
                        {
                            "code": "batch",
                            "documentation": (
                                "POST /Bundle (admins): the QuestionnaireResponses of a "
                                "collection, batch or transaction Bundle are recorded, "
                                "idempotently by their identifier (client/session/instrument)."
                            ),
                        }
                    ],
                }
            ],
        }
    )


@router.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement (no login needed; it holds no data)."""
    return _fhir(capability_statement())


@router.get("/Questionnaire/{questionnaire_id}")
def read_questionnaire(questionnaire_id: str, user: CurrentUser) -> Response:
    """An instrument as a Questionnaire (wording only where its licence allows)."""
    from bordin.instruments import get_instrument
    from bordin.interop.fhir import to_questionnaire

    try:
        definition = get_instrument(questionnaire_id.replace("-", "_"))
    except InstrumentError:
        raise NotFound(f"Questionnaire {questionnaire_id!r} not found") from None
    return _fhir(to_questionnaire(definition))


def _searchset(entries: list[dict[str, Any]]) -> Any:
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": [
                {"fullUrl": e["fullUrl"], "resource": e["resource"], "search": {"mode": "match"}}
                for e in entries
            ],
        }
    )


def _exported(bundle: Any) -> list[dict[str, Any]]:
    data = json.loads(bundle.model_dump_json(exclude_none=True))
    return list(data.get("entry") or [])


@router.get("/QuestionnaireResponse")
def search_responses(
    db: Db, user: CurrentUser, subject: str = Query(..., description="Client code.")
) -> Response:
    """Every QuestionnaireResponse of one client in the caller's scope."""
    from bordin.interop.fhir import export_responses
    from bordin.storage.queries.fhir import list_fhir_responses

    frame = list_fhir_responses(db, actor=user, client_code=_subject_code(subject))
    if frame.empty:
        return _fhir(_searchset([]))
    entries = _exported(export_responses(frame))
    kept = [e for e in entries if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    return _fhir(_searchset(kept))


def _code_matches(coding: list[dict[str, Any]], code: str) -> bool:
    system, _, value = code.rpartition("|")
    return any(c["code"] == value and (not system or c["system"] == system) for c in coding)


@router.get("/Observation")
def search_observations(
    db: Db,
    user: CurrentUser,
    subject: str = Query(..., description="Client code."),
    code: str | None = Query(None, description="LOINC code or score column."),
) -> Response:
    """The score Observations of one client in the caller's scope, optionally by code."""
    from bordin.interop.fhir import export_scores
    from bordin.storage.queries.fhir import list_fhir_scores

    frame = list_fhir_scores(db, actor=user, client_code=_subject_code(subject))
    entries = _exported(export_scores(frame)) if not frame.empty else []
    if code is not None:
        entries = [e for e in entries if _code_matches(e["resource"]["code"]["coding"], code)]
    return _fhir(_searchset(entries))


@router.post("/Bundle", dependencies=[Depends(require_csrf)])
async def post_bundle(request: Request, db: Db, user: CurrentUser) -> Response:
    """Record the QuestionnaireResponses of a Bundle (admins), idempotently."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    from bordin.interop.fhir import read_bundle
    from bordin.storage.access import require_role
    from bordin.storage.actions.fhir import import_fhir_responses

    require_role(user, "admin")
    body = await request.body()
    if not body:
        raise InputError("the request has no body (a FHIR Bundle in JSON)")

    def work() -> dict[str, int]:
        frame = read_bundle(body, source="request body")
        return import_fhir_responses(db, actor=user, responses=frame)

    summary = await run_in_threadpool(work)
    text = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in summary.items())
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": text}],
        }
    )
    return _fhir(outcome)
