"""The alert settings before docs/alert-validity.md chose the defaults in force, for tests
that compare the two."""

from __future__ import annotations

from bordin.feedback import FeedbackConfig

#: Finch et al.'s 0.90 level, yellow an alert, unrepaired ruptures shown for 6 sessions,
#: weak early alliance until session 6 (``early_session`` 3 + 3 more sessions).
PREVIOUS = FeedbackConfig(
    not_on_track_level=0.90,
    early_slope_threshold=-0.15,
    yellow_alert=True,
    unrepaired_alert_sessions=6,
    early_alert_sessions=4,
)
