"""bordin.feedback: per-client signals for the therapist, vectorised over a whole clinic.

Ruptures and repairs, uninformative ratings, weak early alliance, outcome status,
expected trajectories and not-on-track, risk items, alerts with suggestions, the
client-therapist pair (discrepancy, one-sided ruptures) and clinical support when a
client is not on track. Every rule
cites its source in its module and in ``docs/feedback.md``.
"""

from bordin.feedback.alerts import ALERT_KINDS, Alert, alerts_to_frame
from bordin.feedback.config import FeedbackConfig
from bordin.feedback.engine import compute_feedback, detect_ruptures
from bordin.feedback.norms import ClinicNorms, FittedOn, fit_clinic_norms
from bordin.feedback.pair_validation import OneSidedScores, score_one_sided_ruptures
from bordin.feedback.pairs import (
    PAIR_ALERT_KINDS,
    PairConfig,
    PairSignalsResult,
    build_pair_table,
    detect_pair_signals,
)
from bordin.feedback.repairs import CLIENT_CODES, RUPTURE_COLUMNS
from bordin.feedback.result import FeedbackResult
from bordin.feedback.ruptures import DETECTORS
from bordin.feedback.support import SupportDomain, flag_support_domains, needs_support_check
from bordin.feedback.trajectories import COLOURS, CurveNorm, fit_curve_norm, load_norms

__all__ = [
    "ALERT_KINDS",
    "Alert",
    "CLIENT_CODES",
    "COLOURS",
    "ClinicNorms",
    "CurveNorm",
    "DETECTORS",
    "FeedbackConfig",
    "FeedbackResult",
    "FittedOn",
    "OneSidedScores",
    "PAIR_ALERT_KINDS",
    "PairConfig",
    "PairSignalsResult",
    "RUPTURE_COLUMNS",
    "SupportDomain",
    "alerts_to_frame",
    "build_pair_table",
    "compute_feedback",
    "detect_pair_signals",
    "detect_ruptures",
    "fit_clinic_norms",
    "fit_curve_norm",
    "flag_support_domains",
    "load_norms",
    "needs_support_check",
    "score_one_sided_ruptures",
]
