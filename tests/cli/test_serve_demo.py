"""``bordin db`` and ``bordin serve --demo`` from the command line."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bordin.cli.main import create_cli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_db_upgrade_current_and_create_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    runner = CliRunner()
    app = create_cli()
    upgraded = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "database at revision 0004" in upgraded.output
    current = runner.invoke(app, ["db", "current", "--db", url])
    assert "current: 0004; head: 0004" in current.output
    created = runner.invoke(
        app,
        [
            "db",
            "create-admin",
            "--clinic",
            "North Clinic",
            "--username",
            "Admin@North",
            "--db",
            url,
        ],
        env={"BORDIN_ADMIN_PASSWORD": "a-long-admin-password"},
    )
    assert created.exit_code == 0, created.output
    assert "admin admin@north" in created.output


@pytest.mark.slow
def test_serve_demo_prints_logins_and_a_working_form_link(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "BORDIN_DEMO_PASSWORD": "demo-password-for-tests", "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bordin", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output = ""
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        while "form link" not in output and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output += line
        link = re.search(r"form link\s+(\S+)", output)
        assert link, output
        assert "therapist@demo, supervisor@demo, admin@demo" in output
        assert "(from BORDIN_DEMO_PASSWORD)" in output
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        token = link.group(1).rsplit("/", 1)[1]
        form = httpx.get(f"{base}/api/v1/forms/{token}", timeout=10)
        assert form.status_code == 200
        assert [i["id"] for i in form.json()["instruments"]] == ["sac", "phq9", "gad7"]
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post(
                "/api/v1/auth/login",
                json={"username": "therapist@demo", "password": "demo-password-for-tests"},
            )
            assert login.status_code == 200
            caseload = client.get("/api/v1/caseload").json()
            assert len(caseload) == 15
            assert caseload[0]["open_alerts"] >= 1
            kinds = {e["top_alert_kind"] for e in caseload}
            assert kinds & {"rupture_unrepaired", "rupture_open", "not_on_track"}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
