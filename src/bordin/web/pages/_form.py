"""The client's form as server-side steps: one instrument per page, no JavaScript needed.

The form is stateless between steps: answers of the other steps travel as hidden fields,
and nothing is stored until the last step is sent (then all answers go to
``storage.actions.forms.record_submission`` in one transaction). Each step is checked on
the server; a missing required answer re-shows the step with an error summary that links
to the item (the GOV.UK error-summary pattern).

Field names are ``<instrument>.<item>`` (for example ``phq9.9``), so one parser reads both
the visible and the hidden answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bordin.web.i18n import N_

__all__ = [
    "Answers",
    "FormInstrument",
    "FormItem",
    "build_step_context",
    "form_instruments",
    "hidden_answers",
    "parse_answers",
    "step_errors",
    "submission_payload",
    "unsent_answers",
]

#: ``{instrument id: {item number: response code}}``.
Answers = dict[str, dict[int, float]]

# Items with more response codes than this are entered as a number, not radio buttons.
_MAX_RADIO_OPTIONS = 11


@dataclass(frozen=True)
class FormItem:
    """One item as the client sees it: wording, response options and rules (no scoring)."""

    number: int
    text: str
    min_value: float
    max_value: float
    step: float
    required: bool
    options: tuple[tuple[float, str], ...]
    asked_if: tuple[int, float] | None = None

    @property
    def codes(self) -> tuple[float, ...]:
        """Every allowed response code, in order."""
        n = round((self.max_value - self.min_value) / self.step)
        return tuple(round(self.min_value + i * self.step, 10) for i in range(n + 1))


@dataclass(frozen=True)
class FormInstrument:
    """An instrument to fill in, with its wording in the form's language."""

    id: str
    title: str
    instructions: str
    notice: str
    items: tuple[FormItem, ...]
    validated: bool = True
    language: str = "en"
    origin: str = "shipped"


def form_instruments(content: Sequence[Mapping[str, Any]]) -> list[FormInstrument]:
    """Build the form's instruments from ``FormContent.instruments`` (storage's shape).

    An item without response labels in the wording gets its codes as labels, so the form
    can always be completed.
    """
    from bordin.errors import InstrumentError
    from bordin.instruments import get_instrument

    result = []
    for entry in content:
        try:
            validated = get_instrument(str(entry["id"])).validated
        except InstrumentError:
            validated = True
        items = []
        for raw in entry["items"]:
            condition = raw.get("asked_if")
            item = FormItem(
                number=int(raw["number"]),
                text=str(raw["text"]),
                min_value=float(raw["min_value"]),
                max_value=float(raw["max_value"]),
                step=float(raw.get("step") or 1.0),
                required=bool(raw.get("required", True)),
                options=tuple(
                    (float(option["value"]), str(option["label"]))
                    for option in raw.get("responses") or ()
                ),
                asked_if=(
                    (int(condition["item"]), float(condition["min_value"])) if condition else None
                ),
            )
            if not item.options:
                item = replace(item, options=tuple((c, f"{c:g}") for c in item.codes))
            items.append(item)
        result.append(
            FormInstrument(
                id=str(entry["id"]),
                title=str(entry.get("title") or entry["id"]),
                instructions=str(entry.get("instructions") or ""),
                notice=str(entry.get("notice") or ""),
                items=tuple(items),
                validated=validated,
                language=str(entry.get("language") or "en"),
                origin=str(entry.get("origin") or "shipped"),
            )
        )
    return result


def _field(instrument: str, number: int) -> str:
    return f"{instrument}.{number}"


def _applies(item: FormItem, given: Mapping[int, float]) -> bool:
    if item.asked_if is None:
        return True
    value = given.get(item.asked_if[0])
    return value is not None and value >= item.asked_if[1]


def parse_answers(form: Mapping[str, Any], instruments: Sequence[FormInstrument]) -> Answers:
    """Read every ``<instrument>.<item>`` field that holds an allowed response code.

    Unknown fields, unknown items and values that are not allowed codes are ignored here
    (the step check reports required items that are left without a valid answer).
    """
    answers: Answers = {}
    for instrument in instruments:
        given: dict[int, float] = {}
        for item in instrument.items:
            raw = form.get(_field(instrument.id, item.number))
            if raw is None or str(raw).strip() == "":
                continue
            try:
                value = float(str(raw).strip().replace(",", "."))
            except ValueError:
                continue
            if not math.isfinite(value):
                continue
            if any(abs(value - code) < 1e-9 for code in item.codes):
                given[item.number] = value
        answers[instrument.id] = given
    return answers


def step_errors(instrument: FormInstrument, answers: Answers) -> dict[int, str]:
    """Required items of one instrument left without an answer, with the message to show."""
    given = answers.get(instrument.id, {})
    errors: dict[int, str] = {}
    for item in instrument.items:
        if item.required and _applies(item, given) and item.number not in given:
            errors[item.number] = N_("Choose an answer to this question.")
    return errors


def submission_payload(
    instruments: Sequence[FormInstrument], answers: Answers
) -> dict[str, dict[str, int | float]]:
    """The answers in the shape ``record_submission`` takes, without items that do not apply.

    An item asked only after another answer (``asked_if``) is dropped when that answer did
    not reach the threshold, so a stale hidden value never reaches storage.
    """
    payload: dict[str, dict[str, int | float]] = {}
    for instrument in instruments:
        given = answers.get(instrument.id, {})
        kept: dict[str, int | float] = {}
        for item in instrument.items:
            if item.number in given and _applies(item, given):
                value = given[item.number]
                kept[str(item.number)] = int(value) if float(value).is_integer() else value
        payload[instrument.id] = kept
    return payload


def hidden_answers(answers: Answers, *, except_instrument: str) -> list[dict[str, str]]:
    """Hidden fields that carry the answers of the other steps."""
    fields = []
    for instrument, given in sorted(answers.items()):
        if instrument == except_instrument:
            continue
        for number, value in sorted(given.items()):
            text = f"{value:g}"
            fields.append({"name": _field(instrument, number), "value": text})
    return fields


def _option_label(item: FormItem, value: float) -> str:
    for code, label in item.options:
        if abs(code - value) < 1e-9:
            return label
    return f"{value:g}"


def build_step_context(
    instruments: Sequence[FormInstrument],
    step: int,
    answers: Answers,
    *,
    errors: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """The context of step ``step`` (0-based): the instrument's wording, items and progress.

    The context is plain data (the page's JSON twin); it never contains scores.
    """
    instrument = instruments[step]
    given = answers.get(instrument.id, {})
    by_number = {item.number: item for item in instrument.items}
    errors = dict(errors or {})
    items = []
    for item in instrument.items:
        options = [
            {
                "value": f"{code:g}",
                "label": label,
                "id": f"{instrument.id}-{item.number}-{i}",
                "checked": item.number in given and abs(given[item.number] - code) < 1e-9,
            }
            for i, (code, label) in enumerate(item.options)
        ]
        condition = None
        if item.asked_if is not None:
            source, threshold = item.asked_if
            source_item = by_number.get(source)
            condition = {
                "field": _field(instrument.id, source),
                "item": source,
                "min_value": f"{threshold:g}",
                "min_label": (
                    _option_label(source_item, threshold) if source_item else f"{threshold:g}"
                ),
            }
        items.append(
            {
                "number": item.number,
                "name": _field(instrument.id, item.number),
                "id": f"item-{instrument.id}-{item.number}",
                "text": item.text,
                "kind": "radio" if len(item.options) <= _MAX_RADIO_OPTIONS else "number",
                "min_value": f"{item.min_value:g}",
                "max_value": f"{item.max_value:g}",
                "step": f"{item.step:g}",
                "required": item.required and item.asked_if is None,
                "value": f"{given[item.number]:g}" if item.number in given else "",
                "options": options,
                "asked_if": condition,
                "error": errors.get(item.number),
            }
        )
    return {
        "instrument": {
            "id": instrument.id,
            "title": instrument.title,
            "instructions": instrument.instructions,
            "notice": instrument.notice,
            "validated": instrument.validated,
            "language": instrument.language,
            "origin": instrument.origin,
        },
        "step": step,
        "step_number": step + 1,
        "steps": len(instruments),
        "step_titles": [i.title for i in instruments],
        "is_first": step == 0,
        "is_last": step == len(instruments) - 1,
        "items": items,
        "errors": [
            {"item": number, "href": f"#item-{instrument.id}-{number}", "message": message}
            for number, message in sorted(errors.items())
        ],
        "hidden": hidden_answers(answers, except_instrument=instrument.id),
    }


def unsent_answers(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The answers a client typed on a link that can no longer be sent, for them to see.

    Read from the posted ``<instrument>.<item>`` fields (visible and hidden) alone, so it
    works when the link's form can no longer be loaded; wording and answer labels come from
    the instrument's shipped content pack where there is one (else "Question N" and the
    code). Unknown instruments, unknown items and codes an item cannot take are left out.
    """
    from bordin.errors import InstrumentError
    from bordin.instruments import get_content_pack, get_instrument

    wanted: dict[str, dict[int, float]] = {}
    for name, raw in fields.items():
        instrument, _, item_number = str(name).partition(".")
        if not item_number.isdigit():
            continue
        try:
            value = float(str(raw).strip().replace(",", "."))
        except ValueError:
            continue
        if math.isfinite(value):
            wanted.setdefault(instrument, {})[int(item_number)] = value
    shown = []
    for instrument, given in wanted.items():
        try:
            definition = get_instrument(instrument)
        except InstrumentError:
            continue
        pack = get_content_pack(instrument, "en")
        answers = []
        for number, value in sorted(given.items()):
            if not 1 <= number <= definition.n_items:
                continue
            item = definition.item(number)
            if not any(abs(value - code) < 1e-9 for code in item.codes):
                continue
            text, label = f"Question {number}", f"{value:g}"
            if pack is not None:
                try:
                    text = pack.item_text(number)
                    label = next(
                        (o.label for o in pack.labels(number) if abs(o.value - value) < 1e-9),
                        label,
                    )
                except KeyError:
                    pass
            answers.append({"number": number, "text": text, "answer": label})
        if answers:
            title = pack.title if pack is not None else definition.name
            shown.append({"instrument": instrument, "title": title, "answers": answers})
    return shown
