"""Writes: each takes the acting user (or token) as a keyword, audits in the same
transaction and recomputes the client's feedback there when responses change."""

from bordin.storage.actions.accounts import (
    RESET_LINK_LIFETIME,
    change_own_password,
    create_password_reset,
    find_password_reset,
    reset_password,
    set_user_active,
    update_user,
)
from bordin.storage.actions.alerts import acknowledge_alert
from bordin.storage.actions.auth import authenticate_session, log_in, log_out
from bordin.storage.actions.care import (
    CLOSE_REASONS,
    close_episode,
    create_client,
    create_session,
    open_episode,
)
from bordin.storage.actions.care_changes import (
    MISSED_KINDS,
    change_session_date,
    record_missed_session,
    record_paper_form,
    rename_client,
    set_form_defaults,
    transfer_client,
)
from bordin.storage.actions.clinic_settings import clinic_today, set_clinic_timezone
from bordin.storage.actions.contacts import (
    ContactDetails,
    delete_client_contact,
    read_client_contact,
    set_client_contact,
)
from bordin.storage.actions.content import upload_content_pack
from bordin.storage.actions.delivery import (
    deliver_form,
    forget_spent_tokens,
    mark_filled_on_paper,
    queue_reminders,
    resend_form,
)
from bordin.storage.actions.forms import (
    DEFAULT_LINK_LIFETIME,
    create_form_request,
    find_form_request,
    record_submission,
    record_submissions,
    validate_answers,
)
from bordin.storage.actions.history import HistoryImport, import_endings, import_history
from bordin.storage.actions.imports import import_responses
from bordin.storage.actions.kiosk import (
    end_kiosk,
    find_kiosk,
    kiosk_form_token,
    lock_kiosk,
    start_kiosk,
)
from bordin.storage.actions.norms import (
    NormsDue,
    norms_due,
    refresh_clinic_norms,
    refresh_due_norms,
)
from bordin.storage.actions.organisation import (
    create_clinic,
    create_team,
    create_user,
    set_password,
)
from bordin.storage.actions.outbox import (
    claim_due_messages,
    enqueue_email,
    mark_message_cancelled,
    mark_message_failed,
    mark_message_sent,
    message_id_for,
)
from bordin.storage.actions.outgoing import NotSent, OutgoingEmail, prepare_emails
from bordin.storage.actions.risk import (
    acknowledge_risk,
    notify_risk,
    open_risk_event,
    raise_risk_events,
    set_risk_settings,
)
from bordin.storage.actions.risk_emails import OwedEmail, take_risk_emails
from bordin.storage.actions.risk_escalation import escalate_overdue_risks
from bordin.storage.actions.schedules import (
    SCHEDULE_MODES,
    book_session,
    cancel_booking,
    queue_due_forms,
    set_delivery_schedule,
)
from bordin.storage.actions.therapist import THERAPIST_CHECK, record_therapist_check
from bordin.storage.actions.uploads import UPLOAD_LIFETIME, confirm_import, stage_import

__all__ = [
    "CLOSE_REASONS",
    "ContactDetails",
    "DEFAULT_LINK_LIFETIME",
    "HistoryImport",
    "MISSED_KINDS",
    "NormsDue",
    "NotSent",
    "OutgoingEmail",
    "OwedEmail",
    "RESET_LINK_LIFETIME",
    "SCHEDULE_MODES",
    "THERAPIST_CHECK",
    "UPLOAD_LIFETIME",
    "acknowledge_alert",
    "acknowledge_risk",
    "authenticate_session",
    "book_session",
    "cancel_booking",
    "change_own_password",
    "change_session_date",
    "claim_due_messages",
    "clinic_today",
    "close_episode",
    "confirm_import",
    "create_client",
    "create_clinic",
    "create_form_request",
    "create_password_reset",
    "create_session",
    "create_team",
    "create_user",
    "delete_client_contact",
    "deliver_form",
    "end_kiosk",
    "enqueue_email",
    "escalate_overdue_risks",
    "find_form_request",
    "find_kiosk",
    "find_password_reset",
    "forget_spent_tokens",
    "import_endings",
    "import_history",
    "import_responses",
    "kiosk_form_token",
    "lock_kiosk",
    "log_in",
    "log_out",
    "mark_filled_on_paper",
    "mark_message_cancelled",
    "mark_message_failed",
    "mark_message_sent",
    "message_id_for",
    "norms_due",
    "notify_risk",
    "open_episode",
    "open_risk_event",
    "prepare_emails",
    "queue_due_forms",
    "queue_reminders",
    "raise_risk_events",
    "read_client_contact",
    "record_missed_session",
    "record_paper_form",
    "record_submission",
    "record_submissions",
    "record_therapist_check",
    "refresh_clinic_norms",
    "refresh_due_norms",
    "rename_client",
    "resend_form",
    "reset_password",
    "set_client_contact",
    "set_clinic_timezone",
    "set_delivery_schedule",
    "set_form_defaults",
    "set_password",
    "set_risk_settings",
    "set_user_active",
    "stage_import",
    "start_kiosk",
    "take_risk_emails",
    "transfer_client",
    "update_user",
    "upload_content_pack",
    "validate_answers",
]
