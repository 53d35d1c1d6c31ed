"""Browser tests: the app served by uvicorn on 127.0.0.1, driven by Debian's Chromium.

Each test module gets a fresh SQLite clinic (``pages_clinic``) and a live server on a free
port; each test gets its own browser context (cookies are not shared). The tests are
skipped, with the reason, when ``/usr/bin/chromium`` is missing (``.ci/run`` installs it).
Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e.pages_clinic import PagesClinic, copy_pages_clinic

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if item.path.resolve().is_relative_to(here):
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason="/usr/bin/chromium is missing (install Debian's chromium package; "
                        ".ci/run does)"
                    )
                )


@dataclass
class LiveServer:
    """A running app: its base URL and the clinic in its database."""

    base_url: str
    clinic: PagesClinic


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 with a fresh clinic, for one test module."""
    import uvicorn

    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path_factory.mktemp("e2e"))
    url = clinic.url
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=url,
        demo=True,
        base_url=base,
        login_rate_limit=1000,
        token_rate_limit=1000,
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(base_url=base, clinic=clinic)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started once per module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def _watch_requests(context: Any, base_url: str) -> list[str]:
    """Record every request the pages make that does not go to the app itself."""
    outside: list[str] = []

    def seen(request: Any) -> None:
        url = str(request.url)
        if not (url.startswith(base_url + "/") or url.startswith(("data:", "about:"))):
            outside.append(url)

    context.on("request", seen)
    return outside


@pytest.fixture
def desktop(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A desktop-sized page (its own cookies) on the live server.

    After the test, no request may have left the app (no CDN, fonts or analytics).
    """
    context = browser.new_context(
        base_url=live_server.base_url, viewport={"width": 1280, "height": 900}
    )
    outside = _watch_requests(context, live_server.base_url)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    assert outside == [], f"requests outside the app: {outside}"


@pytest.fixture
def phone(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A phone-sized, touch page (390 x 844, like a current iPhone)."""
    context = browser.new_context(
        base_url=live_server.base_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    outside = _watch_requests(context, live_server.base_url)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    assert outside == [], f"requests outside the app: {outside}"
