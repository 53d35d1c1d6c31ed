"""Email delivery: the SMTP transport and the outbox sender (an adapter, like ``storage``).

:class:`OutboxSender` makes the forms that schedules say are due, queues reminders, and
sends the outbox over SMTP; ``bordin serve`` runs one in-process, ``bordin worker`` runs
one on its own (several share a PostgreSQL queue).
"""

from bordin.mail.sender import OutboxSender, SenderPass, start_sender_thread
from bordin.mail.smtp import SendError, SmtpTransport

__all__ = ["OutboxSender", "SendError", "SenderPass", "SmtpTransport", "start_sender_thread"]
