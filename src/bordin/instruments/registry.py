"""The instrument registry: definitions and content packs shipped with Bordin.

Definitions live in ``definitions/<id>-<version>.toml`` and content packs in
``content/<id>-<version>.<language>.toml`` inside this package. Both are read with
:mod:`tomllib`, validated against :mod:`bordin.instruments.schema`, and cross-checked (a
content pack must match its definition's items and response codes). Files are read once per
process; the models are frozen, so sharing them is safe.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bordin.errors import InstrumentError
from bordin.instruments.schema import ContentPack, InstrumentDefinition

__all__ = [
    "check_content_pack",
    "get_content_pack",
    "get_instrument",
    "list_content_packs",
    "list_instruments",
    "load_content_pack",
    "load_definition",
]


def _read_toml(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentError(f"{name}: not valid TOML ({exc})") from exc


def _expand_item_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Merge an optional ``[item_defaults]`` table into every ``[[items]]`` entry."""
    defaults = data.get("item_defaults")
    if defaults is None:
        return data
    expanded = {k: v for k, v in data.items() if k != "item_defaults"}
    expanded["items"] = [{**defaults, **item} for item in data.get("items", [])]
    return expanded


def _parse_definition(data: dict[str, Any], name: str) -> InstrumentDefinition:
    data = _expand_item_defaults(data)
    try:
        return InstrumentDefinition.model_validate(data)
    except ValidationError as exc:
        raise InstrumentError(f"{name}: invalid instrument definition:\n{exc}") from exc


def load_definition(path: str | Path) -> InstrumentDefinition:
    """Read and validate one instrument definition file (TOML).

    Raises
    ------
    InstrumentError
        The file is not valid TOML or does not match the schema.
    """
    path = Path(path)
    return _parse_definition(_read_toml(path.read_text(encoding="utf-8"), path.name), path.name)


@functools.cache
def _definitions() -> dict[str, InstrumentDefinition]:
    folder = resources.files("bordin.instruments").joinpath("definitions")
    found: dict[str, InstrumentDefinition] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        definition = _parse_definition(
            _read_toml(entry.read_text(encoding="utf-8"), entry.name), entry.name
        )
        expected = f"{definition.id}-{definition.version}.toml"
        if entry.name != expected:
            raise InstrumentError(f"{entry.name}: file name should be {expected}")
        if definition.id in found:
            raise InstrumentError(f"{entry.name}: a second version of {definition.id}")
        found[definition.id] = definition
    return found


def list_instruments() -> list[InstrumentDefinition]:
    """Every shipped instrument definition, sorted by id."""
    defs = _definitions()
    return [defs[key] for key in sorted(defs)]


def get_instrument(instrument_id: str) -> InstrumentDefinition:
    """The definition of ``instrument_id`` (e.g. ``"phq9"``).

    Raises
    ------
    InstrumentError
        No instrument has that id.
    """
    defs = _definitions()
    try:
        return defs[instrument_id]
    except KeyError:
        known = ", ".join(sorted(defs))
        raise InstrumentError(f"unknown instrument {instrument_id!r} (known: {known})") from None


def check_content_pack(pack: ContentPack, definition: InstrumentDefinition) -> None:
    """Check that a content pack fits its definition.

    The pack must be for the same instrument and version, word every item exactly once, and
    label every response code of each item (and no code outside the item's range).

    Raises
    ------
    InstrumentError
        Describing the first inconsistency found.
    """
    where = f"content pack {pack.instrument} ({pack.language})"
    if pack.instrument != definition.id:
        raise InstrumentError(f"{where}: is for {pack.instrument}, not {definition.id}")
    if pack.version != definition.version:
        raise InstrumentError(
            f"{where}: is for version {pack.version}, the definition is {definition.version}"
        )
    numbers = [item.number for item in pack.items]
    if sorted(numbers) != list(range(1, definition.n_items + 1)):
        raise InstrumentError(
            f"{where}: words items {sorted(numbers)}, the definition has items "
            f"1..{definition.n_items}"
        )
    for content in pack.items:
        item = definition.item(content.number)
        if content.responses not in pack.response_sets:
            raise InstrumentError(
                f"{where}: item {content.number} uses unknown response set {content.responses!r}"
            )
        labelled = sorted(round(o.value, 10) for o in pack.response_sets[content.responses])
        if item.step < 1:
            # Visual analogue lines: labels are anchors, they must lie on the line.
            outside = [v for v in labelled if not item.min_value <= v <= item.max_value]
            if outside:
                raise InstrumentError(
                    f"{where}: item {content.number} labels values {outside} outside "
                    f"{item.min_value}..{item.max_value}"
                )
        elif labelled != sorted(item.codes):
            raise InstrumentError(
                f"{where}: item {content.number} labels codes {labelled}, the definition "
                f"allows {list(item.codes)}"
            )


def _parse_pack(data: dict[str, Any], name: str) -> ContentPack:
    try:
        return ContentPack.model_validate(data)
    except ValidationError as exc:
        raise InstrumentError(f"{name}: invalid content pack:\n{exc}") from exc


def load_content_pack(path: str | Path) -> ContentPack:
    """Read a content pack file (e.g. a site's licensed wording) and check it.

    Raises
    ------
    InstrumentError
        The file is invalid, names an unknown instrument, or does not fit the definition.
    """
    path = Path(path)
    pack = _parse_pack(_read_toml(path.read_text(encoding="utf-8"), path.name), path.name)
    check_content_pack(pack, get_instrument(pack.instrument))
    return pack


@functools.cache
def _packs() -> dict[tuple[str, str], ContentPack]:
    folder = resources.files("bordin.instruments").joinpath("content")
    found: dict[tuple[str, str], ContentPack] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        pack = _parse_pack(_read_toml(entry.read_text(encoding="utf-8"), entry.name), entry.name)
        definition = get_instrument(pack.instrument)
        if not definition.wording_redistributable:
            raise InstrumentError(
                f"{entry.name}: {definition.id} wording may not be redistributed with Bordin"
            )
        check_content_pack(pack, definition)
        expected = f"{pack.instrument}-{pack.version}.{pack.language}.toml"
        if entry.name != expected:
            raise InstrumentError(f"{entry.name}: file name should be {expected}")
        found[(pack.instrument, pack.language)] = pack
    return found


def list_content_packs() -> list[ContentPack]:
    """Every shipped content pack, sorted by instrument and language."""
    packs = _packs()
    return [packs[key] for key in sorted(packs)]


def get_content_pack(instrument_id: str, language: str = "en") -> ContentPack | None:
    """The shipped wording of ``instrument_id`` in ``language``, or None when not shipped.

    Instruments whose wording Bordin may not redistribute (WAI-SR, SRS, ORS, OQ-45, HAQ-II)
    have no shipped pack; a site loads its licensed wording with :func:`load_content_pack`.

    Raises
    ------
    InstrumentError
        The instrument id is unknown.
    """
    get_instrument(instrument_id)
    return _packs().get((instrument_id, language))
