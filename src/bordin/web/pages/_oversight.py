"""Supervisors' pages: the team (per therapist, never ranked) and the clinic (exports, report)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope
from bordin.storage.models import Client, TherapySession, User
from bordin.web.pages._deps import open_transaction, page_user
from bordin.web.pages._labels import badge_for
from bordin.web.pages._page import base_context, error_page, html_extras, login_redirect
from bordin.web.pages._reads import list_form_status, list_open_alerts
from bordin.web.pages._render import render_page

__all__ = ["clinic_context", "router", "team_context"]

router = APIRouter()

RUPTURE_KINDS = ("rupture_unrepaired", "rupture_open")
SUPERVISING_ROLES = ("supervisor", "admin")


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
    """Per therapist: open ruptures, clients not on track, forms outstanding (alphabetical)."""
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
                "open_ruptures": having(RUPTURE_KINDS),
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
            "totals": {
                "clients": len(clients),
                "open_ruptures": sum(len(r["open_ruptures"]) for r in rows),
                "not_on_track": sum(len(r["not_on_track"]) for r in rows),
                "forms_outstanding": sum(len(r["forms_outstanding"]) for r in rows),
            },
            "ordering": "alphabetical",
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
    context = base_context(user, title="Clinic", current="/clinic")
    context.update(
        {
            "clinic": {"id": user.clinic_id, "name": user.clinic.name if user.clinic else ""},
            "counts": {
                "clients": len(ids),
                "sessions": int(sessions or 0),
                "latest_forms": dict(sorted(forms.items())),
            },
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
            "report": _report_link(),
        }
    )
    return context


def _report_link() -> dict[str, str] | None:
    """The clinic report page, when the report feature is installed."""
    import importlib.util

    if importlib.util.find_spec("bordin.reports.clinic") is None:
        return None
    return {"label": "Clinic report", "href": "/clinic/report"}


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


@router.get("/clinic", include_in_schema=False)
def clinic(request: Request) -> Response:
    """Clinic overview: counts, open alerts by kind, exports and the report."""
    return _supervisor_page(request, "clinic.html", clinic_context)
