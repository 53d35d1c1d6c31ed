"""The admin page: users and teams, instruments and content packs of the clinic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bordin.storage.models import User
from bordin.web.pages._deps import open_transaction, page_user
from bordin.web.pages._page import base_context, error_page, html_extras, login_redirect
from bordin.web.pages._reads import list_clinic_content_packs, list_clinic_users
from bordin.web.pages._render import render_page

__all__ = ["admin_context", "router"]

router = APIRouter()


def admin_context(db: Session, user: User) -> dict[str, Any]:
    """Users, teams, instruments and content packs (shipped and uploaded by the clinic)."""
    from bordin.instruments import list_content_packs, list_instruments

    users, teams = list_clinic_users(db, actor=user)
    team_names = {t.id: t.name for t in teams}
    uploaded = list_clinic_content_packs(db, actor=user)
    shipped = list_content_packs()
    wording = {(p.instrument, p.language) for p in shipped} | {
        (p.instrument, p.language) for p in uploaded
    }
    instruments = [
        {
            "id": d.id,
            "name": d.name,
            "short_name": d.short_name,
            "version": d.version,
            "respondent": d.respondent,
            "items": d.n_items,
            "licence": d.licence,
            "validated": d.validated,
            "wording_redistributable": d.wording_redistributable,
            "languages": sorted(lang for inst, lang in wording if inst == d.id),
        }
        for d in list_instruments()
    ]
    context = base_context(user, title="Admin", current="/admin")
    context.update(
        {
            "users": [
                {
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": u.role,
                    "code": u.code,
                    "team": team_names.get(u.team_id or 0),
                    "active": u.active,
                }
                for u in users
            ],
            "teams": [
                {
                    "name": t.name,
                    "members": sum(1 for u in users if u.team_id == t.id),
                }
                for t in teams
            ],
            "instruments": instruments,
            "content_packs": [
                {
                    "instrument": p.instrument,
                    "language": p.language,
                    "origin": "shipped",
                    "source": p.source,
                    "notice": p.notice,
                }
                for p in shipped
            ]
            + [
                {
                    "instrument": p.instrument,
                    "language": p.language,
                    "origin": "clinic",
                    "source": str((p.data or {}).get("source", "")),
                    "notice": str((p.data or {}).get("notice", "")),
                    "uploaded_at": p.uploaded_at,
                }
                for p in uploaded
            ],
            "api": {
                "content_packs": "/api/v1/content-packs",
                "docs": "/api/v1/docs",
            },
        }
    )
    return context


@router.get("/admin", include_in_schema=False)
def admin(request: Request) -> Response:
    """Users and teams, instruments and content packs (administrators only)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        if user.role != "admin":
            return error_page(
                request,
                user,
                status_code=403,
                heading="Not allowed",
                message="This page is for administrators.",
            )
        context = admin_context(db, user)
    return render_page(request, "admin.html", context, html=html_extras(request))
