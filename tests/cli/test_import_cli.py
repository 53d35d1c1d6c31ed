"""``bordin import``: preview, import, the same file again, and a bad row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bordin.cli.main import main
from bordin.simulate import SimulationConfig, simulate_clinic
from bordin.storage import actions, make_engine, make_session_factory, transaction
from bordin.storage.migrate import upgrade_database


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _clinic_with_admin(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    username: str,
) -> str:
    """A new database with clinic North and its first admin, made as the README says
    (`bordin db create-admin`); its URL."""
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    upgrade_database(url)
    monkeypatch.setenv("BORDIN_ADMIN_PASSWORD", "a long first admin password")
    code, _, err = _run(
        capsys, "db", "create-admin", "--clinic", "North", "--username", username, "--db", url
    )
    assert code == 0, err
    return url


def test_import_previews_imports_and_then_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as db:
        actions.create_clinic(db, actor=None, name="North")
    engine.dispose()
    responses = simulate_clinic(SimulationConfig(n_clients=5), seed=2).responses
    path = tmp_path / "history.csv"
    responses.to_csv(path, index=False)
    sessions = len(responses[["client_id", "session"]].drop_duplicates())

    code, out, _ = _run(capsys, "import", str(path), "--clinic", "North", "--db", url, "--preview")
    assert code == 0 and "would create 5 client(s)" in out and f"{sessions} session(s)" in out
    code, out, _ = _run(capsys, "import", str(path), "--clinic", "North", "--db", url, "--json")
    created = json.loads(out)
    assert code == 0 and created["committed"] and created["sessions"] == sessions
    code, out, _ = _run(capsys, "import", str(path), "--clinic", "1", "--db", url, "--json")
    again = json.loads(out)
    assert (again["clients"], again["sessions"], again["administrations"]) == (0, 0, 0)

    bad = responses.astype({"item": object})
    bad.iloc[3, bad.columns.get_loc("item")] = 99
    bad_path = tmp_path / "bad.csv"
    bad.assign(client_id="new-" + bad["client_id"].astype(str)).to_csv(bad_path, index=False)
    code, _, err = _run(capsys, "import", str(bad_path), "--clinic", "North", "--db", url)
    assert code == 2 and "bad.csv" in err and "row 5" in err
    code, out, _ = _run(
        capsys, "import", str(path), "--clinic", "North", "--db", url, "--json", "--preview"
    )
    assert json.loads(out)["clients"] == 0  # the bad file stored nothing
    code, _, err = _run(capsys, "import", str(path), "--clinic", "South", "--db", url)
    assert code == 2 and "no clinic 'South'" in err


def test_the_first_admin_then_a_simulated_history_as_the_readme_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `bordin db create-admin` then `bordin import`: the admin's own code used to be t001,
    # the simulator's (and many clinics') first therapist code, so the import was refused
    # with "the therapist code 't001' belongs to the admin account".
    url = _clinic_with_admin(tmp_path, capsys, monkeypatch, "admin@north")
    path = tmp_path / "history.csv"
    simulate_clinic(SimulationConfig(n_clients=5), seed=2).responses.to_csv(path, index=False)
    code, out, err = _run(capsys, "import", str(path), "--clinic", "North", "--db", url)
    assert code == 0, err


def test_endings_close_the_imported_episodes_so_finished_clients_are_not_dropouts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without endings every imported client keeps an open episode, and every former client
    counts as a dropout on the team and clinic pages; the simulator's clients.csv closes
    each episode at the last session with the ending recorded, once."""
    from sqlalchemy import select

    from bordin.storage.models import Episode, User
    from bordin.storage.queries import list_ended_clients

    url = _clinic_with_admin(tmp_path, capsys, monkeypatch, "a@north")
    engine = make_engine(url)
    clinic_sim = simulate_clinic(SimulationConfig(n_clients=12), seed=4)
    history, endings = tmp_path / "history.csv", tmp_path / "clients.csv"
    clinic_sim.responses.to_csv(history, index=False)
    clinic_sim.clients.to_csv(endings, index=False)
    dropped = set(clinic_sim.clients.loc[clinic_sim.clients["dropped_out"], "client_id"])
    assert 0 < len(dropped) < 12

    bad = tmp_path / "bad.csv"
    clinic_sim.clients.assign(client_id="x" + clinic_sim.clients["client_id"]).to_csv(
        bad, index=False
    )
    code, _, err = _run(
        capsys, "import", str(history), "--clinic", "North", "--db", url, "--endings", str(bad)
    )
    assert code == 2 and "bad.csv" in err and "neither in the clinic" in err
    args = ("import", str(history), "--clinic", "North", "--db", url, "--endings", str(endings))
    code, out, _ = _run(capsys, *args, "--json", "--preview")
    assert json.loads(out)["clients"] == 12  # the bad endings stored nothing, history neither
    assert json.loads(out)["episodes_closed"] == 12
    code, out, _ = _run(capsys, *args, "--json")
    assert code == 0 and json.loads(out)["episodes_closed"] == 12
    code, out, _ = _run(capsys, *args, "--json")
    assert json.loads(out)["episodes_closed"] == 0  # the same endings again close nothing
    with transaction(make_session_factory(engine)) as db:
        admin = db.scalar(select(User).where(User.username == "a@north"))
        ended, dropped_out = list_ended_clients(db, actor=admin)
        assert set(dropped_out) == dropped
        assert set(ended) == set(clinic_sim.clients["client_id"]) - dropped
        episodes = db.scalars(select(Episode)).all()
        assert all(e.closed_on is not None and e.closed_on >= e.opened_on for e in episodes)
    engine.dispose()


def test_the_report_and_the_service_count_the_same_dropouts_from_the_same_endings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One definition of dropout, one reader of endings: `bordin report --endings` on the
    simulator's scores.csv and clients.csv, the clinic figures of the team and clinic pages
    and the service's clinic report after `bordin import --endings` with the same
    clients.csv all give the dropouts the clients.csv records (counted here from the file)."""
    import pandas as pd
    from sqlalchemy import select

    from bordin.simulate import write_clinic
    from bordin.storage.models import User
    from bordin.web.pages._figures import clinic_figures
    from bordin.web.pages._oversight import _clinic_report

    url = _clinic_with_admin(tmp_path, capsys, monkeypatch, "a@north")
    files = write_clinic(simulate_clinic(SimulationConfig(n_clients=24), seed=6), tmp_path)
    truth = pd.read_csv(files["clients.csv"], dtype={"client_id": str})
    expected = int((truth["dropped_out"].astype(str) == "True").sum())
    assert 0 < expected < len(truth)

    code, out, err = _run(
        capsys,
        *("report", str(files["scores.csv"]), "--alliance", "sac", "--outcome", "phq9"),
        *("--endings", str(files["clients.csv"]), "--json"),
    )
    assert code == 0, err
    cli = json.loads(out)["numbers"]
    assert (cli["outcomes.dropout.count"], cli["outcomes.dropout.n"]) == (expected, len(truth))
    code, _, err = _run(
        capsys,
        *("import", str(files["responses.csv"]), "--clinic", "North", "--db", url),
        *("--endings", str(files["clients.csv"])),
    )
    assert code == 0, err
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as db:
        admin = db.scalar(select(User).where(User.username == "a@north"))
        figures = clinic_figures(db, admin)
        report, _warnings = _clinic_report(db, admin)
        assert figures.value("dropouts") == expected
        service = report.to_json_dict()["numbers"]
    engine.dispose()
    for key in ("outcomes.dropout.count", "outcomes.dropout.n", "outcomes.dropout.estimate"):
        assert service[key] == cli[key], key
