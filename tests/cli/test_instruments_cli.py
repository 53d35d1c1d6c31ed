"""``bordin instruments`` and ``bordin instruments show ID``."""

from __future__ import annotations

import json
import re

import pytest

from bordin.cli.main import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def test_list_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(["instruments"], capsys)
    assert code == 0
    for instrument_id in ("phq9", "gad7", "k10", "core10", "sac", "wai_sr_t", "oq45", "haq2"):
        assert instrument_id in out
    # the header "wording shipped" takes two lines, to leave the width to the names
    assert "not validated" in out and "wording" in out and "shipped" in out


@pytest.mark.parametrize("columns", [80, 60])
def test_list_table_breaks_no_word_at_80_columns(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bordin.cli.instruments import _short_licence

    code, out, _ = _run(["instruments", "--json"], capsys)
    rows = json.loads(out)
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, _ = _run(["instruments"], capsys)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= columns
    words = {row["id"] for row in rows}  # an id is whole at any width
    if columns == 80:  # every word of a name, licence and scale list whole
        for row in rows:
            text = " ".join([row["name"], _short_licence(row["licence"]), *row["scales"]])
            words |= set(text.replace(",", " ").split())
    found = set(re.findall(r"[^\s,]+", out))
    assert words <= found, sorted(words - found)


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["instruments", "--json"], capsys)
    rows = {row["id"]: row for row in json.loads(out)}
    assert code == 0 and len(rows) == 13
    assert rows["phq9"]["wording_shipped"] is True and rows["ors"]["wording_shipped"] is False
    assert rows["wai_sr"]["scales"] == ["total", "goal", "task", "bond"]
    assert rows["tsc"]["wording_shipped"] is True and rows["tsc"]["validated"] is False


def test_show_with_wording(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(["instruments", "show", "phq9"], capsys)
    assert code == 0
    assert "Little interest or pleasure in doing things" in out
    assert "44261-6" in out and "NHS Talking Therapies" in out
    assert "risk item" in out and "Pfizer" in out


def test_show_licensed_instrument_has_no_wording(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(["instruments", "show", "ors"], capsys)
    assert code == 0 and "No wording shipped" in out and "Miller" in out


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["instruments", "show", "sac", "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["validated"] is False
    total = info["scales"][0]
    assert total["column"] == "sac_total" and total["cutoff"]["value"] == 3.5
    assert info["items"][7]["asked_if"] == {"item": 7, "min_value": 1.0}
    assert info["items"][0]["text"].startswith("I felt my therapist understood me")


def test_show_unknown_instrument(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["instruments", "show", "bdi2"], capsys)
    assert code == 2 and "unknown instrument 'bdi2'" in err


def test_show_in_a_language_without_a_pack(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(["instruments", "show", "gad7", "--language", "de"], capsys)
    assert code == 0 and "No wording shipped in language 'de'" in out
