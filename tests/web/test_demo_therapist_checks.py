"""The demo clinic carries the therapists' session checks, so its client pages show the
pair signals."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient


def test_demo_client_pages_show_the_pair(tmp_path: Path) -> None:
    from bordin.settings import Settings
    from bordin.web.app import create_app
    from bordin.web.demo import create_demo_clinic

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    demo = create_demo_clinic(
        url, base_url="http://testserver", password="demo-pass-123", n_clients=9
    )
    app = create_app(Settings(database_url=url, demo=True))
    client = TestClient(app)
    login = client.post(
        "/login",
        data={"username": "therapist@demo", "password": "demo-pass-123"},
        follow_redirects=False,
    )
    assert login.status_code == 303
    caseload = client.get("/api/v1/caseload").json()
    assert demo.clients == 9 and caseload
    # the caseload leads with the demo's risk case (one session today); the simulated
    # clients behind it have their therapist's checks beside their own
    pairs = [
        client.get(f"/clients/{row['client_id']}?format=json").json()["pair"]["sessions"]
        for row in caseload
    ]
    assert any(len(pair) >= 2 for pair in pairs)
    assert all(1 <= p["therapist_total"] <= 5 for pair in pairs for p in pair)
