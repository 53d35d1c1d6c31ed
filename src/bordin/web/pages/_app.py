"""Adds the HTML pages and their static files to the web service's app."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "register_pages"]

#: URL prefix of the pages' CSS, JavaScript and icon (served by the app itself).
ASSETS_PATH = "/assets"


def register_pages(app: FastAPI) -> None:
    """Add the server-rendered pages and their assets to ``app``.

    Pages: the client's form (``/f/{token}``), login and logout, the caseload, a client
    and their care (episodes, sessions, paper forms, transfer), the therapist's session
    check and progress report, adding a
    client, the team, the clinic, the admin page with its users and the history import, one's
    account and password reset links. Each answers ``?format=json`` with its context (the
    JSON twin). Errors on the client's pages are always HTML
    (:mod:`bordin.web.pages._client_errors`).
    """
    from bordin.web.pages import (
        _accounts_pages,
        _admin,
        _auth_pages,
        _caseload,
        _client_delivery,  # issue 17: contact, schedule, bookings
        _client_errors,
        _client_form,
        _client_page,
        _client_pair,
        _client_progress,
        _clients_pages,
        _delivery_pages,  # issue 17: the non-completer list
        _import_page,
        _kiosk,
        _oversight,
        _risk_pages,
    )

    static = resources.files("bordin.web.pages").joinpath("static")
    app.mount(ASSETS_PATH, StaticFiles(directory=str(static)), name="page-assets")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        """The icon, for the browser's own request on pages that link none (the reports)."""
        return RedirectResponse(f"{ASSETS_PATH}/favicon.svg", status_code=301)

    for module in (
        _auth_pages,
        _client_form,
        _clients_pages,  # before _client_page: /clients/new is not a client id
        _caseload,
        _client_progress,
        _client_page,
        _client_pair,
        _oversight,
        _admin,
        _import_page,
        _accounts_pages,
        _risk_pages,  # issue 17: risk answers, risk log
        _kiosk,  # issue 17: kiosk mode
        _delivery_pages,
        _client_delivery,
    ):
        app.include_router(module.router)
    _client_errors.install_client_error_pages(app)
