"""bordin.analytics."""

from bordin.analytics.alert_validity import (
    ALERT_RULES,
    COMPARISON_RULES,
    AlertBurdenResult,
    AlertValidityResult,
    alert_validity,
    classification_counts,
    end_of_treatment_outcomes,
    session_alerts,
    weekly_alert_burden,
)

__all__ = [
    "ALERT_RULES",
    "AlertBurdenResult",
    "AlertValidityResult",
    "COMPARISON_RULES",
    "alert_validity",
    "classification_counts",
    "end_of_treatment_outcomes",
    "session_alerts",
    "weekly_alert_burden",
]
