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

from bordin.errors import InputError
from bordin.instruments import resolve_scale, score_column
from bordin.interop import read_scores_csv

__all__ = ["read_scores_for_instruments", "read_scores_with_scales", "scale_instrument"]


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


def read_scores_for_instruments(
    path: Path, alliance: str, outcomes: Sequence[str]
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a scores file for a command that works on whole instruments (``feedback``).

    ``alliance`` and each of ``outcomes`` may be an instrument id or its primary column;
    returns the frame, the alliance instrument and the outcome instruments.

    Raises
    ------
    InputError
        As :func:`read_scores_with_scales` and :func:`scale_instrument`.
    """
    named = [("--alliance", alliance), *(("--outcome", o) for o in outcomes)]
    frame, columns = read_scores_with_scales(path, named)
    alliance_id, *outcome_ids = (
        scale_instrument(column, name=name, option=option, file=path)
        for (option, name), column in zip(named, columns, strict=True)
    )
    return frame, alliance_id, outcome_ids
