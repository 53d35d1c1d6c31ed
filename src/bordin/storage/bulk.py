"""Many-row inserts that hand the rows to the database driver as they are.

A batch of form submissions writes a few thousand rows in one transaction (the responses,
the new scores, every signal of the batch's clients). SQLAlchemy's executemany builds each
row's parameters through the compiled statement and every column type's bind processor,
about 10 microseconds a row: a quarter of a batched submission's CPU time, more than the
driver's own executemany. :func:`insert_rows` compiles the table's INSERT once per dialect
and set of columns (with SQLAlchemy, so the SQL, quoting, parameter style and casts are
SQLAlchemy's own), then passes the rows to the driver through
:meth:`~sqlalchemy.engine.Connection.exec_driver_sql`, converting only the values of the
columns whose type converts anything on this dialect (JSON, timestamps). Where the
compiled statement needs more than the given values (a column default computed in Python),
the rows go through SQLAlchemy's executemany unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

__all__ = ["insert_rows"]

Processor = Callable[[Any], Any] | None
#: (dialect name, paramstyle, table, columns) -> (SQL, the rows' keys in parameter order,
#: their bind processors, positional), or None where the fast path does not apply
Plan = tuple[str, tuple[str, ...], tuple[Processor, ...], bool]
_PLANS: dict[tuple[str, str, str, tuple[str, ...]], Plan | None] = {}


def _plan(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> Plan | None:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    if sorted(names) != sorted(keys) or any(compiled.binds[n].key != n for n in names):
        return None  # a default, an escaped name: let SQLAlchemy build the parameters
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    return str(compiled), tuple(names), processors, bool(compiled.positional)


def insert_rows(db: Session | Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each a mapping of the same column keys) into ``table`` in the
    caller's transaction, as ``db.execute(insert(table), rows)`` would."""
    if not rows:
        return
    if isinstance(db, Session):
        db.flush()  # as db.execute would: pending objects the rows may refer to go first
        connection = db.connection()
    else:
        connection = db
    dialect = connection.dialect
    keys = tuple(rows[0])
    cache_key = (dialect.name, str(dialect.paramstyle), table.name, keys)
    if cache_key not in _PLANS:
        _PLANS[cache_key] = _plan(dialect, table, keys)
    plan = _PLANS[cache_key]
    if plan is None:
        connection.execute(insert(table), list(rows))
        return
    sql, names, processors, positional = plan
    converting = [(i, convert) for i, convert in enumerate(processors) if convert is not None]
    get = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    if not positional:  # a named parameter style takes the rows as they are
        params: list[Any] = [dict(row) for row in rows]
        for row in params:
            for i, convert in converting:
                row[names[i]] = convert(row[names[i]])
    elif converting:
        lists = [list(values) for values in map(get, rows)]
        for values in lists:
            for i, convert in converting:
                values[i] = convert(values[i])
        params = [tuple(values) for values in lists]
    else:
        params = list(map(get, rows))
    connection.exec_driver_sql(sql, params)
