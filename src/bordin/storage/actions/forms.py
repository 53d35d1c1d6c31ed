"""Form requests (one-time client links) and submissions of item responses.

A form link carries a token of 256 random bits; only its SHA-256 is stored. The link
expires (7 days by default), is cancelled when a newer link is made for the same session
(so a client never fills in a form that can no longer be sent), and accepts one
submission: a repeated submission raises
:class:`~bordin.storage.exceptions.AlreadySubmitted` with the first receipt and stores
nothing. A submission is validated completely before anything is written, and written in
the caller's single transaction together with its audit row and the client's recomputed
scores, signals and alerts.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, Select, bindparam, insert, select
from sqlalchemy.orm import Session, aliased

from bordin.errors import Conflict, InputError, InstrumentError, NotFound
from bordin.storage.access import require_client
from bordin.storage.actions._feedback import (
    ITEMS,
    recompute_feedback,
    rescore_sessions,
)
from bordin.storage.actions.link_lifecycle import refuse_closed_episode, refuse_inactive_link
from bordin.storage.actions.risk import endorsed_risk_items, raise_risk_events
from bordin.storage.audit import record_event
from bordin.storage.bulk import insert_rows
from bordin.storage.credentials import hash_token, new_token
from bordin.storage.exceptions import AlreadySubmitted, LinkExpired, LinkReplaced
from bordin.storage.models import (
    Client,
    Episode,
    FormRequest,
    ItemResponse,
    Signal,
    TherapySession,
    User,
    utcnow,
)

__all__ = [
    "DEFAULT_LINK_LIFETIME",
    "REFUSALS",
    "create_form_request",
    "find_form_request",
    "record_submission",
    "record_submissions",
    "support_check_due",
    "validate_answers",
]

DEFAULT_LINK_LIFETIME = timedelta(days=7)
#: added to the next form of a client who is not on track
SUPPORT_INSTRUMENT = "csc"


def _definition(instrument: str) -> Any:
    from bordin.instruments import get_instrument

    try:
        return get_instrument(instrument)
    except InstrumentError as exc:
        raise InputError(f"unknown instrument {instrument!r}", column="instruments") from exc


def support_check_due(db: Session, client_id: int) -> bool:
    """Whether the client's next form adds the Clinical Support Check: their latest
    coloured session is red on an outcome (not on track;
    :func:`bordin.feedback.needs_support_check`, after Whipple et al., 2003)."""
    from bordin.feedback import needs_support_check

    signals = db.scalars(
        select(Signal)
        .where(Signal.client_id == client_id, Signal.kind == "session")
        .order_by(Signal.session.desc())
    )
    for signal in signals:
        colours = [v for k, v in (signal.data or {}).items() if k.endswith("_colour") and v]
        if colours:
            return needs_support_check(colours)
    return False


def create_form_request(
    db: Session,
    *,
    actor: User,
    session_id: int,
    instruments: Sequence[str],
    language: str = "en",
    lifetime: timedelta = DEFAULT_LINK_LIFETIME,
    support_check: bool = False,
    token: str | None = None,
) -> tuple[FormRequest, str]:
    """Create a form request for a session and return it with its one-time token.

    The token is returned once, here, to be put in the link; it cannot be recovered later.
    With ``support_check`` (as the pages and the API create links), the Clinical Support
    Check (``csc``) is added to the instruments when the client is not on track
    (:func:`support_check_due`; Whipple et al., 2003; Shimokawa, Lambert & Smart, 2010),
    and the audit row says so.

    ``token`` is for the kiosk only, which derives the form's token from its own
    (``actions.kiosk``); a link always gets a new random token.
    Older unanswered links for the same session are cancelled in the same transaction
    (each with a ``form_request.cancel`` audit row naming the new request): a client who
    opens one is told it was replaced rather than shown a form that cannot be sent.

    Raises
    ------
    InputError
        No instruments, an unknown instrument, or one listed twice.
    NotFound
        The session is not in the caller's scope.
    Conflict
        One of the instruments was already answered for this session, or the session's
        episode is closed.
    """
    session = db.get(TherapySession, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    client = require_client(db, actor, session.client_id)
    refuse_closed_episode(db, session)
    wanted = [str(i).strip().lower() for i in instruments]
    if not wanted:
        raise InputError("name at least one instrument", column="instruments")
    if len(set(wanted)) != len(wanted):
        raise InputError("an instrument is listed twice", column="instruments")
    for instrument in wanted:
        _definition(instrument)
    support = (
        support_check and SUPPORT_INSTRUMENT not in wanted and support_check_due(db, client.id)
    )
    if support:
        wanted.append(SUPPORT_INSTRUMENT)
    answered = db.scalars(
        select(ItemResponse.instrument)
        .where(ItemResponse.session_id == session.id, ItemResponse.instrument.in_(wanted))
        .distinct()
    ).all()
    if support and SUPPORT_INSTRUMENT in answered:  # already answered for this session
        wanted.remove(SUPPORT_INSTRUMENT)
        answered = [a for a in answered if a != SUPPORT_INSTRUMENT]
        support = False
    if answered:
        raise Conflict(
            f"session {session.number} already has responses for {', '.join(sorted(answered))}"
        )
    token = token or new_token()
    now = utcnow()
    request = FormRequest(
        token_hash=hash_token(token),
        client_id=client.id,
        session_id=session.id,
        instruments=wanted,
        language=language,
        created_by=actor.id,
        created_at=now,
        expires_at=now + lifetime,
    )
    db.add(request)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="form_request.create",
        object_type="form_request",
        object_id=request.id,
        client_id=client.id,
        detail={"session": session.number, "instruments": wanted, "support_check": support},
    )
    _cancel_older_links(db, actor=actor, newer=request, session_number=session.number)
    return request, token


def _cancel_older_links(
    db: Session, *, actor: User, newer: FormRequest, session_number: int
) -> None:
    """Cancel the unanswered, still open links of ``newer``'s session (audited)."""
    now = newer.created_at
    older = db.scalars(
        select(FormRequest).where(
            FormRequest.session_id == newer.session_id,
            FormRequest.id < newer.id,
            FormRequest.submitted_at.is_(None),
            FormRequest.expires_at > now,
        )
    ).all()
    for request in older:
        request.expires_at = now
        record_event(
            db,
            actor=actor,
            action="form_request.cancel",
            object_type="form_request",
            object_id=request.id,
            client_id=request.client_id,
            detail={"session": session_number, "replaced_by": newer.id},
        )
    db.flush()


# Whether a newer link was made for the same session while a link was live (a link that
# had run out is "expired" instead). Built once: an alias made per call would make every
# lookup build and compile its statement again.
_LATER = aliased(FormRequest, name="later_request")
_REPLACED = (
    select(_LATER.id)
    .where(
        _LATER.session_id == FormRequest.session_id,
        _LATER.id > FormRequest.id,
        _LATER.created_at <= FormRequest.expires_at,
    )
    .exists()
    .label("replaced")
)


def _link_statement() -> Select[FormRequest, bool, date | None, bool, int]:
    """A form request with whether a newer link replaced it and its context (the episode's
    closing date, whether the client's therapist is active, the client's clinic): one
    statement, to be narrowed to the wanted tokens."""
    return (
        select(FormRequest, _REPLACED, Episode.closed_on, User.active, Client.clinic_id)
        .join(TherapySession, TherapySession.id == FormRequest.session_id)
        .join(Episode, Episode.id == TherapySession.episode_id)
        .join(Client, Client.id == TherapySession.client_id)
        .join(User, User.id == Client.therapist_id)
    )


def _usable(found: Row[FormRequest, bool, date | None, bool, int] | None) -> FormRequest:
    """The form request of a :func:`_link_statement` row, or the refusal of its link (as
    :func:`find_form_request` raises them)."""
    if found is None:
        raise NotFound("this form link is not valid")
    request, newer, closed_on, therapist_active, _ = found
    if request.submitted_at is None:
        if newer:
            raise LinkReplaced(
                "this form link was replaced by a newer one; use the newest link you "
                "received or ask your therapist"
            )
        if request.expires_at <= utcnow():
            raise LinkExpired("this form link has expired; ask your therapist for a new one")
        refuse_inactive_link(closed_on, therapist_active)
    return request


# The links of a batch of submissions by their tokens' hashes, locked in id order (built
# once: see _REPLACED).
_LINKS_BY_HASH = (
    _link_statement()
    .where(FormRequest.token_hash.in_(bindparam("hashes", expanding=True)))
    .order_by(FormRequest.id)
    .with_for_update(of=FormRequest)
)


def find_form_request(db: Session, token: str, *, for_update: bool = False) -> FormRequest:
    """The form request behind a link's token (used or not).

    Raises
    ------
    NotFound
        No form request has this token.
    LinkReplaced
        The link was never used and a newer link was made for the same session while it
        was live (which cancelled it).
    LinkExpired
        The link is past its expiry time and was never used, or may no longer take answers
        (its episode closed, or the client's therapist deactivated; see
        :mod:`bordin.storage.actions.link_lifecycle`).
    """
    statement = _link_statement().where(FormRequest.token_hash == hash_token(token))
    if for_update:
        statement = statement.with_for_update(of=FormRequest)
    return _usable(db.execute(statement).first())


def store_entered_answers(
    db: Session,
    *,
    actor: User,
    session: TherapySession,
    instrument: str,
    answers: Mapping[str, Any],
    already: str,
) -> list[tuple[str, int, float]]:
    """Validate and store answers that staff enter for a session (a paper form, the
    therapist's own check), marked as entered by ``actor``; return the stored rows.

    Raises
    ------
    Conflict
        The session already has answers to ``instrument`` (the message ends in ``already``).
    InputError
        As :func:`validate_answers`, naming the item.
    """
    rows = validate_answers([instrument], {instrument: answers})
    taken = db.scalar(
        select(ItemResponse.id).where(
            ItemResponse.session_id == session.id, ItemResponse.instrument == instrument
        )
    )
    if taken is not None:
        raise Conflict(f"session {session.number} already has {already}")
    db.execute(
        insert(ITEMS),
        [
            {
                "client_id": session.client_id,
                "session_id": session.id,
                "form_request_id": None,
                "entered_by": actor.id,
                "instrument": name,
                "item": item,
                "value": value,
            }
            for name, item, value in rows
        ],
    )
    return rows


def _code(raw: Any, item: Any, where: str) -> float:
    """The response code ``raw`` as a number on the item's scale, or an InputError."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InputError("the response code must be a number", item=where)
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"the response code {raw!r} is not a number", item=where) from None
    if value != value or not item.min_value <= value <= item.max_value:
        raise InputError(
            f"response code {raw} is outside {item.min_value:g}-{item.max_value:g}", item=where
        )
    steps = (value - item.min_value) / item.step
    if abs(steps - round(steps)) > 1e-9:
        raise InputError(f"response code {raw} is not one of the item's codes", item=where)
    return round(item.min_value + round(steps) * item.step, 10)


def validate_answers(
    instruments: Sequence[str], answers: Mapping[str, Any]
) -> list[tuple[str, int, float]]:
    """Check answers against the instrument definitions; return ``(instrument, item, value)``.

    ``answers`` maps each instrument id to ``{item number: response code}`` (item numbers
    as strings or integers; ``None`` or a missing key means not answered). An item asked
    only under a condition (the alliance check's item 8 after tension) is required only
    when the condition holds, and refused when it does not.

    Raises
    ------
    InputError
        Naming the item (``instrument:item``): an instrument not in the request, an unknown
        item, a code out of range or off the item's steps, or a required item left out.
    """
    if not isinstance(answers, Mapping):
        raise InputError("answers must map instrument ids to {item: code}")
    unexpected = sorted(set(answers) - set(instruments))
    if unexpected:
        raise InputError("this instrument is not part of the form", item=str(unexpected[0]))
    rows: list[tuple[str, int, float]] = []
    for instrument in instruments:
        definition = _definition(instrument)
        given = answers.get(instrument) or {}
        if not isinstance(given, Mapping):
            raise InputError("answers must map item numbers to codes", item=instrument)
        values: dict[int, float] = {}
        for key, raw in given.items():
            where = f"{instrument}:{key}"
            try:
                number = int(str(key))
            except ValueError:
                raise InputError("unknown item", item=where) from None
            if not 1 <= number <= definition.n_items:
                raise InputError("unknown item", item=where)
            if raw is None:
                continue
            values[number] = _code(raw, definition.item(number), f"{instrument}:{number}")
        for item in definition.items:
            where = f"{instrument}:{item.number}"
            condition = item.asked_if
            asked = (
                condition is None or values.get(condition.item, -math.inf) >= condition.min_value
            )
            if not asked and item.number in values:
                raise InputError(
                    f"this item is asked only when item {condition.item} is at least "
                    f"{condition.min_value:g}",
                    item=where,
                )
            if asked and item.required and item.number not in values:
                raise InputError("this item is required", item=where)
        rows.extend((instrument, n, v) for n, v in sorted(values.items()))
    return rows


def record_submission(db: Session, *, token: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Store a client's answers for the form behind ``token``; return the receipt.

    The acting party is the token itself (audited as ``actor_kind="token"``). Everything
    (responses, the form's receipt, the audit row, the client's new scores, signals and
    alerts, and a risk event notifying the therapist for each endorsed risk item) is
    written in the caller's transaction, or nothing is. A batch of one of
    :func:`record_submissions`.

    Raises
    ------
    AlreadySubmitted
        The link was used already (carries the first receipt); nothing is stored.
    LinkExpired, NotFound
        As :func:`find_form_request`.
    InputError
        As :func:`validate_answers`; nothing is stored.
    """
    (outcome,) = record_submissions(db, [(token, answers)])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


#: What :func:`record_submission` refuses a submission with (the link or the answers).
REFUSALS: tuple[type[Exception], ...] = (NotFound, AlreadySubmitted, InputError)


def record_submissions(
    db: Session,
    submissions: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    on_refusal: Callable[[int, Exception], None] | None = None,
) -> list[dict[str, Any] | Exception]:
    """Store several forms' answers (``(token, answers)`` pairs) in the caller's
    transaction and recompute their clients' feedback once, together; return each one's
    receipt, or the exception (one of :data:`REFUSALS`) it is refused with.

    Set-based: one statement finds (and on PostgreSQL locks, in id order) every link of
    the batch; each submission is then checked in order, in Python, before anything of it
    is written, so a refused one leaves nothing behind and does not touch the others
    (``on_refusal(index, exception)`` is then called, still in the transaction, to count
    it against a rate limit, say). A link given twice is taken once; the second gets
    :class:`AlreadySubmitted` with the first's receipt. The accepted ones' responses, form
    receipts and audit rows are written with one statement per table; the sessions are
    re-scored together and the clients' signals and alerts recomputed in one vectorised
    call against their clinic's norms (with the norms fixed, each client's signals depend
    on that client alone: the result is the one a submission alone gives). Any other
    exception propagates, and the caller rolls the whole transaction back.
    """
    hashes = [hash_token(token) for token, _ in submissions]
    found = {
        row[0].token_hash: row
        for row in db.execute(_LINKS_BY_HASH, {"hashes": sorted(set(hashes))})
    }
    outcomes: list[dict[str, Any] | Exception] = []
    items: list[dict[str, Any]] = []
    clients: list[int] = []
    sessions: list[int] = []
    for index, ((_, answers), digest) in enumerate(zip(submissions, hashes, strict=True)):
        try:
            request = _usable(found.get(digest))
            if request.submitted_at is not None:
                raise AlreadySubmitted(
                    "this form was already submitted", receipt=dict(request.receipt or {})
                )
            rows = validate_answers(request.instruments, answers)
        except REFUSALS as exc:
            outcomes.append(exc)
            if on_refusal is not None:
                on_refusal(index, exc)
            continue
        outcomes.append(_accept(db, request, found[digest][4], rows, items))
        clients.append(request.client_id)
        sessions.append(request.session_id)
    if items:
        insert_rows(db, ITEMS, items)
    rescore_sessions(db, sessions)
    recompute_feedback(db, clients, record_history=True)
    return outcomes


def _accept(
    db: Session,
    request: FormRequest,
    clinic_id: int,
    rows: list[tuple[str, int, float]],
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    """Mark ``request`` submitted with validated ``rows`` (its responses are added to
    ``items``, written by the caller), audit it and raise its risk events; return the
    receipt."""
    items.extend(
        {
            "client_id": request.client_id,
            "session_id": request.session_id,
            "form_request_id": request.id,
            "instrument": instrument,
            "item": item,
            "value": value,
        }
        for instrument, item, value in rows
    )
    now = utcnow()
    receipt = {
        "receipt": secrets.token_hex(8),
        "submitted_at": now.isoformat(),
        "instruments": list(request.instruments),
        "items": len(rows),
    }
    request.submitted_at = now
    request.receipt = receipt
    record_event(
        db,
        actor=None,
        actor_kind="token",
        action="form.submit",
        object_type="form_request",
        object_id=request.id,
        client_id=request.client_id,
        clinic_id=clinic_id,
        detail={"items": len(rows), "receipt": receipt["receipt"]},
    )
    if endorsed_risk_items(rows):
        client = db.get(Client, request.client_id)
        if client is None:  # foreign keys make this impossible; kept as a clear error
            raise NotFound("this form link is not valid")
        raise_risk_events(
            db,
            client=client,
            session_id=request.session_id,
            rows=rows,
            answered_at=now,
            language=request.language,
            form_request_id=request.id,
        )
    return receipt
