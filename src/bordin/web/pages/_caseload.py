"""The caseload (clients ordered by what needs attention) and creating the next form link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import BordinError, Conflict, InputError, NotFound, PermissionDenied
from bordin.feedback.wording import colour_legend
from bordin.storage.models import Client, FormRequest, ItemResponse, TherapySession, User
from bordin.web.deps import app_state
from bordin.web.i18n import LANGUAGES
from bordin.web.pages._caseload_filters import filter_caseload
from bordin.web.pages._deps import PageId, open_transaction, page_user
from bordin.web.pages._labels import COLOUR_LABELS, FORM_STATES, badge_for, field_error_message
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._reads import list_form_status, list_open_alerts
from bordin.web.pages._render import render_page

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "caseload_context",
    "form_choices",
    "form_languages",
    "qr_svg",
    "router",
]

router = APIRouter()

#: What a new form asks when the client has no earlier form: alliance check, then PHQ-9.
DEFAULT_INSTRUMENTS: tuple[str, ...] = ("sac", "phq9")


def caseload_context(db: Session, user: User) -> dict[str, Any]:
    """The caseload page's data: every client in scope, most urgent first."""
    from bordin.storage.queries import list_caseload

    entries = list_caseload(db, actor=user)
    alerts = list_open_alerts(db, actor=user)
    forms = list_form_status(db, actor=user)
    therapists = {
        u.id: u.display_name or u.username
        for u in db.scalars(select(User).where(User.clinic_id == user.clinic_id))
    }
    clients = []
    shown_kinds: list[list[str]] = []
    for entry in entries:
        kinds = list(dict.fromkeys(a.kind for a in alerts.get(entry.client_id, [])))
        shown_kinds.append(kinds)
        form = forms.get(entry.client_id)
        clients.append(
            {
                "id": entry.client_id,
                "code": entry.code,
                "href": f"/clients/{entry.client_id}",
                "therapist": therapists.get(entry.therapist_id, entry.therapist_code),
                "therapist_code": entry.therapist_code,
                "priority": entry.priority,
                "open_alerts": entry.open_alerts,
                "top_alert": entry.top_alert_title,
                # the not-on-track colour at the latest session: shown, not an open alert
                "colour": entry.colour,
                "progress": COLOUR_LABELS.get(entry.colour or ""),
                "badges": [badge_for(kind) for kind in kinds],
                "last_session": (
                    {"number": entry.last_session, "date": entry.last_session_date}
                    if entry.last_session is not None
                    else None
                ),
                "form": (
                    {
                        "state": form.state,
                        "label": FORM_STATES[form.state],
                        "created_at": form.created_at,
                        "expires_at": form.expires_at,
                        "submitted_at": form.submitted_at,
                    }
                    if form is not None
                    else None
                ),
            }
        )
    context = base_context(user, title="Caseload", current="/caseload")
    context.update(
        {
            "clients": clients,
            "counts": {
                "clients": len(clients),
                "need_attention": sum(1 for c in clients if c["badges"]),
            },
            "show_therapist": user.role != "therapist",
            # the not-on-track colours (the progress column and the alert titles), in
            # words, next to them
            "colour_legend": (
                list(colour_legend())
                if any(c["colour"] for c in clients)
                or any("not_on_track" in kinds for kinds in shown_kinds)
                else []
            ),
            "ordering": "Clients with the most urgent open alert come first (risk, then not "
            "on track, unrepaired rupture, reliable deterioration, open rupture, weak early "
            "alliance); then by client code.",
        }
    )
    return context


@router.get("/caseload", include_in_schema=False)
def caseload(request: Request) -> Response:
    """Clients ordered by what needs attention, with badges, last session and form status."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        context = filter_caseload(db, caseload_context(db, user), request.query_params)
        from bordin.web.pages._risk_pages import risk_notice_context  # issue 17

        context["risk_notice"] = risk_notice_context(db, user)
    return render_page(request, "caseload.html", context, html=html_extras(request))


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of ``url`` (made on the server with segno; nothing external).

    The SVG has a ``viewBox`` and no fixed width or height (segno's ``omitsize``), so the
    page's stylesheet scales the whole code to its box; with a fixed size and no viewBox
    only one corner was drawn and the code could not be scanned. The quiet zone is the
    four modules the QR standard asks for.
    """
    import io

    import segno

    code = segno.make(url, error="m")
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=8,
        border=4,
        omitsize=True,
        svgclass="qr-code",
    )
    svg = buffer.getvalue().decode("utf-8")
    labelled = svg.replace("<svg ", '<svg role="img" aria-label="QR code of the form link" ', 1)
    return Markup(labelled)


def _next_session(db: Session, user: User, client_id: int) -> TherapySession:
    """The session the next form is for: the latest one if the client has not answered
    anything for it (the therapist's own session check does not count), else a new one."""
    from bordin.storage.actions import THERAPIST_CHECK, create_session
    from bordin.storage.queries import list_sessions

    sessions = list_sessions(db, actor=user, client_id=client_id)
    if sessions:
        latest = max(sessions, key=lambda s: s.number)
        answered = db.scalar(
            select(ItemResponse.id)
            .where(
                ItemResponse.session_id == latest.id,
                ItemResponse.instrument != THERAPIST_CHECK,
            )
            .limit(1)
        )
        if answered is None:
            return latest
    return create_session(db, actor=user, client_id=client_id)


def form_choices(db: Session, clinic_id: int, client_id: int) -> list[dict[str, Any]]:
    """Questionnaires a client can be sent (client-rated, with wording in English).

    The ones the client's last form asked are pre-selected.
    """
    from bordin.instruments import list_instruments
    from bordin.storage.queries import get_wording

    previous = set(_previous_instruments(db, client_id))
    choices = []
    for definition in list_instruments():
        if definition.respondent != "client":
            continue
        wording = get_wording(db, clinic_id, definition.id, "en")
        if wording.get("origin") == "none":
            continue
        choices.append(
            {
                "id": definition.id,
                "label": f"{definition.short_name}: {definition.name}",
                "checked": definition.id in previous,
                "validated": definition.validated,
            }
        )
    return choices


def _short_name(instrument: str) -> str:
    from bordin.errors import InstrumentError
    from bordin.instruments import get_instrument

    try:
        return get_instrument(instrument).short_name
    except InstrumentError:
        return instrument


def _previous_instruments(db: Session, client_id: int) -> list[str]:
    latest = db.scalar(
        select(FormRequest)
        .where(FormRequest.client_id == client_id)
        .order_by(FormRequest.id.desc())
        .limit(1)
    )
    if latest is not None:  # the support check is added by the client's status, not kept
        return [i for i in latest.instruments if i != "csc"]
    client = db.get(Client, client_id)  # the client's own defaults, set when added
    return list(client.default_instruments or DEFAULT_INSTRUMENTS) if client else []


def _preferred_language(db: Session, client_id: int) -> str:
    """The client's preferred form language (set when the client is added or edited, and
    by the language picked for their latest link): the next link starts from it."""
    preferred = db.scalar(select(Client.form_language).where(Client.id == client_id))
    return str(preferred or "en")


def form_languages(db: Session, client_id: int) -> list[dict[str, Any]]:
    """Languages the client's form can be in; the client's preferred one is pre-selected."""
    preferred = _preferred_language(db, client_id)
    return [
        {"code": code, "name": name, "selected": code == preferred}
        for code, name in sorted(LANGUAGES.items(), key=lambda entry: entry[1])
    ]


def _chosen_language(form: Any, default: str) -> str:
    """The language picked on the form, else ``default`` (the client's preferred one)."""
    raw = form.get("language")
    if raw is None or raw == "":
        return default
    code = str(raw).strip().lower()
    if code not in LANGUAGES:
        raise InputError(
            f"the form cannot be shown in {code!r}; choose one of {', '.join(sorted(LANGUAGES))}",
            column="language",
        )
    return code


@router.post("/clients/{client_id}/form-link", include_in_schema=False)
async def create_form_link(request: Request, client_id: PageId) -> Response:
    """Create the client's next one-time form link and show it with a QR code."""
    from bordin.storage.actions import create_form_request
    from bordin.storage.actions.care_changes import set_form_defaults
    from bordin.storage.queries import get_client
    from bordin.web.api.forms import form_link

    form = await request.form()
    state = app_state(request)
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            client = get_client(db, actor=user, client_id=client_id)
            session = _next_session(db, user, client.id)
            chosen = [str(v) for v in form.getlist("instrument") if isinstance(v, str)]
            instruments = chosen or _previous_instruments(db, client.id)
            language = _chosen_language(form, client.form_language)
            if language != client.form_language:  # the client's preference from now on
                set_form_defaults(
                    db,
                    actor=user,
                    client_id=client.id,
                    form_language=language,
                    default_instruments=client.default_instruments,
                )
            created, token = create_form_request(
                db,
                actor=user,
                session_id=session.id,
                instruments=instruments,
                language=language,
                lifetime=timedelta(days=state.settings.token_days),
                support_check=True,
            )
            url = form_link(state.settings.base_url, token)
            context = base_context(user, title=f"Form link for {client.code}", current="")
            context.update(
                {
                    "client": {
                        "id": client.id,
                        "code": client.code,
                        "href": f"/clients/{client.id}",
                    },
                    "form": {
                        "id": created.id,
                        "session": session.number,
                        "instruments": list(created.instruments),
                        "instrument_names": [_short_name(i) for i in created.instruments],
                        "language": created.language,
                        "url": url,
                        "expires_at": created.expires_at,
                    },
                }
            )
        except (NotFound, PermissionDenied, Conflict, InputError) as exc:
            return _problem(request, user, exc)
    return render_page(
        request,
        "form_link.html",
        context,
        status_code=201,
        html=html_extras(request, qr=qr_svg(url)),
    )


def _problem(request: Request, user: User, exc: BordinError) -> Response:
    if isinstance(exc, PermissionDenied):
        return error_page(request, user, status_code=403, heading="Not allowed", message=str(exc))
    if isinstance(exc, NotFound):
        return error_page(request, user, status_code=404, heading="Not found", message=str(exc))
    return error_page(
        request,
        user,
        status_code=422 if isinstance(exc, InputError) else 409,
        heading="Could not create the link",
        message=field_error_message(exc),
    )
