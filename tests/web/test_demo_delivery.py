"""The demo clinic shows sessions booked ahead under a schedule, and a non-completer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bordin.settings import Settings
from bordin.storage.contact_cipher import new_contact_key
from bordin.web import create_app
from bordin.web.demo import create_demo_clinic
from bordin.web.security import CSRF_HEADER


def test_demo_has_booked_sessions_and_a_non_completer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    key = new_contact_key()
    create_demo_clinic(url, password="demo-password", n_clients=9, contact_key=key)
    settings = Settings(
        database_url=url,
        demo=True,
        contact_key=key,
        outbox_in_process=False,
        norms_check_seconds=0,
    )
    with TestClient(create_app(settings)) as http:
        login = http.post(
            "/api/v1/auth/login", json={"username": "therapist@demo", "password": "demo-password"}
        )
        assert login.status_code == 200
        http.headers[CSRF_HEADER] = login.json()["csrf_token"]
        page = http.get("/non-completers?format=json").json()
        assert page["total"] == 1
        [group] = page["therapists"]
        [late] = group["clients"]
        assert late["emailed"] is False and late["state"] == "waiting"
        booked = [
            b
            for c in http.get("/api/v1/clients").json()
            for b in http.get(f"/api/v1/clients/{c['id']}/bookings").json()
        ]
        assert len(booked) == 2
        contact = http.get(f"/api/v1/clients/{booked[0]['client_id']}/contact").json()
        assert contact["email"] == "client@example.org"
