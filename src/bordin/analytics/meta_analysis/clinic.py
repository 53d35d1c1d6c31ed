"""Per-therapist (or per-site) alliance-outcome correlations from clinic data.

Definition (documented in docs/meta-analysis.md): for each client,

* early alliance = mean of the alliance column over sessions 1-3 (the sessions observed);
* improvement = first minus last observed outcome when higher outcome scores are worse
  (PHQ-9, GAD-7, ...), last minus first when higher is better (ORS), so that a positive
  correlation means that a better early alliance goes with more improvement, the sign
  convention of Flückiger et al. (2018).

Clients need an early alliance and at least two observed outcomes. Within each group
(therapist, site) the Pearson correlation across clients is computed with n = clients;
groups with fewer than ``min_clients`` (default 4, the minimum for Fisher's z) are dropped
and listed. The correlations are pooled with :func:`analyse_correlations` and read against
r = .278 [.256, .299] over 295 samples (Flückiger et al., 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.analytics.meta_analysis._fit import Method, Test
from bordin.analytics.meta_analysis.analysis import (
    CorrelationMetaAnalysis,
    analyse_correlations,
)
from bordin.analytics.meta_analysis.effect_sizes import Measure
from bordin.errors import InputError, InstrumentError

__all__ = [
    "FLUCKIGER_2018",
    "BenchmarkCorrelation",
    "GroupCorrelations",
    "correlations_by_group",
    "outcome_direction",
]


@dataclass(frozen=True)
class BenchmarkCorrelation:
    """A published pooled correlation to read a clinic's figure against.

    Attributes
    ----------
    r, ci_low, ci_high
        The pooled correlation and its 95% confidence interval.
    k
        Number of samples pooled.
    citation
        Where it comes from (with DOI).
    """

    r: float
    ci_low: float
    ci_high: float
    k: int
    citation: str


#: Alliance-outcome correlation in adult individual psychotherapy.
FLUCKIGER_2018: Final = BenchmarkCorrelation(
    r=0.278,
    ci_low=0.256,
    ci_high=0.299,
    k=295,
    citation=(
        "Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance "
        "in adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316-340. "
        "https://doi.org/10.1037/pst0000172"
    ),
)


def outcome_direction(column: str) -> bool | None:
    """Whether higher is better for an ``<instrument>_<scale>`` column (None if unknown)."""
    try:
        from bordin.instruments.registry import get_instrument
    except ImportError:  # the instrument registry is optional for this module
        return None
    parts = column.split("_")
    for cut in range(len(parts) - 1, 0, -1):
        instrument_id, scale = "_".join(parts[:cut]), "_".join(parts[cut:])
        try:
            definition = get_instrument(instrument_id)
        except InstrumentError:
            continue
        try:
            direction = definition.scale(scale).direction
        except KeyError:
            direction = definition.direction
        return bool(direction == "higher_is_better")
    return None


@dataclass(frozen=True, eq=False)
class GroupCorrelations:
    """Alliance-outcome correlations within groups of clients.

    Attributes
    ----------
    by
        The grouping column (e.g. ``therapist_id``).
    alliance, outcome
        The columns used.
    higher_is_better
        Direction of the outcome used to define improvement.
    direction_source
        ``"option"``, ``"instrument"`` (from the instrument definition) or ``"default"``
        (higher is worse, as PHQ-9).
    groups
        Groups kept (with at least ``min_clients`` clients and some variation).
    r, n
        Correlation and number of clients per kept group.
    dropped
        Groups left out, with the reason.
    n_clients
        Clients with an early alliance and an improvement score.
    n_clients_excluded
        Clients without (no alliance in sessions 1-3, or fewer than 2 outcomes).
    """

    by: str
    alliance: str
    outcome: str
    higher_is_better: bool
    direction_source: str
    groups: tuple[str, ...]
    r: NDArray[np.float64] = field(repr=False)
    n: NDArray[np.int64] = field(repr=False)
    dropped: tuple[tuple[str, str], ...]
    n_clients: int
    n_clients_excluded: int

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per kept group (``group, estimate = r, n``)."""
        return pd.DataFrame({"group": list(self.groups), "estimate": self.r, "n": self.n})

    def pool(
        self,
        *,
        measure: Measure = "ZCOR",
        method: Method = "REML",
        test: Test = "z",
        level: float = 0.95,
    ) -> CorrelationMetaAnalysis:
        """Pool the group correlations (Fisher z by default) with :func:`analyse_correlations`."""
        if len(self.groups) < 2:
            dropped = "; ".join(f"{g}: {why}" for g, why in self.dropped) or "none"
            raise InputError(
                f"pooling needs at least 2 groups of {self.by} with 4 or more clients; "
                f"{len(self.groups)} qualify (dropped: {dropped})"
            )
        return analyse_correlations(
            self.r,
            self.n,
            measure=measure,
            method=method,
            test=test,
            level=level,
            labels=list(self.groups),
            r_column="r",
            n_column="n",
        )

    def notes(self) -> list[str]:
        """Plain-language notes: definition, direction, exclusions."""
        direction = "higher is better" if self.higher_is_better else "higher is worse"
        source = {
            "option": "as given",
            "instrument": "from the instrument definition",
            "default": "the default; set --higher-is-better if needed",
        }[self.direction_source]
        out = [
            f"r per {self.by}: early {self.alliance} (mean of sessions 1-3) with improvement "
            f"in {self.outcome} (first to last observed; {direction}, {source}); "
            "positive r = better alliance, more improvement",
            f"{self.n_clients} clients used, {self.n_clients_excluded} without an early "
            "alliance or two outcome scores",
        ]
        for group, why in self.dropped:
            out.append(f"{self.by} {group} dropped: {why}")
        return out


def _numeric(frame: pd.DataFrame, column: str, file: str | None) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bool(bad.any()):
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{raw.iloc[pos]!r} is not a number", file=file, row=pos + 2, column=column
        )
    return values.astype(float)


def correlations_by_group(
    frame: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    by: str = "therapist_id",
    higher_is_better: bool | None = None,
    client_column: str = "client_id",
    session_column: str = "session",
    early_sessions: int = 3,
    min_clients: int = 4,
    file: str | None = None,
) -> GroupCorrelations:
    """Alliance-outcome correlation within each therapist (or site) of a clinic.

    Parameters
    ----------
    frame
        Session scores, one row per client and session (the wide file of ``bordin score``).
    alliance, outcome
        Columns of the alliance and the outcome scores.
    by
        Grouping column (``therapist_id``, a site column, ...).
    higher_is_better
        Direction of the outcome. None: from the instrument definition when the column is
        ``<instrument>_<scale>``, otherwise higher is worse (as PHQ-9).
    client_column, session_column
        Column names of the client and the 1-based session number.
    early_sessions
        Sessions averaged for the early alliance (default 1-3).
    min_clients
        Smallest group kept (default 4; Fisher's z needs n > 3).
    file
        File name for error messages (rows are numbered as in a CSV file with a header).

    Returns
    -------
    GroupCorrelations

    Raises
    ------
    InputError
        A column is missing, or a cell is not a number (naming the row).

    Notes
    -----
    For client :math:`j`: :math:`a_j = \\operatorname{mean}(A_{jt} : t \\le 3)`,
    :math:`d_j = Y_{j,first} - Y_{j,last}` (sign flipped when higher is better); within group
    :math:`g`, :math:`r_g = \\operatorname{cor}(a, d)` over its clients, :math:`n_g` the
    number of clients. A client's group is the value of ``by`` at their first session.

    Validation
    ----------
    Checked against pandas' ``Series.corr`` on simulated clinics in
    ``tests/unit/analytics/test_meta_clinic.py`` (rtol 1e-9); the pooling is the metafor-checked
    engine (``tests/reference/data/meta/``).

    References
    ----------
    Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance in
    adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316-340.
    https://doi.org/10.1037/pst0000172

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(c, "t1", s, 4.0 + c / 10, 20 - c * s) for c in range(1, 6) for s in (1, 2, 3)]
    >>> frame = pd.DataFrame(rows, columns=["client_id", "therapist_id", "session",
    ...                                     "alliance", "phq9_total"])
    >>> res = correlations_by_group(frame, alliance="alliance", outcome="phq9_total",
    ...                             higher_is_better=False)
    >>> res.groups, round(float(res.r[0]), 3)
    (('t1',), 1.0)
    """
    missing = [c for c in (client_column, session_column, alliance, outcome, by) if c not in frame]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; columns are {', '.join(map(str, frame))}",
            file=file,
        )
    source = "option"
    if higher_is_better is None:
        found = outcome_direction(outcome)
        if found is None:
            higher_is_better, source = False, "default"
        else:
            higher_is_better, source = found, "instrument"
    data = pd.DataFrame(
        {
            "client": frame[client_column].astype(str),
            "group": frame[by].astype(str),
            "session": _numeric(frame, session_column, file),
            "alliance": _numeric(frame, alliance, file),
            "outcome": _numeric(frame, outcome, file),
        }
    )
    bad_session = data["session"].isna()
    if bool(bad_session.any()):
        pos = int(np.flatnonzero(bad_session.to_numpy())[0])
        raise InputError("session number is missing", file=file, row=pos + 2, column=session_column)
    data = data.sort_values(["client", "session"], kind="stable")
    per_client = data.groupby("client", sort=True)
    group = per_client["group"].first()
    early = data.loc[data["session"] <= early_sessions].groupby("client")["alliance"].mean()
    observed = data.loc[data["outcome"].notna()].groupby("client")["outcome"]
    first, last, count = observed.first(), observed.last(), observed.count()
    change = (last - first) if higher_is_better else (first - last)
    change = change[count >= 2]
    clients = pd.DataFrame({"group": group, "a": early, "d": change}).dropna()
    n_all = int(group.size)
    sums = clients.groupby("group").agg(n=("a", "size"), ma=("a", "mean"), md=("d", "mean"))
    clients = clients.join(sums[["ma", "md"]], on="group")
    clients["xa"] = clients["a"] - clients["ma"]
    clients["xd"] = clients["d"] - clients["md"]
    clients["saa"] = clients["xa"] ** 2
    clients["sdd"] = clients["xd"] ** 2
    clients["sad"] = clients["xa"] * clients["xd"]
    moments = clients.groupby("group")[["saa", "sdd", "sad"]].sum().join(sums["n"])
    all_groups = sorted(set(group.astype(str)))
    kept: list[str] = []
    rs: list[float] = []
    ns: list[int] = []
    dropped: list[tuple[str, str]] = []
    for name in all_groups:
        if name not in moments.index:
            dropped.append((name, "no client with an early alliance and two outcome scores"))
            continue
        row = moments.loc[name]
        n = int(row["n"])
        if n < min_clients:
            dropped.append((name, f"{n} client(s), fewer than {min_clients}"))
            continue
        if row["saa"] <= 0 or row["sdd"] <= 0:
            dropped.append((name, "no variation in early alliance or improvement"))
            continue
        r = float(row["sad"] / np.sqrt(row["saa"] * row["sdd"]))
        kept.append(name)
        rs.append(float(np.clip(r, -1.0, 1.0)))
        ns.append(n)
    return GroupCorrelations(
        by=by,
        alliance=alliance,
        outcome=outcome,
        higher_is_better=bool(higher_is_better),
        direction_source=source,
        groups=tuple(kept),
        r=np.asarray(rs, dtype=float),
        n=np.asarray(ns, dtype=np.int64),
        dropped=tuple(dropped),
        n_clients=int(len(clients)),
        n_clients_excluded=n_all - int(len(clients)),
    )
