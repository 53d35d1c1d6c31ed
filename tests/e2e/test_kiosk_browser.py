"""Kiosk mode and the risk pathway in a browser, on a tablet (issue 17): a therapist hands
a tablet to the client for a PHQ-9, the client endorses item 9 and sees the clinic's crisis
text, the tablet locks by itself, the therapist signs in to leave kiosk mode and finds the
risk answer on the client's page; a kiosk left alone locks after its timeout. axe runs on
every kiosk and risk page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from e2e.browser_checks import assert_accessible, log_in, screenshot
from e2e.conftest import LiveServer, _watch_requests
from e2e.pages_clinic import PASSWORD

CRISIS = "Crisis line of the test clinic: 0800 111 0 111, day and night."


@pytest.fixture
def tablet(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A tablet-sized touch page (820 x 1180, like a current iPad), its own cookies."""
    context = browser.new_context(
        base_url=live_server.base_url,
        viewport={"width": 820, "height": 1180},
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


def _database(live_server: LiveServer) -> Any:
    from bordin.storage import make_engine, make_session_factory

    engine = make_engine(live_server.clinic.url)
    return engine, make_session_factory(engine)


def _set_crisis_text(live_server: LiveServer) -> None:
    from bordin.storage import transaction
    from bordin.storage.models import Clinic

    engine, factory = _database(live_server)
    try:
        with transaction(factory) as db:
            db.execute(update(Clinic).values(crisis_text=CRISIS))
    finally:
        engine.dispose()


def _start_kiosk(page: Any, live_server: LiveServer, client: str) -> None:
    log_in(page, live_server.clinic.users["therapist"])
    page.goto(f"/clients/{live_server.clinic.clients[client]}")
    page.get_by_text("Questionnaires for the next form").click()
    for box in page.locator('input[name="instrument"]').all():
        box.uncheck()
    page.locator('input[name="instrument"][value="phq9"]').check()
    page.get_by_role("button", name="Fill in on this device (kiosk)").click()
    page.wait_for_url("**/kiosk")


def test_a_client_answers_on_the_tablet_and_the_therapist_sees_the_risk_answer(
    tablet: Any, live_server: LiveServer
) -> None:
    _set_crisis_text(live_server)
    page = tablet
    page.clock.install()
    _start_kiosk(page, live_server, "C-101")
    assert_accessible(page)
    screenshot(page, "kiosk-form")
    # nothing else is reachable: the caseload sends the tablet back to the form
    page.goto("/caseload")
    page.wait_for_url("**/kiosk")
    for item in range(1, 10):
        value = "1" if item in (1, 2, 9) else "0"
        page.locator(f'input[name="phq9.{item}"][value="{value}"]').check()
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/kiosk/thanks")
    assert page.get_by_text(CRISIS).is_visible()
    assert page.get_by_text("Please give this device back to the reception desk").is_visible()
    assert_accessible(page)
    screenshot(page, "kiosk-thanks")
    page.clock.fast_forward("01:01")  # the thank-you page's minute is up
    page.wait_for_url("**/kiosk")
    assert page.get_by_role("heading", name="This device is locked").is_visible()
    assert "C-101" not in page.content()
    assert_accessible(page)
    screenshot(page, "kiosk-locked")
    page.get_by_label("Username").fill(live_server.clinic.users["therapist"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in and leave kiosk mode").click()
    page.wait_for_url(f"**/clients/{live_server.clinic.clients['C-101']}")
    banner = page.get_by_role("alert").filter(has_text="not yet acknowledged")
    assert "better off dead" in banner.inner_text()
    banner.get_by_role("link").first.click()
    page.wait_for_url("**/risk/*")
    assert_accessible(page)
    screenshot(page, "risk-answer")
    page.get_by_label("Note (what you did or plan to do)").fill("Safety plan reviewed by phone.")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/risk/*?acknowledged=1")
    assert page.get_by_text("Acknowledged; your note is saved with it.").is_visible()


def test_a_kiosk_left_alone_locks_after_its_timeout(tablet: Any, live_server: LiveServer) -> None:
    from bordin.storage import transaction
    from bordin.storage.models import KioskSession

    page = tablet
    page.clock.install()
    _start_kiosk(page, live_server, "C-101")
    page.locator('input[name="phq9.1"][value="2"]').check()
    engine, factory = _database(live_server)
    try:  # the server's clock: the kiosk's last request was longer ago than its timeout
        with transaction(factory) as db:
            kiosk = db.scalars(select(KioskSession).where(KioskSession.ended_at.is_(None))).one()
            db.execute(
                update(KioskSession)
                .where(KioskSession.id == kiosk.id)
                .values(last_seen_at=kiosk.started_at - timedelta(seconds=kiosk.timeout_seconds))
            )
            seconds = kiosk.timeout_seconds
    finally:
        engine.dispose()
    page.clock.fast_forward(seconds * 1000 + 1000)  # the page's own timer
    page.wait_for_url("**/kiosk")
    page.get_by_text("nothing happened for a while").wait_for()
    assert page.locator('input[name="phq9.1"]').count() == 0
    assert_accessible(page)


def test_the_admin_reads_the_risk_log(desktop: Any, live_server: LiveServer) -> None:
    page = desktop
    log_in(page, live_server.clinic.users["admin"])
    page.goto("/admin")
    page.get_by_role("link", name="Risk pathway").click()
    page.wait_for_url("**/admin/risk")
    page.get_by_label("Minutes before the supervisors are notified").fill("45")
    page.get_by_role("button", name="Save the risk settings").click()
    page.wait_for_url("**/admin/risk?saved=1")
    assert_accessible(page)
    screenshot(page, "risk-admin")
    page.goto("/risk")
    assert_accessible(page)
