"""``bordin fhir``: questionnaire, export and import, and bad bundles that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bordin.cli.main import main

HEADER = "client_id,therapist_id,session,date,instrument,item,value\n"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def _responses(path: Path) -> None:
    rows = "".join(
        f"c1,t1,{s},2024-05-0{s},phq9,{n},{(n + s) % 4}\n" for s in (1, 2) for n in range(1, 10)
    )
    path.write_text(HEADER + rows, encoding="utf-8")


def test_questionnaire_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["fhir", "questionnaire", "gad7"], capsys)
    assert code == 0
    assert json.loads(out)["code"][0]["code"] == "69737-5"


def test_export_then_import_gives_the_same_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "responses.csv"
    _responses(src)
    bundle = tmp_path / "bundle.json"
    code, out, err = _run(["fhir", "export", str(src), "-o", str(bundle)], capsys)
    assert code == 0, err
    kinds = [e["resource"]["resourceType"] for e in json.loads(bundle.read_text())["entry"]]
    assert kinds.count("QuestionnaireResponse") == 2 and kinds.count("Observation") == 2
    back = tmp_path / "back.csv"
    code, out, err = _run(["fhir", "import", str(bundle), "-o", str(back)], capsys)
    assert code == 0, err
    assert back.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")


def test_export_scores_gives_observations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = tmp_path / "scores.csv"
    pd.DataFrame(
        {"client_id": ["c1"], "therapist_id": ["t1"], "session": [1], "phq9_total": [12.0]}
    ).to_csv(scores, index=False)
    bundle = tmp_path / "bundle.json"
    code, _, err = _run(
        ["fhir", "export", str(scores), "-o", str(bundle), "--type", "transaction"], capsys
    )
    assert code == 0, err
    (entry,) = json.loads(bundle.read_text())["entry"]
    assert entry["resource"]["code"]["coding"][0]["code"] == "44261-6"
    assert entry["request"]["method"] == "POST"


def test_bad_bundle_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "responses.csv"
    _responses(src)
    bundle = tmp_path / "bundle.json"
    _run(["fhir", "export", str(src), "-o", str(bundle)], capsys)
    data = json.loads(bundle.read_text())
    data["entry"][1]["resource"]["item"][2]["answer"][0]["valueCoding"]["code"] = "7"
    bundle.write_text(json.dumps(data))
    out = tmp_path / "back.csv"
    code, _, err = _run(["fhir", "import", str(bundle), "-o", str(out)], capsys)
    assert code == 2
    assert "bundle.json" in err and "entry 1, phq9 linkId 3" in err
    assert not out.exists()


def test_export_prints_no_progress_off_a_terminal_and_nothing_when_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "responses.csv"
    _responses(src)
    bundle = tmp_path / "bundle.json"
    code, out, err = _run(["fhir", "export", str(src), "-o", str(bundle)], capsys)
    assert code == 0 and err == "" and out.startswith("Wrote 4 resources")
    first = bundle.read_bytes()
    bundle.unlink()
    code, out, err = _run(["fhir", "export", str(src), "-o", str(bundle), "--quiet"], capsys)
    assert code == 0 and (out, err) == ("", "")
    assert bundle.read_bytes() == first
