"""The pages on each database backend (SQLite always; PostgreSQL when CI provides it).

The pages' own reads (``bordin.web.pages._reads``) and the storage queries they call are
plain SQLAlchemy; this runs one therapist's and one supervisor's pages, a client's form
and an acknowledgement on both backends.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from e2e.pages_clinic import PASSWORD, build_pages_clinic
from web.service_world import BACKENDS


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_the_pages_work_on_each_backend(empty_database: str) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = build_pages_clinic(empty_database)
    app = create_app(Settings(database_url=empty_database, demo=True))
    with TestClient(app) as client:
        # the client's form, end to end
        fields = {f"sac.{n}": "4" for n in range(1, 7)}
        fields.update({"sac.7": "0", "sac.9": "0", "sac.10": "0"})
        fields.update({f"phq9.{n}": "1" for n in range(1, 10)})
        sent = client.post(
            f"/f/{clinic.open_token}",
            data={**fields, "step": "1", "go": "submit"},
            follow_redirects=False,
        )
        assert sent.status_code == 303

        client.post("/login", data={"username": clinic.users["therapist"], "password": PASSWORD})
        caseload = client.get("/caseload?format=json").json()
        assert [c["code"] for c in caseload["clients"]][0] == "C-101"
        page = client.get(f"/clients/{clinic.clients['C-101']}?format=json").json()
        assert [s["score"] for s in page["symptoms"][0]["sessions"]][-1] == 9
        alert = page["alerts"][0]
        done = client.post(
            f"/alerts/{alert['id']}/acknowledge",
            data={"note": "seen", "csrf_token": client.cookies.get("bordin_csrf")},
            follow_redirects=False,
        )
        assert done.status_code == 303
        client.post("/logout", data={"csrf_token": client.cookies.get("bordin_csrf")})

        client.post("/login", data={"username": clinic.users["supervisor"], "password": PASSWORD})
        team = client.get("/team?format=json").json()
        assert [t["therapist"] for t in team["therapists"]] == ["Alex Morgan", "Jordan Lee"]
        assert client.get("/clinic?format=json").json()["counts"]["clients"] == 3


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_a_newer_link_replaces_the_older_one_on_each_backend(empty_database: str) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = build_pages_clinic(empty_database)
    app = create_app(Settings(database_url=empty_database, demo=True))
    with TestClient(app) as client:
        client.post("/login", data={"username": clinic.users["therapist"], "password": PASSWORD})
        made = client.post(
            f"/clients/{clinic.clients['C-101']}/form-link?format=json",
            data={"csrf_token": client.cookies.get("bordin_csrf"), "instrument": ["sac"]},
        )
        assert made.status_code == 201
        newer = made.json()["form"]["url"].rsplit("/", 1)[1]
        old = client.get(f"/f/{clinic.open_token}?format=json")
        assert old.status_code == 410 and old.json()["state"] == "replaced"
        assert client.get(f"/f/{newer}?format=json").json()["state"] == "open"
        expired = client.get(f"/f/{clinic.expired_token}?format=json")  # ran out first
        assert expired.status_code == 410 and expired.json()["state"] == "expired"
