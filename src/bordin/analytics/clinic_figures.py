"""Clinic figures: the counts every page and the report show, each defined once, here.

The team page, the clinic page and the clinic report all take their rupture and dropout
counts from :func:`summarise_clinic`, so the same clinic gives the same numbers everywhere,
and each figure carries its definition (:data:`DEFINITIONS`) to be shown beside it.

Definitions
-----------
ruptures
    Rupture events found by Bordin's leading rupture detector
    (:func:`bordin.feedback.compute_feedback`, detector ``config.rupture_detector`` on the
    alliance total: the adaptive detector by default) over every session on record. Repaired: the
    alliance returned to its pre-rupture level within the repair window (3 sessions by
    default; Safran et al., 2011; Eubanks et al., 2018). Unrepaired: it did not. Open: the
    repair window has not ended yet at the client's latest session.
clients with a rupture
    Clients with at least one such event.
dropouts
    Clients marked as having dropped out (an episode closed as dropout, where the data say so),
    or clients with no session for ``dropout_weeks`` weeks (8 by default) before the
    reference date whose treatment did not end as planned (an ending the clinic recorded).
    Any other client seen within the window is in treatment and is never a dropout; a client
    whose dates are unknown is not counted. Definitions of dropout vary widely across studies
    (Swift & Greenberg, 2012); the 8-week window is a Bordin project default, not a
    validated threshold.

References
----------
Swift, J. K., & Greenberg, R. P. (2012). Premature discontinuation in adult psychotherapy: a
meta-analysis. *Journal of Consulting and Clinical Psychology*, 80(4), 547-559.
https://doi.org/10.1037/a0028226
Safran, J. D., Muran, J. C., & Eubanks-Carter, C. (2011). Repairing alliance ruptures.
*Psychotherapy*, 48(1), 80-87. https://doi.org/10.1037/a0022140
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from bordin.errors import InputError

if TYPE_CHECKING:
    from bordin.feedback import FeedbackResult

__all__ = [
    "CLIENT_STATES",
    "ClinicFiguresResult",
    "DEFINITIONS",
    "DROPOUT_WEEKS",
    "classify_clients",
    "summarise_clinic",
]

DROPOUT_WEEKS: Final = 8
CLIENT_STATES: Final = ("in_treatment", "dropout", "ended", "unknown")

DEFINITIONS: Final[dict[str, str]] = {
    "ruptures": (
        "Rupture events found by Bordin's leading rupture detector on the alliance total, over "
        "every session on record."
    ),
    "ruptures_repaired": (
        "The alliance returned to its level before the rupture within {window} sessions."
    ),
    "ruptures_unrepaired": "The alliance had not returned within {window} sessions.",
    "ruptures_open": "Still inside the {window}-session repair window at the latest session.",
    "clients_with_rupture": "Clients with at least one such rupture.",
    "dropouts": (
        "Clients whose episode was closed as dropout, or who have had no session for "
        "{weeks} weeks before {as_of} and whose treatment did not end as planned. Other "
        "clients seen in the last {weeks} weeks are in treatment and never counted."
    ),
    "in_treatment": (
        "Clients with a session in the {weeks} weeks before {as_of}, except those whose "
        "episode was closed as dropout."
    ),
}
#: The dropouts' definition where the data record no endings (see classify_clients).
_UNRECORDED: Final = (
    "Not known: the data record no endings (no episodes closed as planned or as dropout, no "
    "dropout column), so the {inactive} clients with no session in the {weeks} weeks before "
    "{as_of} may have finished as planned or dropped out."
)
_LABELS: Final[dict[str, str]] = {
    "ruptures": "Ruptures",
    "ruptures_repaired": "repaired",
    "ruptures_unrepaired": "unrepaired",
    "ruptures_open": "open",
    "clients_with_rupture": "Clients with a rupture",
    "dropouts": "Dropouts",
    "in_treatment": "In treatment",
}


def _truthy(series: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.fillna(False).astype(bool)
    words = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    text = series.dropna().astype(str).str.strip().str.lower()
    unknown = text[~text.isin(list(words))]
    if len(unknown):
        raise InputError(
            f"dropout values must be true/false, yes/no or 1/0, got {unknown.iloc[0]!r}",
            column=column,
        )
    return series.astype(str).str.strip().str.lower().map(words).fillna(False).astype(bool)


def endings_recorded(
    ended: Collection[Any] | None,
    dropout: str | None,
    dropped_out: Collection[Any] | None = None,
) -> bool:
    """Whether the data say how treatments ended: a list of endings (the service's closed
    episodes, even an empty one, as planned or as dropout) or a column marking dropouts."""
    return ended is not None or dropout is not None or dropped_out is not None


def classify_clients(
    scores: pd.DataFrame,
    *,
    as_of: dt.date | None = None,
    dropout_weeks: int = DROPOUT_WEEKS,
    ended: Collection[Any] | None = None,
    dropout: str | None = None,
    dropped_out: Collection[Any] | None = None,
) -> pd.DataFrame:
    """Each client's state: ``in_treatment``, ``dropout``, ``ended`` or ``unknown``.

    Parameters
    ----------
    scores
        Wide session scores with ``client_id`` and, for the time rule, ``date`` (ISO).
    as_of
        The reference date; defaults to the latest session date in ``scores``.
    dropout_weeks
        A client with no session for this many weeks before ``as_of`` has dropped out,
        unless their treatment ended as planned.
    ended
        Client ids whose treatment ended as planned (an ending the clinic recorded; the
        service passes its episodes closed as planned, an empty list when none is). None:
        the data record no endings at all (a scores file without a ``dropout`` column), so
        a client with no recent session may have finished as planned or dropped out: their
        state is ``unknown``, not ``dropout``.
    dropout
        Optional column marking clients who dropped out (true on any of their rows), such as
        episodes closed as dropout. It records how treatment ended: a marked client is a
        dropout whatever the dates; an unmarked client with no recent session ended as
        planned.
    dropped_out
        Client ids whose treatment the clinic recorded as ended by dropout (the service's
        episodes closed as dropout): a dropout whatever the dates, like a marked client.

    Returns
    -------
    pandas.DataFrame
        One row per client (sorted by id as text): ``client_id, last_date, state``.

    Raises
    ------
    InputError
        A date is not an ISO date, the dropout column is missing or not true/false.
    """
    if "client_id" not in scores.columns:
        raise InputError("required column is missing", column="client_id")
    client = scores["client_id"].astype(str)
    if "date" in scores.columns:
        raw = scores["date"].replace("", None)
        dates = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        bad = dates.isna() & raw.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"not an ISO date: {raw.iloc[row]!r}", row=row + 2, column="date")
    else:
        dates = pd.Series(pd.NaT, index=scores.index, dtype="datetime64[ns]")
    last = dates.groupby(client).max()
    ids = pd.Index(sorted(client.unique()))
    last = last.reindex(ids)
    if as_of is None and last.notna().any():
        as_of = last.max().date()
    state = np.full(len(ids), "unknown", dtype=object)
    if as_of is not None:
        cutoff = pd.Timestamp(as_of) - pd.Timedelta(weeks=dropout_weeks)
        known = last.notna().to_numpy()
        recent = known & (last >= cutoff).to_numpy()
        state[recent] = "in_treatment"
        # without any record of how treatments ended, an inactive client's ending is unknown
        recorded = endings_recorded(ended, dropout, dropped_out)
        state[known & ~recent] = "dropout" if recorded else "unknown"
    finished = ids.isin([str(e) for e in ended or ()])
    if dropout is not None:
        if dropout not in scores.columns:
            raise InputError("dropout column not found", column=dropout)
        marked = _truthy(scores[dropout], dropout).groupby(client).any().reindex(ids)
        is_marked = marked.fillna(False).to_numpy(dtype=bool)
        # the column records how treatment ended: an unmarked inactive client ended as planned
        finished |= ~is_marked
        state[is_marked] = "dropout"
    else:
        is_marked = np.zeros(len(ids), dtype=bool)
    closed_as_dropout = ids.isin([str(e) for e in dropped_out or ()])
    state[closed_as_dropout] = "dropout"
    is_marked = is_marked | closed_as_dropout
    state[finished & ~is_marked & (state == "dropout")] = "ended"
    return pd.DataFrame(
        {
            "client_id": ids,
            "last_date": [d.date().isoformat() if pd.notna(d) else None for d in last],
            "state": pd.Categorical(state, categories=list(CLIENT_STATES)),
        }
    )


@dataclass(frozen=True)
class ClinicFiguresResult:
    """The clinic's figures, each with its definition.

    Attributes
    ----------
    per_client
        One row per client: ``client_id, therapist_id, ruptures, ruptures_repaired,
        ruptures_unrepaired, ruptures_open, last_date, state``; every figure is a sum or a
        count over these rows, so a subset (one therapist's clients) is consistent with
        the whole.
    as_of
        The reference date of the dropout rule (ISO), or None when no dates are known.
    dropout_weeks
        The dropout window in weeks.
    repair_window
        Sessions within which a rupture counts as repaired.
    detector
        The rupture detector counted, on the alliance total (the feedback's
        ``config.rupture_detector``: ``adaptive`` by default, or ``bordin``).
    alliance
        The alliance instrument the ruptures were found on.
    endings_recorded
        Whether the data say how treatments ended (see :func:`classify_clients`); without
        it dropouts cannot be told from planned endings and the dropout count is None.
    """

    per_client: pd.DataFrame = field(repr=False)
    as_of: str | None
    dropout_weeks: int
    repair_window: int
    detector: str
    alliance: str
    endings_recorded: bool = True

    @property
    def clients(self) -> int:
        return int(len(self.per_client))

    def value(self, key: str) -> int | None:
        """One figure by key (see :data:`DEFINITIONS`); None for the dropouts where the
        data record no endings."""
        pc = self.per_client
        if key in ("ruptures", "ruptures_repaired", "ruptures_unrepaired", "ruptures_open"):
            return int(pc[key].sum())
        if key == "clients_with_rupture":
            return int((pc["ruptures"] > 0).sum())
        if key == "dropouts":
            return int((pc["state"] == "dropout").sum()) if self.endings_recorded else None
        if key == "in_treatment":
            return int((pc["state"] == "in_treatment").sum())
        raise KeyError(key)

    def definition(self, key: str) -> str:
        """The definition of a figure, with this result's window and reference date."""
        text = _UNRECORDED if key == "dropouts" and not self.endings_recorded else DEFINITIONS[key]
        return text.format(
            inactive=int((self.per_client["state"] == "unknown").sum()),
            window=self.repair_window,
            weeks=self.dropout_weeks,
            as_of=self.as_of or "the latest session date (none known)",
        )

    def for_clients(self, client_ids: Iterable[Any]) -> ClinicFiguresResult:
        """The same figures over some of the clients (one therapist's caseload)."""
        wanted = {str(c) for c in client_ids}
        rows = self.per_client[self.per_client["client_id"].astype(str).isin(wanted)]
        return replace(self, per_client=rows.reset_index(drop=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every figure with its label and definition, and the parameters."""
        return {
            "clients": self.clients,
            "as_of": self.as_of,
            "detector": self.detector,
            "alliance": self.alliance,
            "repair_window": self.repair_window,
            "dropout_weeks": self.dropout_weeks,
            "figures": {
                key: {
                    "label": _LABELS[key],
                    "value": self.value(key),
                    "definition": self.definition(key),
                }
                for key in DEFINITIONS
            },
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per figure: ``term, n, method`` (the definition)."""
        return pd.DataFrame(
            [
                {"term": key, "n": self.value(key), "method": self.definition(key)}
                for key in DEFINITIONS
            ]
        )

    def summary(self) -> str:
        """The figures and their definitions, for the terminal."""
        return "\n".join(
            f"{_LABELS[key]}: {self.value(key)} ({self.definition(key)})" for key in DEFINITIONS
        )


def summarise_clinic(
    scores: pd.DataFrame,
    feedback: FeedbackResult,
    *,
    as_of: dt.date | None = None,
    dropout_weeks: int = DROPOUT_WEEKS,
    ended: Collection[Any] | None = None,
    dropout: str | None = None,
    dropped_out: Collection[Any] | None = None,
) -> ClinicFiguresResult:
    """The clinic figures of :data:`DEFINITIONS` from its scores and their feedback.

    Parameters
    ----------
    scores
        The wide session scores ``feedback`` was computed from (``client_id``, optional
        ``therapist_id`` and ``date``).
    feedback
        :func:`bordin.feedback.compute_feedback` on ``scores``.
    as_of, dropout_weeks, ended, dropout, dropped_out
        The dropout rule; see :func:`classify_clients`.

    Returns
    -------
    ClinicFiguresResult
    """
    states = classify_clients(
        scores,
        as_of=as_of,
        dropout_weeks=dropout_weeks,
        ended=ended,
        dropout=dropout,
        dropped_out=dropped_out,
    )
    events = feedback.ruptures
    detector = feedback.config.rupture_detector
    events = events[(events["detector"] == detector) & (events["scale"] == "total")]
    per_client = states.set_index("client_id")
    status = events["status"].astype(str)
    client = events["client_id"].astype(str)
    for key, mask in (
        ("ruptures", np.ones(len(events), dtype=bool)),
        ("ruptures_repaired", (status == "repaired").to_numpy()),
        ("ruptures_unrepaired", (status == "unrepaired").to_numpy()),
        ("ruptures_open", (status == "open").to_numpy()),
    ):
        counts = client[mask].value_counts()
        per_client[key] = counts.reindex(per_client.index, fill_value=0).astype(np.int64)
    if "therapist_id" in scores.columns:
        therapist = scores.groupby(scores["client_id"].astype(str))["therapist_id"].first()
        per_client["therapist_id"] = therapist.reindex(per_client.index)
    else:
        per_client["therapist_id"] = None
    columns = [
        "client_id",
        "therapist_id",
        "ruptures",
        "ruptures_repaired",
        "ruptures_unrepaired",
        "ruptures_open",
        "last_date",
        "state",
    ]
    table = per_client.reset_index()[columns]
    reference = as_of.isoformat() if as_of is not None else None
    if reference is None and table["last_date"].notna().any():
        reference = str(table["last_date"].dropna().max())
    return ClinicFiguresResult(
        per_client=table,
        as_of=reference,
        dropout_weeks=dropout_weeks,
        repair_window=feedback.config.repair_window,
        detector=detector,
        alliance=feedback.alliance,
        endings_recorded=endings_recorded(ended, dropout, dropped_out),
    )
