"""Instrument library: definitions as data, a registry, and per-language content packs.

Definitions (items, response codes, scales, reverse keys, missing-item rules, direction,
cutoffs, reliable change, LOINC codes, citation and licence) are TOML files, one per
instrument version, validated against :mod:`bordin.instruments.schema`. Wording lives in
separate content packs, shipped only where the licence allows it.
"""

from bordin.instruments.registry import (
    check_content_pack,
    get_content_pack,
    get_instrument,
    list_content_packs,
    list_instruments,
    load_content_pack,
    load_definition,
)
from bordin.instruments.scales import ScoreColumn, resolve_scale, score_column, score_columns
from bordin.instruments.schema import (
    AskCondition,
    ContentItem,
    ContentPack,
    Cutoff,
    Direction,
    InstrumentDefinition,
    ItemDefinition,
    ReliableChangeSpec,
    ResponseOption,
    ScaleDefinition,
)

__all__ = [
    "AskCondition",
    "ContentItem",
    "ContentPack",
    "Cutoff",
    "Direction",
    "InstrumentDefinition",
    "ItemDefinition",
    "ReliableChangeSpec",
    "ResponseOption",
    "ScaleDefinition",
    "ScoreColumn",
    "check_content_pack",
    "get_content_pack",
    "get_instrument",
    "list_content_packs",
    "list_instruments",
    "load_content_pack",
    "load_definition",
    "resolve_scale",
    "score_column",
    "score_columns",
]
