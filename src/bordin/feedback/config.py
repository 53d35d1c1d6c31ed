"""Every threshold of the feedback rules, as one frozen configuration object.

Each default is the value named by the source the rule cites (see ``docs/feedback.md``),
except the settings that decide how many alerts a therapist sees (``not_on_track_level``,
``early_slope_threshold``, ``yellow_alert``, ``unrepaired_alert_sessions``,
``early_alert_sessions``): these were chosen by the burden analysis of
``docs/alert-validity.md`` on Bordin's simulator (``benchmarks/alert_validity.py``), which
keeps the weekly share of clients with an open alert within Lambert's fifth to a third while
catching at least 80% of eventual deteriorators. Changing a value is a clinic's decision and
is recorded in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from bordin.errors import InputError

__all__ = ["LEADING_DETECTORS", "FeedbackConfig", "LeadingDetector"]

#: The rupture detectors that can lead (whose events a therapist sees).
LeadingDetector = Literal["adaptive", "bordin"]
LEADING_DETECTORS: Final[tuple[str, ...]] = get_args(LeadingDetector)


@dataclass(frozen=True)
class FeedbackConfig:
    """Thresholds of the feedback rules.

    Parameters
    ----------
    sd_k_sensitive
        Multiple of the SD for the sensitive rupture criterion (Strauss et al., 2006): 1.
    sd_k_strict
        Multiple of the SD for the strict rupture criterion (Stiles et al., 2004): 2.
    sd_min_sessions
        Sessions a client needs before their own within-client SD is used; until then the
        clinic's within-client SD alone is the scale (Gumz et al., 2012).
    clinic_sd_min_df
        Pooled within-client degrees of freedom the clinic needs (over sessions up to *t*)
        before its within-client SD is used at session *t*.
    item_threshold
        A rupture item (tension, feeling misunderstood, wanting to withdraw; 0-4) at or above
        this value counts as a self-reported rupture marker.
    alliance_reliable_change
        Reliable-change threshold (scale points) for the alliance total, for the
        reliable-change rupture criterion; None takes it from the instrument definition (the
        session alliance check and the WAI-SR define none, so the criterion is skipped unless
        a clinic sets one from its own reliability data).
    bordin_blend
        Weight of the previous session in Bordin's baseline; the rest is the client's
        exponentially weighted running level.
    bordin_halflife
        Half-life, in sessions, of the running level in Bordin's baseline.
    bordin_threshold
        Evidence score at or above which Bordin's detector reports a rupture in a session
        where rupture items were asked.
    bordin_threshold_no_items
        The same for a session without rupture items (an instrument such as the WAI-SR):
        the evidence is then the alliance drop alone.
    bordin_item_weight
        Evidence added per point of the summed rupture items (tension, feeling
        misunderstood, withdrawal).
    rupture_detector
        The rupture detector that leads: its events on the alliance total are the ruptures,
        repair status and rupture alerts a therapist sees (the sessions table's
        ``alliance_baseline``, ``alliance_evidence``, ``rupture_onset`` and rupture counts,
        the client table, the alerts, pages, report and exports). ``"adaptive"`` (default):
        every parameter estimated from the clinic (:mod:`bordin.feedback._adaptive`), its
        evidence the posterior probability of a rupture; on the independent validation
        family of docs/feedback-validation.md it is within 0.03 F1 of an oracle-tuned rule
        in far more settings than the fixed-constant detector. ``"bordin"``: the
        fixed-constant detector (``bordin_*`` fields), its evidence a drop in SD units plus
        weighted rupture items; set it (with ``adaptive_in_norms=False``) to get the
        feedback as it was before the adaptive detector led. Both are reported either way
        (``result.ruptures``, column ``detector``) while the adaptive detector's parameters
        are fitted (``adaptive_in_norms``).
    adaptive_min_residuals
        Prediction residuals (pooled over session numbers up to *t*) the clinic needs before
        the adaptive detector fits its mixture at session *t*; until then it flags a drop of
        ``sd_k_strict`` residual SDs. A reliability requirement of a two-component mixture,
        not a tuned value.
    adaptive_in_norms
        Fit the adaptive detector's parameters into the clinic norms (``rupture_model``),
        so that ``detect_ruptures(..., detector="adaptive", norms=...)`` uses the clinic's
        parameters for a single client: on by default, so that a client judged alone against
        the clinic's norms (the service's path) gets what ``compute_feedback`` on the whole
        clinic gives. Off, the adaptive detector is not reported (unless it leads) and
        fits its parameters on the data it is given; off with ``rupture_detector="bordin"``
        is the feedback before the adaptive detector led, without the fit's cost.
    repair_window
        Sessions after onset within which alliance must return to its pre-rupture level for
        the rupture to count as repaired (McLaughlin et al., 2014 use a V-shape over 3).
    ceiling_sessions
        Consecutive sessions at the scale maximum, or with no variation, that make the ratings
        uninformative.
    early_session
        Session by which early alliance is judged (Zilcha-Mano, 2017 use sessions 1-3).
    early_percentile
        Clinic percentile (0-100) below which early alliance is weak when the instrument has
        no concern cutoff.
    early_slope_threshold
        An early least-squares slope (scale points per session) at or below this is falling:
        -0.35, chosen by the burden analysis of docs/alert-validity.md on the simulator (with
        the other defaults, -0.35 instead of -0.15 flags fewer clients over treatment, 76.3%
        instead of 78.7%, at the same sensitivity for deterioration, 0.99). A clinic can set
        it back to -0.15.
    early_alert_sessions
        Sessions for which weak early alliance is shown as an alert, from ``early_session``
        on: 1, at the session it is judged (session 3) only. Chosen by the burden analysis
        of docs/alert-validity.md on the simulator; the signal itself stays in the sessions
        table (``weak_early_alliance``, carried forward). The earlier rule showed it until
        twice ``early_session`` (4 sessions); a clinic can set that back.
    not_on_track_level
        One-sided level of the prediction limit for not-on-track: 0.95. Finch et al. (2001)
        used 0.90; 0.95 was chosen by the burden analysis of docs/alert-validity.md on the
        simulator (the red alert's weekly burden 7.4% of active clients instead of 14.6%,
        still catching 0.87 of eventual deteriorators before their last session instead of
        0.95). A clinic can set it back to 0.90.
    yellow_alert
        Whether the yellow colour (less progress than the expected curve, but within the
        limit) raises a ``not_on_track`` alert: False. The colour is shown on the chart and
        in the caseload either way. Lambert's system flagged yellow too (Lambert et al.,
        2002), but on the simulator yellow alone held 43.7% of active clients in the median
        week at level 0.90 (47.8% at 0.95), above the fifth to a third of Lambert's systems
        by itself (docs/alert-validity.md). A clinic can set it back to True.
    unrepaired_alert_sessions
        Sessions for which an unrepaired rupture is shown as an alert, from the one at which
        it is declared unrepaired: 1. Chosen by the burden analysis of docs/alert-validity.md
        on the simulator (the earlier rule showed it for 6 sessions); the rupture stays on the
        chart and in the rupture table. A clinic can set it back.
    min_clinic_clients
        Clients reaching session 3 needed before expected curves are fitted on the clinic's own
        data instead of the bundled norms.
    response_fraction
        Reduction from intake that counts as response where the instrument defines it (50%).
    """

    sd_k_sensitive: float = 1.0
    sd_k_strict: float = 2.0
    sd_min_sessions: int = 3
    clinic_sd_min_df: int = 20
    item_threshold: float = 2.0
    alliance_reliable_change: float | None = None
    bordin_blend: float = 0.25
    bordin_halflife: float = 2.0
    bordin_threshold: float = 3.0
    bordin_threshold_no_items: float = 2.0
    bordin_item_weight: float = 2.0
    rupture_detector: LeadingDetector = "adaptive"
    adaptive_min_residuals: int = 200
    adaptive_in_norms: bool = True
    repair_window: int = 3
    ceiling_sessions: int = 3
    early_session: int = 3
    early_percentile: float = 25.0
    early_slope_threshold: float = -0.35
    early_alert_sessions: int = 1
    not_on_track_level: float = 0.95
    yellow_alert: bool = False
    unrepaired_alert_sessions: int = 1
    min_clinic_clients: int = 200
    response_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.rupture_detector not in LEADING_DETECTORS:
            raise InputError(
                f"unknown leading rupture detector {self.rupture_detector!r}; use one of "
                f"{LEADING_DETECTORS}"
            )

    def reports_adaptive(self) -> bool:
        """Whether ``compute_feedback`` runs (and reports) the adaptive detector: when it
        leads, or when its parameters are fitted into the clinic norms."""
        return self.rupture_detector == "adaptive" or self.adaptive_in_norms

    def early_alert_until(self) -> int:
        """Last session at which weak early alliance is shown as an alert."""
        return self.early_session + self.early_alert_sessions - 1

    def as_dict(self) -> dict[str, float | int | str | None]:
        """The configuration as a plain dictionary (for JSON output)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
