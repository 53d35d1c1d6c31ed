"""``bordin serve`` sends in-process: the app's lifespan runs the sender, and stops it."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from bordin.web import create_app
from bordin.web.security import CSRF_HEADER

from .conftest import Clinic


def test_the_service_sends_a_form_it_queued_without_a_separate_worker(clinic: Clinic) -> None:
    settings = clinic.settings.model_copy(
        update={"outbox_in_process": True, "outbox_poll_seconds": 0.1}
    )
    app = create_app(settings)
    with TestClient(app) as http:
        login = http.post(
            "/api/v1/auth/login", json={"username": "t1@clinic.test", "password": "unused pass"}
        )
        assert login.status_code == 200, login.text
        http.headers[CSRF_HEADER] = login.json()["csrf_token"]
        client = clinic.clients["C-01"]
        session = http.post(f"/api/v1/clients/{client}/sessions", json={}).json()
        sent = http.post(
            f"/api/v1/sessions/{session['id']}/send-form", json={"instruments": ["phq9"]}
        )
        assert sent.status_code == 201
        deadline = time.monotonic() + 60
        while not clinic.smtp.received() and time.monotonic() < deadline:
            time.sleep(0.1)
    [message] = clinic.smtp.received()
    assert message.to == ("ada@example.org",)
    assert not any(t.name == "bordin-outbox" for t in threading.enumerate())
