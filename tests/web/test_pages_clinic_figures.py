"""One definition per clinic figure: the team page, the clinic page and the clinic report give
the same rupture and dropout counts, equal to a count made here from compute_feedback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import (
    PASSWORD,
    PagesClinic,
    _record,
    copy_pages_clinic,
    phq9_answers,
    sac_answers,
)

FIGURES = (
    "ruptures",
    "ruptures_repaired",
    "ruptures_unrepaired",
    "ruptures_open",
    "clients_with_rupture",
    "dropouts",
    "in_treatment",
)


def _add_former_clients(url: str) -> None:
    """C-104 stopped coming half a year ago (episode still open: a dropout); C-105 was
    discharged after their last session (an ending, not a dropout). Both had a rupture.
    Eight steady clients in treatment give the adaptive rupture detector (which leads) the
    clinic's residual scale at those session numbers once the norms are refitted: with the
    first five clients alone it has too few sessions to flag anything."""
    from sqlalchemy import select

    from bordin.storage import make_engine, make_session_factory, transaction
    from bordin.storage.actions import close_episode, create_client
    from bordin.storage.actions._feedback import refresh_norms
    from bordin.storage.models import Episode, User

    engine = make_engine(url)
    today = date.today()
    with transaction(make_session_factory(engine)) as db:
        alex = db.scalar(select(User).where(User.username == "therapist@test"))
        jordan = db.scalar(select(User).where(User.username == "therapist2@test"))
        rupture = [(4, 4, 4, 0, 18), (5, 4, 5, 0, 17), (4, 5, 4, 0, 16), (2, 2, 2, 3, 19)]
        repaired = [*rupture, (5, 5, 5, 0, 14), (5, 5, 4, 0, 12), (5, 4, 5, 0, 10)]
        # steady clients, so that the clinic has enough sessions for the adaptive rupture
        # detector's residual scale (clinic_sd_min_df) at the session numbers of the ruptures
        steady = [(4, 4, 4, 0, 15), (4, 5, 4, 0, 14), (5, 4, 4, 0, 14), (4, 4, 5, 0, 13)] * 2
        steady_clients = [
            (f"C-2{i:02d}", alex if i % 2 else jordan, 9, False, steady) for i in range(8)
        ]
        for code, therapist, weeks_ago, discharge, plan in (
            ("C-104", alex, 30, False, rupture),
            ("C-105", jordan, 26, True, repaired),
            *steady_clients,
        ):
            start = today - timedelta(weeks=weeks_ago)
            client = create_client(db, actor=therapist, code=code, opened_on=start)
            for i, (bond, goal, task, tension, phq) in enumerate(plan):
                _record(
                    db,
                    therapist,
                    client.id,
                    start + timedelta(weeks=i),
                    {
                        "sac": sac_answers(bond, goal, task, tension=tension, resolved=0),
                        "phq9": phq9_answers(phq),
                    },
                )
            if discharge:
                episode = db.scalar(select(Episode).where(Episode.client_id == client.id))
                close_episode(
                    db,
                    actor=therapist,
                    episode_id=episode.id,
                    closed_on=start + timedelta(weeks=len(plan)),
                )
    with transaction(make_session_factory(engine)) as db:
        # the clinic's norms refitted on all of it, as the scheduled check would
        refresh_norms(db, alex.clinic_id, reason="on demand")
    engine.dispose()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    _add_former_clients(clinic.url)
    app = create_app(
        Settings(database_url=clinic.url, demo=True, base_url="https://clinic.example")
    )
    with TestClient(app) as client:
        response = client.post(
            "/login",
            data={"username": clinic.users["supervisor"], "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        yield client, clinic


def _json(client: TestClient, path: str) -> Any:
    response = client.get(path, params={"format": "json"})
    assert response.status_code == 200, response.text
    return response.json()


def _values(block: dict[str, Any]) -> dict[str, int]:
    return {key: block["figures"][key]["value"] for key in FIGURES}


def _independent_counts(client: TestClient) -> dict[str, int]:
    """Ruptures from compute_feedback on the clinic's export with the clinic's current norms
    snapshot (what its client pages show); dropouts by the definition."""
    from bordin.feedback import ClinicNorms, compute_feedback

    export = client.get("/api/v1/exports/session-scores.csv")
    scores = pd.read_csv(io.StringIO(export.text), dtype={"client_id": str})
    current = client.get("/api/v1/clinic/norms/current")
    assert current.status_code == 200, current.text
    norms = ClinicNorms.from_dict(current.json()["document"])
    events = compute_feedback(scores, alliance="sac", outcomes=(), norms=norms).ruptures
    events = events[(events["detector"] == "adaptive") & (events["scale"] == "total")]  # leads
    last = pd.to_datetime(scores["date"]).groupby(scores["client_id"]).max()
    recent = last >= pd.Timestamp(date.today() - timedelta(weeks=8))
    return {
        "ruptures": len(events),
        "ruptures_repaired": int((events["status"] == "repaired").sum()),
        "ruptures_unrepaired": int((events["status"] == "unrepaired").sum()),
        "ruptures_open": int((events["status"] == "open").sum()),
        "clients_with_rupture": int(events["client_id"].nunique()),
        # C-105's episode was closed (an ending); C-104 stopped coming with it open
        "dropouts": int((~recent & (last.index != "C-105")).sum()),
        "in_treatment": int(recent.sum()),
    }


def test_team_clinic_and_report_give_the_same_figures_as_compute_feedback(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, _clinic = site
    team = _json(client, "/team")
    clinic = _json(client, "/clinic")
    report = _json(client, "/clinic/report")
    expected = _independent_counts(client)
    # the test has teeth: ruptures of more than one status, one dropout
    assert expected["ruptures_repaired"] >= 1 and expected["ruptures_open"] >= 1
    assert expected["dropouts"] == 1
    assert _values(team["figures"]) == expected
    assert _values(clinic["figures"]) == expected
    assert _values(report["figures"]) == expected
    # the report's outcome summary counts dropouts by the same definition
    assert report["numbers"]["outcomes.dropout.count"] == expected["dropouts"]
    # per therapist, the figures add up to the team's
    for key in FIGURES:
        assert (
            sum(r["figures"]["figures"][key]["value"] for r in team["therapists"])
            == (expected[key])
        )
    # every figure states its definition, the same text everywhere
    for key in FIGURES:
        text = team["figures"]["figures"][key]["definition"]
        assert text and text == clinic["figures"]["figures"][key]["definition"]
        assert text == report["figures"]["figures"][key]["definition"]
    assert "Bordin's leading rupture detector" in text or key != "ruptures"


def test_a_client_still_in_treatment_is_never_a_dropout(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, _clinic = site
    team = _json(client, "/team")
    jordan = next(r for r in team["therapists"] if r["therapist"] == "Jordan Lee")
    alex = next(r for r in team["therapists"] if r["therapist"] == "Alex Morgan")
    # C-103 has two sessions, the latest two weeks ago: in treatment; C-105 was discharged
    assert jordan["figures"]["figures"]["dropouts"]["value"] == 0
    assert alex["figures"]["figures"]["dropouts"]["value"] == 1  # C-104
    report = _json(client, "/clinic/report")
    assert report["numbers"]["outcomes.dropout.count"] == 1


def test_the_definitions_are_shown_beside_the_figures(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, _clinic = site
    for path in ("/team", "/clinic", "/clinic/report"):
        html = client.get(path).text
        assert 'data-figure="dropouts"' in html, path
        assert "never counted" in html, path
        assert (
            "Bordin&#39;s leading rupture detector" in html
            or "Bordin's leading rupture detector" in html
        )


def test_an_episode_closed_as_dropout_is_a_dropout_and_one_closed_as_planned_is_not(
    site: tuple[TestClient, PagesClinic],
) -> None:
    """The definition counts clients whose episode was closed as dropout: the service's
    figures counted every closed episode as an ending (so a client closed as dropout was
    never one). Two steady clients in treatment are discharged: one as dropout, one as
    planned; both saw their therapist within the 8 weeks."""
    from sqlalchemy import select

    from bordin.storage import make_engine, make_session_factory, transaction
    from bordin.storage.actions import close_episode
    from bordin.storage.models import Client, Episode, User

    client, clinic = site
    before = _values(_json(client, "/team")["figures"])
    engine = make_engine(clinic.url)
    with transaction(make_session_factory(engine)) as db:
        admin = db.scalar(select(User).where(User.username == clinic.users["admin"]))
        for code, reason in (("C-200", "dropout"), ("C-201", "planned")):
            episode = db.scalar(
                select(Episode)
                .join(Client, Client.id == Episode.client_id)
                .where(Client.code == code)
            )
            close_episode(db, actor=admin, episode_id=episode.id, reason=reason)
    engine.dispose()
    after = {path: _json(client, path) for path in ("/team", "/clinic", "/clinic/report")}
    for page in after.values():
        figures = _values(page["figures"])
        assert figures["dropouts"] == before["dropouts"] + 1
        assert figures["in_treatment"] == before["in_treatment"] - 1
    assert after["/clinic/report"]["numbers"]["outcomes.dropout.count"] == before["dropouts"] + 1
