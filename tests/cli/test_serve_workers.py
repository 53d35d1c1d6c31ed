"""``bordin serve --workers N``: several processes that share the rate limits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bordin.cli.serve import settings_environment
from bordin.settings import Settings
from bordin.storage import upgrade_database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_settings_travel_to_the_workers_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(
        database_url="sqlite:///elsewhere.sqlite",
        secret_key="s" * 40,
        https=True,
        token_rate_limit=7,
        session_hours=1.5,
    )
    for name, value in settings_environment(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_two_workers_serve_and_share_the_form_link_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    upgrade_database(url)
    port = _free_port()
    env = {
        **os.environ,
        "BORDIN_SECRET_KEY": "k" * 40,
        "BORDIN_TOKEN_RATE_LIMIT": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bordin", "serve", "--db", url, "--port", str(port)]
        + ["--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not start")
        # both workers up (each warms its kernels before it accepts connections)
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(_children(process.pid)) >= 2
        # the counts are kept per 60-second window aligned on the epoch: the eight requests
        # must not straddle a window's end (the count starts again there, a 404 where a
        # 429 is expected)
        left = 60.0 - time.time() % 60.0
        if left < 20.0:
            time.sleep(left + 0.5)
        # one connection per request: the requests spread over the workers
        codes = [httpx.get(f"{base}/api/v1/forms/guess-{i}").status_code for i in range(8)]
        assert codes == [404, 404, 404] + [429] * 5
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
