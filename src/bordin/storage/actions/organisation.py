"""Clinics, teams and users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.audit import record_event
from bordin.storage.credentials import hash_password
from bordin.storage.models import ROLES, Clinic, Team, User
from bordin.storage.password_policy import check_new_password

__all__ = ["create_clinic", "create_team", "create_user", "set_password"]


def create_clinic(db: Session, *, actor: User | None, name: str) -> Clinic:
    """Create a clinic. Only the system (``actor=None``: the CLI, the demo) creates clinics."""
    if actor is not None:
        raise InputError("clinics are created from the command line, not by a user")
    if not name.strip():
        raise InputError("the clinic needs a name", column="name")
    clinic = Clinic(name=name.strip())
    db.add(clinic)
    db.flush()
    record_event(
        db,
        actor=None,
        action="clinic.create",
        object_type="clinic",
        object_id=clinic.id,
        clinic_id=clinic.id,
    )
    return clinic


def create_team(db: Session, *, actor: User | None, clinic_id: int, name: str) -> Team:
    """Create a team in a clinic (an admin of that clinic, or the system)."""
    if actor is not None:
        require_role(actor, "admin")
        if actor.clinic_id != clinic_id:
            raise NotFound(f"clinic {clinic_id} not found")
    if db.get(Clinic, clinic_id) is None:
        raise NotFound(f"clinic {clinic_id} not found")
    team = Team(clinic_id=clinic_id, name=name.strip())
    db.add(team)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="team.create",
        object_type="team",
        object_id=team.id,
        clinic_id=clinic_id,
        detail={"name": team.name},
    )
    return team


#: The first letter of a staff account's default code, by role.
_CODE_PREFIX = {"therapist": "t", "supervisor": "s", "admin": "a"}


def _check_password(password: str, username: str | None) -> None:
    check_new_password(password, username=username, column="password")


def create_user(
    db: Session,
    *,
    actor: User | None,
    clinic_id: int,
    username: str,
    password: str | None,
    role: str,
    code: str | None = None,
    display_name: str = "",
    team_id: int | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a staff account with an argon2id password hash.

    ``code`` is the pseudonymous therapist id used in exports (``therapist_id`` column);
    by default ``t<user id>`` for a therapist, ``s<user id>`` for a supervisor and
    ``a<user id>`` for an admin, so that the first admin is not ``t001``, the first
    therapist code of many clinics' histories (and of the simulator), which an import
    would refuse as belonging to another role. Give either ``password`` (hashed here with
    argon2id) or an argon2 ``password_hash`` made by
    :func:`bordin.storage.credentials.hash_password` (used by the demo, whose users share
    one password, to hash it once).

    Raises
    ------
    InputError
        Unknown role, short password, or the team is in another clinic.
    Conflict
        The username is taken.
    """
    if actor is not None:
        require_role(actor, "admin")
        if actor.clinic_id != clinic_id:
            raise NotFound(f"clinic {clinic_id} not found")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", column="role")
    username = username.strip().lower()
    if not username:
        raise InputError("the username is empty", column="username")
    if password_hash is None:
        if password is None:
            raise InputError("give a password", column="password")
        _check_password(password, username)
        password_hash = hash_password(password)
    elif not password_hash.startswith("$argon2id$"):
        raise InputError("the password hash must be an argon2id hash", column="password")
    if team_id is not None:
        team = db.get(Team, team_id)
        if team is None or team.clinic_id != clinic_id:
            raise NotFound(f"team {team_id} not found")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken")
    user = User(
        clinic_id=clinic_id,
        team_id=team_id,
        username=username,
        code=code or f"pending-{username}",
        display_name=display_name,
        role=role,
        password_hash=password_hash,
        active=True,
    )
    db.add(user)
    db.flush()
    if code is None:
        user.code = f"{_CODE_PREFIX[role]}{user.id:03d}"
    record_event(
        db,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        clinic_id=clinic_id,
        detail={"username": username, "role": role, "team_id": team_id},
    )
    return user


def set_password(db: Session, *, actor: User | None, user_id: int, password: str) -> None:
    """Set a user's password (the user themself, an admin of their clinic, or the system)."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if actor is not None and actor.id != user_id:
        require_role(actor, "admin")
        if actor.clinic_id != user.clinic_id:
            raise NotFound(f"user {user_id} not found")
    _check_password(password, user.username)
    user.password_hash = hash_password(password)
    record_event(
        db,
        actor=actor,
        action="user.set_password",
        object_type="user",
        object_id=user.id,
        clinic_id=user.clinic_id,
    )
