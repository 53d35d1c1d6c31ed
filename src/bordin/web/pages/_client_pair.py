"""The client page's therapist side: the therapist session check form, the pair signals
(discrepancy, one-sided ruptures, bond-gap alerts) and the clinical support domains.

Pair signals and support domains are computed on read from the client's stored scores by
the pure core (:func:`bordin.feedback.detect_pair_signals`,
:func:`bordin.feedback.flag_support_domains`); nothing here computes statistics.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import BordinError, Conflict, InputError, NotFound, PermissionDenied
from bordin.storage.models import Client, ItemResponse, TherapySession, User
from bordin.web.pages._deps import PageId, form_id, open_transaction, page_user
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._page import check_form_csrf, error_page, login_redirect

__all__ = ["pair_context", "pair_summary", "router"]

router = APIRouter()

_CHECK = "tsc"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _check_form(db: Session, user: User, client: Client) -> dict[str, Any] | None:
    """The therapist session check form: its items (shipped or clinic wording) and the
    sessions not yet rated, the latest first. None for anyone but the client's therapist."""
    from bordin.instruments import get_instrument
    from bordin.storage.queries import get_wording

    if client.therapist_id != user.id:
        return None
    rated = set(
        db.scalars(
            select(ItemResponse.session_id)
            .where(ItemResponse.client_id == client.id, ItemResponse.instrument == _CHECK)
            .distinct()
        )
    )
    sessions = db.execute(
        select(TherapySession.id, TherapySession.number, TherapySession.date)
        .where(TherapySession.client_id == client.id)
        .order_by(TherapySession.number.desc())
    ).all()
    open_sessions = [
        {"id": s.id, "number": s.number, "date": s.date} for s in sessions if s.id not in rated
    ]
    definition = get_instrument(_CHECK)
    pack = get_wording(db, client.clinic_id, _CHECK, "en")
    texts = {int(i["number"]): i for i in pack.get("items", [])}
    sets = pack.get("response_sets", {})
    items = []
    for item in definition.items:
        entry = texts.get(item.number, {})
        options = sets.get(entry.get("responses", ""), []) or [
            {"value": v, "label": str(v)}
            for v in range(int(item.min_value), int(item.max_value) + 1)
        ]
        items.append(
            {
                "number": item.number,
                "text": entry.get("text", f"Item {item.number}"),
                "required": item.required and item.asked_if is None,
                "options": [{"value": int(o["value"]), "label": o["label"]} for o in options],
            }
        )
    return {
        "instrument": _CHECK,
        "title": pack.get("title", definition.name),
        "notice": pack.get("notice", ""),
        "validated": definition.validated,
        "sessions": open_sessions,
        "items": items,
    }


def _support(frame: pd.DataFrame) -> dict[str, Any] | None:
    """The flagged domains of the client's latest clinical support check."""
    from bordin.feedback import flag_support_domains

    columns = [c for c in frame.columns if c.startswith("csc_")]
    if not columns:
        return None
    answered = frame[frame[columns].notna().any(axis=1)]
    if answered.empty:
        return None
    latest = answered.iloc[-1]
    domains = [d.to_dict() for d in flag_support_domains(latest)]
    return {
        "session": int(latest["session"]),
        "domains": domains,
        "flagged": [d for d in domains if d["flagged"]],
    }


def pair_context(db: Session, user: User, client: Client, frame: pd.DataFrame) -> dict[str, Any]:
    """The therapist-side parts of the client page (also in its JSON twin)."""
    from bordin.feedback import detect_pair_signals

    result = detect_pair_signals(frame) if not frame.empty else None
    sessions: list[dict[str, Any]] = []
    ruptures: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    trend = None
    if result is not None:
        paired = result.sessions[result.sessions["gap_total"].notna()]
        for record in paired.to_dict(orient="records"):
            sessions.append(
                {
                    "session": int(record["session"]),
                    **{
                        f"{side}_{c}": _number(record[f"{side}_{c}"])
                        for side in ("client", "therapist", "gap")
                        for c in ("bond", "goal", "task", "total")
                    },
                    "gap_trend": _number(record["gap_trend"]),
                }
            )
        if sessions:
            trend = sessions[-1]["gap_trend"]
        ruptures = [
            {"session": int(r["session"]), "side": r["side"]}
            for r in result.ruptures.to_dict(orient="records")
        ]
        latest = int(result.sessions["session"].max()) if not result.sessions.empty else None
        alerts = [a.to_dict() for a in result.alerts if a.session == latest]
    return {
        "therapist_check": _check_form(db, user, client),
        "pair": {"sessions": sessions, "trend": trend, "ruptures": ruptures, "alerts": alerts},
        "support": _support(frame),
    }


def pair_summary(context: dict[str, Any]) -> list[str]:
    """Lines for the client page's "Before the session" box: the pair alerts of the latest
    session and the flagged support domains."""
    lines = [f"{a['title']} (session {a['session']})." for a in context["pair"]["alerts"]]
    support = context["support"]
    if support is not None and support["flagged"]:
        names = ", ".join(d["label"].lower() for d in support["flagged"])
        lines.append(f"Support check (session {support['session']}): to talk about: {names}.")
    return lines


def _answers(form: Any) -> dict[str, Any]:
    answers = {
        key.removeprefix("item-"): (value if str(value).strip() else None)
        for key, value in form.items()
        if key.startswith("item-")
    }
    if str(answers.get("7") or "") == "0":  # nothing noticed: "if so, addressed?" not asked
        answers.pop("8", None)
    return answers


def _shown_item_message(exc: BordinError, items: list[dict[str, Any]], answers: Any) -> str:
    """The refusal of a check's answers, naming the item as the therapist saw it.

    The form numbers its items consecutively: while item 8 ("if so, addressed?") is hidden
    because nothing was noticed at item 7, item 9 is shown as 8. The error of
    :func:`~bordin.storage.actions.validate_answers` names the stored number
    (``tsc:9``); here it becomes the number shown with the item's text, e.g.
    ``Item 8, "I followed the planned approach.": this item is required``. Other errors
    keep their message.
    """
    from bordin.instruments import get_instrument

    prefix = f"{_CHECK}:"
    if not isinstance(exc, InputError) or not (exc.item or "").startswith(prefix):
        return field_error_message(exc)
    try:
        number = int(str(exc.item)[len(prefix) :])
    except ValueError:
        return field_error_message(exc)
    texts = {int(i["number"]): str(i["text"]) for i in items}
    if number not in texts:
        return field_error_message(exc)

    def chosen(n: int) -> float | None:
        try:
            return float(answers.get(str(n)))
        except (TypeError, ValueError):
            return None

    def shown(item: Any) -> bool:
        condition = item.asked_if
        if condition is None:
            return True
        value = chosen(condition.item)
        return value is not None and value >= condition.min_value

    before = [i for i in get_instrument(_CHECK).items if i.number < number]
    position = 1 + sum(shown(i) for i in before)
    return f'Item {position}, "{texts[number]}": {exc.detail}'


@router.post("/clients/{client_id}/therapist-check", include_in_schema=False)
async def record_check(request: Request, client_id: PageId) -> Response:
    """Store the therapist's session check, then back to the client page."""
    from bordin.storage.actions import record_therapist_check

    form = await request.form()
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            raw = str(form.get("session_id") or "").strip()
            if not raw:
                raise InputError("choose a session", column="session_id")
            session = db.get(TherapySession, form_id(raw, what="session"))
            if session is None or session.client_id != client_id:
                raise NotFound(f"session {raw} not found")
            answers = _answers(form)
            with db.begin_nested():
                record_therapist_check(db, actor=user, session_id=session.id, answers=answers)
            number = session.number
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except NotFound as exc:
            return error_page(request, user, status_code=404, heading="Not found", message=str(exc))
        except BordinError as exc:  # invalid answers (422) or already rated (409)
            client = db.get(Client, client_id)
            check = _check_form(db, user, client) if client is not None else None
            return error_page(
                request,
                user,
                status_code=409 if isinstance(exc, Conflict) else 422,
                heading="Your session check was not saved",
                message=_shown_item_message(exc, check["items"] if check else [], _answers(form)),
            )
    return RedirectResponse(
        f"/clients/{client_id}?checked={number}#therapist-check", status_code=303
    )
