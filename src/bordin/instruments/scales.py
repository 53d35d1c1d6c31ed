"""Score columns of the wide session-scores file: what each one is, and its possible range.

One convention for naming a scale, used by every command: a **column name**
(``phq9_total``, ``wai_sr_bond``, ``adherence``) is used as it is; an **instrument id**
(``phq9``, ``wai_sr``) means that instrument's primary scale (``phq9_total``). The ranges
come from the instrument definitions, so a score no form could produce (``phq9_total`` =
1e300, ``sac_total`` = 999) is caught when a scores file is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bordin.errors import InputError
from bordin.instruments.registry import list_instruments
from bordin.instruments.schema import InstrumentDefinition, ScaleDefinition

__all__ = ["ScoreColumn", "resolve_scale", "score_column", "score_columns"]


@dataclass(frozen=True)
class ScoreColumn:
    """A column of the wide session-scores file that an instrument defines.

    Attributes
    ----------
    column
        The column name (``<instrument>_<scale>`` or ``<instrument>_item<N>``).
    instrument
        The instrument id.
    scale
        The scale name, or None for a raw item column.
    item
        The item number of a raw item column, else None.
    minimum, maximum
        The smallest and largest value the column can take: for a scale scored as a sum,
        the sums of its items' lowest and highest codes (a prorated sum stays within
        them); for a mean, the lowest and highest code of its items; for an item, its codes.
    primary
        Whether this is the instrument's primary scale (what the instrument id means).
    """

    column: str
    instrument: str
    scale: str | None
    item: int | None
    minimum: float
    maximum: float
    primary: bool


def _scale_column(definition: InstrumentDefinition, scale: ScaleDefinition) -> ScoreColumn:
    items = [definition.item(n) for n in scale.items]
    if scale.method == "mean":
        low = min(i.min_value for i in items)
        high = max(i.max_value for i in items)
    else:
        low = sum(i.min_value for i in items)
        high = sum(i.max_value for i in items)
    return ScoreColumn(
        column=definition.column(scale.name),
        instrument=definition.id,
        scale=scale.name,
        item=None,
        minimum=float(low),
        maximum=float(high),
        primary=scale.name == definition.primary_scale,
    )


@lru_cache(maxsize=1)
def score_columns() -> dict[str, ScoreColumn]:
    """Every scale and item column the shipped instruments define, by column name."""
    found: dict[str, ScoreColumn] = {}
    for definition in list_instruments():
        for scale in definition.scales:
            entry = _scale_column(definition, scale)
            found[entry.column] = entry
        for item in definition.items:
            column = definition.item_column(item.number)
            found[column] = ScoreColumn(
                column=column,
                instrument=definition.id,
                scale=None,
                item=item.number,
                minimum=float(item.min_value),
                maximum=float(item.max_value),
                primary=False,
            )
    return found


def score_column(column: str) -> ScoreColumn | None:
    """The instrument column called ``column``, or None when no instrument defines it."""
    return score_columns().get(column)


def resolve_scale(
    name: str, columns: Iterable[str], *, file: str | None = None, option: str | None = None
) -> str:
    """The column that ``name`` means among ``columns``: a column as is, an instrument's
    primary scale for an instrument id.

    Parameters
    ----------
    name
        What the user typed: a column name or an instrument id.
    columns
        The columns of the scores file.
    file, option
        For the error message: the file and the option ``name`` was given with.

    Raises
    ------
    InputError
        ``name`` is neither a column nor an instrument whose primary scale is a column;
        the one-line message names the value and lists the file's columns.

    Examples
    --------
    >>> resolve_scale("phq9", ["client_id", "session", "phq9_total"])
    'phq9_total'
    >>> resolve_scale("phq9_total", ["client_id", "session", "phq9_total"])
    'phq9_total'
    """
    available = [str(c) for c in columns]
    if name in available:
        return name
    primary = next(
        (c.column for c in score_columns().values() if c.instrument == name and c.primary),
        None,
    )
    if primary is not None and primary in available:
        return primary
    given = f" (given with {option})" if option else ""
    if primary is not None:
        problem = f"{name!r}{given} is an instrument, but its column {primary} is not in the file"
    else:
        problem = f"{name!r}{given} is neither a column nor an instrument"
    raise InputError(f"{problem}; the columns are {', '.join(available)}", file=file)
