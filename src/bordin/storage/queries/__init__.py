"""Reads: ``get_*`` (one record, or ``NotFound``) and ``list_*``; each audits client reads."""

from bordin.storage.queries.care import (
    get_client,
    get_session,
    list_clients,
    list_episodes,
    list_sessions,
)
from bordin.storage.queries.delivery import (
    NonCompleter,
    count_outbox,
    list_bookings,
    list_non_completers,
    list_schedules,
)
from bordin.storage.queries.exports import (
    RESPONSE_COLUMNS,
    export_item_responses,
    export_session_scores,
    get_clinic_scores,
    list_ended_clients,
)
from bordin.storage.queries.feedback import (
    CaseloadEntry,
    get_scores_frame,
    list_alerts,
    list_caseload,
    list_signals,
)
from bordin.storage.queries.forms import (
    FormContent,
    get_form_content,
    get_wording,
    list_form_requests,
)
from bordin.storage.queries.norms import (
    get_norms_snapshot,
    list_feedback_history,
    list_norms_snapshots,
)
from bordin.storage.queries.organisation import list_audit_events, list_teams, list_users
from bordin.storage.queries.risk import (
    count_unread_risk_notices,
    describe_risk_event,
    get_crisis_text,
    list_risk_events,
    list_risk_log,
)

__all__ = [
    "CaseloadEntry",
    "FormContent",
    "NonCompleter",
    "RESPONSE_COLUMNS",
    "count_outbox",
    "count_unread_risk_notices",
    "describe_risk_event",
    "export_item_responses",
    "export_session_scores",
    "get_client",
    "get_clinic_scores",
    "get_crisis_text",
    "get_form_content",
    "get_norms_snapshot",
    "get_scores_frame",
    "get_session",
    "get_wording",
    "list_alerts",
    "list_audit_events",
    "list_bookings",
    "list_caseload",
    "list_clients",
    "list_ended_clients",
    "list_episodes",
    "list_feedback_history",
    "list_form_requests",
    "list_non_completers",
    "list_norms_snapshots",
    "list_risk_events",
    "list_risk_log",
    "list_schedules",
    "list_sessions",
    "list_signals",
    "list_teams",
    "list_users",
]
