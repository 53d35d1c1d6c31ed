"""A vectorised CSV writer for the simulator's large tables.

``DataFrame.to_csv`` formats every value in Python, which takes minutes for the ~25 million
item rows of a 1,000,000-session clinic. Here every field is laid out as a fixed-width byte
matrix with a mask of the bytes to keep (digits computed with integer arithmetic, labels
looked up by code), the fields and separators are stacked side by side, and the kept bytes
are written out in row order: no Python work per value.

Formats: integers in decimal; floats in fixed point with ``decimals`` places and trailing
zeros dropped (``3.5``, ``12``, ``0.018885226``), NaN as an empty field; booleans as
``True``/``False``; missing values as empty fields; strings as they are, quoted (RFC 4180)
only when they contain a comma, a quote or a line break.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["write_frame_csv"]

U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]
Field = tuple[U8, Mask]

_CHUNK_ROWS = 200_000
_MAX_FIXED = 9.0e8  # |x| * 10**decimals must stay well inside int64
_SMALL_RANGE = 4096  # integer columns spanning fewer values are written by lookup
# "000" ... "999" and the number of trailing zeros of each (3 for 0).
_TRIPLES = np.frombuffer("".join(f"{i:03d}" for i in range(1000)).encode(), np.uint8).reshape(
    1000, 3
)
_TRAILING = np.array([3 - len(f"{i:03d}".rstrip("0")) for i in range(1000)], dtype=np.int64)


def _digits(values: npt.NDArray[np.int64]) -> Field:
    """Decimal digits of non-negative integers, right-aligned, leading zeros masked out."""
    n = values.shape[0]
    top = int(values.max()) if n else 0
    width = max(1, len(str(top)))
    out = np.empty((n, width), dtype=np.uint8)
    rest = values.copy()
    for j in range(width - 1, -1, -1):
        out[:, j] = rest % 10 + 48
        rest //= 10
    length = np.ones(n, dtype=np.int64)
    for k in range(1, width):
        length += values >= 10**k
    keep = np.arange(width) >= (width - length)[:, None]
    return out, keep


def _integer_field(values: npt.NDArray[np.int64], missing: Mask | None) -> Field:
    negative = values < 0
    digits, keep = _digits(np.abs(values))
    sign = np.full((values.shape[0], 1), ord("-"), dtype=np.uint8)
    matrix = np.hstack([sign, digits])
    mask = np.hstack([negative[:, None], keep])
    if missing is not None:
        mask[missing] = False
    return matrix, mask


def _fraction_digits(
    frac: npt.NDArray[np.int64], decimals: int
) -> tuple[U8, npt.NDArray[np.int64]]:
    """The ``decimals`` digits of ``frac`` (zero-padded) and how many of them trail as 0."""
    n = frac.shape[0]
    if decimals % 3 == 0:
        groups = decimals // 3
        digits = np.empty((n, decimals), dtype=np.uint8)
        trailing = np.zeros(n, dtype=np.int64)
        still_zero = np.ones(n, dtype=bool)
        rest = frac.copy()
        for g in range(groups - 1, -1, -1):
            rest, triple = np.divmod(rest, 1000)
            digits[:, 3 * g : 3 * g + 3] = _TRIPLES[triple]
            trailing += np.where(still_zero, _TRAILING[triple], 0)
            still_zero &= triple == 0
        return digits, trailing
    digits = np.empty((n, decimals), dtype=np.uint8)
    rest = frac.copy()
    trailing = np.zeros(n, dtype=np.int64)
    still_zero = np.ones(n, dtype=bool)
    for j in range(decimals - 1, -1, -1):
        digit = rest % 10
        digits[:, j] = digit + 48
        rest //= 10
        still_zero &= digit == 0
        trailing += still_zero
    return digits, trailing


def _float_field(values: npt.NDArray[np.float64], decimals: int) -> Field:
    missing = np.isnan(values)
    clean = np.where(missing, 0.0, values)
    scale = 10**decimals
    scaled = np.rint(clean * scale).astype(np.int64)
    negative = scaled < 0
    magnitude = np.abs(scaled)
    whole, frac = np.divmod(magnitude, scale)
    whole_digits, whole_keep = _digits(whole)
    n = values.shape[0]
    frac_digits, trailing = _fraction_digits(frac, decimals)
    frac_keep = np.arange(decimals) < (decimals - trailing)[:, None]
    sign = np.full((n, 1), ord("-"), dtype=np.uint8)
    point = np.full((n, 1), ord("."), dtype=np.uint8)
    matrix = np.hstack([sign, whole_digits, point, frac_digits])
    mask = np.hstack([negative[:, None], whole_keep, (frac > 0)[:, None], frac_keep])
    mask[missing] = False
    return matrix, mask


def _quote(label: str) -> str:
    if any(c in label for c in ',"\n\r'):
        return '"' + label.replace('"', '""') + '"'
    return label


def _label_table(labels: list[str]) -> tuple[U8, npt.NDArray[np.int64]]:
    """Encoded labels as a byte matrix (one row per label, plus an empty last row)."""
    encoded = [_quote(label).encode("utf-8") for label in labels] + [b""]
    width = max(1, max(len(e) for e in encoded))
    table = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        table[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    return table, lengths


class _Column:
    """One column prepared for chunked encoding."""

    def __init__(self, series: pd.Series, decimals: int) -> None:
        self.kind: str
        self.decimals = decimals
        dtype = series.dtype
        self.missing: Mask | None = None
        if isinstance(dtype, pd.CategoricalDtype):
            self._labels([str(c) for c in dtype.categories], series.cat.codes.to_numpy())
        elif pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
            self._labels(["False", "True"], series.to_numpy(dtype=np.int64))
        elif pd.api.types.is_integer_dtype(dtype):
            missing = series.isna().to_numpy()
            values = series.to_numpy(dtype=np.int64, na_value=0)
            present = values[~missing]
            low = int(present.min()) if present.size else 0
            high = int(present.max()) if present.size else 0
            if high - low < _SMALL_RANGE:
                # Few distinct values (sessions, items, codes): look their text up.
                labels = [str(v) for v in range(low, high + 1)]
                self._labels(labels, np.where(missing, -1, values - low))
            else:
                self.kind = "int"
                self.missing = missing
                self.values = values
        elif pd.api.types.is_float_dtype(dtype):
            values = series.to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            if np.isinf(values).any() or (finite.size and np.abs(finite).max() > _MAX_FIXED):
                self._factorized(series.map(lambda v: "" if pd.isna(v) else repr(float(v))))
            else:
                self.kind = "float"
                self.values = values
        else:
            self._factorized(series)

    def _labels(self, labels: list[str], codes: npt.NDArray[np.integer]) -> None:
        self.kind = "label"
        self.table, self.lengths = _label_table(labels)
        codes = np.asarray(codes, dtype=np.int64)
        self.codes = np.where(codes < 0, len(labels), codes)

    def _factorized(self, series: pd.Series) -> None:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        self._labels([str(u) for u in uniques], codes)

    def encode(self, start: int, stop: int) -> Field:
        if self.kind == "label":
            codes = self.codes[start:stop]
            keep = np.arange(self.table.shape[1]) < self.lengths[codes][:, None]
            return self.table[codes], keep
        if self.kind == "int":
            missing = None if self.missing is None else self.missing[start:stop]
            return _integer_field(self.values[start:stop], missing)
        return _float_field(self.values[start:stop], self.decimals)


def _write_rows(frame: pd.DataFrame, handle: BinaryIO, decimals: int) -> None:
    columns = [_Column(frame[name], decimals) for name in frame.columns]
    n = len(frame)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n)
        rows = stop - start
        comma = np.full((rows, 1), ord(","), dtype=np.uint8)
        newline = np.full((rows, 1), ord("\n"), dtype=np.uint8)
        always = np.ones((rows, 1), dtype=bool)
        parts: list[U8] = []
        masks: list[Mask] = []
        for k, column in enumerate(columns):
            if k:
                parts.append(comma)
                masks.append(always)
            matrix, keep = column.encode(start, stop)
            parts.append(matrix)
            masks.append(keep)
        parts.append(newline)
        masks.append(always)
        handle.write(np.hstack(parts)[np.hstack(masks)].tobytes())


def write_frame_csv(frame: pd.DataFrame, path: str | Path, *, decimals: int = 9) -> None:
    """Write ``frame`` (no index) as CSV to ``path``, vectorised; see the module docstring."""
    header = ",".join(_quote(str(c)) for c in frame.columns) + "\n"
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        _write_rows(frame, handle, decimals)
