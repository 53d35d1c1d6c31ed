"""Sending plain-text emails over SMTP (standard library ``smtplib``), one connection for
many messages, with SMTP replies turned into retry / fail / bounce decisions."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from bordin.settings import Settings
from bordin.storage.actions import OutgoingEmail

__all__ = ["SendError", "SmtpConnection", "SmtpTransport"]


class SendError(Exception):
    """An attempt failed: ``bounced`` (recipient refused for good), ``permanent`` (another
    5xx refusal) or neither (4xx or a broken connection: retry later)."""

    def __init__(self, message: str, *, permanent: bool = False, bounced: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.bounced = bounced


def _compose(email: OutgoingEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body)
    return message


@dataclass
class SmtpConnection:
    """An open SMTP session."""

    client: smtplib.SMTP
    sender: str

    def send(self, email: OutgoingEmail) -> None:
        """Send one email; return when the server accepted it.

        Raises
        ------
        SendError
            The server refused it, or the connection broke (then the connection is
            unusable: open a new one).
        """
        try:
            refused = self.client.send_message(_compose(email, self.sender))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{c} {m!r}" for c, m in exc.recipients.values())
            raise SendError(
                f"recipient refused: {detail}", bounced=all(c >= 500 for c in codes)
            ) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise SendError(
                f"refused: {exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"connection failed: {exc}") from None
        if refused:  # a single recipient: refusal raises above; kept for safety
            raise SendError(f"recipient refused: {refused}", bounced=True)


@dataclass(frozen=True)
class SmtpTransport:
    """Where and how to connect: host, port, TLS mode, credentials (from settings)."""

    host: str
    port: int
    tls: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "bordin@localhost"
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport | None:
        """The transport the settings describe, or None when no SMTP host is set."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            timeout=settings.smtp_timeout,
        )

    @contextmanager
    def connect(self) -> Iterator[SmtpConnection]:
        """An open, authenticated SMTP session, closed afterwards.

        Raises
        ------
        SendError
            The server cannot be reached, TLS or the login failed.
        """
        try:
            if self.tls == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"SMTP login failed: {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(
                f"cannot reach the SMTP server {self.host}:{self.port}: {exc}"
            ) from None
        try:
            yield SmtpConnection(client, self.sender)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
