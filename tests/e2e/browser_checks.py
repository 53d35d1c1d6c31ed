"""Helpers of the browser tests: log in, save a screenshot, run axe-core on a page."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from e2e.pages_clinic import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# WCAG 2.1 A and AA rules plus axe's best practices (landmarks, heading order, regions).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")


def log_in(page: Any, username: str) -> None:
    """Log in through the login form and wait for the caseload."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/caseload")


def screenshot(
    page: Any, name: str, *, docs: bool = False, docs_size: tuple[int, int] = (1280, 1000)
) -> Path:
    """Save a full-page screenshot under test-output/screenshots (and docs/ when asked).

    The docs copy is what a user sees first: the top of the page in a ``docs_size``
    window. It is refreshed only with ``BORDIN_UPDATE_DOCS_SCREENSHOTS=1``, so that an
    ordinary test run leaves the working tree clean.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("BORDIN_UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.set_viewport_size({"width": docs_size[0], "height": docs_size[1]})
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=False)
        if size is not None:
            page.set_viewport_size(size)
    return path


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the current page; return its violations (all impacts).

    axe is injected through the DevTools protocol (``page.evaluate``), so the page's own
    Content-Security-Policy (scripts only from the server) stays in force.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source() + "\n;true")
    result = page.evaluate(
        "tags => axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return list(result["violations"])


def assert_accessible(page: Any) -> list[dict[str, Any]]:
    """Fail on any serious or critical axe finding; return the lesser ones."""
    violations = axe_violations(page)
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"][:3])
        for v in blocking
    ]
    assert details == [], f"{page.url}: " + " | ".join(details)
    return [v for v in violations if v not in blocking]
