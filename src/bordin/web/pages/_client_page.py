"""The client page: a before-session summary, charts, alerts to acknowledge, item detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from bordin.errors import InputError, NotFound, PermissionDenied
from bordin.web.pages._client_data import client_context
from bordin.web.pages._deps import PageId, open_transaction, page_user
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._page import (
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._render import render_page

__all__ = ["render_charts", "router"]

router = APIRouter()


def render_charts(context: dict[str, Any]) -> dict[str, Any]:
    """The inline SVG charts of a client page, drawn from its context."""
    from bordin.reports.charts import (
        AlliancePoint,
        ExpectedPoint,
        SessionMarker,
        SymptomPoint,
        render_alliance_chart,
        render_symptom_chart,
    )

    alliance_svg = None
    alliance = context["alliance"]
    if alliance is not None:
        markers: list[SessionMarker] = []
        for event in alliance["ruptures"]:
            markers.append(SessionMarker(event["onset"], "rupture"))
            if event["repair_session"] is not None:
                markers.append(SessionMarker(event["repair_session"], "repair"))
        alliance_svg = Markup(
            render_alliance_chart(
                [
                    AlliancePoint(p["session"], p["total"], p["bond"], p["goal"], p["task"])
                    for p in alliance["sessions"]
                ],
                scale_min=alliance["scale_min"],
                scale_max=alliance["scale_max"],
                markers=markers,
                title=f"Alliance over sessions ({alliance['name']})",
                y_label=f"{alliance['name']} score",
                id_prefix="chart-alliance",
            )
        )
    symptom_svgs = {}
    for chart in context["symptoms"]:
        symptom_svgs[chart["instrument"]] = Markup(
            render_symptom_chart(
                [SymptomPoint(s["session"], s["score"]) for s in chart["sessions"]],
                scale_min=chart["scale_min"],
                scale_max=chart["scale_max"],
                expected=[
                    ExpectedPoint(s["session"], s["expected"]["low"], s["expected"]["high"])
                    for s in chart["sessions"]
                    if s["expected"] is not None
                ],
                cutoff=chart["cutoff"],
                reliable_change=chart["reliable_change"],
                higher_is_worse=chart["higher_is_worse"],
                title=f"{chart['name']} over sessions",
                y_label=f"{chart['name']} score",
                id_prefix=f"chart-{chart['instrument']}",
            )
        )
    return {"alliance_svg": alliance_svg, "symptom_svgs": symptom_svgs}


@router.get("/clients/{client_id}", include_in_schema=False)
def client_page(
    request: Request,
    client_id: PageId,
    acknowledged: int | None = None,
    checked: int | None = None,
) -> Response:
    """Everything about one client a therapist reads before the session."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            context = client_context(db, user, client_id)
            from bordin.web.pages._risk_pages import risk_notice_context  # issue 17

            context["risk_notice"] = risk_notice_context(db, user, client_id=client_id)
            context["just_acknowledged"] = (
                acknowledged
                if any(a["id"] == acknowledged for a in context["acknowledged_alerts"])
                else None
            )
            context["just_checked"] = checked
        except NotFound:
            return error_page(
                request,
                user,
                status_code=404,
                heading="Client not found",
                message="This client does not exist or is not in your caseload.",
            )
    return render_page(
        request, "client.html", context, html=html_extras(request, **render_charts(context))
    )


@router.post("/alerts/{alert_id}/acknowledge", include_in_schema=False)
async def acknowledge(request: Request, alert_id: PageId) -> Response:
    """Acknowledge an alert with a note, then go back to the client page."""
    from bordin.storage.actions import acknowledge_alert

    form = await request.form()
    note = str(form.get("note") or "")
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            alert = acknowledge_alert(db, actor=user, alert_id=alert_id, note=note)
            client_id = alert.client_id
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except NotFound:
            return error_page(
                request,
                user,
                status_code=404,
                heading="Alert not found",
                message="This alert does not exist or is not in your caseload.",
            )
        except InputError as exc:
            return error_page(
                request,
                user,
                status_code=422,
                heading="Could not save the note",
                message=field_error_message(exc),
            )
    return RedirectResponse(
        f"/clients/{client_id}?acknowledged={alert_id}#alert-{alert_id}", status_code=303
    )
