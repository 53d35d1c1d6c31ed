"""The risk pathway (issue 17): an endorsed risk item notifies the therapist at once, the
supervisors when nobody acknowledges it in time (exactly once, also with concurrent
checkers), owed e-mails hold no clinical content, and every step is in the admin's log."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bordin.storage import actions, transaction
from bordin.storage.models import (
    Clinic,
    FormRequest,
    RiskEmail,
    RiskEvent,
    RiskLogEntry,
    StaffNotification,
    User,
)
from support.cli import run_cli
from web.service_world import BACKENDS, PHQ9_MILD, PHQ9_RISK, SAC_OK, World

API = "/api/v1"


def _event(world: World, therapist: str) -> RiskEvent:
    with transaction(world.sessions_factory) as db:
        event = db.scalar(select(RiskEvent).where(RiskEvent.client_id == world.clients[therapist]))
        assert event is not None
        db.expunge(event)
        return event


def _notified(world: World, event_id: int, reason: str) -> list[int]:
    with transaction(world.sessions_factory) as db:
        return sorted(
            db.scalars(
                select(StaffNotification.user_id).where(
                    StaffNotification.risk_event_id == event_id,
                    StaffNotification.reason == reason,
                )
            ).all()
        )


def _steps(world: World, event_id: int) -> list[str]:
    with transaction(world.sessions_factory) as db:
        return list(
            db.scalars(
                select(RiskLogEntry.step)
                .where(RiskLogEntry.risk_event_id == event_id)
                .order_by(RiskLogEntry.id)
            ).all()
        )


def _set_delay(world: World, minutes: int, clinic: str = "A") -> None:
    with transaction(world.sessions_factory) as db:
        db.execute(
            update(Clinic)
            .where(Clinic.id == world.clinics[clinic])
            .values(risk_escalate_minutes=minutes)
        )


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_an_endorsed_risk_item_notifies_the_therapist_at_once(world: World) -> None:
    event = _event(world, "ta1")
    assert (event.instrument, event.item, event.value) == ("phq9", 9, 2.0)
    assert _notified(world, event.id, "risk") == [world.users["ta1"]]
    assert _notified(world, event.id, "escalation") == []
    assert _steps(world, event.id) == ["raised", "notified", "email_queued"]
    with transaction(world.sessions_factory) as db:
        submitted = db.scalar(
            select(FormRequest.submitted_at).where(FormRequest.id == event.form_request_id)
        )
        email = db.scalar(select(RiskEmail).where(RiskEmail.recipient_id == world.users["ta1"]))
        assert email is not None and email.handed_over_at is None
        assert email.idempotency_key.startswith("risk-notification:")
    assert event.answered_at == submitted
    # an answer of 0 to the same item raises nothing
    with transaction(world.sessions_factory) as db:
        actions.record_submission(
            db, token=world.open_tokens["ta1"], answers={"phq9": PHQ9_MILD, "sac": SAC_OK}
        )
    with transaction(world.sessions_factory) as db:
        count = db.scalar(
            select(func.count())
            .select_from(RiskEvent)
            .where(RiskEvent.client_id == world.clients["ta1"])
        )
    assert count == 1


def test_the_alert_shows_the_wording_the_answer_and_the_time(world: World) -> None:
    event = _event(world, "ta1")
    ta1 = world.login("ta1")
    [shown] = ta1.get(f"{API}/risk/events").json()
    assert shown["id"] == event.id
    assert shown["wording"] == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert (shown["answer"], shown["answer_label"]) == (2.0, "More than half the days")
    assert shown["answered_at"].startswith(event.answered_at.isoformat()[:19])
    caseload = ta1.get("/caseload?format=json").json()
    assert [a["id"] for a in caseload["risk_notice"]["open"]] == [event.id]
    assert caseload["risk_notice"]["unread"] == 1
    assert "better off dead" in ta1.get("/caseload").text
    page = ta1.get(f"/risk/{event.id}?format=json").json()
    assert page["event"]["wording"] == shown["wording"]
    # opening it reads the notice (logged as viewed)
    assert ta1.get("/caseload?format=json").json()["risk_notice"]["unread"] == 0
    assert _steps(world, event.id)[-1] == "viewed"
    # outside the scope it does not exist
    for other in ("ta2", "sa_south", "tb1", "ab"):
        client = world.login(other)
        assert client.get(f"{API}/risk/events/{event.id}").status_code == 404
        assert client.get(f"/risk/{event.id}").status_code == 404
        assert event.id not in [e["id"] for e in client.get(f"{API}/risk/events").json()]
    assert world.login("sa_north").get(f"{API}/risk/events/{event.id}").status_code == 200


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_escalation_fires_after_the_delay_and_only_once(world: World) -> None:
    _set_delay(world, 30)
    ta1, ta3 = _event(world, "ta1"), _event(world, "ta3")
    start = max(ta1.answered_at, ta3.answered_at)
    with transaction(world.sessions_factory) as db:
        early = actions.escalate_overdue_risks(db, now=start + timedelta(minutes=29))
    assert early == []
    with transaction(world.sessions_factory) as db:
        done = actions.escalate_overdue_risks(db, now=start + timedelta(minutes=30))
        escalated = sorted(e.client_id for e in done)
    # clinic A's three therapists; clinic B keeps its 60 minutes
    assert escalated == sorted(world.clients[t] for t in ("ta1", "ta2", "ta3"))
    assert _notified(world, ta1.id, "escalation") == [world.users["sa_north"]]
    assert _notified(world, ta3.id, "escalation") == [world.users["sa_south"]]
    for later in (31, 120, 10_000):
        with transaction(world.sessions_factory) as db:
            again = actions.escalate_overdue_risks(db, now=start + timedelta(minutes=later))
        assert [e.clinic_id for e in again] == ([world.clinics["B"]] if later == 120 else [])
    assert _notified(world, ta1.id, "escalation") == [world.users["sa_north"]]
    assert _steps(world, ta1.id).count("escalated") == 1
    with transaction(world.sessions_factory) as db:
        emails = db.scalar(
            select(func.count())
            .select_from(RiskEmail)
            .where(RiskEmail.recipient_id == world.users["sa_north"])
        )
    assert emails == 2  # ta1's and ta2's clients (team north), one e-mail each


def test_an_answer_acknowledged_in_time_is_never_escalated(world: World) -> None:
    _set_delay(world, 30)
    event = _event(world, "ta1")
    response = world.login("ta1").post(
        f"{API}/risk/events/{event.id}/acknowledge", json={"note": "called the client"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged"]["note"] == "called the client"
    with transaction(world.sessions_factory) as db:
        done = actions.escalate_overdue_risks(db, now=event.answered_at + timedelta(days=2))
    assert world.clients["ta1"] not in [e.client_id for e in done]
    assert _notified(world, event.id, "escalation") == []
    assert "acknowledged" in _steps(world, event.id)


def test_without_an_active_supervisor_the_clinic_admins_are_notified(world: World) -> None:
    with transaction(world.sessions_factory) as db:
        db.execute(update(User).where(User.id == world.users["sb"]).values(active=False))
    event = _event(world, "tb1")
    with transaction(world.sessions_factory) as db:
        actions.escalate_overdue_risks(db, now=event.answered_at + timedelta(hours=1))
    assert _notified(world, event.id, "escalation") == [world.users["ab"]]


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_concurrent_checkers_escalate_each_answer_exactly_once(world: World) -> None:
    _set_delay(world, 5)
    _set_delay(world, 5, "B")
    now = _event(world, "ta1").answered_at + timedelta(hours=1)
    barrier = threading.Barrier(4)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            barrier.wait()
            with transaction(world.sessions_factory) as db:
                results.append([e.id for e in actions.escalate_overdue_risks(db, now=now)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    flat = sorted(i for found in results for i in found)
    assert len(flat) == len(set(flat)) == 4  # the four therapists' answers, once each
    with transaction(world.sessions_factory) as db:
        per_event = db.execute(
            select(StaffNotification.risk_event_id, func.count())
            .where(StaffNotification.reason == "escalation")
            .group_by(StaffNotification.risk_event_id)
        ).all()
    assert sorted(n for _, n in per_event) == [1, 1, 1, 1]


@pytest.mark.parametrize("world", [p for p in BACKENDS if p.id == "postgres"], indirect=True)
def test_a_checker_skips_answers_another_checker_holds(world: World) -> None:
    _set_delay(world, 5)
    now = _event(world, "ta1").answered_at + timedelta(hours=1)
    first = world.sessions_factory()
    try:
        held = actions.escalate_overdue_risks(first, now=now)  # locked, not committed
        assert len(held) == 3
        with transaction(world.sessions_factory) as db:
            assert actions.escalate_overdue_risks(db, now=now) == []  # SKIP LOCKED
        first.commit()
    finally:
        first.close()
    with transaction(world.sessions_factory) as db:
        assert actions.escalate_overdue_risks(db, now=now) == []
    assert _steps(world, _event(world, "ta1").id).count("escalated") == 1


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_owed_emails_are_handed_over_once_without_clinical_content(world: World) -> None:
    event = _event(world, "ta1")
    with transaction(world.sessions_factory) as db:
        owed = actions.take_risk_emails(db, base_url="https://bordin.example")
    assert len(owed) == 4  # one per therapist of the world
    mine = next(m for m in owed if m.recipient_id == world.users["ta1"])
    assert mine.to == "ta1@test"
    assert mine.idempotency_key.startswith("risk-notification:")
    assert f"https://bordin.example/risk/{event.id}" in mine.body
    for forbidden in ("ta1-c1", "PHQ", "phq9", "dead", "item 9", "More than half"):
        assert forbidden not in mine.subject + mine.body
    with transaction(world.sessions_factory) as db:
        assert actions.take_risk_emails(db, base_url="https://bordin.example") == []
    assert "email_handed_over" in _steps(world, event.id)


def test_a_paper_form_with_a_risk_item_notifies_too(world: World) -> None:
    with transaction(world.sessions_factory) as db:
        actor = db.get(User, world.users["ta2"])
        assert actor is not None
        actions.record_paper_form(
            db,
            actor=actor,
            session_id=world.sessions["ta2-2"],
            instrument="phq9",
            answers=PHQ9_RISK,
        )
    with transaction(world.sessions_factory) as db:
        events = db.scalars(
            select(RiskEvent).where(RiskEvent.session_id == world.sessions["ta2-2"])
        ).all()
        assert [(e.item, e.entered_by) for e in events] == [(9, world.users["ta2"])]
    assert _notified(world, events[0].id, "risk") == [world.users["ta2"]]


def test_the_risk_log_is_for_the_admin(world: World) -> None:
    event = _event(world, "ta1")
    log = world.login("aa").get(f"{API}/risk/log").json()
    steps = [(e["risk_event"], e["step"]) for e in log]
    assert (event.id, "raised") in steps and (event.id, "email_queued") in steps
    assert {e["client"] for e in log} == {"ta1-c1", "ta2-c1", "ta3-c1"}
    page = world.login("aa").get("/admin/risk?format=json").json()
    assert [e["id"] for e in page["log"]] == [e["id"] for e in log]
    assert all(e["client"] == "tb1-c1" for e in world.login("ab").get(f"{API}/risk/log").json())
    for refused in ("ta1", "sa_north"):
        client = world.login(refused)
        assert client.get(f"{API}/risk/log").status_code == 403
        assert client.get("/admin/risk").status_code == 403


def test_the_crisis_text_is_shown_after_a_form_with_a_risk_item(world: World) -> None:
    admin = world.login("aa")
    text = "Crisis line: 0800 111 0 111 (day and night). Emergency: 112."
    response = admin.put(
        f"{API}/clinic/risk-settings", json={"crisis_text": text, "escalate_minutes": 45}
    )
    assert response.status_code == 200, response.text
    assert (
        world.login("ta1")
        .put(f"{API}/clinic/risk-settings", json={"crisis_text": "x", "escalate_minutes": 5})
        .status_code
        == 403
    )
    phone = world.anonymous()
    with transaction(world.sessions_factory) as db:
        actions.record_submission(
            db, token=world.open_tokens["ta1"], answers={"phq9": PHQ9_MILD, "sac": SAC_OK}
        )
    page = phone.get(f"/f/{world.open_tokens['ta1']}/thanks")
    assert page.status_code == 200 and "0800 111 0 111" in page.text
    assert (
        phone.get(f"/f/{world.open_tokens['ta1']}/thanks?format=json").json()["crisis_text"] == text
    )
    # a form without a risk item shows no crisis text
    with transaction(world.sessions_factory) as db:
        therapist = db.get(User, world.users["ta2"])
        assert therapist is not None
        _, token = actions.create_form_request(
            db, actor=therapist, session_id=world.sessions["ta2-2"], instruments=["sac"]
        )
        actions.record_submission(db, token=token, answers={"sac": SAC_OK})
    assert "0800 111 0 111" not in phone.get(f"/f/{token}/thanks").text
    with transaction(world.sessions_factory) as db:
        minutes = db.scalar(
            select(Clinic.risk_escalate_minutes).where(Clinic.id == world.clinics["A"])
        )
    assert minutes == 45


def test_the_admin_page_saves_the_risk_settings_and_names_a_bad_value(world: World) -> None:
    admin = world.login("aa")
    csrf = admin.cookies.get("bordin_csrf")
    bad = admin.post(
        "/admin/risk",
        data={"csrf_token": csrf, "crisis_text": "Call 112", "escalate_minutes": "soon"},
    )
    assert bad.status_code == 422 and "soon" in bad.text
    good = admin.post(
        "/admin/risk",
        data={"csrf_token": csrf, "crisis_text": "Call 112", "escalate_minutes": "20"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert admin.get("/admin/risk?format=json").json()["settings"] == {
        "crisis_text": "Call 112",
        "escalate_minutes": 20,
    }


def test_the_services_lifespan_loop_escalates(world: World) -> None:
    from fastapi.testclient import TestClient

    from bordin.web import create_app

    _set_delay(world, 1)
    event = _event(world, "ta1")
    with transaction(world.sessions_factory) as db:
        db.execute(
            update(RiskEvent)
            .where(RiskEvent.id == event.id)
            .values(answered_at=event.answered_at - timedelta(minutes=5))
        )
    app = create_app(world.settings.model_copy(update={"risk_check_seconds": 0.05}))
    try:
        with TestClient(app):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _notified(world, event.id, "escalation"):
                time.sleep(0.1)
    finally:
        app.state.bordin.engine.dispose()
    assert _notified(world, event.id, "escalation") == [world.users["sa_north"]]


def test_the_cli_escalates_with_a_given_clock(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_delay(world, 30)
    event = _event(world, "ta1")
    early = (event.answered_at + timedelta(minutes=10)).isoformat()
    code, out, _ = run_cli(["risk", "escalate", "--db", world.database_url, "--at", early], capsys)
    assert (code, out.splitlines()[0]) == (0, "0 risk answer(s) escalated to the supervisors")
    later = (event.answered_at + timedelta(minutes=31)).isoformat()
    args = ["risk", "escalate", "--db", world.database_url, "--at", later, "--json"]
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and out.count('"risk_event"') == 3
    code, out, _ = run_cli(args, capsys)
    assert out.strip() == '{"escalated": []}'
    code, _, err = run_cli(
        ["risk", "escalate", "--db", world.database_url, "--at", "2026-01-01T09:00"], capsys
    )
    assert code != 0 and "UTC offset" in err


def test_the_demo_shows_a_risk_case(tmp_path: Path) -> None:
    from bordin.storage import make_engine, make_session_factory
    from bordin.web.demo import DEMO_CRISIS_TEXT, create_demo_clinic

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    create_demo_clinic(url, password="demo password 123", n_clients=9)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as db:
            [event] = db.scalars(select(RiskEvent)).all()
            therapist = db.scalar(select(User).where(User.username == "therapist@demo"))
            assert therapist is not None and event.therapist_id == therapist.id
            assert (event.instrument, event.item, event.acknowledged_at) == ("phq9", 9, None)
            assert db.scalar(select(Clinic.crisis_text)) == DEMO_CRISIS_TEXT
            notices = db.scalars(select(StaffNotification.user_id)).all()
            assert notices == [therapist.id]
    finally:
        engine.dispose()
