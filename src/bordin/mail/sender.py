"""The outbox sender: make due forms, queue reminders, send queued emails over SMTP.

One pass (:meth:`OutboxSender.run_once`):

1. in one transaction, deliver the forms that schedules say are due and queue reminders
   (needs ``BORDIN_CONTACT_KEY``);
2. claim a batch of due messages (marked ``sending`` with a lease, committed), build each
   email (messages whose form was answered meanwhile, or whose address was deleted, are
   cancelled), send them over one SMTP connection, and commit each result as it comes;
   repeat while full batches are found.

The clock is a parameter, so tests move time forward instead of waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bordin.mail.smtp import SendError, SmtpConnection, SmtpTransport
from bordin.settings import Settings
from bordin.storage import actions, transaction
from bordin.storage.actions import OutgoingEmail
from bordin.storage.contact_cipher import ContactCipher, make_cipher
from bordin.storage.models import utcnow

__all__ = ["OutboxSender", "SenderPass", "start_sender_thread"]

_log = logging.getLogger("bordin.mail")

#: batches sent in one pass before schedules are looked at again
MAX_BATCHES_PER_PASS = 20


@dataclass
class SenderPass:
    """What one pass did.

    Attributes
    ----------
    forms : int
        Forms delivered because a schedule made them due.
    reminders : int
        Reminders queued.
    claimed, sent, retried, failed, cancelled : int
        Messages claimed, accepted by the server, put back for a retry, ended as failed
        or bounced, and cancelled unsent.
    errors : list of str
        The SMTP errors met (for the log).
    """

    forms: int = 0
    reminders: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    risk_notices: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the log and the terminal."""
        return (
            f"forms {self.forms}, reminders {self.reminders}, claimed {self.claimed}, "
            f"sent {self.sent}, retried {self.retried}, failed {self.failed}, "
            f"cancelled {self.cancelled}, risk notices {self.risk_notices}"
        )


class OutboxSender:
    """Sends the outbox of the database behind ``sessions`` as ``settings`` say.

    Parameters
    ----------
    settings : Settings
        SMTP, lease, batch, backoff, reminder and link settings.
    sessions : sessionmaker
        The database.
    clock : callable, optional
        Returns the current time (timezone-aware); tests pass a controllable one.
    transport : SmtpTransport, optional
        Overrides the SMTP settings.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
        transport: SmtpTransport | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.transport = transport or SmtpTransport.from_settings(settings)
        self.cipher: ContactCipher | None = (
            make_cipher(settings.contact_key) if settings.contact_key else None
        )

    @property
    def enabled(self) -> bool:
        """Whether there is anything this sender can do (a contact key or an SMTP host)."""
        return self.cipher is not None or self.transport is not None

    def run_once(self) -> SenderPass:
        """One pass: schedules, reminders, owed risk notifications, then send until no
        full batch is left."""
        done = SenderPass()
        if self.cipher is not None:
            now = self.clock()
            with transaction(self.sessions) as db:
                done.forms = actions.queue_due_forms(
                    db,
                    cipher=self.cipher,
                    now=now,
                    lifetime=timedelta(days=self.settings.token_days),
                )
                actions.forget_spent_tokens(db, now=now)
                done.reminders = actions.queue_reminders(
                    db,
                    now=now,
                    after=timedelta(hours=self.settings.reminder_after_hours),
                    max_reminders=self.settings.max_reminders,
                )
        if self.transport is not None:
            # risk notifications owed to staff (issue 17): handed over and queued in one
            # transaction, so each is queued once (its key is the notification's)
            with transaction(self.sessions) as db:
                for owed in actions.take_risk_emails(db, base_url=self.settings.base_url):
                    actions.enqueue_email(
                        db,
                        to_user=owed.recipient_id,
                        subject=owed.subject,
                        body=owed.body,
                        idempotency_key=owed.idempotency_key,
                        kind="notification",
                    )
                    done.risk_notices += 1
        if self.transport is None or self.cipher is None:
            return done
        cipher, transport = self.cipher, self.transport
        with ExitStack() as stack:
            connection: SmtpConnection | None = None
            for _ in range(MAX_BATCHES_PER_PASS):
                claimed, batch = self._claim(cipher, done)
                for email in batch:
                    if connection is None:
                        try:
                            connection = stack.enter_context(transport.connect())
                        except SendError as exc:
                            self._record_failure(email, exc, done)
                            continue
                    try:
                        connection.send(email)
                    except SendError as exc:
                        self._record_failure(email, exc, done)
                        if not (exc.permanent or exc.bounced):
                            stack.close()  # the connection broke: open a new one
                            connection = None
                        continue
                    self._record_sent(email, done)
                if claimed < self.settings.outbox_batch:
                    break
        return done

    def _claim(self, cipher: ContactCipher, done: SenderPass) -> tuple[int, list[OutgoingEmail]]:
        """Claim a batch (committed) and build its emails; how many were claimed."""
        now = self.clock()
        ready: list[OutgoingEmail] = []
        with transaction(self.sessions) as db:
            claimed = actions.claim_due_messages(
                db,
                now=now,
                limit=self.settings.outbox_batch,
                lease=timedelta(seconds=self.settings.outbox_lease_seconds),
            )
            done.claimed += len(claimed)
            prepared = actions.prepare_emails(
                db, claimed, cipher=cipher, base_url=self.settings.base_url, now=now
            )
            for item in prepared:
                if isinstance(item, actions.NotSent) and item.retry:
                    _log.error("message %s: %s", item.outbox_id, item.reason)
                    actions.mark_message_failed(
                        db,
                        item.outbox_id,
                        attempt=item.attempt,
                        now=now,
                        error=item.reason,
                        max_attempts=self.settings.outbox_max_attempts,
                        backoff=timedelta(seconds=self.settings.outbox_backoff_seconds),
                    )
                    done.retried += 1
                elif isinstance(item, actions.NotSent):
                    actions.mark_message_cancelled(
                        db, item.outbox_id, attempt=item.attempt, reason=item.reason
                    )
                    done.cancelled += 1
                else:
                    ready.append(item)
        return len(claimed), ready

    def _record_sent(self, email: OutgoingEmail, done: SenderPass) -> None:
        with transaction(self.sessions) as db:
            kept = actions.mark_message_sent(
                db, email.outbox_id, attempt=email.attempt, now=self.clock()
            )
        if not kept:
            _log.warning("message %s: claim lost before it was marked sent", email.outbox_id)
        done.sent += 1

    def _record_failure(self, email: OutgoingEmail, exc: SendError, done: SenderPass) -> None:
        with transaction(self.sessions) as db:
            message = actions.mark_message_failed(
                db,
                email.outbox_id,
                attempt=email.attempt,
                now=self.clock(),
                error=str(exc),
                permanent=exc.permanent,
                bounced=exc.bounced,
                max_attempts=self.settings.outbox_max_attempts,
                backoff=timedelta(seconds=self.settings.outbox_backoff_seconds),
            )
        if message is not None and message.status == "queued":
            done.retried += 1
        else:
            done.failed += 1
        done.errors.append(str(exc))
        _log.warning("message %s: %s", email.outbox_id, exc)

    def run_forever(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set: at once while there is work, otherwise
        every ``outbox_poll_seconds``. A failed pass is logged and retried."""
        while not stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                _log.exception("outbox pass failed; retrying")
                done = SenderPass()
            busy = done.claimed >= self.settings.outbox_batch or done.forms or done.reminders
            if done.claimed:
                _log.info("outbox: %s", done.summary())
            if not busy:
                stop.wait(self.settings.outbox_poll_seconds)


def start_sender_thread(
    settings: Settings, sessions: sessionmaker[Session]
) -> tuple[threading.Thread, threading.Event] | None:
    """Run an :class:`OutboxSender` in a daemon thread (``bordin serve``'s in-process
    sender); None when there is nothing to run (no contact key and no SMTP host)."""
    sender = OutboxSender(settings, sessions)
    if not sender.enabled:
        return None
    stop = threading.Event()
    thread = threading.Thread(
        target=sender.run_forever, args=(stop,), name="bordin-outbox", daemon=True
    )
    thread.start()
    return thread, stop
