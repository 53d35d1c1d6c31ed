"""``bordin.storage.bulk.insert_rows`` stores exactly what SQLAlchemy's executemany stores.

The rows go to the driver without SQLAlchemy's per-row parameter building, so each column
type's conversion (JSON, UTC timestamps, NULLs, a reserved column name) is checked against
``db.execute(insert(table), rows)`` on both databases, and a column default computed in
Python (which the fast path cannot apply) still gets its value.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from bordin.storage import actions, bulk, make_engine, make_session_factory, transaction
from bordin.storage.actions._feedback import HISTORY, SCORES, SIGNALS
from bordin.storage.bulk import insert_rows
from bordin.storage.models import NormsSnapshot
from web.service_world import BACKENDS

BERLIN = timezone(timedelta(hours=1))


def _rows(client: int, session: int, norms: int) -> dict[str, list[dict[str, Any]]]:
    return {
        "signals": [
            {
                "client_id": client,
                "kind": "session",
                "session": 1,
                "data": {"a": 1.5, "b": None},
                "norms_id": norms,
            },
            {
                "client_id": client,
                "kind": "summary",
                "session": None,
                "data": {"list": [1, "x"], "ü": "é"},
                "norms_id": None,
            },
        ],
        "scores": [
            {"client_id": client, "session_id": session, "column": "sac_total", "value": 3.25},
            {"client_id": client, "session_id": session, "column": "phq9_total", "value": None},
        ],
        "history": [
            {
                "client_id": client,
                "session": 1,
                "norms_id": norms,
                "recorded_at": datetime(2026, 3, 1, 12, 30, tzinfo=BERLIN),
                "signals": {"x": 1},
                "alerts": [{"kind": "rupture"}],
            },
        ],
        "history_default": [
            {"client_id": client, "session": 2, "norms_id": norms, "signals": {}, "alerts": []},
        ],
    }


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_insert_rows_stores_what_executemany_stores(empty_database: str) -> None:
    engine = make_engine(empty_database)
    factory = make_session_factory(engine)
    tables = {"signals": SIGNALS, "scores": SCORES, "history": HISTORY, "history_default": HISTORY}
    try:
        with transaction(factory) as db:
            clinic = actions.create_clinic(db, actor=None, name="Bulk")
            therapist = actions.create_user(
                db,
                actor=None,
                clinic_id=clinic.id,
                username="bulk@test",
                password=secrets.token_urlsafe(16),
                role="therapist",
            )
            client = actions.create_client(db, actor=therapist, code="c1")
            session = actions.create_session(db, actor=therapist, client_id=client.id)
            norms = NormsSnapshot(
                clinic_id=clinic.id,
                version="1",
                reason="test",
                source="clinic",
                sessions_at_fit=0,
                columns=[],
                data={},
            )
            db.add(norms)
            db.flush()
            ids = (client.id, session.id, norms.id)
        stored: dict[str, list[list[Any]]] = {}
        for way in ("sqlalchemy", "bulk"):
            with transaction(factory) as db:
                for name, rows in _rows(*ids).items():
                    table = tables[name]
                    db.execute(delete(table))
                    if way == "bulk":
                        insert_rows(db, table, rows)
                    else:
                        db.execute(insert(table), rows)
                    read = db.execute(select(table).order_by(table.c.id)).all()
                    stored[f"{way} {name}"] = [
                        [v for k, v in row._mapping.items() if k != "id"] for row in read
                    ]
        for name in tables:
            fast, reference = stored[f"bulk {name}"], stored[f"sqlalchemy {name}"]
            if name == "history_default":  # the default time differs: compare the rest
                fast, reference = [r[:3] + r[4:] for r in fast], [r[:3] + r[4:] for r in reference]
            assert fast == reference, name
        # the fast path ran for all but the rows that leave a Python default to fill
        dialect = engine.dialect.name
        plans = {(k[2], len(k[3])): p for k, p in bulk._PLANS.items() if k[0] == dialect}
        assert plans[("signals", 5)] and plans[("scores", 4)] and plans[("feedback_history", 6)]
        assert plans[("feedback_history", 5)] is None
        history = stored["bulk history"][0]
        assert datetime(2026, 3, 1, 11, 30, tzinfo=UTC) in history  # stored in UTC
        recorded = stored["bulk history_default"][0][3]
        assert isinstance(recorded, datetime)
        assert abs(recorded - datetime.now(UTC)) < timedelta(minutes=5)
    finally:
        engine.dispose()
