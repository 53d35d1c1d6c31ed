"""The clinic figures (ruptures, dropouts) of the supervisors' pages and the web report.

One place reads the clinic's scores and endings for them, so the team page, the clinic page
and the clinic report count the same thing (:mod:`bordin.analytics.clinic_figures`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from bordin.storage.models import User

__all__ = ["ALLIANCE_COLUMNS", "OUTCOME_COLUMNS", "clinic_figures", "report_inputs"]

ALLIANCE_COLUMNS = ("sac_total", "wai_sr_total")
OUTCOME_COLUMNS = ("phq9_total", "gad7_total", "core10_total", "k10_total", "ors_total")


def report_inputs(db: Session, user: User) -> dict[str, Any]:
    """What the clinic figures rest on: today's date and the clients whose treatment ended,
    as planned (or by referral) and by dropout."""
    from bordin.storage.queries import list_ended_clients

    ended, dropped_out = list_ended_clients(db, actor=user)
    return {"as_of": dt.date.today(), "ended": ended, "dropped_out": dropped_out}


def clinic_figures(db: Session, user: User) -> Any:
    """The clinic figures over the clients the user may see, or None without alliance scores.

    Returns
    -------
    ClinicFiguresResult or None
    """
    from bordin.analytics.clinic_figures import summarise_clinic
    from bordin.feedback import compute_feedback
    from bordin.storage.queries import get_clinic_scores

    frame = get_clinic_scores(db, actor=user)
    alliance = next((c for c in ALLIANCE_COLUMNS if c in frame.columns), None)
    if alliance is None or frame.empty:
        return None
    feedback = compute_feedback(
        frame, alliance=alliance, outcomes=(), norms=_current_norms(db, user, alliance)
    )
    return summarise_clinic(frame, feedback, **report_inputs(db, user))


def _current_norms(db: Session, user: User, alliance: str) -> Any:
    """The clinic's current norms snapshot, the one its client pages were computed against
    (None before the first, or if it was fitted for another alliance instrument: then the
    norms are fitted on the frame)."""
    from bordin.storage.actions._feedback import current_snapshot, snapshot_norms

    snapshot = current_snapshot(db, user.clinic_id)
    if snapshot is None:
        return None
    norms = snapshot_norms(snapshot)
    return norms if f"{norms.alliance}_total" == alliance else None
