"""The parameters of the synthetic clinic (one frozen dataclass, every default documented)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Literal

from bordin.errors import InputError

__all__ = ["SimulationConfig"]

AllianceInstrument = Literal["sac", "wai_sr"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """Every parameter of the generative model, with its default.

    Scales: alliance quantities are on the item-mean scale of the alliance items (1-5; the
    ``sac`` bond/goal/task items and the WAI-SR share it), so "1 sac point" is one step of an
    item mean, e.g. ``sac_total`` going from 3.5 to 4.5. Symptom quantities are on the PHQ-9
    total scale (0-27). Log-odds parameters act on the logit of a per-session probability.
    The model is written out in ``docs/simulator.md`` and in the Notes of
    :func:`bordin.simulate.simulate_clinic`.

    Attributes
    ----------
    n_clients : int, default 200
        Number of clients.
    clients_per_therapist : int, default 20
        Caseload; the clinic has ``ceil(n_clients / clients_per_therapist)`` therapists and
        clients are allocated at random with caseloads differing by at most one.
    sessions_min, sessions_max : int, default 6 and 20
        Planned number of sessions per client, uniform on ``[sessions_min, sessions_max]``.
    alliance_instrument : {"sac", "wai_sr"}, default "sac"
        ``sac`` (the project's session alliance check: bond, goal and task items plus the
        rupture items 7-10) or ``wai_sr`` (12 items, no rupture items).
    include_gad7 : bool, default True
        Also generate GAD-7 responses.
    start_date : datetime.date or None, default None
        First day of the intake period. ``None`` derives it from the seed (a day in 2024), so
        the same seed gives the same dates.
    intake_spread_days : int, default 364
        Intakes are spread uniformly over this many days after ``start_date``.
    missed_week_probability : float, default 0.08
        Sessions are weekly; each gap between attended sessions is one extra week longer
        with this probability (holidays, cancellations). Session numbers count attended
        sessions, so a missed week changes dates, never session numbers.
    item_missing_probability : float, default 0.0
        Each item of a filled-in questionnaire is left unanswered with this probability
        (missing completely at random); the scoring rules decide whether the scale is still
        scored (e.g. ``sac_total`` needs 5 of its 6 items).
    form_missing_probability : float, default 0.0
        Each questionnaire of an attended session is not filled in with this probability.
        The session keeps its row in ``scores`` (with missing scores, and its adherence).
    alliance_mean : float, default 4.0
        Population mean of the fully formed alliance per component (sac points). Client
        ratings of the alliance are high and skewed, with ceiling effects
        (Hatcher & Gillaspy, 2006).
    therapist_alliance_sd : float, default 0.15
        SD of the therapists' effect on alliance level; therapists differ in the alliances
        they form (Baldwin, Wampold & Imel, 2007; Del Re et al., 2012).
    client_alliance_sd : float, default 0.45
        SD of the client's trait-like alliance level (per component).
    component_correlation : float, default 0.8
        Correlation of the client's trait level across bond, goal and task (the WAI
        subscales correlate highly; Hatcher & Gillaspy, 2006). The same correlation is used
        for the state-like innovations.
    state_ar : float, default 0.5
        Session-to-session autocorrelation of the state-like alliance process.
    state_sd : float, default 0.2
        Marginal SD of the state-like alliance process (per component).
    item_noise_sd : float, default 0.5
        SD of the response noise added to an alliance item before it is rounded and clipped
        to 1-5 (the clipping gives the ceiling effect).
    early_alliance_gap : float, default 0.3
        How far (sac points) the session-1 alliance of an average client sits below the
        client's trait level; the gap closes as the alliance forms.
    formation_rate : float, default 0.6
        Per-session rate at which the gap closes: ``gap_t = gap_1 * exp(-rate * (t - 1))``.
    attachment_trait_effect : float, default -0.1
        Shift of the trait alliance per SD of attachment insecurity (Diener & Monroe, 2011,
        report r of about -.16 between insecure attachment and alliance).
    attachment_gap_effect : float, default 0.2
        Extra session-1 gap per SD of attachment insecurity: insecurely attached clients
        start lower (Zilcha-Mano, 2017).
    attachment_slowing : float, default 0.6
        Slower formation with insecurity: the rate is divided by
        ``1 + attachment_slowing * max(insecurity, 0)`` (Zilcha-Mano, 2017).
    rupture_rate : float, default 0.08
        Per-session probability that a rupture starts, for a client of average attachment
        with an average therapist and no rupture open. Ruptures can start from session 2
        (session 1 has no pre-rupture level).
    rupture_attachment_log_odds : float, default 0.35
        Change of the rupture log-odds per SD of attachment insecurity (Eubanks, Muran &
        Safran, 2018, review attachment insecurity as a rupture risk).
    therapist_rupture_sd : float, default 0.3
        SD of the therapists' effect on rupture log-odds.
    rupture_bond_probability : float, default 0.4
        Probability that a rupture is in the bond; otherwise it is in goal or task with
        equal probability.
    rupture_withdrawal_probability : float, default 0.6
        Probability that the marker is withdrawal; otherwise confrontation. Withdrawal
        markers are the more common kind (Eubanks, Muran & Safran, 2018).
    rupture_depth_mean : float, default 0.8
        Mean depth of a rupture: the drop of the latent ``sac_total`` (mean of the bond,
        goal and task components) at the onset session, in sac points.
    rupture_depth_shape : float, default 3.0
        Gamma shape of the depth distribution (coefficient of variation ``1/sqrt(shape)``).
    rupture_spillover : float, default 0.3
        Drop of each of the two other components, as a fraction of the drop of the ruptured
        component.
    repair_probability : float, default 0.6
        Probability that a rupture is repaired, for an average therapist without feedback.
    therapist_responsiveness_sd : float, default 0.6
        SD of the therapists' responsiveness: their effect on repair log-odds (rupture
        resolution differs between therapists and can be trained; Eubanks et al., 2018).
    repair_window : int, default 3
        A repaired rupture is repaired at a session 1 to ``repair_window`` sessions after
        onset (uniformly); the feedback rule checks the same window.
    repair_gain : float, default 0.1
        At the repair session the latent total alliance is lifted to at least its
        pre-rupture level plus this gain (the V-shape of a resolved rupture; Stiles et al.,
        2004).
    unrepaired_recovery : float, default 0.85
        An unrepaired rupture keeps its full drop through the repair window; afterwards the
        remaining drop is multiplied by this factor each session.
    rupture_item_background : float, default -0.8
        Latent level of the rupture items 7, 9 and 10 in a session without a rupture
        (responses are the latent value plus noise, rounded and clipped to 0-4).
    rupture_item_signal : float, default 2.5
        Rise of the marker's items at the onset of a rupture of average depth (scaled by
        depth / mean depth; half of it in later sessions while the rupture stays open).
        Confrontation raises items 7 and 9; withdrawal raises item 10 and, less, item 7.
    rupture_item_noise_sd : float, default 0.7
        SD of the response noise of the rupture items.
    intake_severity_mean, intake_severity_sd : float, default 15.0 and 4.5
        Intake severity (latent PHQ-9 total), truncated to [5, 27].
    improvement_mean, improvement_sd : float, default 7.0 and 3.0
        Expected improvement (PHQ-9 points) for a client at average trait alliance: the
        severity process tends to ``intake - improvement``.
    severity_ar : float, default 0.75
        Autoregressive coefficient of latent severity from one session to the next.
    within_effect : float, default -1.0
        Within-client lagged effect: PHQ-9 points at session t+1 per sac point of the
        client's alliance at session t above their own trait level (Falkenström et al.,
        2017; Zilcha-Mano & Errázuriz, 2015).
    within_effect_sd : float, default 0.4
        Between-client SD of that slope (the random slope of the panel model).
    between_effect : float, default -1.5
        Between-client effect per session: PHQ-9 points at t+1 per sac point of the
        client's trait alliance above ``alliance_mean``.
    severity_noise_sd : float, default 1.5
        SD of the innovation of latent severity.
    phq9_item_noise_sd : float, default 0.5
        Response noise of PHQ-9 and GAD-7 items before rounding and clipping to 0-3.
    self_harm_threshold : float, default 20.0
        PHQ-9 item 9 (thoughts of self-harm) is 0 whenever latent severity is below this.
    self_harm_probability : float, default 0.3
        Probability that item 9 is above 0 in a session at or above the threshold.
    gad7_loading : float, default 0.8
        Latent GAD-7 total = ``loading * severity * 21/27`` plus a client offset and noise.
    gad7_client_sd, gad7_noise_sd : float, default 2.0 and 1.5
        SD of the client offset and of the session noise of latent GAD-7.
    adherence_mean : float, default 0.7
        Adherence (0-1, the share of the session's protocol carried out) of an average
        therapist at average alliance.
    therapist_adherence_sd : float, default 0.5
        SD of the therapists' adherence level (logit scale).
    adherence_session_sd : float, default 0.4
        SD of session-to-session adherence (logit scale).
    adherence_alliance_log_odds : float, default 0.5
        Alliance predicts adherence (Tschuschke et al., 2015): logit change per sac point of
        the client's trait alliance above ``alliance_mean``. Adherence follows the client's
        trait level, not session-to-session fluctuations, so that the moderation term adds
        nothing to the within-client alliance effect of a model that leaves adherence out.
    adherence_effect : float, default 0.0
        Main effect of adherence on next-session severity (PHQ-9 points per unit of
        adherence above the clinic's mean adherence); near zero on average (Webb et al.,
        2010).
    adherence_alliance_interaction : float, default -3.0
        Alliance moderates adherence (Tschuschke et al., 2015): PHQ-9 points at t+1 per
        unit of ``(adherence - mean adherence) * (alliance - mean alliance)``, both centred
        on the clinic's own means over attended sessions (recorded in ``parameters``).
    dropout_hazard : float, default 0.015
        Per-session probability of not coming back after an attended session, for a client
        at average alliance without an open rupture (before the planned last session).
    dropout_alliance_log_odds : float, default -0.8
        Change of dropout log-odds per sac point of current alliance above
        ``alliance_mean`` (weak alliance predicts dropout; Sharf, Primavera & Diener, 2010).
    dropout_early_alliance_log_odds : float, default -0.8
        Additional change per sac point during the first ``early_sessions`` sessions.
    dropout_open_rupture_log_odds : float, default 1.2
        Change of dropout log-odds while a rupture is open (not yet repaired).
    early_sessions : int, default 3
        Number of sessions that count as early alliance.
    feedback_trial : bool, default False
        Randomise clients to ``feedback`` or ``no_feedback`` (design of Zilcha-Mano &
        Errázuriz, 2015). Without a trial every client's arm is ``none``.
    feedback_fraction : float, default 0.5
        Share of clients randomised to feedback.
    feedback_repair_log_odds : float, default 0.8
        Feedback on alliance raises repair log-odds by this much.
    """

    n_clients: int = 200
    clients_per_therapist: int = 20
    sessions_min: int = 6
    sessions_max: int = 20
    alliance_instrument: AllianceInstrument = "sac"
    include_gad7: bool = True
    start_date: dt.date | None = None
    intake_spread_days: int = 364
    missed_week_probability: float = 0.08
    item_missing_probability: float = 0.0
    form_missing_probability: float = 0.0

    alliance_mean: float = 4.0
    therapist_alliance_sd: float = 0.15
    client_alliance_sd: float = 0.45
    component_correlation: float = 0.8
    state_ar: float = 0.5
    state_sd: float = 0.2
    item_noise_sd: float = 0.5
    early_alliance_gap: float = 0.3
    formation_rate: float = 0.6
    attachment_trait_effect: float = -0.1
    attachment_gap_effect: float = 0.2
    attachment_slowing: float = 0.6

    rupture_rate: float = 0.08
    rupture_attachment_log_odds: float = 0.35
    therapist_rupture_sd: float = 0.3
    rupture_bond_probability: float = 0.4
    rupture_withdrawal_probability: float = 0.6
    rupture_depth_mean: float = 0.8
    rupture_depth_shape: float = 3.0
    rupture_spillover: float = 0.3
    repair_probability: float = 0.6
    therapist_responsiveness_sd: float = 0.6
    repair_window: int = 3
    repair_gain: float = 0.1
    unrepaired_recovery: float = 0.85
    rupture_item_background: float = -0.8
    rupture_item_signal: float = 2.5
    rupture_item_noise_sd: float = 0.7

    intake_severity_mean: float = 15.0
    intake_severity_sd: float = 4.5
    improvement_mean: float = 7.0
    improvement_sd: float = 3.0
    severity_ar: float = 0.75
    within_effect: float = -1.0
    within_effect_sd: float = 0.4
    between_effect: float = -1.5
    severity_noise_sd: float = 1.5
    phq9_item_noise_sd: float = 0.5
    self_harm_threshold: float = 20.0
    self_harm_probability: float = 0.3
    gad7_loading: float = 0.8
    gad7_client_sd: float = 2.0
    gad7_noise_sd: float = 1.5

    adherence_mean: float = 0.7
    therapist_adherence_sd: float = 0.5
    adherence_session_sd: float = 0.4
    adherence_alliance_log_odds: float = 0.5
    adherence_effect: float = 0.0
    adherence_alliance_interaction: float = -3.0

    dropout_hazard: float = 0.015
    dropout_alliance_log_odds: float = -0.8
    dropout_early_alliance_log_odds: float = -0.8
    dropout_open_rupture_log_odds: float = 1.2
    early_sessions: int = 3

    feedback_trial: bool = False
    feedback_fraction: float = 0.5
    feedback_repair_log_odds: float = 0.8

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def n_therapists(self) -> int:
        """Number of therapists in the clinic."""
        return max(1, math.ceil(self.n_clients / self.clients_per_therapist))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SimulationConfig:
        """Build a config from a mapping (e.g. the ``config`` block of ``parameters.json``).

        Values given as strings (from the command line) are converted to the field's type.

        Raises
        ------
        InputError
            A name is not a parameter, or a value does not convert.
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise InputError(
                f"unknown simulation parameter(s): {', '.join(unknown)} "
                f"(see SimulationConfig for the names)"
            )
        converted = {name: _convert(name, str(fields[name].type), v) for name, v in values.items()}
        return cls(**converted)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON-ready values (dates as ISO strings)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out


_PROBABILITIES = (
    "missed_week_probability",
    "item_missing_probability",
    "form_missing_probability",
    "rupture_rate",
    "rupture_bond_probability",
    "rupture_withdrawal_probability",
    "repair_probability",
    "self_harm_probability",
    "dropout_hazard",
    "feedback_fraction",
)
_OPEN_PROBABILITIES = ("rupture_rate", "repair_probability", "dropout_hazard", "adherence_mean")
_NON_NEGATIVE = (
    "therapist_alliance_sd",
    "client_alliance_sd",
    "state_sd",
    "item_noise_sd",
    "early_alliance_gap",
    "formation_rate",
    "attachment_gap_effect",
    "attachment_slowing",
    "therapist_rupture_sd",
    "rupture_spillover",
    "therapist_responsiveness_sd",
    "repair_gain",
    "rupture_item_noise_sd",
    "intake_severity_sd",
    "improvement_sd",
    "within_effect_sd",
    "severity_noise_sd",
    "phq9_item_noise_sd",
    "gad7_client_sd",
    "gad7_noise_sd",
    "therapist_adherence_sd",
    "adherence_session_sd",
    "intake_spread_days",
)


def _convert(name: str, annotation: str, value: Any) -> Any:
    """Convert ``value`` to the type named by a field's annotation."""
    if value is None:
        return None
    try:
        if annotation.startswith("dt.date"):
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if annotation == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise ValueError(value)
        if annotation == "int":
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if annotation == "float":
            return float(value)
    except (TypeError, ValueError) as exc:
        raise _fail(name, f"cannot read {value!r} as {annotation}") from exc
    return str(value)


def _fail(name: str, message: str) -> InputError:
    return InputError(f"simulation parameter {name}: {message}")


def _validate(config: SimulationConfig) -> None:
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(field.name, f"must be finite, got {value}")
    if config.n_clients < 1:
        raise _fail("n_clients", f"must be at least 1, got {config.n_clients}")
    if config.clients_per_therapist < 1:
        raise _fail("clients_per_therapist", "must be at least 1")
    if config.sessions_min < 1:
        raise _fail("sessions_min", f"must be at least 1, got {config.sessions_min}")
    if config.sessions_max < config.sessions_min:
        raise _fail(
            "sessions_max",
            f"must be at least sessions_min ({config.sessions_min}), got {config.sessions_max}",
        )
    if config.sessions_max > 520:
        raise _fail("sessions_max", f"must be at most 520, got {config.sessions_max}")
    if config.alliance_instrument not in ("sac", "wai_sr"):
        raise _fail(
            "alliance_instrument", f"must be 'sac' or 'wai_sr', got {config.alliance_instrument!r}"
        )
    for name in _PROBABILITIES:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise _fail(name, f"must be a probability in [0, 1], got {value}")
    for name in _OPEN_PROBABILITIES:
        value = getattr(config, name)
        if not 0.0 < value < 1.0:
            raise _fail(name, f"must be strictly between 0 and 1, got {value}")
    for name in _NON_NEGATIVE:
        value = getattr(config, name)
        if value < 0:
            raise _fail(name, f"must not be negative, got {value}")
    if not -1.0 < config.state_ar < 1.0:
        raise _fail("state_ar", f"must be in (-1, 1), got {config.state_ar}")
    if not -1.0 < config.severity_ar < 1.0:
        raise _fail("severity_ar", f"must be in (-1, 1), got {config.severity_ar}")
    if not 0.0 <= config.component_correlation <= 1.0:
        raise _fail("component_correlation", "must be in [0, 1]")
    if not 0.0 <= config.unrepaired_recovery <= 1.0:
        raise _fail("unrepaired_recovery", "must be in [0, 1]")
    if config.rupture_depth_mean <= 0 or config.rupture_depth_shape <= 0:
        raise _fail("rupture_depth_mean", "depth mean and shape must be positive")
    if config.repair_window < 1:
        raise _fail("repair_window", f"must be at least 1, got {config.repair_window}")
    if config.early_sessions < 0:
        raise _fail("early_sessions", "must not be negative")
