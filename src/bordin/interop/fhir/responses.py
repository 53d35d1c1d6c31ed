"""Long item responses to FHIR ``QuestionnaireResponse`` resources and back.

One ``QuestionnaireResponse`` holds one client's answers to one instrument at one session.
The client is a pseudonymous identifier (``subject.identifier`` in Bordin's client system,
never a name); the session number and the therapist id travel in two extensions; the date
is ``authored``. The response's ``identifier`` (``client/session/instrument``) is what an
import deduplicates on.

Reading accepts responses from Bordin and from systems that used the same Questionnaire
(``questionnaire`` = its canonical URL) or LOINC's form (the panel code in the canonical, and
items whose ``linkId`` is the item number or its LOINC code, with or without a leading
``/``). Answers are codings whose code is the numeric value or that carry an
``ordinalValue``, or plain integers and decimals. An unknown instrument or item, or an
answer that is not one of the item's codes, raises :class:`~bordin.errors.InputError`
naming the bundle entry and the item, and nothing is returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from bordin.errors import InputError
from bordin.instruments import InstrumentDefinition, get_instrument, list_instruments
from bordin.interop.fhir._common import (
    ANSWER_SYSTEM,
    CLIENT_SYSTEM,
    RESPONSE_SYSTEM,
    SESSION_EXTENSION,
    THERAPIST_EXTENSION,
    answer_code,
    in_element_order,
    questionnaire_url,
)
from bordin.interop.fhir.questionnaire import ORDINAL_VALUE, is_choice

__all__ = [
    "RESPONSE_COLUMNS",
    "response_data",
    "response_identifier",
    "responses_from_resources",
    "to_questionnaire_responses",
]

RESPONSE_COLUMNS = ("client_id", "therapist_id", "session", "date", "instrument", "item", "value")


def response_identifier(client_id: str, session: int, instrument: str) -> str:
    """The identifier value of one client's response to one instrument at one session."""
    return f"{client_id}/{session}/{instrument}"


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _response(
    definition: InstrumentDefinition,
    client_id: str,
    therapist_id: str,
    session: int,
    date: str | None,
    answers: list[tuple[int, float]],
) -> dict[str, Any]:
    items = []
    for number, value in sorted(answers):
        item = definition.item(number)
        if is_choice(item):
            answer: dict[str, Any] = {
                "valueCoding": {
                    "system": f"{ANSWER_SYSTEM}:{definition.id}",
                    "code": answer_code(value),
                }
            }
        else:
            answer = {"valueDecimal": value}
        items.append({"linkId": str(number), "answer": [answer]})
    data: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {
            "system": RESPONSE_SYSTEM,
            "value": response_identifier(client_id, session, definition.id),
        },
        "questionnaire": f"{questionnaire_url(definition)}|{definition.version}",
        "status": "completed",
        "subject": {"identifier": {"system": CLIENT_SYSTEM, "value": client_id}},
        "extension": [
            {"url": SESSION_EXTENSION, "valueInteger": session},
            {"url": THERAPIST_EXTENSION, "valueString": therapist_id},
        ],
        "item": items,
    }
    if date is not None:
        data["authored"] = date
    return in_element_order(data, QuestionnaireResponse)


def response_data(responses: pd.DataFrame) -> list[dict[str, Any]]:
    """The ``QuestionnaireResponse`` resources of a long frame as JSON dicts (unvalidated).

    :func:`to_questionnaire_responses` validates each; a Bundle export validates them once,
    inside the Bundle.
    """
    has_date = "date" in responses.columns
    groups: dict[tuple[str, int, str], dict[str, Any]] = {}
    for row in responses.itertuples(index=False):
        client = str(row.client_id).strip()
        session = int(row.session)
        instrument = str(row.instrument).strip()
        key = (client, session, instrument)
        group = groups.get(key)
        if group is None:
            date = _text(row.date) if has_date else None
            group = {"therapist": str(row.therapist_id).strip(), "date": date, "answers": []}
            groups[key] = group
        group["answers"].append((int(row.item), float(row.value)))
    return [
        _response(
            get_instrument(instrument),
            client,
            group["therapist"],
            session,
            group["date"],
            group["answers"],
        )
        for (client, session, instrument), group in sorted(groups.items())
    ]


def to_questionnaire_responses(responses: pd.DataFrame) -> list[QuestionnaireResponse]:
    """One ``QuestionnaireResponse`` per client, session and instrument of a long frame.

    Parameters
    ----------
    responses
        Long item responses (DESIGN.md's data contract), already checked with
        ``bordin.scoring`` (see :func:`bordin.interop.fhir.bundle.export_responses`).

    Returns
    -------
    list of QuestionnaireResponse
        Validated models, ordered by client, session and instrument; items by number.
    """
    return [QuestionnaireResponse.model_validate(d) for d in response_data(responses)]


def _by_canonical() -> dict[str, InstrumentDefinition]:
    table: dict[str, InstrumentDefinition] = {}
    for definition in list_instruments():
        table[questionnaire_url(definition)] = definition
    return table


def _instrument(canonical: str | None, where: str) -> InstrumentDefinition:
    if canonical is None:
        raise InputError("the response names no questionnaire", item=where)
    base = canonical.split("|", 1)[0]
    known = _by_canonical()
    if base in known:
        return known[base]
    for definition in list_instruments():
        loinc = definition.loinc
        if loinc is not None and base.rstrip("/").rsplit("/", 1)[-1] == loinc:
            return definition
    raise InputError(f"unknown questionnaire {canonical!r}", item=where)


def _item_numbers(definition: InstrumentDefinition) -> dict[str, int]:
    table = {}
    for item in definition.items:
        table[str(item.number)] = item.number
        if item.loinc is not None:
            table[item.loinc] = item.number
            table["/" + item.loinc] = item.number
    return table


def _answer_value(answer: dict[str, Any], where: str) -> float:
    if "valueInteger" in answer:
        return float(answer["valueInteger"])
    if "valueDecimal" in answer:
        return float(answer["valueDecimal"])
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        for extension in coding.get("extension") or ():
            if extension.get("url") == ORDINAL_VALUE and "valueDecimal" in extension:
                return float(extension["valueDecimal"])
        code = str(coding.get("code"))
        try:
            return float(code)
        except (TypeError, ValueError):
            raise InputError(
                f"answer code {code!r} is neither a number nor carries an ordinalValue",
                item=where,
            ) from None
    raise InputError("the answer is not a coding, an integer or a decimal", item=where)


def _extension(data: dict[str, Any], url: str, key: str) -> Any:
    for extension in data.get("extension") or ():
        if extension.get("url") == url:
            return extension.get(key)
    return None


def _rows(data: dict[str, Any], where: str) -> Iterator[tuple[Any, ...]]:
    definition = _instrument(data.get("questionnaire"), where)
    subject = (data.get("subject") or {}).get("identifier") or {}
    client = _text(subject.get("value"))
    if client is None:
        raise InputError("the response has no subject.identifier (client id)", item=where)
    session = _extension(data, SESSION_EXTENSION, "valueInteger")
    if session is None:
        raise InputError(f"the response has no session extension ({SESSION_EXTENSION})", item=where)
    therapist = _text(_extension(data, THERAPIST_EXTENSION, "valueString"))
    if therapist is None:
        raise InputError(
            f"the response has no therapist extension ({THERAPIST_EXTENSION})", item=where
        )
    authored = data.get("authored")
    date = None if authored is None else str(authored)
    numbers = _item_numbers(definition)
    seen: set[int] = set()
    for item in data.get("item") or ():
        link = str(item.get("linkId"))
        spot = f"{where}, {definition.id} linkId {link}"
        number = numbers.get(link)
        if number is None:
            raise InputError(f"{definition.id} has no item {link!r}", item=spot)
        if number in seen:
            raise InputError("the item is answered twice", item=spot)
        seen.add(number)
        answers = item.get("answer") or []
        if not answers:
            continue
        if len(answers) > 1:
            raise InputError("the item has more than one answer", item=spot)
        value = _answer_value(answers[0], spot)
        codes = definition.item(number).codes
        if not any(abs(value - code) <= 1e-9 for code in codes):
            raise InputError(
                f"answer {answer_code(value)} is not one of the item's codes "
                f"({answer_code(codes[0])} to {answer_code(codes[-1])})",
                item=spot,
            )
        yield (client, therapist, int(session), date, definition.id, number, value)


def responses_from_resources(resources: Iterable[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """Long item responses from ``QuestionnaireResponse`` resources (as JSON dicts).

    Parameters
    ----------
    resources
        ``(where, resource)`` pairs; ``where`` names the resource in error messages (for
        example ``"entry 3"``).

    Returns
    -------
    pandas.DataFrame
        The columns of DESIGN.md's long responses, one row per answered item.

    Raises
    ------
    InputError
        Unknown questionnaire or item, an answer outside the item's codes, or a missing
        client, session or therapist; the message names the entry and the item.
    """
    rows: list[tuple[Any, ...]] = []
    for where, data in resources:
        rows.extend(_rows(data, where))
    frame = pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS))
    frame["session"] = frame["session"].astype("int64")
    frame["item"] = frame["item"].astype("int64")
    frame["value"] = frame["value"].astype("float64")
    return frame
