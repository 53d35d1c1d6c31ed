"""New passwords: common, repetitive and username-based ones are refused (NIST SP 800-63B;
issue 21, item 3)."""

from __future__ import annotations

import pytest

from bordin.errors import InputError
from bordin.storage.password_policy import check_new_password

REFUSED = {
    "short": "short1!",
    "common": "qwertyuiop",
    "common, any case": "QwertyUIOP",
    "common digits": "1234567890",
    "common with a suffix": "password123!",
    "common with a suffix 2": "iloveyou2024",
    "one character": "aaaaaaaaaa",
    "three characters": "abababab12",
    "repeated block": "xyzxyzxyzxyz",
    "ascending run": "abcdefghijk",
    "descending run": "9876543210",
    "the username": "drsmith2024!",
    "the service": "bordin-2024",
}
ACCEPTED = [
    "correct horse battery staple",
    "a-good-long-password",
    "walks along the river",
    "drsmith likes long walks",  # the username inside a passphrase is fine
    "Tr0ub4dor&3x",
]


@pytest.mark.parametrize("password", REFUSED.values(), ids=REFUSED.keys())
def test_weak_passwords_are_refused_with_the_field_named(password: str) -> None:
    with pytest.raises(InputError) as info:
        check_new_password(password, username="drsmith@clinic.example", column="new_password")
    assert info.value.column == "new_password"
    assert password not in str(info.value)


@pytest.mark.parametrize("password", ACCEPTED)
def test_ordinary_passphrases_are_accepted(password: str) -> None:
    check_new_password(password, username="drsmith@clinic.example", column="password")


def test_the_actions_apply_the_policy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bordin.storage import actions, make_engine, make_session_factory, transaction
    from bordin.storage.migrate import upgrade_database

    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as db:
            clinic = actions.create_clinic(db, actor=None, name="C")
            clinic_id = clinic.id
        for weak in ("aaaaaaaaaa", "password123"):
            with pytest.raises(InputError), transaction(factory) as db:
                actions.create_user(
                    db,
                    actor=None,
                    clinic_id=clinic_id,
                    username="new@c",
                    password=weak,
                    role="admin",
                )
        with transaction(factory) as db:
            user = actions.create_user(
                db,
                actor=None,
                clinic_id=clinic_id,
                username="new@c",
                password="walks along the river",
                role="admin",
            )
            with pytest.raises(InputError):
                actions.change_own_password(
                    db, actor=user, current="walks along the river", new="1234567890"
                )
    finally:
        engine.dispose()
