"""Supervisors' pages: the team (per therapist, never ranked) and the clinic (exports, report)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope
from bordin.storage.models import Client, TherapySession, User
from bordin.web.pages._deps import open_transaction, page_user
from bordin.web.pages._figures import (
    ALLIANCE_COLUMNS,
    OUTCOME_COLUMNS,
    clinic_figures,
    report_inputs,
)
from bordin.web.pages._labels import badge_for
from bordin.web.pages._norms import clinic_norms_context
from bordin.web.pages._page import base_context, error_page, html_extras, login_redirect
from bordin.web.pages._reads import list_form_status, list_open_alerts
from bordin.web.pages._render import render_page

__all__ = ["clinic_context", "router", "team_context"]

router = APIRouter()

RUPTURE_KINDS = ("rupture_unrepaired", "rupture_open")
SUPERVISING_ROLES = ("supervisor", "admin")


def _unrepaired_span() -> str:
    """How long an unrepaired rupture stays an alert, in words (the service's
    ``FeedbackConfig``)."""
    from bordin.feedback import FeedbackConfig

    n = FeedbackConfig().unrepaired_alert_sessions
    if n == 1:
        return "at the session at which it is declared unrepaired"
    return f"for {n} sessions from the one at which it is declared unrepaired"


def _clients_in_scope(db: Session, user: User) -> list[tuple[int, str, int]]:
    return [
        (row[0], row[1], row[2])
        for row in db.execute(
            select(Client.id, Client.code, Client.therapist_id)
            .where(client_scope(user))
            .order_by(Client.code)
        )
    ]


def team_context(db: Session, user: User) -> dict[str, Any]:
    """Per therapist: the clinic figures, rupture alerts, clients not on track, forms
    outstanding (alphabetical)."""
    from bordin.storage.audit import record_event

    clients = _clients_in_scope(db, user)
    alerts = list_open_alerts(db, actor=user)
    forms = list_form_status(db, actor=user)
    therapist_ids = sorted({t for _, _, t in clients})
    if user.role == "supervisor" and user.team_id is not None:
        team_ids = db.scalars(
            select(User.id).where(User.team_id == user.team_id, User.role == "therapist")
        ).all()
        therapist_ids = sorted(set(therapist_ids) | set(team_ids))
    elif user.role == "admin":
        admin_ids = db.scalars(
            select(User.id).where(User.clinic_id == user.clinic_id, User.role == "therapist")
        ).all()
        therapist_ids = sorted(set(therapist_ids) | set(admin_ids))
    people = {u.id: u for u in db.scalars(select(User).where(User.id.in_(therapist_ids)))}
    figures = clinic_figures(db, user)

    rows: list[dict[str, Any]] = []
    for therapist_id in therapist_ids:
        person = people.get(therapist_id)
        if person is None:
            continue
        mine = [(cid, code) for cid, code, t in clients if t == therapist_id]

        def having(
            kinds: tuple[str, ...], mine: list[tuple[int, str]] = mine
        ) -> list[dict[str, Any]]:
            return [
                {"id": cid, "code": code, "href": f"/clients/{cid}"}
                for cid, code in mine
                if any(a.kind in kinds for a in alerts.get(cid, []))
            ]

        outstanding = [
            {
                "id": cid,
                "code": code,
                "href": f"/clients/{cid}",
                "state": forms[cid].state,
            }
            for cid, code in mine
            if cid in forms and forms[cid].state in ("waiting", "expired")
        ]
        rows.append(
            {
                "therapist": person.display_name or person.username,
                "therapist_code": person.code,
                "clients": len(mine),
                "figures": (
                    figures.for_clients(code for _, code in mine).to_dict()
                    if figures is not None
                    else None
                ),
                "rupture_alerts": having(RUPTURE_KINDS),
                "not_on_track": having(("not_on_track",)),
                "risk": having(("risk",)),
                "forms_outstanding": outstanding,
            }
        )
    rows.sort(key=lambda r: (str(r["therapist"]).casefold(), r["therapist_code"]))
    record_event(
        db,
        actor=user,
        action="team.read",
        object_type="team",
        object_id=user.team_id,
        detail={"clients": [cid for cid, _, _ in clients]},
    )
    context = base_context(user, title="Team", current="/team")
    context.update(
        {
            "therapists": rows,
            "figures": figures.to_dict() if figures is not None else None,
            "totals": {
                "clients": len(clients),
                "rupture_alerts": sum(len(r["rupture_alerts"]) for r in rows),
                "not_on_track": sum(len(r["not_on_track"]) for r in rows),
                "forms_outstanding": sum(len(r["forms_outstanding"]) for r in rows),
            },
            "ordering": "alphabetical",
            "rupture_alerts_definition": "Clients whose latest session has an open rupture "
            f"alert or an unrepaired rupture alert ({_unrepaired_span()}; what needs "
            "attention now; the rupture figures count every rupture on record).",
            "note": "Therapists are listed alphabetically. These counts describe caseloads so "
            "that support goes where it is needed; they are not a measure or ranking of "
            "therapists.",
        }
    )
    return context


def clinic_context(db: Session, user: User) -> dict[str, Any]:
    """Clinic-wide counts, the exports and the clinic report (when there are data for it)."""
    clients = _clients_in_scope(db, user)
    ids = [cid for cid, _, _ in clients]
    sessions = (
        db.scalar(
            select(func.count())
            .select_from(TherapySession)
            .where(TherapySession.client_id.in_(ids))
        )
        if ids
        else 0
    )
    alerts = list_open_alerts(db, actor=user)
    kinds = Counter(a.kind for found in alerts.values() for a in found)
    forms = Counter(status.state for status in list_form_status(db, actor=user).values())
    figures = clinic_figures(db, user)
    context = base_context(user, title="Clinic", current="/clinic")
    context.update(
        {
            "clinic": {"id": user.clinic_id, "name": user.clinic.name if user.clinic else ""},
            "counts": {
                "clients": len(ids),
                "sessions": int(sessions or 0),
                "latest_forms": dict(sorted(forms.items())),
            },
            "figures": figures.to_dict() if figures is not None else None,
            "norms": clinic_norms_context(db, user.clinic_id),
            "open_alerts": [
                {**badge_for(kind), "count": count} for kind, count in sorted(kinds.items())
            ],
            "exports": [
                {
                    "label": "Session scores (wide CSV, one row per client and session)",
                    "href": "/api/v1/exports/session-scores.csv",
                },
                {
                    "label": "Item responses (long CSV, one row per answered item)",
                    "href": "/api/v1/exports/item-responses.csv",
                },
            ],
            "report": (
                {"label": "Clinic report (HTML)", "href": "/clinic/report"} if sessions else None
            ),
        }
    )
    return context


def _clinic_report(db: Session, user: User) -> tuple[Any, list[str]]:
    """Build the clinic report on the scores the user may see; return it and any warnings.

    Warnings raised by the analyses (a boundary fit, a loose convergence on a small
    clinic) are collected and shown with the report rather than hidden.
    """
    import warnings

    from bordin.reports.report import build_report
    from bordin.storage.queries import export_session_scores

    frame = export_session_scores(db, actor=user)
    alliance = next((c for c in ALLIANCE_COLUMNS if c in frame.columns), None)
    outcome = next((c for c in OUTCOME_COLUMNS if c in frame.columns), None)
    if alliance is None or outcome is None or frame.empty:
        return None, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(
            frame,
            alliance=alliance,
            outcome=outcome,
            source=user.clinic.name if user.clinic else "clinic",
            **report_inputs(db, user),
        )
    return report, sorted({str(w.message) for w in caught})


def _supervisor_page(request: Request, template: str, build: Any) -> Response:
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        if user.role not in SUPERVISING_ROLES:
            return error_page(
                request,
                user,
                status_code=403,
                heading="Not allowed",
                message="This page is for supervisors and administrators.",
            )
        context = build(db, user)
    return render_page(request, template, context, html=html_extras(request))


@router.get("/team", include_in_schema=False)
def team(request: Request) -> Response:
    """Open ruptures, clients not on track and forms outstanding, per therapist."""
    return _supervisor_page(request, "team.html", team_context)


@router.get("/clinic/report", include_in_schema=False)
def clinic_report(request: Request) -> Response:
    """The clinic report (outcomes, early alliance, lagged model, ruptures, therapists)."""
    from fastapi.responses import HTMLResponse, JSONResponse

    from bordin.reports.report import render_html
    from bordin.web.pages._render import wants_json

    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        if user.role not in SUPERVISING_ROLES:
            return error_page(
                request,
                user,
                status_code=403,
                heading="Not allowed",
                message="This page is for supervisors and administrators.",
            )
        report, notes = _clinic_report(db, user)
        if report is None:
            return error_page(
                request,
                user,
                status_code=404,
                heading="No report yet",
                message="The report needs alliance and outcome scores from the clinic's forms.",
            )
    if wants_json(request):
        return JSONResponse({**report.to_json_dict(), "warnings": notes})
    try:
        html = render_html(report)
    except ValueError as exc:
        # a figure that cannot be drawn from these data: say so, keep the numbers reachable
        return error_page(
            request,
            user,
            status_code=500,
            heading="The report could not be drawn",
            message=f"{exc}. The numbers are available at /clinic/report?format=json.",
        )
    # the report is one self-contained document with its own inline stylesheet (no scripts)
    policy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    policy += "script-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    if notes:
        listed = "".join(f"<li>{escape(n)}</li>" for n in notes)
        html = html.replace(
            "</body>",
            f'<section class="notice"><h2>Warnings from the analyses</h2><ul>{listed}</ul>'
            "</section></body>",
            1,
        )
    return HTMLResponse(
        html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"}
    )


@router.get("/clinic", include_in_schema=False)
def clinic(request: Request) -> Response:
    """Clinic overview: counts, open alerts by kind, exports and the report."""
    return _supervisor_page(request, "clinic.html", clinic_context)
