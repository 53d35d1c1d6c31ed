"""Client-therapist congruence and outcome, for the clinic report and ``bordin congruence``.

One row per client: the mean of the client's and of the therapist's alliance total over the
sessions both rated (:func:`bordin.feedback.build_pair_table`), and the change of the outcome
from the client's first to last scored session. The response surface of that change over the
two means (:func:`bordin.analytics.response_surface.fit_response_surface`) says whether
agreement itself goes with outcome, beyond how high each side rates the alliance.

:func:`fit_pair_lagged_model` puts the therapist's rating beside the client's in the lagged
within/between model (:func:`bordin.analytics.multilevel.fit_lagged_model`): both ratings at
session t, split within and between clients, predict the outcome at t+1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bordin.analytics._ols import CovType
from bordin.analytics.response_surface import ResponseSurfaceResult, fit_response_surface
from bordin.errors import InputError

if TYPE_CHECKING:
    from bordin.analytics.multilevel import LaggedModelResult

__all__ = [
    "MEANINGS",
    "CongruenceResult",
    "client_congruence_table",
    "fit_congruence",
    "fit_pair_lagged_model",
    "has_therapist_ratings",
    "interpret_surface",
    "pair_session_frame",
]

# client instrument -> the therapist's form on its metric (as bordin.feedback.pairs pairs them)
_PARTNERS = {"sac": "tsc", "wai_sr": "wai_sr_t"}

#: What each surface parameter says, in plain words (Shanock et al., 2010; Humberg et al., 2019).
MEANINGS = {
    "a1": "slope along agreement (x = y)",
    "a2": "curvature along agreement",
    "a3": "slope along disagreement (x = -y)",
    "a4": "curvature along disagreement",
    "a5": "ridge asymmetry (b3 - b5)",
}


def _partner(client: str, therapist: str | None) -> str:
    if therapist is not None:
        return therapist
    if client not in _PARTNERS:
        raise InputError(f"no therapist form is paired with {client!r}; name one")
    return _PARTNERS[client]


def has_therapist_ratings(
    scores: pd.DataFrame, *, client: str = "sac", therapist: str | None = None
) -> bool:
    """Whether the scores hold any therapist session check paired with the client's form."""
    if client not in _PARTNERS and therapist is None:
        return False
    column = f"{_partner(client, therapist)}_total"
    return column in scores.columns and bool(
        pd.to_numeric(scores[column], errors="coerce").notna().any()
    )


def client_congruence_table(
    scores: pd.DataFrame, *, outcome: str, client: str = "sac", therapist: str | None = None
) -> pd.DataFrame:
    """One row per client rated by both sides: mean ratings and the outcome's change.

    Returns
    -------
    pandas.DataFrame
        ``client_id, therapist_id, n_pairs, client_total, therapist_total, intake, last,
        change``: the client's and the therapist's mean alliance total over the sessions
        both rated (``n_pairs`` of them), and the outcome at the first and last scored
        session with ``change = last - intake`` (missing with fewer than two scores).

    Raises
    ------
    InputError
        A missing column, a bad session number or a duplicated session.
    """
    from bordin.analytics._clients import client_table
    from bordin.feedback import build_pair_table

    pairs = build_pair_table(scores, client=client, therapist=therapist)
    pairs = pairs.assign(client_id=pairs["client_id"].astype(str))
    means = pairs.groupby("client_id", sort=True).agg(
        n_pairs=("session", "size"),
        client_total=("client_total", "mean"),
        therapist_total=("therapist_total", "mean"),
    )
    outcomes = client_table(scores, alliance=None, outcome=outcome).set_index("client_id")
    table = means.join(outcomes[["therapist_id", "intake", "last", "change"]], how="left")
    table = table.reset_index()
    columns = ["client_id", "therapist_id", "n_pairs", "client_total", "therapist_total"]
    return table[[*columns, "intake", "last", "change"]]


@dataclass(frozen=True)
class CongruenceResult:
    """The response surface of outcome change over the client's and therapist's ratings.

    Attributes
    ----------
    client, therapist:
        The client's and the therapist's instrument (``sac`` and ``tsc``).
    outcome:
        The outcome column; the surface's response is its change (last - intake).
    clients:
        The per-client table of :func:`client_congruence_table`.
    surface:
        The fitted polynomial and a1-a5 (x: client mean, y: therapist mean).
    """

    client: str
    therapist: str
    outcome: str
    clients: pd.DataFrame = field(repr=False)
    surface: ResponseSurfaceResult

    def numbers(self) -> dict[str, float]:
        """Every number shown, by a stable dotted key (full precision)."""
        s = self.surface
        out: dict[str, float] = {}
        for group, terms in (("coef", s.coefficients), ("surface", s.surface)):
            for t in terms:
                for name in ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "df"):
                    out[f"{group}.{t.term}.{name}"] = float(getattr(t, name))
        out["r_squared"] = s.r_squared
        out["center"] = s.center
        out["n"] = float(s.n)
        out["n_excluded"] = float(s.n_excluded)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy table of the coefficients and a1-a5 (:meth:`ResponseSurfaceResult.to_frame`)."""
        return self.surface.to_frame()

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready: the design, and b0-b5 and a1-a5 with se, CI, t, df and p."""
        s = self.surface

        def rows(terms: tuple[Any, ...]) -> list[dict[str, Any]]:
            keys = ("estimate", "se", "ci_low", "ci_high", "statistic", "df", "p_value")
            return [{"term": t.term, **{k: float(getattr(t, k)) for k in keys}} for t in terms]

        return {
            "client": self.client,
            "therapist": self.therapist,
            "outcome": self.outcome,
            "x": s.x,
            "y": s.y,
            "response": "change",
            "center": s.center,
            "cov_type": s.cov_type,
            "level": s.level,
            "n": s.n,
            "n_excluded": s.n_excluded,
            "r_squared": s.r_squared,
            "coefficients": rows(s.coefficients),
            "surface": [{**r, "meaning": MEANINGS[r["term"]]} for r in rows(s.surface)],
        }

    def summary(self) -> str:
        """The surface table and the design, for the terminal."""
        return (
            f"Client-therapist congruence: change in {self.outcome} (last - intake) on the "
            f"client's mean {self.client}_total (x) and the therapist's mean "
            f"{self.therapist}_total (y) over sessions both rated, one row per client\n"
            + self.surface.summary()
        )

    def interpretation(self) -> list[str]:
        """Plain-language readings of a1-a5 and the congruence pattern (see
        :func:`interpret_surface`)."""
        return interpret_surface(self.surface, outcome=self.outcome)


def interpret_surface(s: ResponseSurfaceResult, *, outcome: str) -> list[str]:
    """One sentence per surface parameter, saying whether its interval excludes 0, and a
    last one on whether the pattern of a congruence effect is there (Humberg et al., 2019)."""
    from bordin.analytics._clients import higher_is_worse

    pct = f"{100 * s.level:g}%"
    better = "lower" if higher_is_worse(outcome) else "higher"

    def clear(name: str) -> tuple[float, bool, str]:
        t = s.parameter(name)
        excluded = t.ci_low > 0 or t.ci_high < 0
        return (
            t.estimate,
            excluded,
            f"{name} = {t.estimate:.3f}, {pct} CI {t.ci_low:.3f} to {t.ci_high:.3f}",
        )

    out = []
    a1, c1, txt = clear("a1")
    out.append(
        f"Agreement line ({txt}): where client and therapist agree, "
        + (
            f"a higher shared rating goes with a {'lower' if a1 < 0 else 'higher'} change "
            f"in {outcome} ({better} is better)."
            if c1
            else "the change does not clearly differ between shared high and shared low ratings."
        )
    )
    _, c2, txt = clear("a2")
    out.append(
        f"Curvature along agreement ({txt}): "
        + ("the agreement line is clearly curved." if c2 else "no clear curvature.")
    )
    a3, c3, txt = clear("a3")
    out.append(
        f"Disagreement line ({txt}): "
        + (
            f"when the two disagree, the change is {'lower' if a3 < 0 else 'higher'} where the "
            f"client rates the alliance higher than the therapist ({better} is better)."
            if c3
            else "no clear difference between the two directions of disagreement."
        )
    )
    a4, c4, txt = clear("a4")
    if c4:
        extreme, side = ("highest", "falls") if a4 < 0 else ("lowest", "rises")
        text = (
            f"the change {side} on both sides of agreement, so it is {extreme} where the two "
            f"ratings agree ({better} is better)."
        )
    else:
        text = "no clear sign that agreement itself matters for the change."
    out.append(f"Curvature across agreement ({txt}): {text}")
    _, c5, txt = clear("a5")
    out.append(
        f"Asymmetry ({txt}): "
        + (
            "the surface is tilted about the agreement line, so its ridge or trough does not "
            "lie on x = y."
            if c5
            else "no clear tilt of the surface about the agreement line."
        )
    )
    # Humberg et al. (2019): a congruence effect needs the best outcome on the line x = y
    # (a4 in the direction of the outcome's "better") with a3 = 0 and a5 = 0.
    right_way = a4 > 0 if better == "lower" else a4 < 0
    if c4 and right_way and not c3 and not c5:
        verdict = (
            "the pattern of a congruence effect is present: the outcome is best where client "
            "and therapist agree, with no clear slope (a3) or tilt (a5) across agreement"
        )
    else:
        verdict = (
            "the pattern of a congruence effect (a4 clearly in the direction of a better outcome "
            "at agreement, with a3 and a5 not clearly different from 0) is not present"
        )
    out.append(
        f"Taken together (Humberg, Nestler & Back, 2019): {verdict}. An association in these "
        "data, not a cause."
    )
    return out


def fit_congruence(
    scores: pd.DataFrame,
    *,
    outcome: str,
    client: str = "sac",
    therapist: str | None = None,
    center: float | Literal["pooled"] | None = "pooled",
    cov_type: CovType = "classic",
    level: float = 0.95,
) -> CongruenceResult:
    """Response surface analysis of outcome change on client and therapist alliance.

    Parameters
    ----------
    scores:
        Wide session scores with the client's and the therapist's form (``sac_total``,
        ``tsc_total``) and the outcome.
    outcome:
        The outcome column (``phq9_total``); its change last - intake is the response.
    client, therapist:
        The paired instruments (``tsc`` is the default partner of ``sac``, ``wai_sr_t`` of
        ``wai_sr``).
    center:
        Centre of both ratings (default: their pooled mean, so a1-a5 describe the surface
        at the clinic's typical rating); see :func:`fit_response_surface`.
    cov_type, level:
        Coefficient covariance and confidence level.

    Returns
    -------
    CongruenceResult

    Raises
    ------
    InputError
        No therapist ratings, fewer than 10 clients with both ratings and a change score,
        or a rank-deficient polynomial.

    Notes
    -----
    One row per client, the design of the congruence studies that relate agreement to
    outcome (Marmarosh & Kivlighan, 2012; Rubel et al., 2018 study it session by session
    too): :math:`\\Delta z_i = b_0 + b_1 x_i + b_2 y_i + b_3 x_i^2 + b_4 x_i y_i + b_5 y_i^2 +
    e_i` with :math:`x_i`, :math:`y_i` the client's and the therapist's mean total over the
    sessions both rated, centred on their pooled mean. Per-client means average over
    sessions and so do not say when disagreement happened; the means and the change span
    the same treatment, so the association is not temporal, and clients are treated as
    independent (therapist clustering is ignored). The surface parameters and their
    reading follow Edwards & Parry (1993), Shanock et al. (2010) and Humberg et al. (2019).

    Validation
    ----------
    The surface is :func:`bordin.analytics.response_surface.fit_response_surface`, checked
    against R ``lm`` in ``tests/reference/data/response_surface/response_surface_cases.json``
    (tolerance 1e-9); this function only builds its per-client table.

    References
    ----------
    Edwards, J. R., & Parry, M. E. (1993). On the use of polynomial regression equations as an
    alternative to difference scores in organizational research. Academy of Management
    Journal, 36(6), 1577-1613. https://doi.org/10.5465/256822

    Shanock, L. R., Baran, B. E., Gentry, W. A., Pattison, S. C., & Heggestad, E. D. (2010).
    Polynomial regression with response surface analysis. Journal of Business and
    Psychology, 25(4), 543-554. https://doi.org/10.1007/s10869-010-9183-4

    Humberg, S., Nestler, S., & Back, M. D. (2019). Response surface analysis in personality
    and social psychology: Checklist and clarifications for the case of congruence
    hypotheses. Social Psychological and Personality Science, 10(3), 409-419.
    https://doi.org/10.1177/1948550618757600

    Rubel, J. A., Bar-Kalifa, E., Atzil-Slonim, D., Schmidt, S., & Lutz, W. (2018).
    Congruence of therapeutic bond perceptions and its relation to treatment outcome:
    Within- and between-dyad effects. Journal of Consulting and Clinical Psychology, 86(4),
    341-353. https://doi.org/10.1037/ccp0000280

    Examples
    --------
    >>> from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings
    >>> clinic = simulate_clinic(SimulationConfig(n_clients=40), seed=1)
    >>> scores = simulate_therapist_ratings(clinic, seed=2).scores
    >>> res = fit_congruence(scores, outcome="phq9_total")
    >>> [t.term for t in res.surface.surface]  # R: lm(change ~ x + y + I(x^2) + I(x*y) + I(y^2))
    ['a1', 'a2', 'a3', 'a4', 'a5']
    """
    partner = _partner(client, therapist)
    if not has_therapist_ratings(scores, client=client, therapist=partner):
        raise InputError(
            f"no therapist session checks ({partner}_total) in the scores: the congruence "
            "analysis needs both sides' ratings",
            column=f"{partner}_total",
        )
    table = client_congruence_table(scores, outcome=outcome, client=client, therapist=partner)
    surface = fit_response_surface(
        table,
        x="client_total",
        y="therapist_total",
        outcome="change",
        center=center,
        cov_type=cov_type,
        level=level,
    )
    return CongruenceResult(
        client=client, therapist=partner, outcome=outcome, clients=table, surface=surface
    )


def pair_session_frame(
    scores: pd.DataFrame, *, outcome: str, client: str = "sac", therapist: str | None = None
) -> pd.DataFrame:
    """Every session row with its outcome and both alliance totals where both sides rated.

    ``client_id, session, <outcome>, client_total, therapist_total``; the totals are
    missing at a session only one side rated, so both ratings cover the same sessions while
    the outcome of every session stays available as the next session's outcome.
    """
    from bordin.feedback import build_pair_table

    partner = _partner(client, therapist)
    pairs = build_pair_table(scores, client=client, therapist=partner)
    ids = scores[["client_id", "session", outcome]].copy()
    ids["client_id"] = ids["client_id"].astype(str)
    ids["session"] = pd.to_numeric(ids["session"], errors="coerce")
    totals = pairs[["client_id", "session", "client_total", "therapist_total"]].assign(
        client_id=pairs["client_id"].astype(str),
        session=pd.to_numeric(pairs["session"], errors="coerce"),
    )
    frame = ids.merge(totals, on=["client_id", "session"], how="left")
    frame[outcome] = pd.to_numeric(frame[outcome], errors="coerce").astype(np.float64)
    return frame.sort_values(["client_id", "session"], kind="stable").reset_index(drop=True)


def fit_pair_lagged_model(
    scores: pd.DataFrame,
    *,
    outcome: str,
    client: str = "sac",
    therapist: str | None = None,
    level: float = 0.95,
) -> LaggedModelResult:
    """The lagged within/between model with the client's and the therapist's rating together.

    Parameters
    ----------
    scores:
        Wide session scores with both sides' alliance totals and the outcome.
    outcome:
        The outcome column (``phq9_total``).
    client, therapist:
        The paired instruments, as in :func:`fit_congruence`.
    level:
        Confidence level of the Satterthwaite t intervals.

    Returns
    -------
    LaggedModelResult

    Raises
    ------
    InputError
        As :func:`fit_lagged_model` (too few lag pairs, a rating constant within clients,
        the ratings collinear).

    Notes
    -----
    Both ratings at session t, each split into its within-client deviation and its client
    mean, predict the outcome at t+1 with the outcome at t held constant, on the sessions
    both sides rated (:func:`pair_session_frame`; DESIGN.md lag pairs):

    ``outcome[t+1] ~ outcome[t] + client_within + client_between + therapist_within +
    therapist_between + (1 + client_within | client)``

    by :func:`bordin.analytics.multilevel.fit_lagged_model` with ``alliance="client_total"``
    and ``predictors=("therapist_total",)`` (REML, Satterthwaite t tests). Each rating's
    effect is adjusted for the other's. The alliance terms of the result are the client's
    (``alliance_within``, ``alliance_between``), the therapist's are
    ``therapist_total_within`` and ``therapist_total_between``.

    The random slope is the client's rating's only; the therapist's within-client effect is
    fixed across clients. With two correlated ratings of the same sessions each estimate is
    the rating's unique association, so both can be small while each alone is clear.

    Validation
    ----------
    lme4 1.1.31 and lmerTest 3.1.3 (R 4.2.2): ``lmer(outcome_next ~ outcome + cw + cb + tw +
    tb + (1 + cw | client_id), REML = TRUE)`` on a simulated clinic's pair frame; script
    ``tests/reference/r/make_pair_lagged.R``, reference
    ``tests/reference/data/lmertest/pair_lagged.json``; tolerances as the lagged model's.

    References
    ----------
    Falkenstrom, F., Finkel, S., Sandell, R., Rubel, J. A., & Holmqvist, R. (2017). Dynamic
    models of individual change in psychotherapy process research. Journal of Consulting and
    Clinical Psychology, 85(6), 537-549. https://doi.org/10.1037/ccp0000203

    Rubel, J. A., Bar-Kalifa, E., Atzil-Slonim, D., Schmidt, S., & Lutz, W. (2018).
    Congruence of therapeutic bond perceptions and its relation to treatment outcome:
    Within- and between-dyad effects. Journal of Consulting and Clinical Psychology, 86(4),
    341-353. https://doi.org/10.1037/ccp0000280

    Examples
    --------
    >>> import warnings
    >>> from bordin.simulate import SimulationConfig, simulate_clinic, simulate_therapist_ratings
    >>> clinic = simulate_clinic(SimulationConfig(n_clients=40), seed=1)
    >>> scores = simulate_therapist_ratings(clinic, seed=2).scores
    >>> with warnings.catch_warnings():  # this small clinic gives a boundary (singular) fit
    ...     warnings.simplefilter("ignore")
    ...     fit = fit_pair_lagged_model(scores, outcome="phq9_total")
    >>> fit.terms[2:]  # R: lmer(y_next ~ y + cw + cb + tw + tb + (1 + cw | client_id))
    ('alliance_within', 'alliance_between', 'therapist_total_within', 'therapist_total_between')
    """
    from bordin.analytics.multilevel import fit_lagged_model

    frame = pair_session_frame(scores, outcome=outcome, client=client, therapist=therapist)
    return fit_lagged_model(
        frame,
        alliance="client_total",
        outcome=outcome,
        predictors=("therapist_total",),
        level=level,
    )
