"""The pages in a real browser: a client on a phone, a therapist, a supervisor, bad links.

The tests of this module share one server and run in order, as one story: the client's
answers (with a risk item) raise the alert the therapist then reads and acknowledges.
Every page visited is checked with axe-core (no serious or critical findings) and saved as
a screenshot under test-output/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from e2e.browser_checks import assert_accessible, log_in, screenshot
from e2e.conftest import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The client's answers on the phone: a middling alliance check, then a PHQ-9 of 20 with
# item 9 ("thoughts that you would be better off dead...") at 2: a risk item.
SAC_CHOICES = {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 0, 9: 0, 10: 0}
PHQ9_CHOICES = {1: 3, 2: 3, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2}


def _submit_over_http(live_server: LiveServer) -> None:
    """Send the client's answers without a browser (when a test runs on its own)."""
    fields = {f"sac.{k}": str(v) for k, v in SAC_CHOICES.items()}
    fields.update({f"phq9.{k}": str(v) for k, v in PHQ9_CHOICES.items()})
    fields.update({"step": "1", "go": "submit"})
    url = f"{live_server.base_url}/f/{live_server.clinic.open_token}"
    response = httpx.post(url, data=fields)
    assert response.status_code in (303, 409)


def _choose(page: Any, instrument: str, item: int, value: int) -> None:
    page.locator(f"input[name='{instrument}.{item}'][value='{value}']").check()


def test_client_fills_in_the_form_on_a_phone(phone: Any, live_server: LiveServer) -> None:
    page = phone
    response = page.goto(f"/f/{live_server.clinic.open_token}")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "en"
    expect_progress = page.locator(".progress")
    assert "Questionnaire 1 of 2" in expect_progress.inner_text()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert "Alliance" in heading
    # large touch targets: every answer is at least 44 px high and fits the screen
    for box in [o.bounding_box() for o in page.locator("label.option").all()[:6]]:
        assert box is not None and box["height"] >= 44 and box["width"] <= 390
    # nothing wider than the phone: no sideways scrolling
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # the item on resolution is hidden until tension is reported (JavaScript enhancement)
    assert page.locator("#item-sac-8").is_hidden()
    # ... and the numbers shown stay consecutive (7, 8, 9, not 7, 9, 10)
    assert page.locator("#item-sac-9 .number").inner_text() == "8."
    assert page.locator("#item-sac-10 .number").inner_text() == "9."
    screenshot(page, "client-form-phone", docs=True, docs_size=(390, 844))
    assert_accessible(page)

    for item, value in SAC_CHOICES.items():
        _choose(page, "sac", item, value)
    page.get_by_role("button", name="Next").click()
    assert "Questionnaire 2 of 2" in page.locator(".progress").inner_text()
    assert "PHQ-9" in page.title() or "Patient Health" in page.title()

    # leave one question out: the step comes back with an error summary that links to it
    for item, value in PHQ9_CHOICES.items():
        if item != 4:
            _choose(page, "phq9", item, value)
    page.get_by_role("button", name="Send my answers").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert "Question 4" in summary.inner_text()
    assert page.locator("input[name='phq9.1'][value='3']").is_checked()  # answers kept
    screenshot(page, "client-form-phone-error")
    assert_accessible(page)

    # back to the first step keeps the answers there, then forward again
    page.get_by_role("button", name="Back").click()
    assert page.locator("input[name='sac.1'][value='3']").is_checked()
    page.get_by_role("button", name="Next").click()
    _choose(page, "phq9", 4, PHQ9_CHOICES[4])
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/thanks")
    text = page.locator("main").inner_text()
    assert "Thank you" in text
    assert not re.search(r"\b(20|score|PHQ-9 total)\b", text)  # no scores shown
    assert "crisis line" in text  # the form asked about risk: a safety note for everyone
    screenshot(page, "client-thanks-phone")
    assert_accessible(page)

    # the link works once
    again = page.goto(f"/f/{live_server.clinic.open_token}")
    assert again is not None and again.status == 409
    assert "already been sent" in page.locator("h1").inner_text()


def test_therapist_sees_the_alert_reads_the_chart_and_acknowledges(
    desktop: Any, live_server: LiveServer
) -> None:
    _submit_over_http(live_server)
    page = desktop
    log_in(page, live_server.clinic.users["therapist"])
    rows = page.locator("table.caseload tbody tr")
    assert rows.first.get_attribute("data-client") == "C-101"  # the most urgent first
    first = rows.first.inner_text()
    assert "Risk item" in first
    assert page.locator("tr[data-client='C-101'] [data-kind='risk']").count() == 1
    assert page.locator("tr[data-client='C-103']").count() == 0  # another therapist's client
    screenshot(page, "caseload", docs=True)
    assert_accessible(page)

    page.get_by_role("link", name="C-101").click()
    page.wait_for_url("**/clients/*")
    summary = page.locator("section.summary-box").inner_text()
    assert "Before the session" in summary
    assert "PHQ-9: 20 at session 5" in summary
    # the symptom chart: one point per scored session, the last one the client's 20
    chart = page.locator("svg.chart-symptoms").first
    assert chart.get_attribute("role") == "img"
    points = chart.locator(".point")
    assert points.count() == 5
    assert points.last.get_attribute("data-value") == "20"
    assert "Clinical cutoff 10" in (chart.text_content() or "")
    desc = chart.locator("desc").text_content() or ""
    assert "20 at session 5" in desc
    alliance = page.locator("svg.chart-alliance")
    assert alliance.locator(".point[data-series='total']").count() == 5
    assert alliance.locator("[data-kind='rupture'][data-session='4']").count() == 1
    risk = page.locator("article.alert[data-kind='risk']")
    assert risk.count() == 1
    assert risk.locator("h4", has_text="What to try").count() == 1
    # item-level detail on demand
    details = page.locator("details", has_text="Session 5").first
    assert not details.locator("table").first.is_visible()
    details.locator("summary").click()
    assert details.locator("table").first.is_visible()
    screenshot(page, "client", docs=True)
    assert_accessible(page)

    risk.get_by_label("Note (what you noticed or plan to do)").fill(
        "Asked about item 9 at the start of the session; safety plan reviewed."
    )
    risk.get_by_role("button", name=re.compile("^Acknowledge")).click()
    page.wait_for_url(re.compile(r".*/clients/\d+\?acknowledged=\d+#alert-\d+$"))
    assert page.locator("article.alert[data-kind='risk']:not(.acknowledged)").count() == 0
    assert "Alert acknowledged" in page.get_by_role("status").first.inner_text()
    done = page.locator("article.acknowledged[data-kind='risk']")
    assert "safety plan reviewed" in done.inner_text()

    page.goto("/caseload")
    assert page.locator("tr[data-client='C-101'] [data-kind='risk']").count() == 0


def _decode_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a PNG screenshot, decoded by zxing-cpp."""
    import io

    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in found]


def test_therapist_creates_the_next_form_link_with_a_qr_code(
    desktop: Any, live_server: LiveServer
) -> None:
    page = desktop
    log_in(page, live_server.clinic.users["therapist"])
    page.locator("tr[data-client='C-102']").get_by_role("button").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Form link for C-102"
    link = page.locator("#form-url").inner_text().strip()
    assert link.startswith(f"{live_server.base_url}/f/")
    assert page.locator(".qr svg[role='img']").count() == 1
    # a phone's camera sees the rendered page: the whole code must be drawn and decode
    assert _decode_qr(page.locator(".qr").screenshot()) == [link]
    screenshot(page, "form-link-qr")
    assert_accessible(page)
    # the new link opens the form
    page.goto(link)
    assert "Questionnaire 1 of" in page.locator(".progress").inner_text()


def test_supervisor_sees_the_team_page(desktop: Any, live_server: LiveServer) -> None:
    page = desktop
    log_in(page, live_server.clinic.users["supervisor"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.wait_for_url("**/team")
    names = page.locator("table.team tbody th").all_inner_texts()
    assert names == ["Alex Morgan", "Jordan Lee"]  # alphabetical, never ranked
    assert "not a measure or ranking" in page.locator("main").inner_text()
    screenshot(page, "team")
    assert_accessible(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clinic").click()
    page.wait_for_url("**/clinic")
    assert page.get_by_role("link", name=re.compile("Session scores")).count() == 1
    screenshot(page, "clinic")
    assert_accessible(page)


def test_admin_page(desktop: Any, live_server: LiveServer) -> None:
    page = desktop
    log_in(page, live_server.clinic.users["admin"])
    page.goto("/admin")
    assert "therapist@test" in page.locator("main").inner_text()
    assert page.get_by_role("heading", name="Content packs").count() == 1
    screenshot(page, "admin")
    assert_accessible(page)


def test_login_page_and_keyboard_skip_link(desktop: Any) -> None:
    page = desktop
    page.goto("/login")
    assert_accessible(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    screenshot(page, "login")


@pytest.mark.parametrize(
    ("which", "status", "heading"),
    [
        ("expired", 410, "This link has expired"),
        ("used", 409, "This form has already been sent"),
        ("unknown", 404, "This link does not work"),
    ],
)
def test_a_link_that_cannot_be_used_says_why(
    phone: Any, live_server: LiveServer, which: str, status: int, heading: str
) -> None:
    token = live_server.clinic.tokens.get(which, "not-a-real-token")
    response = phone.goto(f"/f/{token}")
    assert response is not None and response.status == status
    assert phone.get_by_role("heading", level=1).inner_text() == heading
    assert phone.locator("form").count() == 0
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone, f"link-{which}")
    assert_accessible(phone)


def test_the_form_works_without_javascript(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(
        base_url=live_server.base_url,
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
    )
    try:
        page = context.new_page()
        page.goto(f"/f/{live_server.clinic.waiting_token}")
        # without JavaScript the conditional item stays visible (and optional)
        assert page.locator("#item-sac-8").is_visible()
        for item in range(1, 11):
            if item != 8:
                page.locator(f"input[name='sac.{item}'][value='{4 if item <= 6 else 0}']").check()
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url("**/thanks")
        assert "Thank you" in page.locator("h1").inner_text()
    finally:
        context.close()


def test_keyboard_only_login_and_opening_a_client(desktop: Any, live_server: LiveServer) -> None:
    page = desktop
    page.goto("/login")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # username
    page.keyboard.type(live_server.clinic.users["therapist"])
    page.keyboard.press("Tab")  # password
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/caseload")
    # tab through the page until the first client link has focus, then open it
    for _ in range(16):  # past the menu and the banner of risk answers not yet acknowledged
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "C-101":
            break
    else:
        pytest.fail("the client link was never reached with the keyboard")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    page.keyboard.press("Enter")
    page.wait_for_url("**/clients/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Client C-101"


def test_enter_in_the_form_moves_forward_not_back(browser: Any, live_server: LiveServer) -> None:
    # a fresh two-step link for C-102 (the therapist's own client)
    context = browser.new_context(base_url=live_server.base_url)
    try:
        page = context.new_page()
        log_in(page, live_server.clinic.users["therapist"])
        page.goto(f"/clients/{live_server.clinic.clients['C-102']}")
        page.get_by_text("Questionnaires for the next form").click()
        page.locator("#choice-sac").check()
        page.locator("#choice-phq9").check()
        page.get_by_role("button", name="Create the next form link").click()
        link = page.locator("#form-url").inner_text().strip()
        assert httpx.get(link).status_code == 200
        page.goto(link)
        for fieldset in page.locator("fieldset.item").all():
            if fieldset.is_visible():
                fieldset.locator("input[type='radio']").first.check()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Questionnaire 2 of 2" in page.locator(".progress").inner_text()
        page.locator("fieldset.item input[type='radio']").first.check()
        with page.expect_navigation():
            page.keyboard.press("Enter")  # incomplete: the same step again, not the previous one
        assert "Questionnaire 2 of 2" in page.locator(".progress").inner_text()
        assert page.locator(".error-summary").is_visible()
        buttons = page.locator(".form-nav button").all()
        boxes = [b.bounding_box() for b in buttons]
        assert [b.inner_text() for b in buttons] == ["Send my answers", "Back"]
        assert boxes[1] is not None and boxes[0] is not None and boxes[1]["x"] < boxes[0]["x"]
    finally:
        context.close()


def _new_sac_link_for_c102(page: Any, live_server: LiveServer) -> str:
    """The therapist makes C-102's next link, asking the alliance check only."""
    page.goto(f"/clients/{live_server.clinic.clients['C-102']}")
    page.get_by_text("Questionnaires for the next form").click()
    for choice in page.locator("input[name='instrument']").all():
        choice.uncheck()
    page.locator("#choice-sac").check()
    page.get_by_role("button", name="Create the next form link").click()
    return str(page.locator("#form-url").inner_text().strip())


def test_a_link_replaced_while_the_client_fills_it_in_keeps_their_answers(
    browser: Any, phone: Any, live_server: LiveServer
) -> None:
    therapist = browser.new_context(base_url=live_server.base_url)
    try:
        desk = therapist.new_page()
        log_in(desk, live_server.clinic.users["therapist"])
        older = _new_sac_link_for_c102(desk, live_server)
        # the client opens the link on the phone and answers every question
        phone.goto(older)
        for fieldset in phone.locator("fieldset.item").all():
            if fieldset.is_visible():
                fieldset.locator("input[type='radio']").nth(1).check()
        # meanwhile the therapist makes a newer link for the same session
        newer = _new_sac_link_for_c102(desk, live_server)
        assert newer != older
    finally:
        therapist.close()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Send my answers").click()
    assert phone.get_by_role("heading", level=1).inner_text() == (
        "This link was replaced by a newer one"
    )
    assert "were not sent" in phone.locator("main").inner_text()
    unsent = phone.locator(".unsent-answers")
    assert unsent.get_by_role("heading", level=2).inner_text() == "Your answers (not sent)"
    assert unsent.locator("dt").count() >= 9  # every answered question, with its wording
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone, "link-replaced-answers-kept")
    assert_accessible(phone)
    # the older link now says so on opening; the newer one opens the form
    response = phone.goto(older)
    assert response is not None and response.status == 410
    assert phone.locator("form").count() == 0
    response = phone.goto(newer)
    assert response is not None and response.status == 200
    assert "Questionnaire 1 of 1" in phone.locator(".progress").inner_text()
