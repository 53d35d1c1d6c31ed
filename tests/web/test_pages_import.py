"""The admin's import page: upload, preview (nothing stored), import, re-import, bad row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bordin.simulate import SimulationConfig, simulate_clinic
from e2e.pages_clinic import PASSWORD, PagesClinic, copy_pages_clinic

HISTORY = simulate_clinic(SimulationConfig(n_clients=6), seed=3).responses.assign(
    client_id=lambda f: "H-" + f["client_id"].astype(str),
    therapist_id=lambda f: "hist-" + f["therapist_id"].astype(str),
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, PagesClinic]]:
    from bordin.settings import Settings
    from bordin.web.app import create_app

    clinic = copy_pages_clinic(tmp_path)
    app = create_app(Settings(database_url=clinic.url, demo=True))
    with TestClient(app) as client:
        response = client.post(
            "/login",
            data={"username": clinic.users["admin"], "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        yield client, clinic


def _csrf(client: TestClient) -> str:
    return str(client.cookies.get("bordin_csrf"))


def _upload(client: TestClient, data: bytes, name: str = "history.csv", kind: str = "responses"):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/import?format=json",
        data={"kind": kind, "csrf_token": _csrf(client)},
        files={"file": (name, data, "text/csv")},
    )


def _clients(clinic: PagesClinic) -> int:
    from bordin.storage import make_engine
    from bordin.storage.models import Client

    engine = make_engine(clinic.url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Client)) or 0)
    finally:
        engine.dispose()


def test_preview_then_import_then_the_same_file_adds_nothing(
    site: tuple[TestClient, PagesClinic],
) -> None:
    client, clinic = site
    page = client.get("/admin/import?format=json").json()
    assert [k["value"] for k in page["kinds"]] == ["responses", "scores"]
    before = _clients(clinic)
    data = HISTORY.to_csv(index=False).encode()
    preview = _upload(client, data)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["preview"]["clients"] == 6 and not body["preview"]["committed"]
    assert body["result"] is None and body["token"]
    assert _clients(clinic) == before  # a preview stores nothing
    assert client.post("/admin/import/confirm", data={"token": body["token"]}).status_code == 403
    done = client.post(
        "/admin/import/confirm?format=json",
        data={"token": body["token"], "csrf_token": _csrf(client)},
    )
    assert done.status_code == 200, done.text
    result = done.json()["result"]
    assert result["committed"] and result["clients"] == 6
    assert result["sessions"] == body["preview"]["sessions"]
    assert _clients(clinic) == before + 6
    twice = client.post(
        "/admin/import/confirm?format=json",
        data={"token": body["token"], "csrf_token": _csrf(client)},
    )
    assert twice.status_code == 409
    again = _upload(client, data).json()["preview"]
    assert (again["clients"], again["sessions"], again["administrations"]) == (0, 0, 0)
    assert again["skipped"] == result["administrations"]
    html = client.post(
        "/admin/import",
        data={"kind": "responses", "csrf_token": _csrf(client)},
        files={"file": ("history.csv", data, "text/csv")},
    )
    assert "Everything in this file is stored already" in html.text


def test_a_bad_row_is_named_and_nothing_is_stored(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    bad = HISTORY.astype({"value": object})
    bad.iloc[10, bad.columns.get_loc("value")] = "often"
    before = _clients(clinic)
    response = _upload(client, bad.to_csv(index=False).encode(), name="old-system.csv")
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["file"], error["row"], error["column"]) == ("old-system.csv", 12, "value")
    assert response.json()["token"] is None
    assert _clients(clinic) == before
    html = client.post(
        "/admin/import",
        data={"kind": "responses", "csrf_token": _csrf(client)},
        files={"file": ("old-system.csv", bad.to_csv(index=False).encode(), "text/csv")},
    )
    assert "Nothing was stored" in html.text and "<dd>12 (the header is row 1)</dd>" in html.text


def test_only_admins_import(site: tuple[TestClient, PagesClinic]) -> None:
    client, clinic = site
    client.post("/logout", data={"csrf_token": _csrf(client)})
    client.post("/login", data={"username": clinic.users["therapist"], "password": PASSWORD})
    assert client.get("/admin/import").status_code == 403
    denied = client.post(
        "/admin/import",
        data={"kind": "responses", "csrf_token": _csrf(client)},
        files={"file": ("h.csv", b"client_id\n", "text/csv")},
    )
    assert denied.status_code == 403


def test_an_endings_file_closes_the_imported_episodes_with_their_reasons(
    site: tuple[TestClient, PagesClinic],
) -> None:
    """With the history, an admin can upload how the treatments ended: the preview says how
    many episodes it closes, the import closes them with the recorded reasons (a dropout
    counts on the clinic figures, a planned end does not), and a bad endings file stores
    nothing, not even the history."""
    from bordin.storage import make_engine
    from bordin.storage.models import Client, Episode

    client, clinic = site
    codes = sorted(HISTORY["client_id"].astype(str).unique())
    endings = "client_id,ended\n" + "".join(
        f"{code},{'dropout' if i < 2 else 'planned'}\n" for i, code in enumerate(codes)
    )
    history = HISTORY.to_csv(index=False).encode()
    before = _clients(clinic)
    bad = client.post(
        "/admin/import?format=json",
        data={"kind": "responses", "csrf_token": _csrf(client)},
        files={
            "file": ("history.csv", history, "text/csv"),
            "endings": ("endings.csv", endings.replace("planned", "finished").encode(), "text/csv"),
        },
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert (error["file"], error["column"]) == ("endings.csv", "ended") and error["row"] == 4
    assert _clients(clinic) == before
    preview = client.post(
        "/admin/import?format=json",
        data={"kind": "responses", "csrf_token": _csrf(client)},
        files={
            "file": ("history.csv", history, "text/csv"),
            "endings": ("endings.csv", endings.encode(), "text/csv"),
        },
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["preview"]["episodes_closed"] == 6
    done = client.post(
        "/admin/import/confirm?format=json",
        data={"token": preview.json()["token"], "csrf_token": _csrf(client)},
    )
    assert done.status_code == 200, done.text
    assert done.json()["result"]["episodes_closed"] == 6
    engine = make_engine(clinic.url)
    try:
        with engine.connect() as conn:
            reasons = dict(
                conn.execute(
                    select(Client.code, Episode.close_reason)
                    .join(Episode, Episode.client_id == Client.id)
                    .where(Client.code.in_(codes))
                ).all()
            )
    finally:
        engine.dispose()
    assert reasons == {code: "dropout" if i < 2 else "planned" for i, code in enumerate(codes)}
    page = client.get("/admin/import")
    assert 'name="endings"' in page.text and "How treatments ended" in page.text
