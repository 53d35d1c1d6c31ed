"""Signals from the client-therapist pair: discrepancy, one-sided ruptures, bond-gap alerts.

The client rates the session on the Session Alliance Check (``sac``) and the therapist on
the Therapist Session Check (``tsc``), whose items 1-6 mirror the client's one for one, so
the two are on one metric (1-5 item means). Clinics with a licensed WAI-SR pack can pair
``wai_sr`` with ``wai_sr_t`` the same way. Three signals come from the pair:

* **Discrepancy** per session, client minus therapist, on bond, goal, task and total, and
  its trend: the least-squares slope of the total discrepancy on session number over the
  client's paired sessions up to and including this one (from the third pair on).
  Incongruent views of the bond go with worse next-session outcomes and congruence with
  better ones (Rubel et al., 2018; Marmarosh & Kivlighan, 2012).
* **One-sided ruptures.** A *client-only* rupture: the client's alliance total fell by at
  least ``client_drop`` from the previous session or lies that far below the mean of their
  earlier sessions, or a client rupture item (tension,
  feeling misunderstood, wanting to withdraw) is at least ``client_item_threshold``
  (Safran & Muran, 2000), while the therapist rated noticing no tension or withdrawal at
  all. A *therapist-only* rupture: the therapist noticed tension or withdrawal at least
  ``therapist_rupture`` while the client shows neither a drop nor a rupture item. Ruptures
  often go unseen by one side; therapists' recognition of them is what makes repair
  possible (Chen et al., 2018; Eubanks, Muran & Safran, 2018).
* **Bond-gap alert** when the therapist rates the bond at least ``bond_gap`` below the
  client at two paired sessions in a row (``bond_gap_therapist_lower``), or the client at
  least ``bond_gap`` below the therapist (``bond_gap_client_lower``); each alert carries
  its evidence, suggestions and sources.

Every signal at session *t* uses the client's sessions up to *t* only (no look-ahead), and
the output does not depend on the order of the input rows. The thresholds are project
defaults, checked on simulated clinics (``bordin.validation.pairs``), not validated cutoffs.

References
----------
Rubel, J. A., Bar-Kalifa, E., Atzil-Slonim, D., Schmidt, S., & Lutz, W. (2018). Congruence
of therapeutic bond perceptions and its relation to treatment outcome: Within- and
between-dyad effects. Journal of Consulting and Clinical Psychology, 86(4), 341-353.
doi:10.1037/ccp0000280
Marmarosh, C. L., & Kivlighan, D. M., Jr. (2012). Relationships among client and counselor
agreement about the working alliance, session evaluations, and change in client symptoms
using response surface analysis. Journal of Counseling Psychology, 59(3), 352-367.
doi:10.1037/a0028907
Chen, R., Atzil-Slonim, D., Bar-Kalifa, E., Hasson-Ohayon, I., & Refaeli, E. (2018).
Therapists' recognition of alliance ruptures as a moderator of change in alliance and
symptoms. Psychotherapy Research, 28(4), 560-570. doi:10.1080/10503307.2016.1227104
Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A
meta-analysis. Psychotherapy, 55(4), 508-519. doi:10.1037/pst0000185
Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance: A relational
treatment guide. Guilford Press.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Final, Literal

import numpy as np
import pandas as pd

from bordin.errors import InputError
from bordin.feedback.alerts import Alert

__all__ = [
    "PAIR_ALERT_KINDS",
    "PAIR_COMPONENTS",
    "PairConfig",
    "PairSignalsResult",
    "build_pair_table",
    "detect_pair_signals",
]

PAIR_COMPONENTS: Final = ("bond", "goal", "task", "total")
#: client instrument -> the therapist instrument on its metric
_PARTNERS: Final = {"sac": "tsc", "wai_sr": "wai_sr_t"}
_CLIENT_ITEMS: Final = ("tension", "misunderstood", "withdrawal")
Side = Literal["client_only", "therapist_only"]

RUBEL_2018: Final = (
    "Rubel, J. A., Bar-Kalifa, E., Atzil-Slonim, D., Schmidt, S., & Lutz, W. (2018). "
    "Congruence of therapeutic bond perceptions and its relation to treatment outcome. "
    "Journal of Consulting and Clinical Psychology, 86(4), 341-353. doi:10.1037/ccp0000280"
)
MARMAROSH_2012: Final = (
    "Marmarosh, C. L., & Kivlighan, D. M., Jr. (2012). Relationships among client and "
    "counselor agreement about the working alliance, session evaluations, and change in "
    "client symptoms using response surface analysis. Journal of Counseling Psychology, "
    "59(3), 352-367. doi:10.1037/a0028907"
)
CHEN_2018: Final = (
    "Chen, R., Atzil-Slonim, D., Bar-Kalifa, E., Hasson-Ohayon, I., & Refaeli, E. (2018). "
    "Therapists' recognition of alliance ruptures as a moderator of change in alliance and "
    "symptoms. Psychotherapy Research, 28(4), 560-570. doi:10.1080/10503307.2016.1227104"
)
EUBANKS_2018: Final = (
    "Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A "
    "meta-analysis. Psychotherapy, 55(4), 508-519. doi:10.1037/pst0000185"
)
SAFRAN_2000: Final = (
    "Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance: A relational "
    "treatment guide. Guilford Press."
)

#: kind -> (severity, priority, title, explanation, suggestions, references)
PAIR_ALERT_KINDS: Final[dict[str, tuple[str, int, str, str, tuple[str, ...], tuple[str, ...]]]] = {
    "bond_gap_therapist_lower": (
        "medium",
        55,
        "You rated the bond clearly weaker than the client did, two sessions running",
        "Client and therapist disagree about the bond; disagreement goes with a worse next "
        "session and agreement with better outcomes (Rubel et al., 2018).",
        (
            "Check what makes the bond feel weaker to you: your own reactions to this client "
            "are worth taking to supervision.",
            "Ask the client how the work is going for them, so your view and theirs can meet.",
            "Look for quiet withdrawal the client may not report on the form.",
        ),
        (RUBEL_2018, MARMAROSH_2012, SAFRAN_2000),
    ),
    "bond_gap_client_lower": (
        "high",
        65,
        "The client rated the bond clearly weaker than you did, two sessions running",
        "The client experiences the bond as weaker than you see it; incongruent views go with "
        "a worse next session (Rubel et al., 2018).",
        (
            "Invite the client to say what has not felt right in the relationship, and listen "
            "without defending.",
            "Acknowledge your part in anything that went wrong and talk about the relationship "
            "directly (metacommunication).",
            "Renegotiate the goals or tasks if they no longer fit.",
        ),
        (RUBEL_2018, EUBANKS_2018, SAFRAN_2000),
    ),
    "rupture_client_only": (
        "high",
        70,
        "A rupture the client reported that you did not notice",
        "The client's ratings show a rupture (a drop or a rupture item) in a session where you "
        "noticed no tension or withdrawal; a rupture has to be recognised to be repaired "
        "(Chen et al., 2018).",
        (
            "Think back over the session for withdrawal markers: short answers, changing the "
            "topic, too-ready agreement.",
            "Raise the relationship early next session: ask how the last session was for them.",
            "Empathise and take responsibility for your part before returning to the task.",
        ),
        (CHEN_2018, EUBANKS_2018, SAFRAN_2000),
    ),
    "rupture_therapist_only": (
        "medium",
        45,
        "Tension you noticed that the client did not report",
        "You noticed tension or withdrawal while the client's ratings show none; it may be a "
        "rupture the client is not ready to name, or a strain on your side (Safran & Muran, "
        "2000).",
        (
            "Check in gently about the moment you noticed, without pressing.",
            "Consider whether the strain lies with you, and take it to supervision if so.",
        ),
        (SAFRAN_2000, CHEN_2018),
    ),
}


@dataclass(frozen=True)
class PairConfig:
    """Thresholds of the pair signals (project defaults, on the 1-5 item-mean metric).

    Attributes
    ----------
    client_drop
        A fall of the client's alliance total from the previous session at least this
        large is a client-side rupture (default 0.75, three quarters of a response
        category; fixed once on one simulated clinic, see ``docs/feedback.md``).
    client_item_threshold
        A client rupture item (tension, misunderstood, withdrawal; 0-4) at least this high
        is a client-side rupture (default 2, "somewhat"; the items rule of the rupture
        detectors, after Safran & Muran, 2000).
    therapist_rupture
        The therapist's noticed tension at least this high (0-4) is a therapist-side
        rupture (default 2, "somewhat"). A client-side rupture counts as unnoticed when the
        therapist's item is 0.
    bond_gap
        The bond discrepancy (either direction) that counts as clearly different (default
        1.0, one response category).
    min_trend_pairs
        Paired sessions needed before the discrepancy trend is reported (default 3).
    """

    client_drop: float = 0.75
    client_item_threshold: float = 2.0
    therapist_rupture: float = 2.0
    bond_gap: float = 1.0
    min_trend_pairs: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InputError(f"{f.name} must be a positive number, got {value!r}")
        if self.min_trend_pairs < 2 or int(self.min_trend_pairs) != self.min_trend_pairs:
            raise InputError("min_trend_pairs must be an integer of at least 2")


@dataclass(frozen=True)
class PairSignalsResult:
    """The pair signals of a clinic.

    Attributes
    ----------
    sessions
        One row per session rated by either side, sorted by client and session:
        ``client_id, session``, ``client_<c>`` and ``therapist_<c>`` and ``gap_<c>`` (client
        minus therapist) for c in bond, goal, task, total; ``gap_trend`` (slope per session
        of ``gap_total`` over the paired sessions so far, missing before
        ``min_trend_pairs``); ``client_drop`` (previous total minus this one, missing
        without the previous session); ``client_below_usual`` (the mean of the client's
        earlier totals minus this one); ``client_items`` (the highest client rupture item);
        ``therapist_rupture`` (the therapist's noticed tension); ``client_rupture`` (bool);
        ``one_sided`` (``client_only``, ``therapist_only`` or empty).
    ruptures
        The one-sided ruptures: ``client_id, session, side, client_drop, client_items,
        therapist_rupture``.
    alerts
        Bond-gap and one-sided-rupture alerts, each with evidence, suggestions and sources.
    client, therapist
        The paired instruments.
    config
        The thresholds used.
    """

    sessions: pd.DataFrame
    ruptures: pd.DataFrame
    alerts: tuple[Alert, ...]
    client: str
    therapist: str
    config: PairConfig = field(default_factory=PairConfig)

    def to_frame(self) -> pd.DataFrame:
        """The per-session table (a copy)."""
        return self.sessions.copy()

    def summary(self) -> str:
        """A few lines for the terminal."""
        paired = int(self.sessions["gap_total"].notna().sum())
        clients = self.sessions["client_id"].nunique()
        lines = [
            f"Pair signals ({self.client} with {self.therapist}): {paired} paired sessions "
            f"of {clients} clients",
        ]
        if paired:
            lines.append(
                f"Mean discrepancy (client - therapist), total: "
                f"{self.sessions['gap_total'].mean():+.2f}"
            )
        for side in ("client_only", "therapist_only"):
            n = int((self.ruptures["side"] == side).sum())
            lines.append(f"One-sided ruptures, {side.replace('_', ' ')}: {n}")
        lines.append(f"Alerts: {len(self.alerts)}")
        return "\n".join(lines)


def _partner(client: str, therapist: str | None) -> str:
    if therapist is not None:
        return therapist
    if client not in _PARTNERS:
        raise InputError(f"no therapist form is paired with {client!r}; name one")
    return _PARTNERS[client]


def _aligned(scores: pd.DataFrame, client: str, therapist: str) -> pd.DataFrame:
    """Both sides' scales per session, sorted by client and session, checked."""
    for column in ("client_id", "session"):
        if column not in scores.columns:
            raise InputError(f"the scores have no {column} column", column=column)
    duplicated = scores.duplicated(["client_id", "session"], keep="first")
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError("a client has two rows for one session", row=row + 1, column="session")
    session = pd.to_numeric(scores["session"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(session) & (session >= 1) & (session == np.round(session)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError("a session number is a whole number from 1", row=row + 1, column="session")
    out = pd.DataFrame(
        {
            "client_id": scores["client_id"].astype(str).to_numpy(),
            "session": session.astype(np.int64),
        }
    )
    if "therapist_id" in scores.columns:
        out.insert(1, "therapist_id", scores["therapist_id"].astype(str).to_numpy())
    for side, instrument in (("client", client), ("therapist", therapist)):
        for c in PAIR_COMPONENTS:
            column = f"{instrument}_{c}"
            values = scores[column] if column in scores.columns else np.nan
            out[f"{side}_{c}"] = pd.to_numeric(pd.Series(values, index=scores.index)).to_numpy(
                dtype=float
            )
    items = [f"{client}_{name}" for name in _CLIENT_ITEMS if f"{client}_{name}" in scores]
    out["client_items"] = (
        scores[items].astype(float).max(axis=1, skipna=True).to_numpy() if items else np.nan
    )
    rupture = f"{therapist}_rupture"
    out["therapist_rupture"] = (
        scores[rupture].astype(float).to_numpy() if rupture in scores.columns else np.nan
    )
    rated = out[["client_total", "therapist_total"]].notna().any(axis=1)
    out = out[rated.to_numpy()]
    return out.sort_values(["client_id", "session"], kind="stable").reset_index(drop=True)


def build_pair_table(
    scores: pd.DataFrame, *, client: str = "sac", therapist: str | None = None
) -> pd.DataFrame:
    """The per-session pair table: the client's and the therapist's bond, goal, task and
    total, one row per session both rated (both totals scored).

    Parameters
    ----------
    scores
        A wide session-scores frame (DESIGN.md): ``client_id, session`` (``therapist_id``
        kept when present) and the instruments' scale columns.
    client
        The client's alliance instrument (``sac`` or ``wai_sr``).
    therapist
        The therapist's instrument on the same metric; by default ``tsc`` for ``sac`` and
        ``wai_sr_t`` for ``wai_sr``.

    Returns
    -------
    pandas.DataFrame
        ``client_id, [therapist_id,] session, client_bond, client_goal, client_task,
        client_total, therapist_bond, therapist_goal, therapist_task, therapist_total``,
        sorted by client and session, whatever the order of ``scores``.

    Raises
    ------
    InputError
        A missing ``client_id`` or ``session`` column, a session number that is not a whole
        number from 1, or two rows for one session (naming the row).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"client_id": ["a", "a"], "session": [2, 1],
    ...     "sac_total": [4.0, 3.5], "tsc_total": [3.0, None]})
    >>> build_pair_table(scores)[["session", "client_total", "therapist_total"]]
       session  client_total  therapist_total
    0        2           4.0              3.0
    """
    aligned = _aligned(scores, client, _partner(client, therapist))
    keep = aligned["client_total"].notna() & aligned["therapist_total"].notna()
    columns = [f"{side}_{c}" for side in ("client", "therapist") for c in PAIR_COMPONENTS]
    ids = [c for c in ("client_id", "therapist_id", "session") if c in aligned.columns]
    return aligned.loc[keep, [*ids, *columns]].reset_index(drop=True)


def _codes(frame: pd.DataFrame) -> np.ndarray:
    """Integer codes of the clients (the frame is sorted by client)."""
    codes: np.ndarray = pd.factorize(frame["client_id"].to_numpy())[0]
    return codes


def _previous(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each row's previous row's value within the same client (NaN at a client's first)."""
    out = np.full(values.shape, np.nan)
    same = codes[1:] == codes[:-1]
    out[1:] = np.where(same, values[:-1], np.nan)
    return out


def _trend(frame: pd.DataFrame, min_pairs: int) -> np.ndarray:
    """Expanding least-squares slope of ``gap_total`` on session, per client (no look-ahead)."""
    y = frame["gap_total"].to_numpy()
    paired = ~np.isnan(y)
    x = np.where(paired, frame["session"].to_numpy(dtype=float), 0.0)
    y0 = np.where(paired, y, 0.0)
    parts = pd.DataFrame({"n": paired.astype(float), "x": x, "y": y0, "xx": x * x, "xy": x * y0})
    sums = parts.groupby(_codes(frame), sort=False).cumsum()
    n, sx, sy = sums["n"].to_numpy(), sums["x"].to_numpy(), sums["y"].to_numpy()
    sxx, sxy = sums["xx"].to_numpy(), sums["xy"].to_numpy()
    denominator = n * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    ok = paired & (n >= min_pairs) & (denominator > 0)
    return np.where(ok, slope, np.nan)


def _usual_level(frame: pd.DataFrame) -> np.ndarray:
    """The mean of the client's earlier alliance totals at each session (NaN at the first)."""
    total = frame["client_total"].to_numpy()
    present = ~np.isnan(total)
    values = np.where(present, total, 0.0)
    parts = pd.DataFrame({"sum": values, "n": present.astype(float)})
    sums = parts.groupby(_codes(frame), sort=False).cumsum()
    before_sum = sums["sum"].to_numpy() - values
    before_n = sums["n"].to_numpy() - present
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before_n > 0, before_sum / before_n, np.nan)


def _bond_runs(frame: pd.DataFrame, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Whether this and the previous paired bond rating are both past ``gap`` (each way)."""
    gaps = frame["gap_bond"].to_numpy()
    paired = ~np.isnan(gaps)
    current = gaps[paired]
    previous = _previous(current, _codes(frame)[paired])
    lower_t = np.zeros(len(frame), dtype=bool)
    lower_c = np.zeros(len(frame), dtype=bool)
    with np.errstate(invalid="ignore"):
        lower_t[paired] = (current >= gap) & (previous >= gap)
        lower_c[paired] = (current <= -gap) & (previous <= -gap)
    return lower_t, lower_c


_EVIDENCE: Final = (
    "client_bond",
    "therapist_bond",
    "gap_bond",
    "gap_total",
    "client_drop",
    "client_items",
    "therapist_rupture",
)


def _alerts(
    kind: str, rows: np.ndarray, ids: np.ndarray, sessions: np.ndarray, evidence: np.ndarray
) -> list[Alert]:
    """One alert of ``kind`` per row index in ``rows`` (plain arrays, no pandas per row)."""
    severity, priority, title, explanation, suggestions, references = PAIR_ALERT_KINDS[kind]
    return [
        Alert(
            client_id=ids[i],
            session=int(sessions[i]),
            kind=kind,
            severity=severity,
            priority=priority,
            title=title,
            explanation=explanation,
            evidence={
                k: (None if math.isnan(v) else float(v))
                for k, v in zip(_EVIDENCE, evidence[i].tolist(), strict=True)
            },
            suggestions=suggestions,
            references=references,
        )
        for i in rows.tolist()
    ]


def detect_pair_signals(
    scores: pd.DataFrame,
    *,
    client: str = "sac",
    therapist: str | None = None,
    config: PairConfig | None = None,
) -> PairSignalsResult:
    """Discrepancy, one-sided ruptures and bond-gap alerts for every client of a clinic.

    Parameters
    ----------
    scores
        A wide session-scores frame with ``client_id``, ``session`` and the scales of
        both instruments (``sac_bond``... and ``tsc_bond``..., ``tsc_rupture``); sessions
        rated by neither side are ignored; a side's missing columns count as unrated.
    client, therapist
        The paired instruments (see :func:`build_pair_table`).
    config
        Thresholds (:class:`PairConfig`).

    Returns
    -------
    PairSignalsResult

    Raises
    ------
    InputError
        As :func:`build_pair_table`.

    Notes
    -----
    With :math:`C_{it}` and :math:`T_{it}` the client's and therapist's ratings of session
    *t* of client *i*, the discrepancy is :math:`D_{it} = C_{it} - T_{it}` and its trend at
    *t* the OLS slope of :math:`D_{is}` on *s* over the paired sessions :math:`s \\le t`.
    The client's drop is :math:`C_{i,t-1} - C_{it}` for consecutive sessions only (a
    missing session breaks the pair, as in every lagged rule of Bordin); the distance below
    their usual level is :math:`\bar C_{i,<t} - C_{it}`, the mean over their earlier rated
    sessions. All rules are
    described, with their sources, in ``docs/feedback.md``.
    """
    config = config if config is not None else PairConfig()
    frame = _aligned(scores, client, _partner(client, therapist))
    for c in PAIR_COMPONENTS:
        frame[f"gap_{c}"] = frame[f"client_{c}"] - frame[f"therapist_{c}"]
    frame["gap_trend"] = _trend(frame, config.min_trend_pairs)
    codes = _codes(frame)
    total = frame["client_total"].to_numpy()
    session = frame["session"].to_numpy(dtype=float)
    consecutive = _previous(session, codes) == session - 1
    frame["client_drop"] = np.where(consecutive, _previous(total, codes) - total, np.nan)
    frame["client_below_usual"] = _usual_level(frame) - frame["client_total"]
    with np.errstate(invalid="ignore"):
        dropped = frame["client_drop"].to_numpy() >= config.client_drop
        low = frame["client_below_usual"].to_numpy() >= config.client_drop
        dropped = dropped | low
        marked = frame["client_items"].to_numpy() >= config.client_item_threshold
    client_rated = frame["client_total"].notna().to_numpy()
    client_rupture = client_rated & (dropped | marked)
    noticed = frame["therapist_rupture"].to_numpy()
    with np.errstate(invalid="ignore"):
        client_only = client_rupture & (noticed == 0)
        therapist_only = client_rated & ~client_rupture & (noticed >= config.therapist_rupture)
    frame["client_rupture"] = client_rupture
    frame["one_sided"] = np.select(
        [client_only, therapist_only], ["client_only", "therapist_only"], default=""
    )
    ruptures = frame.loc[
        frame["one_sided"] != "",
        ["client_id", "session", "one_sided", "client_drop", "client_items", "therapist_rupture"],
    ].rename(columns={"one_sided": "side"})
    lower_t, lower_c = _bond_runs(frame, config.bond_gap)
    alerts: list[Alert] = []
    ids = frame["client_id"].to_numpy()
    sessions = frame["session"].to_numpy()
    evidence = frame[list(_EVIDENCE)].to_numpy(dtype=float)
    for kind, mask in (
        ("bond_gap_therapist_lower", lower_t),
        ("bond_gap_client_lower", lower_c),
        ("rupture_client_only", client_only),
        ("rupture_therapist_only", therapist_only),
    ):
        alerts.extend(_alerts(kind, np.flatnonzero(mask), ids, sessions, evidence))
    alerts.sort(key=lambda a: (str(a.client_id), a.session, -a.priority, a.kind))
    return PairSignalsResult(
        sessions=frame,
        ruptures=ruptures.reset_index(drop=True),
        alerts=tuple(alerts),
        client=client,
        therapist=_partner(client, therapist),
        config=config,
    )
