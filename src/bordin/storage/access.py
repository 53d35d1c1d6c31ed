"""Authorisation, decided here and nowhere else.

* a therapist sees and changes only their own clients;
* a supervisor sees and changes the clients of the therapists in their team;
* an admin sees and changes every client of their clinic, and manages users and content;
* a form token (a client's link) reaches one form request, once (see ``actions.forms``).

A record outside the caller's scope is reported as :class:`~bordin.errors.NotFound`, exactly
as if it did not exist, so that ids of other clinics or caseloads cannot be probed. An action
the caller's role may never do is :class:`~bordin.errors.PermissionDenied`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from bordin.errors import NotFound, PermissionDenied
from bordin.storage.models import Client, User

__all__ = [
    "can_see_client",
    "client_scope",
    "require_client",
    "require_role",
    "require_therapist_in_scope",
]


def client_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Client` selecting the clients ``user`` may see."""
    if not user.active:
        return false()
    in_clinic = Client.clinic_id == user.clinic_id
    if user.role == "admin":
        return in_clinic
    if user.role == "supervisor":
        if user.team_id is None:
            return false()
        team = select(User.id).where(User.team_id == user.team_id, User.clinic_id == user.clinic_id)
        return in_clinic & Client.therapist_id.in_(team.scalar_subquery())
    if user.role == "therapist":
        return in_clinic & (Client.therapist_id == user.id)
    return false()


def can_see_client(db: Session, user: User, client_id: int) -> bool:
    """Whether ``user`` may see (and so work with) the client ``client_id``."""
    found = db.scalar(select(Client.id).where(Client.id == client_id, client_scope(user)))
    return found is not None


def require_client(db: Session, user: User, client_id: int) -> Client:
    """The client ``client_id`` if ``user`` may see it.

    Raises
    ------
    NotFound
        No such client, or not in the user's scope (the two are indistinguishable).
    """
    client = db.scalar(select(Client).where(Client.id == client_id, client_scope(user)))
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def require_role(user: User, *roles: str) -> None:
    """Refuse an action reserved for other roles.

    Raises
    ------
    PermissionDenied
        ``user.role`` is not one of ``roles`` or the account is disabled.
    """
    if not user.active or user.role not in roles:
        raise PermissionDenied(f"this needs the role {' or '.join(roles)}")


def require_therapist_in_scope(db: Session, user: User, therapist_id: int | None) -> User:
    """The therapist a new client is assigned to: oneself, or one in the caller's scope.

    Raises
    ------
    NotFound
        The therapist does not exist or is outside the caller's scope.
    PermissionDenied
        A supervisor or admin did not name the therapist.
    """
    if therapist_id is None or (user.role == "therapist" and therapist_id == user.id):
        if user.role != "therapist":
            raise PermissionDenied("name the therapist the client is assigned to")
        return user
    if user.role == "therapist":
        raise NotFound(f"therapist {therapist_id} not found")
    condition = (User.id == therapist_id) & (User.clinic_id == user.clinic_id)
    condition &= User.role == "therapist"
    if user.role == "supervisor":
        condition &= (User.team_id == user.team_id) if user.team_id is not None else false()
    else:
        condition &= true()
    therapist = db.scalar(select(User).where(condition))
    if therapist is None:
        raise NotFound(f"therapist {therapist_id} not found")
    return therapist
