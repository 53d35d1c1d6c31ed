"""Email delivery through the outbox: messages per second, none lost, none duplicated.

Queues ``--forms`` (10,000) due forms through the real path (``actions.deliver_form``: a
form link, its delivery row and its queued email, one transaction per batch), then sends
them through a local SMTP server (aiosmtpd, in its own process, counting every
Message-ID it accepts) with sender processes (:class:`bordin.mail.OutboxSender`):

* one sender on SQLite;
* one and two senders on PostgreSQL (when ``BORDIN_BENCH_POSTGRES_URL`` or
  ``BORDIN_TEST_POSTGRES_URL`` names a server), sharing the queue with
  ``SELECT ... FOR UPDATE SKIP LOCKED``.

Each run starts from the same queued database (a copied file, or a PostgreSQL template
database) and is checked: every message accepted by the server exactly once, every outbox
row ``sent``. The reference, measured in the same run against the same server, is raw
``smtplib``: one connection sending prebuilt messages of the same size, with no database.

Run: ``python benchmarks/outbox_delivery.py`` (``--forms 2000`` for a quick look).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import secrets
import shutil
import smtplib
import socket
import sys
import tempfile
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import bordin

FORMS_PER_CLIENT = 5
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sink_main(port: int, conn: Any) -> None:
    """The SMTP server process: counts accepted Message-IDs; answers report/reset/stop."""
    from aiosmtpd.controller import Controller

    counts: Counter[str] = Counter()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            found = _MESSAGE_ID.search(bytes(envelope.content))
            counts[found.group(1).decode() if found else "(none)"] += 1
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    conn.send("ready")
    while True:
        command = conn.recv()
        if command == "report":
            conn.send(dict(counts))
        elif command == "reset":
            counts.clear()
            conn.send("ok")
        else:
            controller.stop()
            conn.send("ok")
            return


def _sender_main(settings: dict[str, Any], ready: Any, go: Any, out: Any) -> None:
    """A sender process: waits for the start, sends until the queue is empty."""
    from bordin.mail import OutboxSender
    from bordin.settings import Settings
    from bordin.storage import make_engine, make_session_factory

    config = Settings(**settings)
    engine = make_engine(config.database_url)
    sender = OutboxSender(config, make_session_factory(engine))
    ready.put(os.getpid())
    go.wait()
    sent = 0
    while True:
        done = sender.run_once()
        sent += done.sent
        if done.claimed == 0:
            break
    engine.dispose()
    out.put(sent)


def _queue_forms(url: str, n_forms: int, contact_key: str) -> float:
    """Build a clinic and queue ``n_forms`` due forms through ``deliver_form``; seconds."""
    from argon2 import PasswordHasher

    from bordin.storage import actions, make_engine, make_session_factory, transaction
    from bordin.storage.contact_cipher import make_cipher
    from bordin.storage.migrate import upgrade_database

    upgrade_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    cipher = make_cipher(contact_key)
    started = time.perf_counter()
    with transaction(factory) as db:
        clinic = actions.create_clinic(db, actor=None, name="Benchmark Clinic")
        therapist = actions.create_user(
            db,
            actor=None,
            clinic_id=clinic.id,
            username="t@bench.test",
            password=None,
            password_hash=PasswordHasher(time_cost=1, memory_cost=1024).hash("unused"),
            role="therapist",
            code="t",
        )
    n_clients = -(-n_forms // FORMS_PER_CLIENT)
    made = 0
    for first in range(0, n_clients, 100):
        with transaction(factory) as db:
            for index in range(first, min(first + 100, n_clients)):
                client = actions.create_client(db, actor=therapist, code=f"B-{index:05d}")
                actions.set_client_contact(
                    db,
                    actor=therapist,
                    cipher=cipher,
                    client_id=client.id,
                    email=f"client{index}@bench.test",
                )
                for _ in range(FORMS_PER_CLIENT):
                    if made == n_forms:
                        break
                    session = actions.create_session(db, actor=therapist, client_id=client.id)
                    actions.deliver_form(
                        db,
                        actor=therapist,
                        cipher=cipher,
                        session_id=session.id,
                        instruments=["phq9"],
                        language="en",
                        reason="manual",
                    )
                    made += 1
    engine.dispose()
    return time.perf_counter() - started


def _check(url: str, counts: dict[str, int], n_forms: int) -> tuple[int, int, int]:
    """(lost, duplicated, rows not sent): all three must be 0."""
    from sqlalchemy import select

    from bordin.storage import make_engine, make_session_factory
    from bordin.storage.models import OutboxMessage

    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        rows = db.execute(select(OutboxMessage.message_id, OutboxMessage.status)).all()
    engine.dispose()
    expected = {message_id for message_id, _ in rows}
    lost = len(expected - set(counts)) + (n_forms - len(rows))
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    unsent = sum(1 for _, status in rows if status != "sent")
    return lost, duplicated, unsent


def _send(
    url: str, workers: int, settings: dict[str, Any], sink: Any, n_forms: int
) -> dict[str, Any]:
    """Run ``workers`` sender processes on the queued database at ``url``; the result."""
    context = mp.get_context("spawn")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    sink.send("reset")
    sink.recv()
    config = {**settings, "database_url": url}
    processes = [
        context.Process(target=_sender_main, args=(config, ready, go, out)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=300)
    started = time.perf_counter()
    go.set()
    sent = [out.get(timeout=3600) for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join(60)
    sink.send("report")
    counts = sink.recv()
    lost, duplicated, unsent = _check(url, counts, n_forms)
    return {
        "workers": workers,
        "seconds": seconds,
        "rate": n_forms / seconds,
        "per_worker": sent,
        "lost": lost,
        "duplicated": duplicated,
        "unsent": unsent,
    }


def _raw_smtplib(port: int, n: int, sink: Any) -> float:
    """Messages per second of plain smtplib on one connection (no database)."""
    sink.send("reset")
    sink.recv()
    body = (
        "Benchmark Clinic asks you to fill in a short form before your session.\n\n"
        f"http://127.0.0.1:8000/f/{secrets.token_urlsafe(32)}\n\n"
        "This link is for you alone; please do not forward it.\n"
    )
    messages = []
    for index in range(n):
        message = EmailMessage()
        message["From"] = "forms@bench.test"
        message["To"] = f"client{index}@bench.test"
        message["Subject"] = "Benchmark Clinic: a short form"
        message["Message-ID"] = f"<raw{index}@bench.test>"
        message.set_content(body)
        messages.append(message)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for message in messages:
            client.send_message(message)
    seconds = time.perf_counter() - started
    sink.send("report")
    counts = sink.recv()
    if len(counts) != n or max(counts.values()) != 1:
        raise SystemExit("the reference lost or duplicated messages")
    return n / seconds


def _pg(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100, help="messages claimed at once")
    args = parser.parse_args(argv)
    from bordin.storage.contact_cipher import new_contact_key

    n = args.forms
    port = _free_port()
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_sink_main, args=(port, child), daemon=True)
    server.start()
    parent.recv()
    key = new_contact_key()
    settings: dict[str, Any] = {
        "secret_key": secrets.token_urlsafe(32),
        "contact_key": key,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "smtp_from": "forms@bench.test",
        "outbox_batch": args.batch,
        "outbox_lease_seconds": 600.0,
        "max_reminders": 0,
        "base_url": "http://127.0.0.1:8000",
    }
    results: list[tuple[str, dict[str, Any]]] = []
    print(f"bordin {bordin.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print(f"{n} forms queued through actions.deliver_form, batch {args.batch}\n")
    folder = Path(tempfile.mkdtemp(prefix="bordin-outbox-bench-"))
    try:
        reference = _raw_smtplib(port, n, parent)
        print(f"reference: raw smtplib, one connection: {reference:,.0f} messages/s")
        template = folder / "queued.sqlite"
        setup = _queue_forms(f"sqlite:///{template}", n, key)
        print(f"queued on SQLite in {setup:.1f} s")
        run = folder / "run.sqlite"
        shutil.copyfile(template, run)
        results.append(("SQLite", _send(f"sqlite:///{run}", 1, settings, parent, n)))
        pg = os.environ.get("BORDIN_BENCH_POSTGRES_URL") or os.environ.get(
            "BORDIN_TEST_POSTGRES_URL"
        )
        if pg:
            from sqlalchemy.engine import make_url

            name = f"bordin_bench_{secrets.token_hex(4)}"
            base = make_url(pg)
            _pg(pg, f'CREATE DATABASE "{name}"')
            try:
                template_url = base.set(database=name).render_as_string(hide_password=False)
                setup = _queue_forms(template_url, n, key)
                print(f"queued on PostgreSQL in {setup:.1f} s")
                for workers in (1, 2):
                    copy = f"{name}_{workers}"
                    _pg(pg, f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
                    try:
                        url = base.set(database=copy).render_as_string(hide_password=False)
                        results.append(("PostgreSQL", _send(url, workers, settings, parent, n)))
                    finally:
                        _pg(pg, f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
            finally:
                _pg(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print("PostgreSQL skipped: set BORDIN_BENCH_POSTGRES_URL")
    finally:
        parent.send("stop")
        parent.recv()
        server.join(10)
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(
        f"{'backend':<11} {'senders':>7} {'seconds':>8} {'msg/s':>8} {'ratio':>6}  "
        f"{'lost':>4} {'dup':>4} {'unsent':>6}  per sender"
    )
    failed = False
    for backend, r in results:
        print(
            f"{backend:<11} {r['workers']:>7} {r['seconds']:>8.1f} {r['rate']:>8.0f} "
            f"{r['rate'] / reference:>6.3f}  {r['lost']:>4} {r['duplicated']:>4} "
            f"{r['unsent']:>6}  {r['per_worker']}"
        )
        failed |= bool(r["lost"] or r["duplicated"] or r["unsent"])
    print(
        f"\nratio: Bordin's messages/s over raw smtplib's ({reference:,.0f}/s) to the same server"
    )
    if failed:
        print("FAILED: a message was lost, duplicated or not marked sent", file=sys.stderr)
        return 1
    print("every message accepted exactly once and marked sent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
