"""From a session-scores frame to the lagged within/between design (DESIGN.md lag pairs).

For client i and session t: the person mean of alliance is taken over all of the client's
sessions with alliance observed; ``alliance_within = alliance[t] - mean_i`` and
``alliance_between = mean_i``; the response is ``outcome[t+1]``, where t+1 must be the next
session *number* of the same client (a missing session breaks the pair). Rows with a missing
response, outcome[t], alliance[t] or covariate are left out (lme4's ``na.omit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bordin.errors import InputError

from .fitting import MixedDesign

__all__ = ["LaggedDesign", "prepare_lagged_design"]


@dataclass(frozen=True)
class LaggedDesign:
    """The lagged model's design and what went into it.

    Attributes
    ----------
    design:
        The mixed-model design (response ``outcome[t+1]``).
    n_rows:
        Rows of the input frame.
    n_pairs_possible:
        Consecutive-session pairs before dropping missing values.
    client_labels:
        Client identifiers in code order.
    therapist_labels:
        Therapist identifiers in code order (empty without a therapist term).
    """

    design: MixedDesign
    n_rows: int
    n_pairs_possible: int
    client_labels: tuple[object, ...]
    therapist_labels: tuple[object, ...]


def _numeric(frame: pd.DataFrame, column: str, source: str | None) -> np.ndarray:
    try:
        return pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InputError(f"values must be numeric ({exc})", file=source, column=column) from None


def prepare_lagged_design(
    frame: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    client: str = "client_id",
    session: str = "session",
    random_slope: bool = True,
    session_trend: bool = False,
    therapist: str | None = None,
    covariates: Sequence[str] = (),
    predictors: Sequence[str] = (),
    source: str | None = None,
) -> LaggedDesign:
    """Build the lagged within/between design from a wide session-scores frame.

    Each column of ``predictors`` is a further time-varying rating split like the alliance
    (``<col>_within``, ``<col>_between``, after ``alliance_between``), with its own person
    mean; a row needs every predictor observed at t.

    Raises
    ------
    InputError
        A named column is missing or not numeric, a (client, session) pair is duplicated,
        session numbers are missing, there is only one client, alliance never varies within
        clients, a covariate varies within a client, or there are too few lag pairs.
    """
    needed = [client, session, alliance, outcome, *covariates, *predictors]
    if therapist is not None:
        needed.append(therapist)
    for column in needed:
        if column not in frame.columns:
            raise InputError("column not found", file=source, column=column)
    n_rows = len(frame)
    if n_rows == 0:
        raise InputError("no rows", file=source)
    if frame[client].isna().any():
        row = int(np.flatnonzero(frame[client].isna().to_numpy())[0]) + 1
        raise InputError("client identifier is missing", file=source, row=row, column=client)
    sess = _numeric(frame, session, source)
    if np.isnan(sess).any():
        row = int(np.flatnonzero(np.isnan(sess))[0]) + 1
        raise InputError("session number is missing", file=source, row=row, column=session)
    if np.any(sess != np.round(sess)):
        raise InputError("session numbers must be whole numbers", file=source, column=session)
    codes_all, labels = pd.factorize(frame[client], sort=True)
    order = np.lexsort((sess, codes_all))
    c_sorted = codes_all[order]
    s_sorted = sess[order]
    same = c_sorted[1:] == c_sorted[:-1]
    dup = same & (s_sorted[1:] == s_sorted[:-1])
    if dup.any():
        row = int(order[np.flatnonzero(dup)[0] + 1]) + 1
        raise InputError(
            f"client {labels[c_sorted[np.flatnonzero(dup)[0]]]!r} has session "
            f"{int(s_sorted[np.flatnonzero(dup)[0]])} twice",
            file=source,
            row=row,
            column=session,
        )
    if labels.size < 2:
        raise InputError(
            "only one client: a within/between model needs several clients",
            file=source,
            column=client,
        )
    all_ = _numeric(frame, alliance, source)[order]
    out = _numeric(frame, outcome, source)[order]
    n_clients_all = labels.size
    has_a = ~np.isnan(all_)
    a_sum = np.bincount(c_sorted, weights=np.where(has_a, all_, 0.0), minlength=n_clients_all)
    a_cnt = np.bincount(c_sorted, weights=has_a.astype(np.float64), minlength=n_clients_all)
    with np.errstate(invalid="ignore", divide="ignore"):
        person_mean = a_sum / a_cnt
    between = person_mean[c_sorted]
    within = all_ - between
    # Lag pairs: row k (session t) and row k+1 (session t+1 of the same client).
    pair = np.zeros(c_sorted.size, dtype=bool)
    pair[:-1] = same & (s_sorted[1:] == s_sorted[:-1] + 1)
    nxt = np.full(c_sorted.size, np.nan)
    nxt[:-1] = np.where(pair[:-1], out[1:], np.nan)
    n_pairs_possible = int(pair.sum())
    keep = pair & ~np.isnan(nxt) & ~np.isnan(out) & ~np.isnan(all_)
    extra: list[tuple[str, np.ndarray, np.ndarray]] = []
    for column in predictors:
        values = _numeric(frame, column, source)[order]
        ok = ~np.isnan(values)
        p_sum = np.bincount(c_sorted, weights=np.where(ok, values, 0.0), minlength=n_clients_all)
        p_cnt = np.bincount(c_sorted, weights=ok.astype(np.float64), minlength=n_clients_all)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_mean = (p_sum / p_cnt)[c_sorted]
        keep &= ok
        extra.append((column, values - p_mean, p_mean))
    cov_values: list[np.ndarray] = []
    for column in covariates:
        values = _numeric(frame, column, source)[order]
        ok = ~np.isnan(values)
        vmax = pd.Series(np.where(ok, values, -np.inf)).groupby(c_sorted).max().to_numpy()
        vmin = pd.Series(np.where(ok, values, np.inf)).groupby(c_sorted).min().to_numpy()
        varies = np.isfinite(vmax) & (vmax > vmin)
        if varies.any():
            raise InputError(
                f"covariate must be constant within each client (client "
                f"{labels[int(np.flatnonzero(varies)[0])]!r} has several values)",
                file=source,
                column=column,
            )
        keep &= ok
        cov_values.append(values)
    ther_sorted = None
    if therapist is not None:
        ther_col = frame[therapist].to_numpy()[order]
        ther_missing = pd.isna(ther_col)
        keep &= ~ther_missing
        ther_sorted = ther_col
    idx = np.flatnonzero(keep)
    n_obs = idx.size
    code_kept, client_codes = np.unique(c_sorted[idx], return_inverse=True)
    n_clients = code_kept.size
    if n_clients < 2:
        raise InputError(
            f"too few lag pairs: {n_obs} usable (session t, t+1) pairs from {n_clients} "
            "client(s); the model needs pairs from at least two clients",
            file=source,
        )
    w = within[idx]
    if np.all(np.abs(w) <= 1e-12 * max(1.0, float(np.max(np.abs(all_[idx]))))):
        raise InputError(
            "alliance never varies within clients, so there is no within-client effect to estimate",
            file=source,
            column=alliance,
        )
    columns = [np.ones(n_obs), out[idx], w, between[idx]]
    names = ["(Intercept)", "outcome", "alliance_within", "alliance_between"]
    for column, p_within, p_between in extra:
        columns += [p_within[idx], p_between[idx]]
        names += [f"{column}_within", f"{column}_between"]
    if session_trend:
        columns.append(s_sorted[idx])
        names.append("session")
    for column, values in zip(covariates, cov_values, strict=True):
        columns.append(values[idx])
        names.append(column)
    x = np.column_stack(columns)
    p = x.shape[1]
    q = 2 if random_slope else 1
    min_obs = max(p + 1, q * n_clients + 1)
    if n_obs < min_obs:
        hint = (
            " (without a random slope it needs more than the number of clients: try"
            " --no-random-slope)"
            if random_slope and n_obs > max(n_clients, p)
            else ""
        )
        raise InputError(
            f"too few lag pairs: {n_obs} usable (session t, t+1) pairs from {n_clients} "
            f"clients; this model needs more than {min_obs - 1}{hint}",
            file=source,
        )
    if np.linalg.matrix_rank(x) < p:
        raise InputError(
            f"the fixed-effect terms {', '.join(names[1:])} are collinear in the lag pairs",
            file=source,
        )
    z = np.column_stack([np.ones(n_obs), w]) if random_slope else np.ones((n_obs, 1))
    t_codes = None
    t_labels: tuple[object, ...] = ()
    n_t = 0
    if ther_sorted is not None:
        t_codes_raw, t_uniques = pd.factorize(pd.Series(ther_sorted[idx]), sort=True)
        t_codes = t_codes_raw.astype(np.intp)
        t_labels = tuple(t_uniques)
        n_t = len(t_labels)
        if n_t < 2:
            raise InputError(
                "only one therapist: a therapist random intercept needs several",
                file=source,
                column=therapist,
            )
    design = MixedDesign(
        y=nxt[idx],
        x=x,
        fixed_names=tuple(names),
        z=z,
        z_names=("(Intercept)", "alliance_within") if random_slope else ("(Intercept)",),
        client=client_codes.astype(np.intp),
        n_clients=int(n_clients),
        therapist=t_codes,
        n_therapists=n_t,
    )
    return LaggedDesign(
        design=design,
        n_rows=n_rows,
        n_pairs_possible=n_pairs_possible,
        client_labels=tuple(labels[code_kept]),
        therapist_labels=t_labels,
    )
