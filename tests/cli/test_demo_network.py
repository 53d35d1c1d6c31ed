"""``bordin demo`` on a phone: ``--host 0.0.0.0`` prints the LAN address; a busy port fails
at once with one line, before a demo clinic or a password is made."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bordin.cli._network import check_port_free, lan_address, link_host
from bordin.cli.main import main
from bordin.errors import InputError


def _bordin() -> list[str]:
    script = Path(sys.executable).with_name("bordin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bordin"]


def test_a_busy_port_fails_with_one_line_before_anything_is_made(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*_bordin(), "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)},
        )
    assert done.returncode == 2
    assert done.stdout == ""  # no "Creating the demo clinic", no password
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "--port" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no demo database folder either


def test_check_port_free_passes_on_a_free_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check_port_free("127.0.0.1", port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(InputError, match=f"127.0.0.1:{port}"):
            check_port_free("127.0.0.1", port)


def test_links_name_the_lan_address_when_listening_everywhere() -> None:
    address = lan_address()
    socket.inet_aton(address)  # an IPv4 address
    assert address != "0.0.0.0"
    assert link_host("0.0.0.0") == address
    assert link_host("::") == address
    assert link_host("127.0.0.1") == "127.0.0.1"
    assert link_host("::1") == "[::1]"


def test_demo_on_every_interface_prints_links_with_the_lan_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import uvicorn

    import bordin.web.demo
    from bordin.web.demo import DemoClinic

    made: dict[str, Any] = {}

    def fake_clinic(
        database_url: str, *, password: str | None, base_url: str, contact_key: str | None = None
    ) -> DemoClinic:
        made["base_url"] = base_url
        return DemoClinic(
            database_url=database_url,
            password="pw",
            logins=("therapist@demo",),
            form_link=f"{base_url}/f/token",
            form_token="token",
            clients=1,
        )

    served: dict[str, Any] = {}
    monkeypatch.setattr(bordin.web.demo, "create_demo_clinic", fake_clinic)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(kw))
    monkeypatch.setattr("bordin.web.create_app", lambda settings: object())
    monkeypatch.delenv("BORDIN_BASE_URL", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    main(["demo", "--host", "0.0.0.0", "--port", str(port)])
    out = capsys.readouterr().out
    expected = f"http://{lan_address()}:{port}"
    assert made["base_url"] == expected
    assert f"Bordin demo: {expected}/" in out
    assert f"form link  {expected}/f/token" in out
    assert "0.0.0.0" not in out
    assert served == {"host": "0.0.0.0", "port": port, "log_level": "info"}
