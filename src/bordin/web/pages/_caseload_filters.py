"""Search and filters of the caseload: client code, open or closed care, therapist, alert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.web.pages._labels import BADGES

__all__ = ["filter_caseload"]

STATUSES = {"all": "Open and closed", "open": "Open care", "closed": "Closed (discharged)"}


def filter_caseload(
    db: Session, context: dict[str, Any], params: Mapping[str, str]
) -> dict[str, Any]:
    """Narrow the caseload context's clients by the query's ``q`` (part of the code),
    ``status`` (open/closed/all), ``therapist`` (code) and ``alert`` (kind); adds the
    filter form's choices and what was chosen."""
    from bordin.storage.models import Episode

    clients: list[dict[str, Any]] = context["clients"]
    ids = [c["id"] for c in clients]
    open_ids = set(
        db.scalars(
            select(Episode.client_id).where(Episode.client_id.in_(ids), Episode.closed_on.is_(None))
        )
    )
    for client in clients:
        client["open"] = client["id"] in open_ids
    q = params.get("q", "").strip().lower()
    status = params.get("status", "all")
    status = status if status in STATUSES else "all"
    therapist = params.get("therapist", "")
    alert = params.get("alert", "")
    shown = [
        c
        for c in clients
        if (not q or q in c["code"].lower())
        and (status == "all" or c["open"] == (status == "open"))
        and (not therapist or c["therapist_code"] == therapist)
        and (not alert or any(b["kind"] == alert for b in c["badges"]))
    ]
    therapists = sorted({(c["therapist_code"], c["therapist"]) for c in clients})
    context.update(
        {
            "clients": shown,
            "filters": {
                "q": q,
                "status": status,
                "therapist": therapist,
                "alert": alert,
                "active": bool(q or status != "all" or therapist or alert),
                "total": len(clients),
            },
            "filter_choices": {
                "statuses": [{"value": k, "label": v} for k, v in STATUSES.items()],
                "therapists": [{"code": code, "name": name} for code, name in therapists],
                "alerts": [{"kind": k, "label": v[0]} for k, v in BADGES.items()],
            },
        }
    )
    context["filters"]["shown"] = len(shown)
    return context
