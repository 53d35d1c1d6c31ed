"""Clients' care from the pages: add a client, and on a client's care page close, reopen
or discharge an episode, record a session, correct its date, type in a paper form, and
transfer the client to another therapist."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import BordinError, Conflict, InputError, NotFound, PermissionDenied
from bordin.storage.actions.clinic_settings import clinic_today
from bordin.storage.models import User
from bordin.web.i18n import LANGUAGES
from bordin.web.pages._deps import (
    PageId,
    form_id,
    open_transaction,
    optional_form_id,
    page_user,
)
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._render import render_page

__all__ = ["care_context", "new_client_context", "router"]

router = APIRouter()

REASON_LABELS = {
    "planned": "Planned end",
    "dropout": "Dropout",
    "referral": "Referral elsewhere",
}
MISSED_LABELS = {"cancelled": "Cancelled", "did_not_attend": "Did not attend"}
DONE = {
    "close": "Episode closed.",
    "reopen": "A new episode of care is open.",
    "session": "Session recorded.",
    "date": "Session date corrected.",
    "paper": "Paper form entered; feedback recomputed.",
    "transfer": "Client transferred.",
    "defaults": "Form language and questionnaires saved.",
    "missed": "Recorded as not attended; attended sessions keep their numbers.",
    "code": "Client code changed.",
}
#: instruments a paper form can be typed in for (those with shipped or uploaded wording)
PAPER_INSTRUMENTS = ("sac", "phq9", "gad7", "k10", "core10")


def _instrument_name(instrument: str) -> str:
    """An instrument's short name as staff know it ("PHQ-9"); its id if it is not known."""
    from bordin.errors import InstrumentError
    from bordin.instruments import get_instrument

    try:
        return get_instrument(instrument).short_name
    except InstrumentError:
        return instrument


def _day(raw: object, column: str, *, required: bool = False) -> date | None:
    text = str(raw or "").strip()
    if not text:
        if required:
            raise InputError("give a date", column=column)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("a date is written YYYY-MM-DD", column=column) from None


def _required_day(raw: object, column: str) -> date:
    day = _day(raw, column, required=True)
    if day is None:  # _day raised already; this keeps the type exact
        raise InputError("give a date", column=column)
    return day


def _therapists(db: Session, user: User) -> list[dict[str, Any]]:
    """Active therapists a supervisor (their team) or admin (the clinic) assigns clients to."""
    if user.role == "therapist":
        return []
    query = select(User).where(
        User.clinic_id == user.clinic_id, User.role == "therapist", User.active.is_(True)
    )
    if user.role == "supervisor":
        if user.team_id is None:
            return []
        query = query.where(User.team_id == user.team_id)
    return [
        {"id": u.id, "name": u.display_name or u.username, "code": u.code}
        for u in db.scalars(query.order_by(User.display_name, User.username))
    ]


def _form_options(db: Session, user: User) -> dict[str, Any]:
    """Languages with wording (shipped or uploaded by the clinic) and the client-rated
    questionnaires a client's forms can default to."""
    from bordin.instruments import list_content_packs, list_instruments
    from bordin.storage.models import ContentPack

    packs = {(p.instrument, p.language) for p in list_content_packs()}
    packs |= {
        (instrument, language)
        for instrument, language in db.execute(
            select(ContentPack.instrument, ContentPack.language).where(
                ContentPack.clinic_id == user.clinic_id
            )
        )
    }
    instruments = [
        {"id": d.id, "label": f"{d.short_name}: {d.name}"}
        for d in list_instruments()
        if d.respondent == "client" and any(i == d.id for i, _ in packs)
    ]
    # the languages the form's own text is in, and those of the questionnaires' wording
    languages = sorted({lang for _, lang in packs} | set(LANGUAGES))
    return {
        "languages": languages,
        "language_names": {lang: LANGUAGES.get(lang, lang) for lang in languages},
        "instruments": instruments,
    }


def _chosen(form: Any) -> list[str]:
    return [str(v) for v in form.getlist("instrument") if isinstance(v, str)]


def new_client_context(db: Session, user: User) -> dict[str, Any]:
    """The add-a-client form: the therapists to choose from (for supervisors and admins)."""
    context = base_context(user, title="Add a client", current="/caseload")
    context.update(
        {
            "therapists": _therapists(db, user),
            "choose_therapist": user.role != "therapist",
            "today": clinic_today(user.clinic).isoformat(),
            "form_options": _form_options(db, user),
            "error": None,
            "entered": {},
            "entered_instruments": [],
        }
    )
    return context


def _status(exc: BordinError) -> int:
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, NotFound):
        return 404
    return 422


@router.get("/clients/new", include_in_schema=False)
def new_client(request: Request) -> Response:
    """The form to add a client (pseudonymous code, therapist, start date)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        context = new_client_context(db, user)
    return render_page(request, "client_new.html", context, html=html_extras(request))


@router.post("/clients/new", include_in_schema=False)
async def add_client(request: Request) -> Response:
    """Register the client and open their first episode of care."""
    from bordin.storage.actions import create_client

    form = await request.form()
    entered = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            with db.begin_nested():
                client = create_client(
                    db,
                    actor=user,
                    code=str(form.get("code") or ""),
                    therapist_id=optional_form_id(form.get("therapist_id"), what="therapist"),
                    opened_on=_day(form.get("opened_on"), "opened_on"),
                    form_language=str(form.get("form_language") or "en"),
                    default_instruments=_chosen(form),
                )
            client_id = client.id
        except PermissionDenied as exc:
            if user.role != "therapist" and "name the therapist" in str(exc):
                failed: BordinError = InputError(str(exc), column="therapist_id")
            else:
                return error_page(
                    request, user, status_code=403, heading="Not allowed", message=str(exc)
                )
        except BordinError as exc:
            failed = exc
        else:
            return RedirectResponse(f"/clients/{client_id}/care?done=added", status_code=303)
        context = new_client_context(db, user)
    context.update(
        {
            "error": {
                "message": field_error_message(failed),
                "column": getattr(failed, "column", None),
            },
            "entered": entered,
            "entered_instruments": _chosen(form),
        }
    )
    return render_page(
        request,
        "client_new.html",
        context,
        status_code=_status(failed),
        html=html_extras(request),
    )


def care_context(db: Session, user: User, client_id: int) -> dict[str, Any]:
    """A client's episodes and sessions, with what the user may change.

    Raises
    ------
    NotFound
        No such client in the user's scope.
    """
    from bordin.storage.models import ItemResponse
    from bordin.storage.queries import get_client, list_episodes, list_sessions

    client = get_client(db, actor=user, client_id=client_id)
    episodes = list_episodes(db, actor=user, client_id=client_id)
    sessions = list_sessions(db, actor=user, client_id=client_id)
    answered: dict[int, list[tuple[str, bool]]] = {}
    for session_id, instrument, staff in db.execute(
        select(ItemResponse.session_id, ItemResponse.instrument, ItemResponse.entered_by)
        .where(ItemResponse.client_id == client.id)
        .distinct()
    ):
        answered.setdefault(session_id, []).append((instrument, staff is not None))
    from bordin.storage.models import MissedSession

    missed = db.scalars(
        select(MissedSession)
        .where(MissedSession.client_id == client.id)
        .order_by(MissedSession.date, MissedSession.id)
    ).all()
    therapist = db.get(User, client.therapist_id)
    open_episode = next((e for e in episodes if e.closed_on is None), None)
    context = base_context(user, title=f"Care of {client.code}", current="/caseload")
    context.update(
        {
            "client": {
                "id": client.id,
                "code": client.code,
                "href": f"/clients/{client.id}",
                "therapist": (therapist.display_name or therapist.username) if therapist else "",
                "therapist_id": client.therapist_id,
                "therapist_active": bool(therapist and therapist.active),
                "form_language": client.form_language,
                "default_instruments": list(client.default_instruments or []),
            },
            "form_options": _form_options(db, user),
            "episodes": [
                {
                    "id": e.id,
                    "opened_on": e.opened_on,
                    "closed_on": e.closed_on,
                    "reason": e.close_reason,
                    "reason_label": REASON_LABELS.get(e.close_reason or "", ""),
                }
                for e in episodes
            ],
            "open_episode": open_episode.id if open_episode else None,
            "sessions": [
                {
                    "id": s.id,
                    "number": s.number,
                    "date": s.date,
                    "forms": [
                        {
                            "instrument": instrument,
                            "name": _instrument_name(instrument),
                            "staff_entered": staff,
                        }
                        for instrument, staff in sorted(answered.get(s.id, []))
                    ],
                }
                for s in sessions
            ],
            "missed": [
                {"date": m.date, "kind": m.kind, "label": MISSED_LABELS[m.kind]} for m in missed
            ],
            "missed_kinds": [{"value": k, "label": v} for k, v in MISSED_LABELS.items()],
            "reasons": [{"value": k, "label": v} for k, v in REASON_LABELS.items()],
            "paper_instruments": [
                {"id": i, "name": _instrument_name(i)} for i in PAPER_INSTRUMENTS
            ],
            "therapists": _therapists(db, user),
            "can_transfer": user.role in ("supervisor", "admin"),
            "today": clinic_today(user.clinic).isoformat(),
            "done": None,
            "error": None,
        }
    )
    return context


def _care_page(
    request: Request,
    client_id: int,
    *,
    done: str | None = None,
    error: BordinError | None = None,
    what: str = "",
) -> Response:
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            context = care_context(db, user, client_id)
        except NotFound as exc:
            return error_page(request, user, status_code=404, heading="Not found", message=str(exc))
    if done == "added":
        context["done"] = f"Client {context['client']['code']} added with an open episode."
    else:
        context["done"] = DONE.get(done or "")
    status = 200
    if error is not None:
        context["error"] = {
            "form": what,
            "message": field_error_message(error),
            "column": getattr(error, "column", None),
            "item": getattr(error, "item", None),
        }
        status = _status(error)
    return render_page(
        request, "client_care.html", context, status_code=status, html=html_extras(request)
    )


@router.get("/clients/{client_id}/care", include_in_schema=False)
def care(request: Request, client_id: PageId, done: str | None = None) -> Response:
    """A client's episodes and sessions, and the forms to change them."""
    return _care_page(request, client_id, done=done)


def _apply(db: Session, user: User, client_id: int, what: str, form: Any) -> None:
    from bordin.storage import actions

    if what == "close":
        episode = form_id(form.get("episode_id"), what="episode")
        actions.close_episode(
            db,
            actor=user,
            episode_id=episode,
            closed_on=_day(form.get("closed_on"), "closed_on"),
            reason=str(form.get("reason") or "") or None,
        )
    elif what == "reopen":
        actions.open_episode(
            db, actor=user, client_id=client_id, opened_on=_day(form.get("opened_on"), "opened_on")
        )
    elif what == "session":
        actions.create_session(
            db,
            actor=user,
            client_id=client_id,
            session_date=_day(form.get("session_date"), "session_date", required=True),
        )
    elif what == "code":
        actions.rename_client(db, actor=user, client_id=client_id, code=str(form.get("code") or ""))
    elif what == "missed":
        actions.record_missed_session(
            db,
            actor=user,
            client_id=client_id,
            session_date=_required_day(form.get("missed_date"), "missed_date"),
            kind=str(form.get("kind") or ""),
        )
    elif what == "date":
        session = _own_session(db, user, client_id, form)
        actions.change_session_date(
            db,
            actor=user,
            session_id=session,
            session_date=_day(form.get("session_date"), "session_date", required=True),
        )
    elif what == "paper":
        session = _own_session(db, user, client_id, form)
        instrument = str(form.get("instrument") or "")
        answers = {
            key.removeprefix("item-"): (value if str(value).strip() else None)
            for key, value in form.items()
            if key.startswith("item-")
        }
        actions.record_paper_form(
            db, actor=user, session_id=session, instrument=instrument, answers=answers
        )
    elif what == "defaults":
        actions.set_form_defaults(
            db,
            actor=user,
            client_id=client_id,
            form_language=str(form.get("form_language") or ""),
            default_instruments=_chosen(form),
        )
    elif what == "transfer":
        therapist = optional_form_id(form.get("therapist_id"), what="therapist")
        if therapist is None:
            raise InputError("choose a therapist", column="therapist_id")
        actions.transfer_client(db, actor=user, client_id=client_id, therapist_id=therapist)
    else:
        raise NotFound(f"no such change: {what}")


def _own_session(db: Session, user: User, client_id: int, form: Any) -> int:
    from bordin.storage.queries import get_session

    chosen = optional_form_id(form.get("session_id"), what="session")
    if chosen is None:
        raise InputError("choose a session", column="session_id")
    session = get_session(db, actor=user, session_id=chosen)
    if session.client_id != client_id:
        raise NotFound(f"session {chosen} not found")
    return session.id


@router.post("/clients/{client_id}/care/{what}", include_in_schema=False)
async def change_care(request: Request, client_id: PageId, what: str) -> Response:
    """Apply one change to the client's care (audited); back to the care page."""
    form = await request.form()
    error: BordinError | None = None
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            with db.begin_nested():
                _apply(db, user, client_id, what, form)
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except BordinError as exc:
            error = exc
    if error is not None:
        return _care_page(request, client_id, error=error, what=what)
    return RedirectResponse(f"/clients/{client_id}/care?done={what}", status_code=303)


def paper_context(
    db: Session, user: User, client_id: int, session_id: int, instrument: str
) -> dict[str, Any]:
    """The items of one instrument to type in from paper, for one session."""
    from bordin.instruments import get_instrument
    from bordin.storage.queries import get_client, get_session

    client = get_client(db, actor=user, client_id=client_id)
    session = get_session(db, actor=user, session_id=session_id)
    if session.client_id != client.id:
        raise NotFound(f"session {session_id} not found")
    if instrument not in PAPER_INSTRUMENTS:
        raise NotFound(f"no paper form for {instrument!r}")
    definition = get_instrument(instrument)
    context = base_context(user, title=f"Paper form for {client.code}", current="/caseload")
    context.update(
        {
            "client": {"id": client.id, "code": client.code},
            "session": {"id": session.id, "number": session.number, "date": session.date},
            "instrument": {"id": definition.id, "name": definition.short_name},
            "items": [
                {
                    "number": item.number,
                    "min": item.min_value,
                    "max": item.max_value,
                    "required": bool(item.required) and item.asked_if is None,
                    "conditional": (
                        f"only when item {item.asked_if.item} is at least "
                        f"{item.asked_if.min_value:g}"
                        if item.asked_if is not None
                        else None
                    ),
                }
                for item in definition.items
            ],
        }
    )
    return context


@router.get("/clients/{client_id}/sessions/{session_id}/paper", include_in_schema=False)
def paper_form(
    request: Request, client_id: PageId, session_id: PageId, instrument: str = ""
) -> Response:
    """Type in a questionnaire the client filled on paper (marked as staff-entered)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            context = paper_context(db, user, client_id, session_id, instrument)
        except NotFound as exc:
            return error_page(request, user, status_code=404, heading="Not found", message=str(exc))
    return render_page(request, "client_paper.html", context, html=html_extras(request))
