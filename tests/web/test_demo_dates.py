"""The demo is a clinic's current caseload: every client's last session in the last weeks.

The simulator dates its clinics from a fixed epoch (2024), so a demo started later showed
every client as a dropout (no session in the 8 weeks before today) and none in treatment
on the team and clinic pages, beside a caseload of open clients with forms sent today;
moving the whole history as one still left most clients' last session months back.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

PASSWORD = "demo-pass-for-the-dates-test"


def test_the_demo_clinic_is_in_treatment_today(tmp_path: Path) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app
    from bordin.web.demo import create_demo_clinic

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    create_demo_clinic(url, base_url="http://testserver", password=PASSWORD, n_clients=9)
    client = TestClient(create_app(Settings(database_url=url, demo=True)))
    login = client.post(
        "/login",
        data={"username": "supervisor@demo", "password": PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303
    figures = client.get("/team?format=json").json()["figures"]["figures"]
    assert figures["in_treatment"]["value"] == 9
    assert figures["dropouts"]["value"] == 0
    lasts = [
        date.fromisoformat(row["last_session"]["date"])
        for row in client.get("/caseload?format=json").json()["clients"]
        if row["last_session"] and row["last_session"]["date"]
    ]
    assert len(lasts) == 9  # the supervisor sees the team's nine clients
    assert all(date.today() - timedelta(days=14) <= d <= date.today() for d in lasts)
