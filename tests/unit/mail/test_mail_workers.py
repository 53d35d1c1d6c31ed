"""Senders as separate processes and threads: a worker killed (SIGKILL) in the middle of an
SMTP conversation and restarted sends nothing twice and loses nothing; two senders on
PostgreSQL share the queue without sending anything twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bordin.cli.serve import settings_environment
from bordin.mail import OutboxSender
from bordin.storage import actions, transaction
from bordin.storage.models import OutboxMessage

from .conftest import BACKENDS, Clinic

pytestmark = pytest.mark.slow


def _queue_forms(clinic: Clinic, n: int) -> None:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        for _ in range(n):
            session = actions.create_session(db, actor=t1, client_id=clinic.clients["C-01"])
            actions.deliver_form(
                db,
                actor=t1,
                cipher=clinic.cipher,
                session_id=session.id,
                instruments=["phq9"],
                language="en",
                reason="manual",
            )


def _worker(clinic: Clinic, log: Path) -> subprocess.Popen[bytes]:
    settings = clinic.settings.model_copy(
        update={"outbox_lease_seconds": 3.0, "outbox_poll_seconds": 0.2, "outbox_batch": 5}
    )
    env = {**os.environ, **settings_environment(settings)}
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bordin", "worker"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _outbox(clinic: Clinic) -> list[tuple[str, str, int, dict[str, int]]]:
    with transaction(clinic.sessions) as db:
        rows = db.execute(
            select(
                OutboxMessage.message_id,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.detail,
            ).order_by(OutboxMessage.id)
        )
        return [(m, s, a, dict(d)) for m, s, a, d in rows]


def _wait_until(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("any_clinic", BACKENDS, indirect=True)
def test_a_worker_killed_mid_send_and_restarted_sends_each_message_once(
    any_clinic: Clinic, tmp_path: Path
) -> None:
    clinic = any_clinic
    log = tmp_path / "worker.log"
    _queue_forms(clinic, 20)
    clinic.smtp.hold_recipient(8)  # the 8th message is in flight when the worker dies
    worker = _worker(clinic, log)
    try:
        assert clinic.smtp.held.wait(120), log.read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    clinic.smtp.release.set()
    assert len(clinic.smtp.received()) == 7
    states = Counter(status for _, status, _, _ in _outbox(clinic))
    assert states["sent"] == 7 and states["sending"] >= 1  # the claim survived the kill

    restarted = _worker(clinic, log)
    try:
        done = _wait_until(lambda: all(s == "sent" for _, s, _, _ in _outbox(clinic)), timeout=120)
        assert done, (_outbox(clinic), log.read_text())
    finally:
        restarted.send_signal(signal.SIGTERM)
        try:
            restarted.wait(20)
        except subprocess.TimeoutExpired:
            restarted.kill()
    received = clinic.smtp.received()
    ids = Counter(m.message_id for m in received)
    expected = {m for m, _, _, _ in _outbox(clinic)}
    assert set(ids) == expected and len(expected) == 20  # none lost
    assert max(ids.values()) == 1  # none twice
    reclaimed = [d.get("reclaimed", 0) for _, _, _, d in _outbox(clinic)]
    assert sum(reclaimed) >= 1  # the in-flight messages were taken over after the lease


@pytest.mark.parametrize("any_clinic", [p for p in BACKENDS if p.id == "postgres"], indirect=True)
def test_two_senders_on_postgres_share_the_queue(any_clinic: Clinic) -> None:
    clinic = any_clinic
    _queue_forms(clinic, 120)
    settings = clinic.settings.model_copy(update={"outbox_batch": 10})
    counts: list[int] = []

    def run() -> None:
        sender = OutboxSender(settings, clinic.sessions, clock=clinic.clock)
        sent = 0
        while True:
            done = sender.run_once()
            sent += done.sent
            if done.claimed == 0:
                break
        counts.append(sent)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    received = Counter(m.message_id for m in clinic.smtp.received())
    assert len(received) == 120 and max(received.values()) == 1
    assert sum(counts) == 120
    assert all(s == "sent" for _, s, _, _ in _outbox(clinic))
