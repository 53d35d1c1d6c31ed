"""One client's progress report: charts, scores and current alerts, to print or share.

``/clients/{id}/progress`` is a self-contained page (inline styles and SVG, nothing loaded
from elsewhere) drawn from the client page's data, with the same access rules and audit
(:func:`bordin.web.pages._client_data.client_context`); ``?format=json`` is its JSON twin
and ``?format=pdf`` the same page as a tagged A4 PDF.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from bordin.errors import NotFound
from bordin.web.pages._client_data import client_context
from bordin.web.pages._client_page import render_charts
from bordin.web.pages._deps import PageId, open_transaction, page_user
from bordin.web.pages._page import error_page, login_redirect
from bordin.web.pages._render import DISCLAIMER, page_environment, render_page

__all__ = ["progress_context", "router"]

router = APIRouter()

# the page carries its own inline stylesheet (so that it prints and converts to PDF alone)
_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def progress_context(page: dict[str, Any], *, made: datetime) -> dict[str, Any]:
    """The progress report's data, taken from a client page's context.

    Parameters
    ----------
    page : dict
        The client page's context (:func:`client_context`).
    made : datetime
        When the report is made (shown on it).

    Returns
    -------
    dict
        Client, therapist, the alliance and symptom series, the open alerts with their
        explanation and sources, and the disclaimer.
    """
    return {
        "title": f"Progress report: client {page['client']['code']}",
        "lang": "en",
        "client": {
            "id": page["client"]["id"],
            "code": page["client"]["code"],
            "therapist": page["client"]["therapist"],
            "sessions": page["client"]["sessions"],
            "last_session": page["client"]["last_session"],
        },
        "made": made.strftime("%d %b %Y, %H:%M UTC"),
        "summary": page["summary"],
        "alliance": page["alliance"],
        "symptoms": page["symptoms"],
        "alerts": [
            {
                key: alert[key]
                for key in (
                    "id",
                    "kind",
                    "severity",
                    "severity_label",
                    "severity_class",
                    "session",
                    "title",
                    "explanation",
                    "suggestions",
                    "references",
                )
            }
            for alert in page["alerts"]
        ],
        "disclaimer": DISCLAIMER,
    }


@router.get("/clients/{client_id}/progress", include_in_schema=False)
def client_progress(request: Request, client_id: PageId) -> Response:
    """A client's progress report (HTML, ``?format=json`` or ``?format=pdf``)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            page = client_context(db, user, client_id)
        except NotFound:
            return error_page(
                request,
                user,
                status_code=404,
                heading="Client not found",
                message="This client does not exist or is not in your caseload.",
            )
    context = progress_context(page, made=datetime.now(UTC))
    fmt = request.query_params.get("format")
    if fmt == "json":
        return render_page(request, "client_progress.html", context)
    from bordin.reports.pdf import print_stylesheet

    html = (
        page_environment()
        .get_template("client_progress.html")
        .render(**context, **render_charts(page), print_css=Markup(print_stylesheet()))
    )
    headers = {
        "Content-Security-Policy": _POLICY,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    if fmt == "pdf":
        from bordin.reports.pdf import html_to_pdf

        pdf = html_to_pdf(html, title=context["title"])
        name = f"progress-{page['client']['code']}.pdf".replace('"', "")
        return Response(
            pdf,
            media_type="application/pdf",
            headers={**headers, "Content-Disposition": f'inline; filename="{name}"'},
        )
    return HTMLResponse(html, headers=headers)
