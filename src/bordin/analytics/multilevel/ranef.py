"""Conditional modes of the random effects (BLUPs) and their conditional variances, as lme4.

``ranef(fit, condVar = TRUE)``: the random effects at the solution of the penalised least
squares problem at the optimum, ``b = Lambda_theta u``, and the diagonal blocks of their
conditional covariance ``sigma^2 Lambda (Lambda' Z' Z Lambda + I)^{-1} Lambda'`` given the
data and the estimated fixed effects (Bates et al., 2015, section 3.4). Computed from the
per-client sufficient statistics, vectorised over clients; the therapist level, nested or
crossed, enters through its Schur complement as in the deviance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.errors import InputError

from ._deviance import FloatArray, SufficientStats, _sum_by, compute_stats, solve_pls
from .fitting import MixedDesign, MixedModelFit, _check_design

__all__ = ["RandomEffectsResult", "predict_random_effects"]


@dataclass(frozen=True)
class RandomEffectsResult:
    """Conditional modes of the client (and therapist) random effects.

    Attributes
    ----------
    client_terms:
        Names of the client random effects (``(Intercept)`` and any slope).
    client_labels:
        Client identifiers, in the order of the rows of ``client_modes``.
    client_modes:
        Conditional modes, shape (clients, q) (lme4 ``ranef(fit)$client_id``).
    client_cond_var:
        Conditional covariance of each client's effects, shape (clients, q, q) (lme4
        ``attr(ranef(fit, condVar = TRUE)$client_id, "postVar")``, levels first).
    therapist_labels:
        Therapist identifiers (empty without a therapist term).
    therapist_modes:
        Conditional modes of the therapist intercepts, shape (therapists,).
    therapist_cond_var:
        Their conditional variances, shape (therapists,).
    """

    client_terms: tuple[str, ...]
    client_labels: tuple[object, ...]
    client_modes: FloatArray
    client_cond_var: FloatArray
    therapist_labels: tuple[object, ...]
    therapist_modes: FloatArray
    therapist_cond_var: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """Tidy table, one row per level and effect: ``group, id, term, estimate, se``.

        ``group`` is "client" or "therapist", ``id`` the identifier, ``estimate`` the
        conditional mode and ``se`` the conditional SD (lme4 ``as.data.frame(ranef(fit))``:
        ``condval``, ``condsd``).
        """
        frames = []
        for j, term in enumerate(self.client_terms):
            frames.append(
                pd.DataFrame(
                    {
                        "group": "client",
                        "id": list(self.client_labels),
                        "term": term,
                        "estimate": self.client_modes[:, j],
                        "se": np.sqrt(self.client_cond_var[:, j, j]),
                    }
                )
            )
        if self.therapist_labels:
            frames.append(
                pd.DataFrame(
                    {
                        "group": "therapist",
                        "id": list(self.therapist_labels),
                        "term": "(Intercept)",
                        "estimate": self.therapist_modes,
                        "se": np.sqrt(self.therapist_cond_var),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        """The number of levels and the spread of the modes, per effect."""
        lines = ["Conditional modes of the random effects (BLUPs):"]
        for j, term in enumerate(self.client_terms):
            m = self.client_modes[:, j]
            lines.append(
                f"  client {term:<18} {m.size} levels, SD of modes {np.std(m, ddof=1):.4f}, "
                f"range [{m.min():.3f}, {m.max():.3f}]"
            )
        if self.therapist_labels:
            m = self.therapist_modes
            lines.append(
                f"  therapist {'(Intercept)':<15} {m.size} levels, range "
                f"[{m.min():.3f}, {m.max():.3f}]"
            )
        return "\n".join(lines)


def _tmat(theta: FloatArray, q: int) -> FloatArray:
    if q == 1:
        return np.array([[theta[0]]])
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


def predict_random_effects(
    design: MixedDesign,
    fit: MixedModelFit,
    *,
    client_labels: Sequence[object] | None = None,
    therapist_labels: Sequence[object] | None = None,
    stats: SufficientStats | None = None,
) -> RandomEffectsResult:
    """Conditional modes and conditional variances of the random effects, as ``lme4::ranef``.

    Parameters
    ----------
    design:
        The design the model was fitted on.
    fit:
        The fit; its ``theta``, ``sigma`` and ``reml`` are used (the fixed effects are those
        of the PLS solution at ``theta``, equal to ``fit.beta``).
    client_labels, therapist_labels:
        Identifiers in code order (default: the codes).
    stats:
        The design's sufficient statistics when the caller has them already (computed
        otherwise).

    Returns
    -------
    RandomEffectsResult

    Raises
    ------
    InputError
        The design is inconsistent (as :func:`bordin.analytics.multilevel.fit_lmm`) or a
        label list does not have one label per client or therapist.

    Notes
    -----
    With ``M = Lambda' Z' Z Lambda + I`` split into the block-diagonal client part ``M_C``
    (one ``M_i = T' Z_i' Z_i T + I`` per client), the therapist part ``D`` and the coupling
    ``B``, and ``r = Lambda' Z' (y - X beta)``, the spherical modes are
    ``u_T = S^{-1}(r_T - B M_C^{-1} r_C)`` with ``S = D - B M_C^{-1} B'`` and
    ``u_C = M_C^{-1}(r_C - B' u_T)``; the modes are ``b = Lambda u``. The conditional
    covariance of client i's effects is
    ``sigma^2 T [M_i^{-1} + M_i^{-1} B_i' S^{-1} B_i M_i^{-1}] T'`` and of therapist j's
    intercept ``sigma^2 s^2 (S^{-1})_{jj}``; without a therapist term
    ``b_i = T M_i^{-1} T' Z_i'(y_i - X_i beta)`` and the covariance is ``sigma^2 T M_i^{-1} T'``.
    These are conditional on the estimated fixed effects and variance parameters, as lme4's.

    Validation
    ----------
    lme4 1.1.31 (R 4.2.2), ``ranef(fit, condVar = TRUE)`` on panel and sleepstudy models,
    ``tests/reference/data/lmertest/lmertest_cases.json`` (made by
    ``tests/reference/r/make_lmertest_cases.R``); tolerances in
    ``tests/reference/test_lmertest.py``.

    References
    ----------
    Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. Journal of Statistical Software, 67(1), 1-48.
    https://doi.org/10.18637/jss.v067.i01

    Examples
    --------
    >>> import numpy as np
    >>> from bordin.analytics.multilevel import MixedDesign, fit_lmm
    >>> rng = np.random.default_rng(3)
    >>> client = np.repeat(np.arange(30), 6)
    >>> x = np.ones((180, 1))
    >>> y = 2.0 + rng.normal(size=30)[client] + rng.normal(size=180)
    >>> design = MixedDesign(y=y, x=x, fixed_names=("(Intercept)",), z=x,
    ...                      z_names=("(Intercept)",), client=client, n_clients=30)
    >>> re = predict_random_effects(design, fit_lmm(design))  # R: ranef(fit, condVar = TRUE)
    >>> re.client_modes.shape, abs(float(re.client_modes.sum())) < 1e-9  # balanced: modes sum to 0
    ((30, 1), True)
    """
    _check_design(design)
    if client_labels is not None and len(client_labels) != design.n_clients:
        raise InputError(f"client_labels must have {design.n_clients} labels")
    if therapist_labels is not None and len(therapist_labels) != design.n_therapists:
        raise InputError(f"therapist_labels must have {design.n_therapists} labels")
    if stats is None:
        stats = compute_stats(
            design.y,
            design.x,
            design.z,
            design.client,
            design.n_clients,
            design.therapist,
            design.n_therapists,
        )
    q = stats.q
    theta = np.asarray(fit.theta, dtype=np.float64)
    n_ct = q * (q + 1) // 2
    t = _tmat(theta, q)
    beta = solve_pls(stats, theta, reml=fit.reml).beta
    sigma2 = fit.sigma**2
    # M_i = T' A_i T + I and its inverse, (N, q, q).
    zz = np.moveaxis(stats.zz, 2, 0)
    m = np.einsum("ba,nbc,cd->nad", t, zz, t) + np.eye(q)
    m_inv = np.linalg.inv(m)
    resid = stats.zy - np.einsum("nqp,p->nq", stats.zx, beta)  # Z_i'(y_i - X_i beta)
    r_c = resid @ t  # T' Z_i'(y_i - X_i beta), row vectors
    k = stats.n_therapists
    if k:
        s = float(theta[n_ct])
        own, ther = stats.pair_client, stats.pair_therapist
        # Row (pair ij) of B: s P_ij T (1 x q); B M_C^{-1} per pair.
        b_rows = s * stats.pair_z @ t
        bm = np.einsum("pq,pqr->pr", b_rows, m_inv[own])
        schur = np.zeros((k, k))
        np.add.at(schur, (ther, ther), -np.sum(bm * b_rows, axis=1))
        if stats.cross_a.size:
            a, b = stats.cross_a, stats.cross_b
            np.add.at(schur, (ther[a], ther[b]), -np.sum(bm[a] * b_rows[b], axis=1))
        schur[np.diag_indices(k)] += s * s * stats.t_count + 1.0
        r_t = s * (stats.t_y - stats.t_x @ beta)
        rhs = r_t - np.bincount(ther, weights=np.sum(bm * r_c[own], axis=1), minlength=k)
        s_inv = np.linalg.inv(schur)
        u_t = s_inv @ rhs
        back = _sum_by(own, stats.zx.shape[0], b_rows * u_t[ther][:, None])
        u_c = np.einsum("nqr,nr->nq", m_inv, r_c - back)
        # Extra conditional covariance of the client block: sum over the client's pairs
        # (a, b) of (M_i^{-1} B_a') S^{-1}_{ab} (B_b M_i^{-1}).
        extra = np.zeros_like(m_inv)
        sab = s_inv[ther, ther]
        np.add.at(extra, own, sab[:, None, None] * bm[:, :, None] * bm[:, None, :])
        if stats.cross_a.size:
            a, b = stats.cross_a, stats.cross_b
            w = s_inv[ther[a], ther[b]]
            np.add.at(extra, own[a], w[:, None, None] * bm[a][:, :, None] * bm[b][:, None, :])
        cov_u = m_inv + extra
        therapist_modes = s * u_t
        therapist_cond_var = sigma2 * s * s * np.diag(s_inv)
    else:
        u_c = np.einsum("nqr,nr->nq", m_inv, r_c)
        cov_u = m_inv
        therapist_modes = np.zeros(0)
        therapist_cond_var = np.zeros(0)
    client_modes = u_c @ t.T
    client_cond_var = sigma2 * np.einsum("ab,nbc,dc->nad", t, cov_u, t)
    return RandomEffectsResult(
        client_terms=tuple(design.z_names),
        client_labels=tuple(client_labels)
        if client_labels is not None
        else tuple(range(design.n_clients)),
        client_modes=client_modes,
        client_cond_var=client_cond_var,
        therapist_labels=tuple(therapist_labels)
        if therapist_labels is not None
        else tuple(range(k)),
        therapist_modes=therapist_modes,
        therapist_cond_var=therapist_cond_var,
    )
