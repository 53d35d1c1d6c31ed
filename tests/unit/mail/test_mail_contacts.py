"""Contact details: encrypted at rest, read only in scope and audited, deletable, never in
exports; a deleted address is never written to."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from bordin.errors import InputError, NotFound
from bordin.storage import actions, queries, transaction
from bordin.storage.contact_cipher import make_cipher, new_contact_key
from bordin.storage.models import AuditEvent, ClientContact, OutboxMessage

from .conftest import Clinic


def test_addresses_are_encrypted_at_rest(clinic: Clinic) -> None:
    url = clinic.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(url) as raw:
        dump = "\n".join(raw.iterdump())
    assert "ada@example.org" not in dump and "example.org" not in dump
    with transaction(clinic.sessions) as db:
        stored = db.scalar(
            select(ClientContact.email_enc).where(ClientContact.client_id == clinic.clients["C-01"])
        )
    assert stored is not None and b"ada" not in stored
    assert clinic.cipher.decrypt(stored) == "ada@example.org"
    with pytest.raises(InputError, match="cannot be decrypted"):
        make_cipher(new_contact_key()).decrypt(stored)
    # rotation: a new key first, the old one after it, still reads
    rotated = make_cipher(f"{new_contact_key()},{clinic.settings.contact_key}")
    assert rotated.decrypt(stored) == "ada@example.org"


def test_reads_are_scoped_and_audited(clinic: Clinic) -> None:
    with transaction(clinic.sessions) as db:
        sup = clinic.user(db, "sup")
        found = actions.read_client_contact(
            db, actor=sup, cipher=clinic.cipher, client_id=clinic.clients["C-01"]
        )
        assert found is not None and found.email == "ada@example.org"
        with pytest.raises(NotFound):
            actions.read_client_contact(
                db,
                actor=clinic.user(db, "t2"),
                cipher=clinic.cipher,
                client_id=clinic.clients["C-01"],
            )
    with transaction(clinic.sessions) as db:
        reads = db.execute(
            select(AuditEvent.actor_id, AuditEvent.client_id).where(
                AuditEvent.action == "contact.read"
            )
        ).all()
    assert reads == [(clinic.users["sup"], clinic.clients["C-01"])]


def test_bad_input_is_refused_and_nothing_stored(clinic: Clinic) -> None:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        for email in ("not an address", "a@b", "x@example.org\nBcc: y@z.org"):
            with pytest.raises(InputError, match="email"):
                actions.set_client_contact(
                    db,
                    actor=t1,
                    cipher=clinic.cipher,
                    client_id=clinic.clients["C-02"],
                    email=email,
                )
        with pytest.raises(InputError, match="international"):
            actions.set_client_contact(
                db,
                actor=t1,
                cipher=clinic.cipher,
                client_id=clinic.clients["C-02"],
                email="c@example.org",
                phone="0151 123",
            )
        assert (
            actions.read_client_contact(
                db, actor=t1, cipher=clinic.cipher, client_id=clinic.clients["C-02"]
            )
            is None
        )


def test_deleted_contact_is_gone_and_queued_mail_is_not_sent(clinic: Clinic) -> None:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
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
        assert actions.delete_client_contact(db, actor=t1, client_id=clinic.clients["C-01"])
    assert clinic.sender().run_once().cancelled == 1
    assert clinic.smtp.received() == []
    with transaction(clinic.sessions) as db:
        assert db.scalar(select(OutboxMessage.status)) == "cancelled"
        assert (
            db.scalar(
                select(ClientContact.id).where(ClientContact.client_id == clinic.clients["C-01"])
            )
            is None
        )
        assert not actions.delete_client_contact(
            db, actor=clinic.user(db, "t1"), client_id=clinic.clients["C-01"]
        )


def test_exports_never_hold_contact_details(clinic: Clinic) -> None:
    with transaction(clinic.sessions) as db:
        t1 = clinic.user(db, "t1")
        session = actions.create_session(db, actor=t1, client_id=clinic.clients["C-01"])
        actions.record_paper_form(
            db,
            actor=t1,
            session_id=session.id,
            instrument="phq9",
            answers={str(i): 1 for i in range(1, 10)},
        )
    with transaction(clinic.sessions) as db:
        admin_view = clinic.user(db, "sup")
        frames = [
            queries.export_item_responses(db, actor=admin_view),
            queries.export_session_scores(db, actor=admin_view),
        ]
    for frame in frames:
        assert len(frame) > 0
        text = frame.to_csv(index=False)
        assert "example.org" not in text
        assert not any("mail" in c or "phone" in c or "contact" in c for c in frame.columns)
