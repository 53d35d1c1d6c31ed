"""The therapist's session check for a simulated clinic, with known agreement and known
one-sided ruptures.

Each therapist *j* sees the client's latent alliance through a bias and noise:

.. math:: P_{itc} = A_{itc} - (1 - n_e)\\,D_{itc} + \\beta_j + \\sigma_p\\,\\varepsilon_{itc},
          \\qquad \\beta_j \\sim N(\\mu_\\beta, \\sigma_\\beta^2),

where :math:`A_{itc}` is the client's latent alliance on component *c* (bond, goal, task) at
session *t* (``truth["alliance_<c>"]``), :math:`D_{itc}` the rupture's drop
(``truth["rupture_drop_<c>"]``) and :math:`n_e` whether the therapist noticed rupture *e*
(drawn once per rupture with ``notice_probability``). A rupture the therapist does not
notice is therefore invisible in their ratings: a **client-only rupture** for as long as it
stays open. In sessions with no open rupture the therapist reports tension anyway with
``false_alarm_probability``: a **therapist-only rupture**. The check's items follow
:math:`P` as the client's items follow :math:`A` (same item offsets and noise, rounded and
clipped); item 7 (noticed tension) is 2-4 at a noticed rupture's onset, 1-2 while it stays
open, 2-3 at a false alarm and otherwise 0 (1 with ``background_tension``); item 8 (how
much it was addressed) 1-4 when item 7 is above 0; item 9 (adherence) follows the
session's latent adherence (1 + 4 x adherence, plus noise).

Agreement is known: the client-minus-therapist discrepancy of the latent totals has mean
:math:`-\\mu_\\beta` and, within therapist, SD :math:`\\sigma_p/\\sqrt 3` (plus item noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.instruments import get_instrument
from bordin.scoring import score_item_matrix

__all__ = ["SimulatedTherapistRatings", "TherapistRatingConfig", "simulate_therapist_ratings"]

_COMPONENT_OF_ITEM = (0, 0, 1, 1, 2, 2)  # as the client's sac items 1-6
_OFFSETS = (0.1, -0.1, 0.05, -0.05, 0.1, -0.1)
_COMPONENTS = ("bond", "goal", "task")


@dataclass(frozen=True)
class TherapistRatingConfig:
    """Parameters of the simulated therapist ratings.

    Attributes
    ----------
    bias_mean
        Mean therapist bias (therapist minus client, 1-5 points); default 0.
    bias_sd
        SD of the therapists' biases; default 0.3.
    perception_sd
        Per-session, per-component noise of the therapist's perception; default 0.35.
    item_noise_sd
        Item noise, as the client's items; default 0.45.
    notice_probability
        Probability that the therapist notices a rupture; default 0.6.
    false_alarm_probability
        Probability of reporting tension in a session with no open rupture; default 0.04.
    background_tension
        Probability of a "a little" (1) on item 7 in other sessions; default 0.08.
    """

    bias_mean: float = 0.0
    bias_sd: float = 0.3
    perception_sd: float = 0.35
    item_noise_sd: float = 0.45
    notice_probability: float = 0.6
    false_alarm_probability: float = 0.04
    background_tension: float = 0.08

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise InputError(f"{f.name} must be a finite number, got {value!r}")
            if f.name != "bias_mean" and value < 0:
                raise InputError(f"{f.name} must not be negative, got {value!r}")
            if f.name.endswith(("probability", "tension")) and value > 1:
                raise InputError(f"{f.name} is a probability, got {value!r}")


@dataclass(frozen=True)
class SimulatedTherapistRatings:
    """A simulated clinic's therapist session checks and the truth behind them.

    Attributes
    ----------
    config
        The parameters.
    seed
        The seed (same clinic, config and seed give the same ratings).
    responses
        ``tsc`` item responses in the long DESIGN.md layout (item 8 absent when item 7 is 0).
    scores
        The clinic's session scores with the ``tsc_`` scales added (as
        :func:`bordin.scoring.score_responses` scores them).
    truth
        One row per session: ``client_id, therapist_id, session``, ``therapist_bias``,
        ``perceived_<c>`` for bond, goal, task and total, ``rupture_event`` (the open
        rupture's number within the client, 0 when none), ``noticed`` (the open rupture
        was noticed), ``client_only`` (an unnoticed rupture is open), ``therapist_only``
        (a false alarm).
    """

    config: TherapistRatingConfig
    seed: int
    responses: pd.DataFrame
    scores: pd.DataFrame
    truth: pd.DataFrame = field(repr=False)

    def summary_dict(self) -> dict[str, Any]:
        """Counts of the known one-sided ruptures (JSON-ready)."""
        t = self.truth
        events = t[t["rupture_event"] > 0].drop_duplicates(["client_id", "rupture_event"])
        return {
            "sessions": len(t),
            "ruptures": len(events),
            "noticed": int(events["noticed"].sum()),
            "client_only_ruptures": int((~events["noticed"]).sum()),
            "therapist_only_sessions": int(t["therapist_only"].sum()),
        }


def _events(truth: pd.DataFrame) -> np.ndarray:
    """The open rupture's number within its client at each session (0 when none)."""
    onset = truth["rupture_onset"].to_numpy(dtype=bool)
    open_ = truth["rupture_open"].to_numpy(dtype=bool)
    number = pd.Series(onset.astype(np.int64)).groupby(truth["client_id"].to_numpy()).cumsum()
    return np.where(open_, number.to_numpy(), 0)


def simulate_therapist_ratings(
    clinic: Any, config: TherapistRatingConfig | None = None, *, seed: int
) -> SimulatedTherapistRatings:
    """Therapist session checks for every attended session of a simulated clinic.

    Parameters
    ----------
    clinic
        A :class:`bordin.simulate.SimulatedClinic` (its ``truth`` and ``scores``).
    config
        :class:`TherapistRatingConfig`; defaults when None.
    seed
        Seeds the ratings (independent of the clinic's own seed).

    Raises
    ------
    InputError
        A negative or non-integer seed, or bad parameters.

    Examples
    --------
    >>> from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings
    >>> clinic = simulate_clinic(SimulationConfig(n_clients=10), seed=1)
    >>> ratings = simulate_therapist_ratings(clinic, seed=2)
    >>> bool(ratings.scores["tsc_total"].between(1, 5).all())
    True
    """
    config = config if config is not None else TherapistRatingConfig()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    truth = clinic.truth
    n = len(truth)
    therapists = truth["therapist_id"].astype(str).to_numpy()
    labels, which = np.unique(therapists, return_inverse=True)
    bias = config.bias_mean + config.bias_sd * rng.standard_normal(labels.size)
    event = _events(truth)
    clients = truth["client_id"].astype(str).to_numpy()
    keys = pd.Series(list(zip(clients, event, strict=True)))
    unique_events = keys[event > 0].unique()
    noticed_of = dict(
        zip(unique_events, rng.random(len(unique_events)) < config.notice_probability, strict=True)
    )
    noticed = np.array([bool(noticed_of.get(k, False)) for k in keys], dtype=bool)
    unnoticed_open = (event > 0) & ~noticed
    alliance = truth[[f"alliance_{c}" for c in _COMPONENTS]].to_numpy(dtype=float)
    drop = truth[[f"rupture_drop_{c}" for c in _COMPONENTS]].to_numpy(dtype=float)
    perceived = (
        alliance
        + np.where(unnoticed_open[:, None], drop, 0.0)
        + bias[which][:, None]
        + config.perception_sd * rng.standard_normal((n, 3))
    )
    latent_items = perceived[:, list(_COMPONENT_OF_ITEM)] + np.asarray(_OFFSETS)
    latent_items += config.item_noise_sd * rng.standard_normal((n, 6))
    items = np.clip(np.rint(latent_items), 1, 5)

    onset = truth["rupture_onset"].to_numpy(dtype=bool)
    false_alarm = (event == 0) & (rng.random(n) < config.false_alarm_probability)
    background = rng.random(n) < config.background_tension
    tension = np.where(background, 1, 0)
    tension = np.where((event > 0) & noticed, rng.integers(1, 3, n), tension)
    tension = np.where(onset & noticed, rng.integers(2, 5, n), tension)
    tension = np.where(false_alarm, rng.integers(2, 4, n), tension)
    tension = np.where(unnoticed_open, 0, tension)
    addressed = np.where(tension > 0, rng.integers(1, 5, n), np.nan)
    adherence = truth["adherence"].to_numpy(dtype=float)
    adherence_item = np.clip(np.rint(1 + 4 * adherence + 0.5 * rng.standard_normal(n)), 1, 5)
    matrix = np.column_stack([items, tension, addressed, adherence_item]).astype(float)

    definition = get_instrument("tsc")
    scored = score_item_matrix(definition, matrix)
    scores = clinic.scores.copy()
    for scale in definition.scales:
        scores[definition.column(scale.name)] = scored[scale.name]

    ids = truth[["client_id", "therapist_id", "session"]].reset_index(drop=True)
    date = clinic.scores["date"].reset_index(drop=True)
    present = ~np.isnan(matrix)
    rows, cols = np.nonzero(present)
    responses = pd.DataFrame(
        {
            "client_id": ids["client_id"].to_numpy()[rows],
            "therapist_id": ids["therapist_id"].to_numpy()[rows],
            "session": ids["session"].to_numpy()[rows],
            "date": date.to_numpy()[rows],
            "instrument": "tsc",
            "item": (cols + 1).astype(np.int64),
            "value": matrix[rows, cols].astype(np.int64),
        }
    )
    out_truth = ids.copy()
    out_truth["therapist_bias"] = bias[which]
    for j, c in enumerate(_COMPONENTS):
        out_truth[f"perceived_{c}"] = perceived[:, j]
    out_truth["perceived_total"] = perceived.mean(axis=1)
    out_truth["rupture_event"] = event
    out_truth["noticed"] = noticed & (event > 0)
    out_truth["client_only"] = unnoticed_open
    out_truth["therapist_only"] = false_alarm
    return SimulatedTherapistRatings(
        config=config, seed=int(seed), responses=responses, scores=scores, truth=out_truth
    )
