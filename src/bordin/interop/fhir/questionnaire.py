"""Instrument definitions as FHIR R4 ``Questionnaire`` resources.

Every item is a question with the item number as ``linkId``. Items with at most
``MAX_CHOICES`` response codes are ``choice`` questions whose options are codings in
Bordin's answer system, each carrying its numeric value in the ``ordinalValue`` extension;
finer items (the 10 cm lines of the ORS and SRS) are ``decimal`` questions bounded by the
``minValue`` and ``maxValue`` extensions. ``asked_if`` becomes ``enableWhen`` (one ``=``
condition per qualifying code, any of them enables the item). LOINC codes label the panel and
the items where the definition has them. Wording (item text, answer labels) is included only
when the licence allows it to be redistributed and a content pack exists; otherwise the
items carry their numbers only, and a site's own content pack can be passed in.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire

from bordin.instruments import ContentPack, InstrumentDefinition, ItemDefinition, get_content_pack
from bordin.interop.fhir._common import (
    ANSWER_SYSTEM,
    LOINC,
    answer_code,
    questionnaire_id,
    questionnaire_url,
)

__all__ = ["MAX_CHOICES", "ORDINAL_VALUE", "is_choice", "to_questionnaire"]

MAX_CHOICES = 21
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def _computable_name(definition: InstrumentDefinition) -> str:
    name = "".join(ch for ch in definition.short_name if ch.isalnum())
    return name[:1].upper() + name[1:] if name[:1].isalpha() else f"Q{name}"


def is_choice(item: ItemDefinition) -> bool:
    """Whether an item is exported as a ``choice`` question (else ``decimal``)."""
    return len(item.codes) <= MAX_CHOICES


def _options(
    definition: InstrumentDefinition, item: ItemDefinition, pack: ContentPack | None
) -> list[dict[str, Any]]:
    labels = {}
    if pack is not None:
        labels = {option.value: option.label for option in pack.labels(item.number)}
    options = []
    for value in item.codes:
        coding: dict[str, Any] = {
            "system": f"{ANSWER_SYSTEM}:{definition.id}",
            "code": answer_code(value),
            "extension": [{"url": ORDINAL_VALUE, "valueDecimal": value}],
        }
        label = labels.get(value)
        if label is not None:
            coding["display"] = label
        options.append({"valueCoding": coding})
    return options


def _enable_when(definition: InstrumentDefinition, item: ItemDefinition) -> list[dict[str, Any]]:
    cond = item.asked_if
    if cond is None:
        return []
    source = definition.item(cond.item)
    entries = []
    for value in source.codes:
        if value < cond.min_value - 1e-9:
            continue
        if is_choice(source):
            answer: dict[str, Any] = {
                "answerCoding": {
                    "system": f"{ANSWER_SYSTEM}:{definition.id}",
                    "code": answer_code(value),
                }
            }
        else:
            answer = {"answerDecimal": value}
        entries.append({"question": str(cond.item), "operator": "=", **answer})
    return entries


def _item(
    definition: InstrumentDefinition, item: ItemDefinition, pack: ContentPack | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": str(item.number), "prefix": str(item.number)}
    if item.loinc is not None:
        out["code"] = [{"system": LOINC, "code": item.loinc}]
    if pack is not None:
        out["text"] = pack.item_text(item.number)
    out["required"] = item.required
    if is_choice(item):
        out["type"] = "choice"
        out["answerOption"] = _options(definition, item, pack)
    else:
        out["type"] = "decimal"
        out["extension"] = [
            {"url": _MIN_VALUE, "valueDecimal": item.min_value},
            {"url": _MAX_VALUE, "valueDecimal": item.max_value},
        ]
    enable = _enable_when(definition, item)
    if enable:
        out["enableWhen"] = enable
        out["enableBehavior"] = "any"
    return out


def to_questionnaire(
    definition: InstrumentDefinition, *, content: ContentPack | None = None
) -> Questionnaire:
    """Map an instrument definition to a FHIR R4 ``Questionnaire``.

    Parameters
    ----------
    definition
        The instrument.
    content
        Wording to include. By default the shipped English content pack when the licence
        allows redistribution (PHQ-9, GAD-7, K10, CORE-10, sac), and no wording otherwise. A
        site may pass the content pack of its licensed wording.

    Returns
    -------
    Questionnaire
        A validated ``fhir.resources.R4B`` model; ``copyright`` holds the licence, the
        citation and, with wording, the notice the licence requires.
    """
    pack = content
    if pack is None and definition.wording_redistributable:
        pack = get_content_pack(definition.id, "en")
    copyright_parts = [definition.licence, definition.citation]
    if pack is not None:
        copyright_parts.append(pack.notice)
    data: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(definition),
        "url": questionnaire_url(definition),
        "version": definition.version,
        "name": _computable_name(definition),
        "title": pack.title if pack is not None else definition.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": definition.description,
        "copyright": "\n".join(copyright_parts),
        "item": [_item(definition, item, pack) for item in definition.items],
    }
    if pack is not None:
        data["language"] = pack.language
    if definition.loinc is not None:
        data["code"] = [{"system": LOINC, "code": definition.loinc}]
    return Questionnaire.model_validate(data)
