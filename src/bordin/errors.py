"""Every error and warning Bordin raises on purpose.

::

    BordinError
    ├── InputError          bad data; names the file, row, column or item
    ├── InstrumentError     an instrument definition or content pack is inconsistent
    ├── NotFound            a record does not exist (or is not visible to the caller)
    ├── PermissionDenied    the caller may not do this
    ├── Conflict            the operation was already done (e.g. a form submitted twice)
    └── ConvergenceError    an iterative estimator failed to converge

    BordinWarning (UserWarning)
    ├── ConvergenceWarning  converged only loosely, or hit an iteration limit
    ├── BoundaryFitWarning  a variance estimate is on the boundary (0, or a correlation of +-1)
    └── DataQualityWarning  data were dropped or look suspicious
"""

from __future__ import annotations

__all__ = [
    "BordinError",
    "BordinWarning",
    "BoundaryFitWarning",
    "Conflict",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataQualityWarning",
    "InputError",
    "InstrumentError",
    "NotFound",
    "PermissionDenied",
]


class BordinError(Exception):
    """Base class of every error Bordin raises on purpose."""


class InputError(BordinError, ValueError):
    """Bad input data.

    The message names where the problem is; the optional attributes carry it for programs.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        item: str | None = None,
    ) -> None:
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        if item is not None:
            where.append(f"item {item}")
        full = f"{', '.join(where)}: {message}" if where else message
        super().__init__(full)
        self.file = file
        self.row = row
        self.column = column
        self.item = item
        self.detail = message


class InstrumentError(BordinError):
    """An instrument definition or content pack is missing or inconsistent."""


class NotFound(BordinError, LookupError):
    """A record does not exist, or is not visible to the caller."""


class PermissionDenied(BordinError):
    """The acting user may not perform the operation."""


class Conflict(BordinError):
    """The operation was already carried out (for example a form submitted twice)."""


class ConvergenceError(BordinError, RuntimeError):
    """An iterative estimator did not converge."""


class BordinWarning(UserWarning):
    """Base class of Bordin's warnings."""


class ConvergenceWarning(BordinWarning):
    """An estimator converged only loosely or hit its iteration limit."""


class BoundaryFitWarning(BordinWarning):
    """A variance component is estimated on the boundary of its space."""


class DataQualityWarning(BordinWarning):
    """Rows were dropped, or the data look suspicious."""
