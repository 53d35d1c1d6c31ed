"""Model matrices of meta-regressions: R's ``model.matrix`` for the formulas metafor takes.

A formula is ``~ term + term + ...`` where a term is a column name (continuous when every
value is a number, else categorical) or ``factor(name)`` (always categorical). Categorical
moderators are dummy-coded against their first level (R's treatment contrasts); levels sort
as R sorts a factor: numerically for numbers, else by code point (the C locale). Terms are
named as R names them: ``ablat``, ``allocrandom``, ``factor(grade)2``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bordin.errors import InputError

__all__ = ["Design", "ModeratorSpec", "build_design", "parse_formula"]

FloatArray = NDArray[np.float64]
_NAME = r"[A-Za-z.][A-Za-z0-9._]*"
_TERM = re.compile(rf"^(?:factor\(\s*(?P<factor>{_NAME})\s*\)|(?P<name>{_NAME}))$")


@dataclass(frozen=True)
class ModeratorSpec:
    """One moderator of the model: its name, kind and (for categorical ones) levels."""

    name: str
    categorical: bool
    levels: tuple[str, ...] = ()
    wrapped: bool = False  # written as factor(name): terms are "factor(name)level"

    @property
    def terms(self) -> tuple[str, ...]:
        """The coefficient names this moderator contributes."""
        if not self.categorical:
            return (self.name,)
        prefix = f"factor({self.name})" if self.wrapped else self.name
        return tuple(f"{prefix}{level}" for level in self.levels[1:])


@dataclass(frozen=True)
class Design:
    """The moderators of a fitted model, to build rows of its model matrix again."""

    moderators: tuple[ModeratorSpec, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """Coefficient names, ``intrcpt`` first."""
        return ("intrcpt",) + tuple(t for m in self.moderators for t in m.terms)

    def row(self, values: Mapping[str, object], *, item: str = "newmods") -> FloatArray:
        """The model-matrix row for one set of moderator values (``predict``'s newmods)."""
        unknown = sorted(set(values) - {m.name for m in self.moderators})
        if unknown:
            raise InputError(
                f"{item}: {', '.join(unknown)} is not a moderator of the model "
                f"({', '.join(m.name for m in self.moderators)})"
            )
        out = [1.0]
        for mod in self.moderators:
            if mod.name not in values:
                raise InputError(f"{item}: no value for moderator {mod.name!r}")
            raw = values[mod.name]
            if mod.categorical:
                level = _level_text(raw)
                if level not in mod.levels:
                    raise InputError(
                        f"{item}: {mod.name} = {level!r} is not one of its levels "
                        f"({', '.join(mod.levels)})"
                    )
                out.extend(1.0 if level == lv else 0.0 for lv in mod.levels[1:])
            else:
                number = _number(raw)
                if number is None or not math.isfinite(number):
                    raise InputError(f"{item}: {mod.name} = {raw!r} is not a number")
                out.append(number)
        return np.asarray(out, dtype=float)


def parse_formula(formula: str) -> list[tuple[str, bool]]:
    """``"~ a + factor(b)"`` -> ``[("a", False), ("b", True)]``; InputError otherwise."""
    text = formula.strip()
    if not text.startswith("~"):
        raise InputError(
            f"a moderator formula starts with '~' (e.g. '~ ablat + alloc'): {formula!r}"
        )
    parts = [p.strip() for p in text[1:].split("+")]
    out: list[tuple[str, bool]] = []
    for part in parts:
        if part == "1":
            continue
        match = _TERM.match(part)
        if match is None:
            raise InputError(
                f"formula {formula!r}: cannot read the term {part!r}; Bordin takes column "
                "names and factor(column) joined by '+' (no interactions, transformations or "
                "removed intercept)"
            )
        name = match.group("factor") or match.group("name")
        if any(name == seen for seen, _ in out):
            raise InputError(f"formula {formula!r}: {name!r} appears twice")
        out.append((name, match.group("factor") is not None))
    if not out:
        raise InputError(f"formula {formula!r} names no moderator")
    return out


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True
    return str(value).strip().upper() in {"", "NA", "NAN", "NULL"}


def _parse_column(
    values: Sequence[Any],
) -> tuple[NDArray[np.bool_], FloatArray, NDArray[np.bool_]]:
    """``(missing, numbers, is_number)`` per value; numeric arrays skip the per-cell parser."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        numbers = arr.astype(float)
        missing = np.isnan(numbers)
        return missing, numbers, ~missing
    missing = np.array([_is_missing(v) for v in values], dtype=bool)
    # Booleans are levels, not numbers (as _number has it); text parses as float() does.
    boolean = np.array([isinstance(v, bool | np.bool_) for v in values], dtype=bool)
    series = pd.Series(list(values), dtype=object).where(~(missing | boolean), None)
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    return missing, numbers, ~missing & ~boolean & ~np.isnan(numbers)


def _level_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"  # R's names for a logical column's levels
    number = _number(value)
    if number is not None and not isinstance(value, str):
        # As R prints a number that became a factor level: 2 -> "2", 0.5 -> "0.5".
        return f"{number:.15g}"
    return str(value).strip()


def build_design(
    columns: Mapping[str, Sequence[Any]],
    terms: Sequence[tuple[str, bool]],
    *,
    categorical: Sequence[str] = (),
    reference: Mapping[str, str] | None = None,
    file: str | None = None,
    first_row: int = 1,
) -> tuple[Design, FloatArray, NDArray[np.bool_]]:
    """The model matrix of ``terms`` over the studies, and which studies are complete.

    Moderators named in ``categorical`` or ``reference`` are categorical even when their
    values are numbers (as ``factor(name)``, but named without ``factor()``).

    Returns ``(design, x, keep)``: ``x`` has a row per complete study (a study missing any
    moderator is left out, as metafor's ``na.omit``) and the intercept in column 0.
    """
    reference = dict(reference or {})
    size: int | None = None
    for name, _ in terms:
        if name not in columns:
            raise InputError(
                f"no moderator column {name!r}; columns are {', '.join(map(str, columns))}",
                file=file,
            )
        if size is None:
            size = len(columns[name])
        elif len(columns[name]) != size:
            raise InputError(f"moderator {name} has {len(columns[name])} values, not {size}")
    n = size or 0
    parsed = {name: _parse_column(columns[name]) for name, _ in terms}
    keep = np.ones(n, dtype=bool)
    for missing, _, _ in parsed.values():
        keep &= ~missing
    kept_at = np.flatnonzero(keep)
    specs: list[ModeratorSpec] = []
    blocks: list[FloatArray] = [np.ones((kept_at.size, 1))]
    for name, wrapped in terms:
        _, numbers_all, numeric = parsed[name]
        numbers = numbers_all[keep]
        all_numbers = bool(numeric[keep].all())
        is_categorical = wrapped or name in categorical or name in reference or not all_numbers
        if not is_categorical:
            bad = np.flatnonzero(~np.isfinite(numbers))
            if bad.size:
                i = int(kept_at[bad[0]])
                raise InputError(
                    f"{columns[name][i]!r} is not finite", file=file, row=first_row + i, column=name
                )
            blocks.append(numbers[:, None])
            specs.append(ModeratorSpec(name=name, categorical=False))
            continue
        values = [columns[name][int(i)] for i in kept_at]
        texts = [_level_text(v) for v in values]
        levels = sorted(set(texts), key=float) if all_numbers else sorted(set(texts))
        if name in reference:
            if reference[name] not in levels:
                raise InputError(f"reference level {reference[name]!r} does not occur", column=name)
            levels.remove(reference[name])
            levels.insert(0, reference[name])
        if len(levels) < 2:
            only = levels[0] if levels else "none"
            raise InputError(f"the moderator has only one level ({only!r})", column=name)
        codes = np.array([levels.index(t) for t in texts])
        blocks.append(np.column_stack([(codes == j).astype(float) for j in range(1, len(levels))]))
        specs.append(
            ModeratorSpec(name=name, categorical=True, levels=tuple(levels), wrapped=wrapped)
        )
    design = Design(moderators=tuple(specs))
    x = np.hstack(blocks)
    _check_rank(x, design.terms)
    return design, x, keep


def _check_rank(x: FloatArray, terms: tuple[str, ...]) -> None:
    if x.shape[0] == 0:
        return
    # Scale columns so that a year next to a 0/1 dummy does not fool the rank test.
    norms = np.linalg.norm(x, axis=0)
    scaled = x / np.where(norms > 0, norms, 1.0)
    for j in range(1, x.shape[1] + 1):
        if np.linalg.matrix_rank(scaled[:, :j]) < j:
            raise InputError(
                f"the moderator term {terms[j - 1]!r} is constant or a linear combination of "
                f"the terms before it ({', '.join(terms[: j - 1])}); drop it"
            )
