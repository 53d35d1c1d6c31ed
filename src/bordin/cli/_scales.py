"""How every command reads a scores file and the scales named on its command line.

``--alliance`` and ``--outcome`` (and ``--adherence``) take either form everywhere: a
column of the file as it is (``wai_sr_total``, ``phq9_total``), or an instrument id for
that instrument's primary scale (``wai_sr`` means ``wai_sr_total``). The rule itself is
:func:`bordin.instruments.resolve_scale`; these helpers add the file and the option to
its message, and the commands call nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bordin.cli._options import DEFAULT_OUTCOME
from bordin.errors import InputError
from bordin.instruments import resolve_scale, score_column
from bordin.interop import read_scores_csv

__all__ = [
    "outcome_names",
    "read_scores_for_instruments",
    "read_scores_with_scales",
    "scale_instrument",
]


def read_scores_with_scales(
    path: Path,
    scales: Sequence[tuple[str, str]],
    *,
    numeric: Sequence[str] = (),
    required: Sequence[str] = ("client_id", "session"),
) -> tuple[pd.DataFrame, list[str]]:
    """Read a scores file (range-checked) and resolve each ``(option, name)`` to a column.

    Returns the frame and the columns, in the order of ``scales``. A named scale column
    is also checked to hold numbers.

    Raises
    ------
    InputError
        As :func:`bordin.interop.read_scores_csv`, or a name that is neither a column nor
        an instrument with its primary scale in the file (one line listing the columns).
    """
    frame = read_scores_csv(path, numeric=tuple(numeric), required=tuple(required))
    columns = [
        resolve_scale(name, frame.columns, file=str(path), option=option) for option, name in scales
    ]
    # instrument columns are checked already; any other named column must hold numbers too
    others = [c for c in columns if c not in numeric and score_column(c) is None]
    if others:
        frame = read_scores_csv(path, numeric=(*numeric, *others), required=tuple(required))
    return frame, columns


def scale_instrument(column: str, *, name: str, option: str, file: Path) -> str:
    """The instrument whose primary scale is ``column`` (for commands that take instruments).

    Raises
    ------
    InputError
        ``column`` is a subscale, an item or not an instrument's column at all.
    """
    known = score_column(column)
    if known is None:
        raise InputError(
            f"{name!r} (given with {option}) is not an instrument's scale; give an "
            "instrument id such as phq9 or its total column such as phq9_total",
            file=str(file),
        )
    if not known.primary:
        raise InputError(
            f"{name!r} (given with {option}) is not {known.instrument}'s main scale; give "
            f"{known.instrument} or its main column",
            file=str(file),
        )
    return known.instrument


def outcome_names(outcome: Sequence[str] | None, no_outcome: bool) -> list[str] | None:
    """The outcomes a command that takes whole instruments reads: those given with
    ``--outcome``, none with ``--no-outcome`` (alliance feedback alone), and None where
    neither was given (the default, :data:`DEFAULT_OUTCOME`, for
    :func:`read_scores_for_instruments`).

    Raises
    ------
    InputError
        Both options were given.
    """
    if no_outcome and outcome:
        raise InputError("give --outcome or --no-outcome, not both")
    if no_outcome:
        return []
    return list(outcome) if outcome else None


def read_scores_for_instruments(
    path: Path, alliance: str, outcomes: Sequence[str] | None
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a scores file for a command that works on whole instruments (``feedback``).

    ``alliance`` and each of ``outcomes`` may be an instrument id or its primary column;
    ``outcomes`` None is the default outcome (:data:`DEFAULT_OUTCOME`), and where the file
    lacks it the error says how to name another or none. Returns the frame, the alliance
    instrument and the outcome instruments.

    Raises
    ------
    InputError
        As :func:`read_scores_with_scales` and :func:`scale_instrument`.
    """
    if outcomes is None:
        frame, _ = read_scores_with_scales(path, [("--alliance", alliance)])
        try:
            resolve_scale(DEFAULT_OUTCOME, frame.columns, file=str(path))
        except InputError as exc:
            raise InputError(
                f"no outcome was named and the default, {DEFAULT_OUTCOME} "
                f"({DEFAULT_OUTCOME}_total), is not in the file: name the outcome with "
                "--outcome (an instrument such as gad7, or its total column), or give "
                "--no-outcome for the alliance feedback alone (ruptures, repairs, early "
                "alliance; no outcome status or not-on-track)",
                file=str(path),
            ) from exc
        outcomes = [DEFAULT_OUTCOME]
    named = [("--alliance", alliance), *(("--outcome", o) for o in outcomes)]
    frame, columns = read_scores_with_scales(path, named)
    alliance_id, *outcome_ids = (
        scale_instrument(column, name=name, option=option, file=path)
        for (option, name), column in zip(named, columns, strict=True)
    )
    return frame, alliance_id, outcome_ids
