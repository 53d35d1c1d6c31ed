"""The therapist's session check in a real browser: keyboard only on a desktop, taps on a
phone; each checked with axe-core and saved as a screenshot."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from e2e.browser_checks import assert_accessible, log_in, screenshot
from e2e.conftest import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# response index (0 = first option) per item: bond 5 5, goal 4 4, task 4 4, no tension,
# adherence 4 (item 8 is hidden while item 7 is "not at all")
CHOICES = {1: 4, 2: 4, 3: 3, 4: 3, 5: 3, 6: 3, 7: 0, 9: 3}


def _open_client(page: Any, live_server: LiveServer) -> None:
    log_in(page, live_server.clinic.users["therapist"])
    page.goto(f"/clients/{live_server.clinic.clients['C-101']}#therapist-check")


def test_keyboard_only_session_check_on_a_desktop(desktop: Any, live_server: LiveServer) -> None:
    page = desktop
    _open_client(page, live_server)
    form = page.locator("form.quick-check")
    assert form.is_visible()
    assert_accessible(page)
    started = time.monotonic()
    presses = 0
    session = page.locator("#check-session")
    session.focus()  # the latest unrated session (5, not yet rated by the client) first
    assert session.locator("option:checked").inner_text().startswith("Session 5")
    page.keyboard.press("ArrowDown")  # session 4, which the client rated
    presses += 1
    assert session.locator("option:checked").inner_text().startswith("Session 4")
    for item, index in CHOICES.items():
        page.keyboard.press("Tab")  # into the item's radio group (its first option)
        presses += 1
        focused = page.evaluate("() => document.activeElement.name")
        assert focused == f"item-{item}", f"Tab reached {focused}, expected item-{item}"
        if index == 0:
            page.keyboard.press("Space")
            presses += 1
        for _ in range(index):
            page.keyboard.press("ArrowRight")  # moves and selects within the group
            presses += 1
        if item == 7:
            assert page.locator("#check-item-8").is_hidden()
            # the numbers shown stay consecutive; the field keeps its item number
            assert page.locator("#check-item-9 .number").inner_text() == "8."
            assert page.locator("#check-item-9 input").first.get_attribute("name") == "item-9"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == (
        "Save my session check"
    )
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    screenshot(page, "therapist-check-desktop")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    presses += 2
    elapsed = time.monotonic() - started
    # fewer than 40 keys: well within 20 seconds for a person at the keyboard
    assert presses < 40 and elapsed < 20
    assert re.search(r"\?checked=4#therapist-check$", page.url)
    assert "is saved" in page.locator("#therapist-check [role='status']").inner_text()
    table = page.locator("#pair table")
    assert table.locator("tbody tr").count() == 1
    assert_accessible(page)


def test_tapping_the_session_check_on_a_phone(phone: Any, live_server: LiveServer) -> None:
    page = phone
    _open_client(page, live_server)
    form = page.locator("form.quick-check")
    # nothing wider than the phone, every answer a comfortable target
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    for label in form.locator("fieldset#check-item-1 label.option").all():
        box = label.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44
    # a noticed tension brings up item 8
    answers = {1: "3", 2: "4", 3: "3", 4: "3", 5: "2", 6: "3", 7: "2", 8: "1", 9: "4"}
    for item, value in answers.items():
        if item == 8:
            assert page.locator("#check-item-8").is_visible()
            assert page.locator("#check-item-9 .number").inner_text() == "9."
        form.locator(f"label[for='check-{item}-{value}']").tap()
    assert page.locator("input[name='item-8'][value='1']").is_checked()
    screenshot(page, "therapist-check-phone")
    assert_accessible(page)
    with page.expect_navigation():
        form.get_by_role("button", name="Save my session check").tap()
    assert "is saved" in page.locator("#therapist-check [role='status']").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
