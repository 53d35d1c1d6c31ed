"""The registry, the definition schema, and content packs against their definitions."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bordin.errors import InstrumentError
from bordin.instruments import (
    ContentPack,
    InstrumentDefinition,
    check_content_pack,
    get_content_pack,
    get_instrument,
    list_content_packs,
    list_instruments,
    load_content_pack,
    load_definition,
)

EXPECTED_IDS = {"phq9", "gad7", "k10", "core10", "sac", "wai_sr", "wai_sr_t", "srs", "ors"}
EXPECTED_IDS |= {"oq45", "haq2", "tsc", "csc"}
# DESIGN.md's licence policy: wording shipped only for these.
WORDING_SHIPPED = {"phq9", "gad7", "k10", "core10", "sac", "tsc", "csc"}


def test_every_instrument_of_the_issue_is_registered() -> None:
    assert {d.id for d in list_instruments()} == EXPECTED_IDS
    assert [d.id for d in list_instruments()] == sorted(EXPECTED_IDS)


def test_unknown_instrument_raises_instrument_error_naming_it() -> None:
    with pytest.raises(InstrumentError, match="'phq8'.*known: core10"):
        get_instrument("phq8")
    with pytest.raises(InstrumentError):
        get_content_pack("nope")


@pytest.mark.parametrize("instrument_id", sorted(EXPECTED_IDS))
def test_provenance_is_complete(instrument_id: str) -> None:
    d = get_instrument(instrument_id)
    assert len(d.citation) > 40 and any(ch.isdigit() for ch in d.citation)
    assert d.licence.strip()
    assert d.wording_redistributable is (instrument_id in WORDING_SHIPPED)
    for scale in d.scales:
        if scale.cutoff is not None:
            assert scale.cutoff.source.strip()
        if scale.reliable_change is not None:
            assert scale.reliable_change.source.strip()
            assert scale.reliable_change.value > 0


@pytest.mark.parametrize("instrument_id", sorted(EXPECTED_IDS))
def test_content_pack_shipped_exactly_where_licence_allows(instrument_id: str) -> None:
    pack = get_content_pack(instrument_id)
    if instrument_id in WORDING_SHIPPED:
        assert pack is not None
        check_content_pack(pack, get_instrument(instrument_id))
        assert pack.notice.strip()
    else:
        assert pack is None


def test_content_packs_match_definitions() -> None:
    packs = list_content_packs()
    assert {p.instrument for p in packs} == WORDING_SHIPPED
    for pack in packs:
        d = get_instrument(pack.instrument)
        assert [i.number for i in pack.items] == [i.number for i in d.items]
        for item in d.items:
            codes = [o.value for o in pack.labels(item.number)]
            assert codes == list(item.codes)
            assert pack.item_text(item.number).strip()


def test_published_facts() -> None:
    phq9 = get_instrument("phq9")
    assert phq9.risk_items == (9,)
    assert phq9.cutoff is not None and phq9.cutoff.value == 10 and phq9.cutoff.case_if == ">="
    assert phq9.reliable_change is not None and phq9.reliable_change.value == 6
    assert phq9.scale("total").loinc == "44261-6"
    gad7 = get_instrument("gad7")
    assert gad7.cutoff is not None and gad7.cutoff.value == 8
    assert gad7.reliable_change is not None and gad7.reliable_change.value == 4
    assert gad7.scale("total").loinc == "70274-6"
    core10 = get_instrument("core10")
    assert core10.risk_items == (6,)
    assert [i.number for i in core10.items if i.reverse] == [2, 3]
    assert core10.cutoff is not None and core10.cutoff.value == 11
    ors = get_instrument("ors")
    assert ors.direction == "higher_is_better"
    assert ors.cutoff is not None and ors.cutoff.value == 25 and ors.cutoff.case_if == "<"
    assert ors.reliable_change is not None and ors.reliable_change.value == 5
    srs = get_instrument("srs")
    assert srs.cutoff is not None and srs.cutoff.value == 36
    oq45 = get_instrument("oq45")
    assert [i.number for i in oq45.items if i.reverse] == [1, 12, 13, 20, 21, 24, 31, 37, 43]
    assert oq45.cutoff is not None and oq45.cutoff.value == 64
    assert oq45.reliable_change is not None and oq45.reliable_change.value == 14
    assert [i.number for i in get_instrument("haq2").items if i.reverse] == [4, 8, 11, 16, 19]


def test_session_alliance_check_contract() -> None:
    sac = get_instrument("sac")
    assert sac.validated is False
    assert "CC0" in sac.licence
    assert sac.score_columns == (
        "sac_total",
        "sac_bond",
        "sac_goal",
        "sac_task",
        "sac_tension",
        "sac_resolution",
        "sac_misunderstood",
        "sac_withdrawal",
    )
    assert all((i.min_value, i.max_value) == (1, 5) for i in sac.items[:6])
    assert all((i.min_value, i.max_value) == (0, 4) for i in sac.items[6:])
    item8 = sac.item(8)
    assert item8.required is False
    assert item8.asked_if is not None and item8.asked_if.item == 7
    assert sac.cutoff is not None
    assert (sac.cutoff.value, sac.cutoff.case_if, sac.cutoff.validated) == (3.5, "<", False)
    assert any("NOT PSYCHOMETRICALLY VALIDATED" in note for note in sac.notes)


def test_wide_column_names() -> None:
    wai = get_instrument("wai_sr")
    assert wai.score_columns == ("wai_sr_total", "wai_sr_goal", "wai_sr_task", "wai_sr_bond")
    assert get_instrument("phq9").score_columns == ("phq9_total", "phq9_item9")
    assert get_instrument("core10").item_column(6) == "core10_item6"
    with pytest.raises(KeyError):
        wai.column("nonsense")
    with pytest.raises(KeyError):
        wai.item(13)


def _definition_data(name: str) -> dict[str, Any]:
    folder = resources.files("bordin.instruments").joinpath("definitions")
    return tomllib.loads(folder.joinpath(name).read_text(encoding="utf-8"))


def _write_toml_like(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_definition_reads_a_file(tmp_path: Path) -> None:
    folder = resources.files("bordin.instruments").joinpath("definitions")
    text = folder.joinpath("gad7-1.0.toml").read_text(encoding="utf-8")
    loaded = load_definition(_write_toml_like(tmp_path / "gad7-1.0.toml", text))
    assert loaded == get_instrument("gad7")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("this line = is not toml", "not valid TOML"),
        ('[[scales]]\nname = "x"', "invalid instrument definition"),
    ],
)
def test_load_definition_rejects_bad_files(tmp_path: Path, change: str, message: str) -> None:
    folder = resources.files("bordin.instruments").joinpath("definitions")
    text = folder.joinpath("gad7-1.0.toml").read_text(encoding="utf-8") + "\n" + change + "\n"
    with pytest.raises(InstrumentError, match=message):
        load_definition(_write_toml_like(tmp_path / "bad.toml", text))


def _with(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(data)
    out.update(changes)
    return out


def _valid_data() -> dict[str, Any]:
    data = _definition_data("phq9-1.0.toml")
    defaults = data.pop("item_defaults")
    data["items"] = [{**defaults, **item} for item in data["items"]]
    return data


@pytest.mark.parametrize(
    "mutate",
    [
        # items numbered out of order
        lambda d: _with(d, items=list(reversed(d["items"]))),
        # a scale names an item that does not exist
        lambda d: _with(d, scales=[{**d["scales"][0], "items": list(range(1, 11))}]),
        # min_answered larger than the scale
        lambda d: _with(d, scales=[{**d["scales"][0], "min_answered": 10}]),
        # cutoff pointing the wrong way for the direction
        lambda d: _with(
            d,
            scales=[{**d["scales"][0], "cutoff": {**d["scales"][0]["cutoff"], "case_if": "<"}}],
        ),
        # a sum without prorating that tolerates missing items
        lambda d: _with(d, scales=[{**d["scales"][0], "prorate": False}]),
        # primary scale that does not exist
        lambda d: _with(d, primary_scale="severity"),
        # unknown field (typo) is an error, not silently ignored
        lambda d: _with(d, licence_ur="x"),
        # a reliable change without threshold or sd and reliability
        lambda d: _with(
            d,
            scales=[{**d["scales"][0], "reliable_change": {"source": "x"}}],
        ),
    ],
)
def test_schema_rejects_inconsistent_definitions(mutate: Any) -> None:
    data = mutate(_valid_data())
    with pytest.raises(ValueError):
        InstrumentDefinition.model_validate(data)


def test_definitions_are_frozen() -> None:
    d = get_instrument("phq9")
    with pytest.raises(ValueError):
        d.name = "changed"  # type: ignore[misc]


def test_computed_reliable_change_threshold() -> None:
    data = _valid_data()
    scale = dict(data["scales"][0])
    scale["reliable_change"] = {"sd": 5.0, "reliability": 0.84, "source": "test"}
    d = InstrumentDefinition.model_validate(_with(data, scales=[scale]))
    rc = d.reliable_change
    assert rc is not None and rc.computed
    # 1.96 * sqrt(2) * 5 * sqrt(0.16) = 1.96 * 1.41421356... * 2
    assert rc.value == pytest.approx(1.96 * 2.0**0.5 * 2.0, rel=1e-12)


def _pack_data() -> dict[str, Any]:
    return get_content_pack("gad7").model_dump()  # type: ignore[union-attr]


def test_check_content_pack_catches_mismatches() -> None:
    gad7 = get_instrument("gad7")
    data = _pack_data()
    short = ContentPack.model_validate({**data, "items": data["items"][:6]})
    with pytest.raises(InstrumentError, match="words items"):
        check_content_pack(short, gad7)
    labels = data["response_sets"]["frequency"][:3]
    missing_code = ContentPack.model_validate({**data, "response_sets": {"frequency": labels}})
    with pytest.raises(InstrumentError, match="labels codes"):
        check_content_pack(missing_code, gad7)
    with pytest.raises(InstrumentError, match="not phq9"):
        check_content_pack(ContentPack.model_validate(data), get_instrument("phq9"))
    wrong_version = ContentPack.model_validate({**data, "version": "9.9"})
    with pytest.raises(InstrumentError, match="version"):
        check_content_pack(wrong_version, gad7)
    bad_set = ContentPack.model_validate(
        {**data, "items": [{**data["items"][0], "responses": "nope"}, *data["items"][1:]]}
    )
    with pytest.raises(InstrumentError, match="unknown response set"):
        check_content_pack(bad_set, gad7)


def test_visual_analogue_pack_needs_anchors_on_the_line(tmp_path: Path) -> None:
    anchors = [{"value": 0, "label": "Low"}, {"value": 10, "label": "High"}]
    pack = {
        "instrument": "ors",
        "version": "1.0",
        "language": "en",
        "title": "Site wording",
        "instructions": "Mark each line.",
        "items": [{"number": n, "text": f"line {n}", "responses": "line"} for n in range(1, 5)],
        "response_sets": {"line": anchors},
        "notice": "Licensed to the site.",
        "source": "Site licence.",
    }
    check_content_pack(ContentPack.model_validate(pack), get_instrument("ors"))
    off = {**pack, "response_sets": {"line": [*anchors, {"value": 11, "label": "Off"}]}}
    with pytest.raises(InstrumentError, match="outside"):
        check_content_pack(ContentPack.model_validate(off), get_instrument("ors"))


def test_load_content_pack_from_a_site_file(tmp_path: Path) -> None:
    lines = [
        'instrument = "wai_sr"',
        'version = "1.0"',
        'language = "de"',
        'title = "Site licensed WAI-SR"',
        'instructions = "Bitte ..."',
        'notice = "Licensed"',
        'source = "Site licence"',
        "[response_sets]",
        "often = [" + ", ".join(f'{{ value = {v}, label = "L{v}" }}' for v in range(1, 6)) + "]",
    ]
    for n in range(1, 13):
        lines += ["[[items]]", f"number = {n}", f'text = "Item {n}"', 'responses = "often"']
    path = tmp_path / "wai_sr.de.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pack = load_content_pack(path)
    assert pack.language == "de" and pack.item_text(12) == "Item 12"
    path.write_text("\n".join(lines[:-4]) + "\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="words items"):
        load_content_pack(path)


def test_numeric_shortcuts_for_the_primary_scale() -> None:
    assert get_instrument("phq9").clinical_cutoff == 10
    assert get_instrument("phq9").reliable_change_threshold == 6
    assert get_instrument("sac").clinical_cutoff == 3.5
    assert get_instrument("wai_sr").clinical_cutoff is None
    assert get_instrument("k10").reliable_change_threshold is None
