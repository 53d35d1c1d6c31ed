"""Kiosk mode: a tablet in the waiting room, unlocked by staff for one client's form.

* ``POST /clients/{id}/kiosk`` (a staff member in scope, from the client page): makes the
  form request, signs the staff member out *on this device*, and binds the device to the
  kiosk with the ``bordin_kiosk`` cookie (HttpOnly, SameSite=Strict).
* ``/kiosk`` shows the form, step by step as a link's form does, under the kiosk's own
  address; the form's token never reaches the browser.
* After the answers are sent, ``/kiosk/thanks`` thanks the client (with the clinic's crisis
  text when the form asked a risk item) and the device locks; it also locks after the
  configured minutes without a request (``kiosk_timeout_minutes``; the page returns to the
  locked screen by itself then).
* ``/kiosk/unlock``: a staff member who may see the client signs in with their username and
  password (counted against the login rate limits); the kiosk ends, the kiosk cookie is
  removed and the device is theirs again.

While the cookie is there nothing else is reachable (:mod:`bordin.web.kiosk_guard`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bordin.errors import BordinError, InputError, NotFound
from bordin.storage.exceptions import AlreadySubmitted, AuthenticationFailed
from bordin.storage.models import KioskSession
from bordin.web.deps import app_state
from bordin.web.i18n import page_language, translations
from bordin.web.kiosk_guard import KIOSK_COOKIE
from bordin.web.pages._deps import PageId, open_transaction, page_user
from bordin.web.pages._page import check_form_csrf, login_redirect
from bordin.web.pages._render import render_page
from bordin.web.security import (
    SESSION_COOKIE,
    RateLimited,
    account_key,
    clear_session_cookies,
    client_address,
    set_session_cookies,
)

__all__ = ["KIOSK_CSRF_FIELD", "router"]

router = APIRouter()

KIOSK_CSRF_FIELD = "kiosk_csrf"
#: how long the thank-you page stays before the device returns to the locked screen
THANKS_SECONDS = 60
_HEADERS = {"X-Robots-Tag": "noindex, nofollow"}


def _kiosk_csrf(request: Request, token: str) -> str:
    key = app_state(request).settings.secret_key.encode("utf-8")
    return hmac.new(key, b"kiosk-csrf:" + token.encode("utf-8"), hashlib.sha256).hexdigest()


def _timeout(request: Request) -> timedelta:
    return timedelta(minutes=app_state(request).settings.kiosk_timeout_minutes)


@router.post("/clients/{client_id}/kiosk", include_in_schema=False)
async def start(request: Request, client_id: PageId) -> Response:
    """Unlock this device for the client's next form (the client page's kiosk button)."""
    from bordin.storage.actions import log_out, start_kiosk
    from bordin.storage.queries import get_client
    from bordin.web.pages._caseload import (
        _chosen_language,
        _next_session,
        _previous_instruments,
        _problem,
    )

    form = await request.form()
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            client = get_client(db, actor=user, client_id=client_id)
            session = _next_session(db, user, client.id)
            chosen = [str(v) for v in form.getlist("instrument") if isinstance(v, str)]
            _kiosk, token = start_kiosk(
                db,
                actor=user,
                session_id=session.id,
                instruments=chosen or _previous_instruments(db, client.id),
                language=_chosen_language(form, client.form_language),
                timeout=_timeout(request),
            )
            log_out(db, actor=user, token=request.cookies.get(SESSION_COOKIE, ""))
        except BordinError as exc:
            return _problem(request, user, exc)
    settings = app_state(request).settings
    response = RedirectResponse("/kiosk", status_code=303)
    clear_session_cookies(response, settings)
    response.set_cookie(
        KIOSK_COOKIE,
        token,
        max_age=7 * 24 * 3600,  # the device stays a kiosk (locked) until staff sign in
        httponly=True,
        samesite="strict",
        secure=settings.https,
        path="/",
    )
    return response


def _kiosk_of(db: Session, request: Request) -> KioskSession | None:
    from bordin.storage.actions import find_kiosk

    token = request.cookies.get(KIOSK_COOKIE)
    if not token:
        return None
    try:
        return find_kiosk(db, token)
    except NotFound:
        return None


def _locked(
    request: Request,
    *,
    reason: str | None,
    error: str | None = None,
    status_code: int = 200,
    username: str = "",
) -> Response:
    """The locked screen: nothing about the client, and the staff sign-in to leave."""
    context: dict[str, Any] = {
        "title": "This device is locked",
        "lang": "en",
        "user": None,
        "nav": [],
        "state": "locked",
        "reason": reason,
        "error": error,
        "username": username,
        "kiosk": True,
    }
    token = request.cookies.get(KIOSK_COOKIE, "")
    html = {"kiosk_csrf": _kiosk_csrf(request, token) if token else ""}
    return render_page(
        request, "kiosk_locked.html", context, status_code=status_code, html=html, headers=_HEADERS
    )


def _form_page(
    request: Request,
    kiosk: KioskSession,
    token: str,
    step: int,
    answers: dict[str, dict[int, float]],
    errors: dict[int, str] | None = None,
) -> Response:
    from bordin.storage.actions import kiosk_form_token
    from bordin.web.pages._client_form import _load, _step_page

    with open_transaction(request) as db:
        instruments, meta = _load(db, kiosk_form_token(token))
    extra = {
        "hidden": [{"name": KIOSK_CSRF_FIELD, "value": _kiosk_csrf(request, token)}],
        "kiosk_timeout": kiosk.timeout_seconds + 1,
    }
    return _step_page(
        request, "", instruments, meta, step, answers, errors, action="/kiosk", extra=extra
    )


@router.get("/kiosk", include_in_schema=False)
def show(request: Request) -> Response:
    """The kiosk's form, or the locked screen."""
    with open_transaction(request) as db:
        kiosk = _kiosk_of(db, request)
        state = (kiosk.locked_at is None, kiosk.lock_reason) if kiosk else (False, None)
    if kiosk is None or not state[0]:
        return _locked(request, reason=state[1])
    return _form_page(request, kiosk, request.cookies[KIOSK_COOKIE], 0, {})


def _submit(request: Request, token: str, answers: dict[str, Any]) -> None:
    """Store the answers and lock the kiosk, in one transaction."""
    from bordin.storage.actions import find_kiosk, kiosk_form_token, lock_kiosk, record_submission
    from bordin.storage.models import utcnow

    with open_transaction(request) as db:
        kiosk = find_kiosk(db, token)
        if kiosk.locked_at is not None:
            raise NotFound("the kiosk is locked")
        record_submission(db, token=kiosk_form_token(token), answers=answers)
        lock_kiosk(db, kiosk, reason="submitted", now=utcnow())


@router.post("/kiosk", include_in_schema=False)
async def post(request: Request) -> Response:
    """Move one step, or send the answers and lock the device."""
    from bordin.web.pages._form import parse_answers, step_errors, submission_payload

    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    token = request.cookies.get(KIOSK_COOKIE, "")
    if not token or not hmac.compare_digest(
        _kiosk_csrf(request, token), fields.get(KIOSK_CSRF_FIELD, "")
    ):
        return _locked(request, reason=None, status_code=403)

    def load() -> tuple[KioskSession | None, Any]:
        from bordin.storage.actions import kiosk_form_token
        from bordin.web.pages._client_form import _load

        with open_transaction(request) as db:
            kiosk = _kiosk_of(db, request)
            if kiosk is None or kiosk.locked_at is not None:
                return kiosk, None
            return kiosk, _load(db, kiosk_form_token(token))

    kiosk, loaded = await run_in_threadpool(load)
    if kiosk is None or loaded is None:
        return _locked(request, reason=kiosk.lock_reason if kiosk else None)
    instruments, _meta = loaded
    try:
        step = min(max(int(fields.get("step", "0")), 0), len(instruments) - 1)
    except ValueError:
        step = 0
    answers = parse_answers(fields, instruments)
    go = fields.get("go", "next")
    if go == "back":
        return _form_page(request, kiosk, token, max(step - 1, 0), answers)
    errors = step_errors(instruments[step], answers)
    if errors:
        return _form_page(request, kiosk, token, step, answers, errors)
    if go != "submit" or step < len(instruments) - 1:
        return _form_page(request, kiosk, token, step + 1, answers)
    for index, instrument in enumerate(instruments):
        missing = step_errors(instrument, answers)
        if missing:
            return _form_page(request, kiosk, token, index, answers, missing)
    try:
        await run_in_threadpool(_submit, request, token, submission_payload(instruments, answers))
    except (NotFound, AlreadySubmitted, InputError):
        return _locked(request, reason=None)
    return RedirectResponse("/kiosk/thanks", status_code=303)


@router.get("/kiosk/thanks", include_in_schema=False)
def thanks(request: Request) -> Response:
    """Thank-you page just after sending (with the crisis text for a risk item); then the
    device returns to the locked screen by itself."""
    from bordin.instruments import get_instrument
    from bordin.storage.models import FormRequest, utcnow
    from bordin.storage.queries import get_crisis_text

    with open_transaction(request) as db:
        kiosk = _kiosk_of(db, request)
        if (
            kiosk is None
            or kiosk.lock_reason != "submitted"
            or kiosk.locked_at is None
            or utcnow() - kiosk.locked_at > timedelta(seconds=THANKS_SECONDS)
        ):
            return RedirectResponse("/kiosk", status_code=303)
        form = db.get(FormRequest, kiosk.form_request_id)
        if form is None:
            return RedirectResponse("/kiosk", status_code=303)
        safety = any(get_instrument(i).risk_items for i in form.instruments)
        crisis_text = get_crisis_text(db, form) if safety else None
        lang = page_language(form.language)
    context: dict[str, Any] = {
        "title": translations(lang).gettext("Thank you"),
        "lang": lang,
        "user": None,
        "nav": [],
        "state": "submitted",
        "safety": safety,
        "crisis_text": crisis_text,
        "kiosk": True,
        "kiosk_timeout": THANKS_SECONDS,
    }
    return render_page(request, "form_thanks.html", context, headers=_HEADERS)


@router.get("/kiosk/unlock", include_in_schema=False)
def unlock_form(request: Request) -> Response:
    """The staff sign-in that ends the kiosk (the form, if open, stays open until then)."""
    with open_transaction(request) as db:
        kiosk = _kiosk_of(db, request)
        reason = kiosk.lock_reason if kiosk else None
    return _locked(request, reason=reason)


def _end(request: Request, token: str, username: str, password: str) -> tuple[int, str] | None:
    """Sign the staff member in and end the kiosk: (client id, session token), or None."""
    from bordin.storage.actions import end_kiosk, log_in, log_out

    state = app_state(request)
    address = client_address(request)
    account = account_key(username)
    with open_transaction(request) as db:
        state.login_limit.check(db, address)
        state.login_limit.check(db, account)
        try:
            user, session_token = log_in(
                db,
                username=username,
                password=password,
                lifetime=timedelta(hours=state.settings.session_hours),
            )
        except AuthenticationFailed:  # audited by log_in; counted like a failed login
            state.login_limit.count(db, address)
            state.login_limit.count(db, account)
            return None
        try:
            client_id = end_kiosk(db, actor=user, token=token)
        except NotFound:  # not someone who may see the client: the device stays a kiosk
            log_out(db, actor=user, token=session_token)
            state.login_limit.count(db, address)
            state.login_limit.count(db, account)
            return None
    return client_id, session_token


@router.post("/kiosk/unlock", include_in_schema=False)
async def unlock(request: Request) -> Response:
    """A staff member in scope signs in: the kiosk ends and the device is theirs again."""
    form = await request.form()
    token = request.cookies.get(KIOSK_COOKIE, "")
    username = str(form.get("username") or "")
    submitted = form.get(KIOSK_CSRF_FIELD)
    if not token or not hmac.compare_digest(
        _kiosk_csrf(request, token), submitted if isinstance(submitted, str) else ""
    ):
        return _locked(request, reason=None, status_code=403)
    try:
        ended = await run_in_threadpool(
            _end, request, token, username, str(form.get("password") or "")
        )
    except RateLimited as exc:
        return _locked(
            request,
            reason=None,
            status_code=429,
            username=username,
            error=f"Too many failed attempts; try again in {exc.retry_after} seconds.",
        )
    if ended is None:
        return _locked(
            request,
            reason=None,
            status_code=401,
            username=username,
            error=(
                "Wrong username or password, or this account may not see the kiosk's "
                "client. The device stays locked."
            ),
        )
    client_id, session_token = ended
    settings = app_state(request).settings
    response = RedirectResponse(f"/clients/{client_id}", status_code=303)
    response.delete_cookie(KIOSK_COOKIE, path="/", samesite="strict", secure=settings.https)
    set_session_cookies(response, settings, session_token)
    return response
