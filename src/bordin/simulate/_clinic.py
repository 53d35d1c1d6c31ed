"""``simulate_clinic``: a synthetic clinic with known ground truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from bordin import __version__
from bordin.errors import InputError
from bordin.simulate._config import SimulationConfig
from bordin.simulate._frames import (
    clients_frame,
    responses_frame,
    ruptures_frame,
    session_index,
    therapists_frame,
    truth_frame,
)
from bordin.simulate._items import (
    ItemBlock,
    gad7_items,
    omit_responses,
    phq9_items,
    sac_items,
    wai_sr_items,
)
from bordin.simulate._latent import LatentClinic, simulate_latent
from bordin.simulate._scores import score_blocks

__all__ = ["SimulatedClinic", "simulate_clinic"]

_EPOCH = dt.date(2024, 1, 1)


@dataclasses.dataclass(frozen=True)
class SimulatedClinic:
    """A synthetic clinic: what a clinic would record, and the truth behind it.

    Attributes
    ----------
    config : SimulationConfig
        The parameters it was drawn with.
    seed : int
        The seed; the same config and seed give the same clinic, bit for bit.
    responses : pandas.DataFrame
        Item responses, one row per answered item, DESIGN.md columns ``client_id,
        therapist_id, session, date, instrument, item, value``, sorted by client, session,
        instrument and item. ``client_id``, ``therapist_id``, ``date`` and ``instrument`` are
        categoricals (compare them with strings as usual). ``sac`` item 8 is absent when item
        7 is 0.
    scores : pandas.DataFrame
        One row per attended session: ``client_id, therapist_id, session, date``, the scores
        exactly as :func:`bordin.scoring.score_responses` gives them for ``responses``
        (``gad7_total``, ``phq9_total``, ``phq9_item9``, ``sac_total``, ``sac_bond``,
        ``sac_goal``, ``sac_task``, ``sac_tension``, ``sac_resolution``,
        ``sac_misunderstood``, ``sac_withdrawal``, or the ``wai_sr_`` scales), then
        ``adherence`` (0-1, the therapist's adherence in that session).
    truth : pandas.DataFrame
        One row per attended session with the latent values: alliance trait, state,
        rupture drop and value per component and in total, the deviation from the trait
        level that drives next-session severity, the formation gap, the flags
        ``rupture_onset``, ``rupture_open`` and ``rupture_repair``, the hazards used,
        adherence, latent severity (PHQ-9 scale) and anxiety (GAD-7 scale), the client's
        within-client effect and whether the client dropped out after this session.
    ruptures : pandas.DataFrame
        One row per rupture: ``rupture_id, client_id, therapist_id, onset_session,
        component (bond|goal|task), marker (withdrawal|confrontation), depth,
        pre_rupture_level, repair_session, repaired, censored, repair_probability``.
    clients : pandas.DataFrame
        One row per client: therapist, intake date and severity, attachment insecurity,
        planned and attended sessions, ``dropped_out``, ``dropout_session`` (the last
        attended session of a client who dropped out, else missing), ``arm``
        (``feedback``, ``no_feedback``, or ``none`` without a trial), trait alliance and the
        client's true within-client effect.
    therapists : pandas.DataFrame
        One row per therapist with their true effects.
    parameters : dict
        JSON-ready: the seed, every parameter, the start date, the true coefficients on the
        PHQ-9 scale and the definitions of rupture, depth and repair.
    """

    config: SimulationConfig
    seed: int
    responses: pd.DataFrame
    scores: pd.DataFrame
    truth: pd.DataFrame
    ruptures: pd.DataFrame
    clients: pd.DataFrame
    therapists: pd.DataFrame
    parameters: dict[str, Any]

    def summary_dict(self) -> dict[str, Any]:
        """Counts and rates as numbers (JSON-ready): sessions, ruptures, repair, dropout."""
        return _summary_dict(self)

    def summary_rows(self) -> list[tuple[str, str]]:
        """Label and value pairs for the terminal (the same figures as ``summary_dict``)."""
        return _summary_rows(self.summary_dict())

    def summary(self) -> str:
        """A few lines for the terminal: counts, rupture, repair and dropout rates."""
        return "\n".join(f"{label}: {value}" for label, value in self.summary_rows())


def _share(mask: pd.Series) -> float | None:
    """The share of true values, or None (JSON null) when there is nothing to count."""
    return float(mask.mean()) if len(mask) else None


def _pct(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _mean(values: pd.Series) -> float | None:
    """The mean of the non-missing values, or None when there are none."""
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def _summary_dict(clinic: SimulatedClinic) -> dict[str, Any]:
    ruptures, clients, scores = clinic.ruptures, clinic.clients, clinic.scores
    at_risk = int(clinic.truth["rupture_hazard"].notna().sum())
    observed = ruptures[~ruptures["censored"]]
    alliance = f"{clinic.config.alliance_instrument}_total"
    first = scores[scores["session"] == 1]
    last_session = scores.groupby("client_id")["session"].transform("max")
    last = scores[scores["session"] == last_session]
    out: dict[str, Any] = {
        "clients": len(clients),
        "therapists": len(clinic.therapists),
        "sessions": len(scores),
        "item_responses": len(clinic.responses),
        "mean_sessions_attended": float(clients["sessions_attended"].mean()),
        "mean_sessions_planned": float(clients["planned_sessions"].mean()),
        "ruptures": len(ruptures),
        "sessions_at_risk": at_risk,
        "rupture_rate": len(ruptures) / at_risk if at_risk else None,
        "rupture_rate_setting": clinic.config.rupture_rate,
        "clients_with_rupture": _share(clients["client_id"].isin(ruptures["client_id"])),
        "withdrawal_share": _share(ruptures["marker"] == "withdrawal"),
        "bond_share": _share(ruptures["component"] == "bond"),
        "mean_depth": _mean(ruptures["depth"]),
        "ruptures_observed": len(observed),
        "repaired_share": _share(observed["repaired"]),
        "dropout_rate": _share(clients["dropped_out"]),
        "dropouts": int(clients["dropped_out"].sum()),
        "alliance_first_session": _mean(first[alliance]),
        "phq9_first_session": _mean(first["phq9_total"]),
        "phq9_last_session": _mean(last["phq9_total"]),
    }
    if clinic.config.feedback_trial:
        merged = observed.merge(clients[["client_id", "arm"]], on="client_id")
        out["arms"] = {
            arm: {
                "clients": int((clients["arm"] == arm).sum()),
                "ruptures_observed": int((merged["arm"] == arm).sum()),
                "repaired_share": _share(merged.loc[merged["arm"] == arm, "repaired"]),
            }
            for arm in ("feedback", "no_feedback")
        }
    return out


def _summary_rows(stats: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("clients", f"{stats['clients']:,} with {stats['therapists']:,} therapists"),
        (
            "sessions",
            f"{stats['sessions']:,} (mean {stats['mean_sessions_attended']:.1f} per client, "
            f"{stats['mean_sessions_planned']:.1f} planned)",
        ),
        ("item responses", f"{stats['item_responses']:,}"),
        (
            "ruptures",
            f"{stats['ruptures']:,}: {_num(stats['rupture_rate'], 3)} per session at risk "
            f"(setting {stats['rupture_rate_setting']:g}); "
            f"{_pct(stats['clients_with_rupture'], 0)} of clients",
        ),
        (
            "rupture types",
            f"{_pct(stats['withdrawal_share'], 0)} withdrawal, "
            f"{_pct(stats['bond_share'], 0)} bond, mean depth {_num(stats['mean_depth'], 2)}",
        ),
        (
            "repaired",
            f"{_pct(stats['repaired_share'], 1)} of {stats['ruptures_observed']:,} ruptures "
            "whose repair window was observed",
        ),
        ("dropout", f"{_pct(stats['dropout_rate'], 1)} of clients ({stats['dropouts']:,})"),
        (
            "PHQ-9",
            f"mean {_num(stats['phq9_first_session'], 1)} at session 1, "
            f"{_num(stats['phq9_last_session'], 1)} at the last session",
        ),
        ("alliance at session 1", f"mean {_num(stats['alliance_first_session'], 2)}"),
    ]
    for arm, part in stats.get("arms", {}).items():
        rows.append(
            (
                f"arm {arm}",
                f"{part['clients']:,} clients; {_pct(part['repaired_share'], 1)} of "
                f"{part['ruptures_observed']:,} ruptures repaired",
            )
        )
    return rows


def _start_date(config: SimulationConfig, rng: np.random.Generator) -> dt.date:
    offset = int(rng.integers(0, 366))
    if config.start_date is not None:
        return config.start_date
    return _EPOCH + dt.timedelta(days=offset)


def simulate_clinic(config: SimulationConfig | None = None, *, seed: int) -> SimulatedClinic:
    r"""Simulate a clinic session by session, with the ground truth behind every rating.

    Parameters
    ----------
    config : SimulationConfig, optional
        The parameters (defaults documented on :class:`SimulationConfig`).
    seed : int
        Non-negative seed. The same config and seed give identical frames (and files).

    Returns
    -------
    SimulatedClinic

    Raises
    ------
    InputError
        The seed is negative (invalid parameters raise when the config is built).

    Notes
    -----
    Alliance of client :math:`i` in component :math:`c` at session :math:`t` (sac points):

    .. math::

        A_{ict} = L_{ic} + s_{ict} - g_i e^{-r_i (t-1)} - D_{ict}

    with the trait level :math:`L_{ic} = \mu + u_{j} + \beta_{att} x_i + b_{ic}`
    (therapist effect :math:`u_j`, attachment insecurity :math:`x_i`, client effect
    :math:`b_{ic}` correlated across components), a stationary AR(1) state :math:`s`, an
    early formation gap :math:`g_i` closing at rate :math:`r_i` (both worse with
    insecurity), and the drop :math:`D` of ruptures. Total alliance :math:`A_{it}` and
    :math:`L_i` are means over the components (the scale of ``sac_total``).

    **Ruptures.** A rupture starts at session :math:`t \ge 2` with probability
    ``rupture_rate`` (logit shifted by attachment and therapist) when no rupture is open.
    The onset session is the first session whose ratings drop: ``depth`` is the drop of
    the latent total alliance at onset (sac points, i.e. the scale of ``sac_total``); the
    ruptured component drops by ``3 depth / (1 + 2 spillover)``, the others by ``spillover``
    times that. It is repaired (probability from therapist responsiveness and the feedback
    arm) at a session 1 to ``repair_window`` sessions later; at that session the drop is
    removed and the latent total alliance is lifted to at least ``pre_rupture_level`` (the
    latent total at the session before onset) plus ``repair_gain``: a V-shape. An
    unrepaired rupture keeps its full drop through the window, then fades by
    ``unrepaired_recovery`` per session.

    **Severity** (latent PHQ-9 total), with :math:`\mu` = ``alliance_mean`` and
    :math:`\bar P`, :math:`\bar A` the clinic's means of adherence and latent total
    alliance over attended sessions (recorded in ``parameters``):

    .. math::

        y_{i,t+1} = \phi y_{it} + (1-\phi)(y_{i1} - \delta_i)
            + \gamma_{w,i} (A_{it} - L_i) + \gamma_b (L_i - \mu)
            + \kappa (P_{it} - \bar P) + \lambda (P_{it} - \bar P)(A_{it} - \bar A)
            + \varepsilon

    :math:`\phi` = ``severity_ar``, :math:`\gamma_{w,i} \sim N(` ``within_effect``,
    ``within_effect_sd`` :math:`^2)`, :math:`\gamma_b` = ``between_effect``, :math:`\kappa`
    = ``adherence_effect``, :math:`\lambda` = ``adherence_alliance_interaction``. PHQ-9 items
    1-8 are drawn so that their sum tracks :math:`y` (rounded, clipped to 0-3 per item), so
    the coefficients hold on the observed PHQ-9 total scale away from floor and ceiling.

    **Dropout** after session :math:`t` (before the planned last session) with probability
    logistic in the current alliance (more so in early sessions) and an open rupture.

    References
    ----------
    Zilcha-Mano, S., & Errázuriz, P. (2015). One size does not fit all. *Journal of
    Counseling Psychology*, 62(4), 579-591. https://doi.org/10.1037/cou0000103

    Falkenström, F., Ekeblad, A., & Holmqvist, R. (2016). Improvement of the working
    alliance in one treatment session predicts improvement of depressive symptoms by the
    next session. *JCCP*, 84(8), 738-751. https://doi.org/10.1037/ccp0000119

    Tschuschke, V., et al. (2015). The role of therapists' treatment adherence, professional
    experience, therapeutic alliance, and clients' severity of psychological problems.
    *Psychotherapy Research*, 25(4), 420-434. https://doi.org/10.1080/10503307.2014.896055

    Examples
    --------
    >>> from bordin.simulate import SimulationConfig, simulate_clinic
    >>> clinic = simulate_clinic(SimulationConfig(n_clients=20), seed=1)
    >>> list(clinic.scores.columns[:4])
    ['client_id', 'therapist_id', 'session', 'date']
    >>> bool(clinic.scores["sac_total"].between(1, 5).all())
    True
    """
    config = config if config is not None else SimulationConfig()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    # Independent streams: turning missingness on removes responses without changing any.
    latent_seq, items_seq, date_seq, missing_seq = np.random.SeedSequence(int(seed)).spawn(4)
    start = _start_date(config, np.random.default_rng(date_seq))
    latent = simulate_latent(config, np.random.default_rng(latent_seq))
    index = session_index(latent, start)
    rng = np.random.default_rng(items_seq)
    f = index.flat
    alliance = latent.alliance.reshape(-1, 3)[f]
    blocks: list[ItemBlock] = []
    if config.alliance_instrument == "sac":
        signal = latent.signal.ravel()[f]
        confrontation = latent.confrontation.ravel()[f]
        blocks.append(sac_items(alliance, signal, confrontation, config, rng))
    else:
        blocks.append(wai_sr_items(alliance, config, rng))
    blocks.append(phq9_items(latent.severity.ravel()[f], config, rng))
    if config.include_gad7:
        blocks.append(gad7_items(latent.anxiety.ravel()[f], config, rng))
    if config.item_missing_probability > 0 or config.form_missing_probability > 0:
        blocks = omit_responses(blocks, config, np.random.default_rng(missing_seq))

    scores = index.keys()
    scored = score_blocks(blocks)
    for name in scored.columns:
        scores[name] = scored[name].to_numpy()
    scores["adherence"] = latent.adherence.ravel()[f]

    ruptures = ruptures_frame(index, latent, config.repair_window)
    clients = clients_frame(index, latent, start)
    return SimulatedClinic(
        config=config,
        seed=int(seed),
        responses=responses_frame(index, blocks),
        scores=scores,
        truth=truth_frame(index, latent),
        ruptures=ruptures,
        clients=clients,
        therapists=therapists_frame(index, latent),
        parameters=_parameters(config, int(seed), start, latent),
    )


def _parameters(
    config: SimulationConfig, seed: int, start: dt.date, latent: LatentClinic
) -> dict[str, Any]:
    alliance = "sac" if config.alliance_instrument == "sac" else "wai_sr"
    return {
        "generator": f"bordin.simulate {__version__}",
        "seed": seed,
        "start_date": start.isoformat(),
        "n_therapists": config.n_therapists,
        "config": config.to_dict(),
        "true_effects": {
            "scale": (
                f"outcome: PHQ-9 total points (latent severity); alliance: {alliance} item-mean "
                "points (the scale of sac_total); adherence: proportion 0-1"
            ),
            "panel_model": {
                "formula": (
                    "outcome[t+1] ~ outcome[t] + alliance_within[t] + alliance_between "
                    "+ (1 + alliance_within | client)"
                ),
                "outcome_lag": config.severity_ar,
                "alliance_within": config.within_effect,
                "alliance_within_sd": config.within_effect_sd,
                "alliance_between": config.between_effect,
                "residual_sd": config.severity_noise_sd,
                "note": (
                    "True on the latent values, with the within part centred on the "
                    "client's trait alliance (truth: alliance_deviation) and the between part "
                    "on alliance_mean. Fitting the panel model to truth_sessions (outcome "
                    "severity, alliance alliance_total, covariate intake_severity - "
                    "expected_improvement from clients) recovers outcome_lag, "
                    "alliance_within and residual_sd. On observed scores the estimates are "
                    "attenuated by item noise and rounding, and the random intercept with a "
                    "lagged outcome adds the usual dynamic-panel bias (see docs/simulator.md)."
                ),
            },
            "moderation": {
                "adherence": config.adherence_effect,
                "adherence_x_alliance": config.adherence_alliance_interaction,
                "adherence_centre": latent.adherence_centre,
                "alliance_centre": latent.alliance_centre,
                "note": (
                    "Effects on next-session PHQ-9 points per unit of adherence and per "
                    "unit of (adherence - adherence_centre) * (alliance - alliance_centre); "
                    "the centres are this clinic's means over attended sessions of adherence "
                    "and of the latent total alliance, so the moderation term adds nothing "
                    "on average to the alliance effects of the panel model."
                ),
            },
        },
        "definitions": {
            "rupture_onset": (
                "The first session whose ratings drop: the onset session's latent alliance is "
                "lower by depth, and its rupture items show the marker. Ruptures start from "
                "session 2 and not while another rupture is open or at a repair session."
            ),
            "depth": (
                "The drop of the latent total alliance (mean of bond, goal and task; the scale "
                "of sac_total, in item-mean points) at the onset session."
            ),
            "pre_rupture_level": "The latent total alliance at the session before onset.",
            "repaired": (
                f"The alliance returned to at least its pre-rupture level within "
                f"{config.repair_window} sessions of onset: at repair_session the drop is "
                f"removed and the latent total is lifted to at least pre_rupture_level + "
                f"{config.repair_gain}. A repair that would fall after the client's last "
                "attended session is not observed (repaired false)."
            ),
            "censored": (
                "Not repaired, and the repair window extends past the client's last attended "
                "session, so the fate of the rupture is not observed."
            ),
            "dropout_session": "The last attended session of a client who did not return.",
        },
    }
