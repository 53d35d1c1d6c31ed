"""Running a clinic from the pages, in a browser, as people would: an admin creates a
therapist, who logs in, changes the password, adds a client, records a session with a
paper form, sends a link and closes the episode; an admin imports a 10,000-session history
(preview, import, the same file again, a file with a bad row); the caseload on a phone;
the care page without JavaScript. axe runs on every new page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from e2e.browser_checks import assert_accessible, log_in, screenshot
from e2e.conftest import LiveServer

NEW_PASSWORD = "my own long password"


def _history(n_sessions: int) -> pd.DataFrame:
    from bordin.simulate import SimulationConfig, simulate_clinic

    responses = simulate_clinic(SimulationConfig(n_clients=1100), seed=4).responses
    keys = responses[["client_id", "session"]].drop_duplicates().iloc[:n_sessions]
    kept = responses.merge(keys, on=["client_id", "session"])
    return kept.assign(
        client_id="H-" + kept["client_id"].astype(str),
        therapist_id="hist-" + kept["therapist_id"].astype(str),
    )


def test_a_new_therapist_runs_a_client_from_the_pages(
    desktop: Any, browser: Any, live_server: LiveServer
) -> None:
    page = desktop
    log_in(page, live_server.clinic.users["admin"])
    page.goto("/admin")
    page.get_by_text("Add a user").click()
    page.get_by_label("Username (an email address works well)").fill("sam@test")
    page.get_by_label("Name shown on pages").fill("Sam Rivera")
    page.get_by_label("Role").select_option("therapist")
    page.get_by_label("First password").fill("first long password")
    page.get_by_role("button", name="Add the user").click()
    page.wait_for_url("**/admin?done=user")
    page.get_by_role("link", name="sam@test").click()
    page.wait_for_url("**/admin/users/*")
    assert_accessible(page)
    screenshot(page, "admin-user", docs=True)

    sam = browser.new_context(
        base_url=live_server.base_url, viewport={"width": 1280, "height": 900}
    )
    try:
        therapist = sam.new_page()
        therapist.goto("/login")
        therapist.get_by_label("Username").fill("sam@test")
        therapist.get_by_label("Password").fill("first long password")
        therapist.get_by_role("button", name="Log in").click()
        therapist.wait_for_url("**/caseload")
        assert "No clients yet" in therapist.locator("main").inner_text()

        therapist.get_by_role("link", name="Sam Rivera").click()  # the account link
        therapist.wait_for_url("**/account")
        assert_accessible(therapist)
        therapist.get_by_label("Current password").fill("first long password")
        therapist.get_by_label("New password").fill(NEW_PASSWORD)
        therapist.get_by_role("button", name="Change the password").click()
        therapist.wait_for_url("**/account?done=password")
        assert "Password changed." in therapist.locator("main").inner_text()

        therapist.goto("/caseload")
        therapist.get_by_role("link", name="Add a client").first.click()
        therapist.wait_for_url("**/clients/new")
        assert_accessible(therapist)
        therapist.get_by_label("Client code").fill("S-001")
        therapist.get_by_label("Start of care").fill("2026-01-05")
        therapist.get_by_role("button", name="Add the client").click()
        therapist.wait_for_url("**/care?done=added")
        therapist.get_by_label("Date of the attended session").fill("2026-01-12")
        therapist.get_by_role("button", name="Record a session").click()
        therapist.wait_for_url("**/care?done=session")

        therapist.get_by_label("Questionnaire for session 1").select_option("phq9")
        therapist.get_by_role("button", name="Enter a paper form for session 1").click()
        therapist.wait_for_url("**/paper?instrument=phq9")
        assert_accessible(therapist)
        for item in range(1, 10):
            therapist.get_by_label(f"Item {item}", exact=False).first.fill("2" if item < 9 else "0")
        therapist.get_by_role("button", name="Store the paper form").click()
        therapist.wait_for_url("**/care?done=paper")
        assert "PHQ-9 (staff-entered)" in therapist.locator("main").inner_text()
        assert_accessible(therapist)
        screenshot(therapist, "client-care", docs=True)

        therapist.goto("/caseload")
        therapist.get_by_role("button", name="Create link for S-001").click()
        therapist.wait_for_url("**/form-link*")
        assert "/f/" in therapist.locator("main").inner_text()

        therapist.goto("/caseload")
        therapist.get_by_role("link", name="S-001").click()
        therapist.get_by_role("link", name="Sessions and episodes").click()
        therapist.get_by_label("Dropout").check()
        therapist.get_by_label("Last day").fill("2026-02-01")
        therapist.get_by_role("button", name="Close the episode").click()
        therapist.wait_for_url("**/care?done=close")
        text = therapist.locator("main").inner_text()
        assert "(Dropout)" in text and "Reopen" in text
    finally:
        sam.close()


def test_an_admin_imports_a_clinics_history(
    desktop: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page = desktop
    history = _history(10_000)
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    bad = history.astype({"value": object})
    bad.iloc[500, bad.columns.get_loc("value")] = "often"
    bad_path = tmp_path / "old-system.csv"
    bad.assign(client_id="B" + bad["client_id"]).to_csv(bad_path, index=False)

    log_in(page, live_server.clinic.users["admin"])
    page.goto("/admin")
    page.get_by_role("link", name="Import a clinic's history").click()
    page.wait_for_url("**/admin/import")
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(str(bad_path))
    page.get_by_role("button", name="Check the file").click()
    summary = page.get_by_role("alert")
    assert "Nothing was stored" in summary.inner_text()
    assert "502 (the header is row 1)" in summary.inner_text()
    assert "value" in summary.inner_text()
    assert_accessible(page)

    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    preview = page.locator("main").inner_text()
    assert "nothing is stored yet" in preview and "10000 new sessions" in preview
    assert_accessible(page)
    screenshot(page, "import-preview", docs=True)
    page.get_by_role("button", name="Import history.csv").click()
    page.wait_for_selector("text=Imported history.csv", timeout=120_000)
    assert "10000 new sessions" in page.locator("main").inner_text()

    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    assert "Everything in this file is stored already" in page.locator("main").inner_text()
    page.goto("/caseload?q=H-c000001")
    assert page.get_by_role("link", name="H-c000001").count() == 1


def test_the_caseload_is_cards_on_a_phone(phone: Any, live_server: LiveServer) -> None:
    log_in(phone, live_server.clinic.users["therapist"])
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    row = phone.locator("table.caseload tbody tr").first
    assert row.evaluate("el => getComputedStyle(el).display") == "block"
    label = row.locator("td[data-label='Needs attention']").evaluate(
        "el => getComputedStyle(el, '::before').content"
    )
    assert label == '"Needs attention: "'  # each value is labelled on its card
    assert_accessible(phone)
    screenshot(phone, "caseload-phone", docs=True, docs_size=(390, 844))


def test_the_care_page_fits_a_phone(phone: Any, live_server: LiveServer) -> None:
    """On a phone each attended session is a card with its values labelled: neither the
    page nor the sessions region scrolls sideways (the table scrolled inside its region
    before), and a form's name does not break at its hyphen."""
    log_in(phone, live_server.clinic.users["therapist"])
    client = live_server.clinic.clients["C-102"]
    phone.goto(f"/clients/{client}/care")
    region = phone.get_by_role("region", name="Attended sessions")
    assert region.count() == 1
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert region.evaluate("el => el.scrollWidth <= el.clientWidth")
    row = phone.locator("table.card-rows tbody tr").first
    assert row.evaluate("el => getComputedStyle(el).display") == "block"
    label = row.locator("td[data-label='Forms']").evaluate(
        "el => getComputedStyle(el, '::before').content"
    )
    assert label == '"Forms: "'
    names = phone.locator("table.card-rows td[data-label='Forms'] .nowrap")
    assert names.count() > 0
    for i in range(names.count()):  # one line box each: not broken at a hyphen
        assert names.nth(i).evaluate("el => el.getClientRects().length") == 1
    assert_accessible(phone)
    screenshot(phone, "client-care-phone")


def test_the_care_page_and_caseload_are_tables_on_a_desktop(
    desktop: Any, live_server: LiveServer
) -> None:
    """At 1280 pixels the care page's sessions and the caseload stay tables that fit their
    region: the phone's cards class once shared a name with a grid of cards, which laid the
    caption, header and rows side by side and scrolled the sessions sideways."""
    log_in(desktop, live_server.clinic.users["therapist"])
    client = live_server.clinic.clients["C-102"]
    for path in (f"/clients/{client}/care", "/caseload"):
        desktop.goto(path)
        table = desktop.locator("table.card-rows")
        assert table.evaluate("el => getComputedStyle(el).display") == "table"
        assert table.evaluate("el => getComputedStyle(el.tBodies[0].rows[0]).display") == (
            "table-row"
        )
        assert desktop.evaluate("() => document.documentElement.scrollWidth") <= 1280
        region = (
            "el => { const w = el.closest('.table-wrap') || el;"
            " return [w.scrollWidth, w.clientWidth]; }"
        )
        scroll_width, client_width = table.evaluate(region)
        assert scroll_width <= client_width
    screenshot(desktop, "caseload-desktop")


def test_the_care_page_works_without_javascript_and_by_keyboard(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(
        base_url=live_server.base_url,
        java_script_enabled=False,
        viewport={"width": 1280, "height": 900},
    )
    try:
        page = context.new_page()
        log_in(page, live_server.clinic.users["therapist"])
        client = live_server.clinic.clients["C-102"]
        page.goto(f"/clients/{client}/care")
        page.get_by_label("Date of the attended session").focus()
        for _ in range(5):  # past the date field's day, month and year parts
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.textContent") == "Record a session":
                break
        else:
            pytest.fail("the Record a session button was never reached with the keyboard")
        page.keyboard.press("Enter")
        page.wait_for_url("**/care?done=session")
        assert "Session recorded." in page.locator("main").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/account", "/admin/import"])
def test_new_pages_have_json_twins(desktop: Any, live_server: LiveServer, path: str) -> None:
    log_in(desktop, live_server.clinic.users["admin"])
    response = desktop.request.get(f"{path}?format=json")
    assert response.ok and response.json()["user"]["username"] == live_server.clinic.users["admin"]


def test_the_clinic_report_fits_a_phone(phone: Any, live_server: LiveServer) -> None:
    """The report's wide tables scroll inside themselves; the page itself does not scroll
    sideways on a phone (it was 900 pixels wide at 390)."""
    log_in(phone, live_server.clinic.users["supervisor"])
    phone.goto("/clinic/report")
    assert phone.locator("table").count() > 0
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone, "clinic-report-phone")
